# One exported model on one device, following the protocol of DESIGN.md. The job
# claims every core so that no training or export shares the CPU with a timing
# (the worker itself runs with bench.threads), stays on the submitting machine
# under a cluster executor, and takes the android_device resource for a phone.
# Under a cluster executor, cores bound no local job: the claim is then also
# `whole_host`, of which the slurm profile allows one, so that benchmarks run one
# at a time on the submitting machine (the other local jobs, summary and report,
# come after every benchmark).
rule bench:
    input:
        model="results/export/{method}/{level}/seed{seed}/model.{fmt}",
        record="results/export/{method}/{level}/seed{seed}/export_{fmt}.json",
        program="results/export/{method}/{level}/seed{seed}/update/program.{fmt}",
        weights="results/export/{method}/{level}/seed{seed}/update/weights_{fmt}.bin",
        data=dataset_for,
    output:
        "results/bench/{device}/{method}/{level}/seed{seed}/{fmt}.json",
    log:
        "results/logs/bench/{device}/{method}/{level}/seed{seed}/{fmt}.log",
    benchmark:
        "results/benchmarks/bench/{device}/{method}/{level}/seed{seed}/{fmt}.tsv"
    localrule: True
    threads: every_core
    resources:
        android_device=lambda wildcards: 0 if wildcards.device == "host" else 1,
        whole_host=1,
    params:
        plan=bench_plan,
    shell:
        "python -m frbench bench --device {wildcards.device:q} --method {wildcards.method}"
        " --level {wildcards.level} --seed {wildcards.seed} --fmt {wildcards.fmt}"
        " --model {input.model:q} --export-record {input.record:q} --data {input.data}"
        " --plan-json {params.plan:q} --out {output:q}"
        " --update-program {input.program:q} --update-weights {input.weights:q} > {log:q} 2>&1"
