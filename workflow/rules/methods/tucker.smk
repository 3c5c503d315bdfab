# Tucker-2 decomposition of the trained baseline's convs (tensorly; ranks by VBMF or a
# rank ratio), then the shared `finetune` budget.
rule tucker:
    input:
        data=DATASET,
        baseline=baseline_checkpoint,
    output:
        model="results/models/tucker/{level}/seed{seed}/model.pt",
        record="results/models/tucker/{level}/seed{seed}/train.json",
    params:
        config=method_config("tucker"),
    log:
        "results/logs/models/tucker/{level}/seed{seed}.log",
    benchmark:
        "results/benchmarks/models/tucker/{level}/seed{seed}.tsv"
    threads: 2
    resources:
        gpu=1,
    shell:
        "python -m frbench train tucker --level {wildcards.level} --seed {wildcards.seed}"
        " --data {input.data} --baseline {input.baseline} --config-json {params.config:q}"
        " --threads {threads} --out {output.model} --record {output.record} > {log} 2>&1"
