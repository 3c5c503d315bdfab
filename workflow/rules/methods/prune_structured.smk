# Structured channel pruning of the trained baseline (torch-pruning, L1), then the
# shared `finetune` budget; levels are the fraction of channels removed.
rule prune_structured:
    input:
        data=DATASET,
        baseline=baseline_checkpoint,
    output:
        model="results/models/prune_structured/{level}/seed{seed}/model.pt",
        record="results/models/prune_structured/{level}/seed{seed}/train.json",
    params:
        config=method_config("prune_structured"),
    log:
        "results/logs/models/prune_structured/{level}/seed{seed}.log",
    benchmark:
        "results/benchmarks/models/prune_structured/{level}/seed{seed}.tsv"
    threads: 2
    resources:
        gpu=1,
    shell:
        "python -m frbench train prune_structured --level {wildcards.level} --seed {wildcards.seed}"
        " --data {input.data} --baseline {input.baseline} --config-json {params.config:q}"
        " --threads {threads} --out {output.model} --record {output.record} > {log} 2>&1"
