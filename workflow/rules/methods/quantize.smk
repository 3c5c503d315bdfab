# Quantization of the trained baseline with the engine phones use (qnnpack): static int8,
# quantization-aware int8, fp16 or int8 weight storage; levels are the scheme.
rule quantize:
    input:
        data=DATASET,
        baseline=baseline_checkpoint,
    output:
        model="results/models/quantize/{level}/seed{seed}/model.pt",
        record="results/models/quantize/{level}/seed{seed}/train.json",
    params:
        config=method_config("quantize"),
    log:
        "results/logs/models/quantize/{level}/seed{seed}.log",
    benchmark:
        "results/benchmarks/models/quantize/{level}/seed{seed}.tsv"
    threads: 2
    resources:
        gpu=1,
    shell:
        "python -m frbench train quantize --level {wildcards.level} --seed {wildcards.seed}"
        " --data {input.data} --baseline {input.baseline} --config-json {params.config:q}"
        " --threads {threads} --out {output.model} --record {output.record} > {log} 2>&1"
