# Frequency Regularization (Zhao et al. 2023): the UNet learned as DCT coefficients whose
# high-frequency tail is truncated while training; from scratch, with the `train` budget.
rule fr:
    input:
        data=DATASET,
    output:
        model="results/models/fr/{level}/seed{seed}/model.pt",
        record="results/models/fr/{level}/seed{seed}/train.json",
    params:
        config=method_config("fr"),
    log:
        "results/logs/models/fr/{level}/seed{seed}.log",
    benchmark:
        "results/benchmarks/models/fr/{level}/seed{seed}.tsv"
    threads: 2
    resources:
        gpu=1,
    shell:
        "python -m frbench train fr --level {wildcards.level} --seed {wildcards.seed}"
        " --data {input.data} --config-json {params.config:q} --threads {threads}"
        " --out {output.model} --record {output.record} > {log} 2>&1"
