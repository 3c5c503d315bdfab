# One rule trains every model of the study (frbench.build), whatever its method: the method declares
# the rest (frbench/contract.py). Its inputs are the dataset and the models of the same seed it
# declares (Method.inputs: the baseline it compresses, the earlier steps of a chain, a teacher), so
# snakemake trains those first and reruns this job when one changes; its params are what changes its
# output besides the level (the model block, its budget block, its options), so adding a level runs
# that level alone. A GPU is claimed unless the method trains on the CPU (Method.trains_on_gpu); the
# slurm profile gives every training job the same memory and runtime, under this rule's name.
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
        method=one_of(TRAINED),
    threads: 1
    resources:
        gpu=gpu_claim,
    params:
        config=job_config,
        inputs=input_arguments,
    shell:
        "python -m frbench train {wildcards.method:q} --level {wildcards.level:q} --seed {wildcards.seed}"
        " --data {input.data} {params.inputs} --config-json {params.config:q} --threads {threads}"
        " --out {output.model:q} --record {output.record:q} > {log:q} 2>&1"
