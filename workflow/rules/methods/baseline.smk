# The uncompressed UNet, trained from scratch with the `train` budget.
rule baseline:
    input:
        data=DATASET,
    output:
        model="results/models/baseline/{level}/seed{seed}/model.pt",
        record="results/models/baseline/{level}/seed{seed}/train.json",
    params:
        config=method_config("baseline"),
    log:
        "results/logs/models/baseline/{level}/seed{seed}.log",
    benchmark:
        "results/benchmarks/models/baseline/{level}/seed{seed}.tsv"
    threads: 2
    resources:
        gpu=1,
    shell:
        "python -m frbench train baseline --level {wildcards.level} --seed {wildcards.seed}"
        " --data {input.data} --config-json {params.config:q} --threads {threads}"
        " --out {output.model} --record {output.record} > {log} 2>&1"
