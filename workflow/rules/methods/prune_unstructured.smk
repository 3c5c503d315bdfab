# Global unstructured magnitude pruning of the trained baseline (torch.nn.utils.prune),
# fine-tuned with the mask held, then made permanent; levels are the sparsity.
rule prune_unstructured:
    input:
        data=DATASET,
        baseline=baseline_checkpoint,
    output:
        model="results/models/prune_unstructured/{level}/seed{seed}/model.pt",
        record="results/models/prune_unstructured/{level}/seed{seed}/train.json",
    params:
        config=method_config("prune_unstructured"),
    log:
        "results/logs/models/prune_unstructured/{level}/seed{seed}.log",
    benchmark:
        "results/benchmarks/models/prune_unstructured/{level}/seed{seed}.tsv"
    threads: 2
    resources:
        gpu=1,
    shell:
        "python -m frbench train prune_unstructured --level {wildcards.level} --seed {wildcards.seed}"
        " --data {input.data} --baseline {input.baseline} --config-json {params.config:q}"
        " --threads {threads} --out {output.model} --record {output.record} > {log} 2>&1"
