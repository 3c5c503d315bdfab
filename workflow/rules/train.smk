# One template trains every model (frbench.build): a method trained from scratch gets the dataset
# and the `train` budget, a post-training method also the baseline of the same seed and the
# `finetune` budget (the method says which). Each method's own rule, in workflow/rules/methods/,
# is this template under its name: `use rule train as NAME with: wildcard_constraints: method="NAME"`.
# The template itself matches no file.
rule train:
    input:
        unpack(train_inputs),
    output:
        model="results/models/{method}/{level}/seed{seed}/model.pt",
        record="results/models/{method}/{level}/seed{seed}/train.json",
    log:
        "results/logs/models/{method}/{level}/seed{seed}.log",
    benchmark:
        "results/benchmarks/models/{method}/{level}/seed{seed}.tsv"
    wildcard_constraints:
        method=NO_METHOD,
    threads: 1
    resources:
        gpu=1,
    params:
        config=lambda wildcards: method_config(wildcards.method),
        baseline=baseline_argument,
    shell:
        "python -m frbench train {wildcards.method} --level {wildcards.level} --seed {wildcards.seed}"
        " --data {input.data} {params.baseline} --config-json {params.config:q} --threads {threads}"
        " --out {output.model} --record {output.record} > {log} 2>&1"
