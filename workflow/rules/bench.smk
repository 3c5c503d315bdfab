# One exported model on one device, following the protocol of DESIGN.md. The job
# claims every core so that no training or export shares the CPU with a timing
# (the worker itself runs with bench.threads), stays on the submitting machine
# under a cluster executor, and takes the android_device resource for a phone.
# Under a cluster executor, cores bound no local job: the claim is then also
# `whole_host`, of which the slurm profile allows one, so that benchmarks run one
# at a time on the submitting machine (the other local jobs, summary and report,
# come after every benchmark). A thread sweep's other counts are devices of their own
# (`host@t4`, frbench.bench.sweep); the job's plan holds its one count. After the timed
# runs the worker measures the model's heap and profiles its operators, each on a fresh
# load (frbench.bench.heap, frbench.bench.profile); the whole profile goes to results/profiles/.
from frbench.bench.sweep import plan_for_device, split_label


rule bench:
    input:
        model="results/export/{method}/{level}/seed{seed}/model.{fmt}",
        record="results/export/{method}/{level}/seed{seed}/export_{fmt}.json",
        program="results/export/{method}/{level}/seed{seed}/update/program.{fmt}",
        weights="results/export/{method}/{level}/seed{seed}/update/weights_{fmt}.bin",
        checkpoint="results/models/{method}/{level}/seed{seed}/model.pt",
        data=dataset_for,
    output:
        result="results/bench/{device}/{method}/{level}/seed{seed}/{fmt}.json",
        profile="results/profiles/{device}/{method}/{level}/seed{seed}/{fmt}.json",
    log:
        "results/logs/bench/{device}/{method}/{level}/seed{seed}/{fmt}.log",
    benchmark:
        "results/benchmarks/bench/{device}/{method}/{level}/seed{seed}/{fmt}.tsv"
    localrule: True
    threads: every_core
    resources:
        android_device=lambda wildcards: 0 if split_label(wildcards.device, config["bench"])[0] == "host" else 1,
        whole_host=1,
    params:
        plan=lambda wildcards: json.dumps(
            plan_for_device(json.loads(bench_plan(wildcards)), wildcards.device), sort_keys=True
        ),
    shell:
        "python -m frbench bench --device {wildcards.device:q} --method {wildcards.method}"
        " --level {wildcards.level} --seed {wildcards.seed} --fmt {wildcards.fmt}"
        " --model {input.model:q} --export-record {input.record:q} --data {input.data}"
        " --plan-json {params.plan:q} --out {output.result:q} --checkpoint {input.checkpoint:q}"
        " --profile-out {output.profile:q}"
        " --update-program {input.program:q} --update-weights {input.weights:q} > {log:q} 2>&1"
