# Every checkpoint to every configured format, and the same model as program plus
# weights file (update/: a weights-only update). A failed export writes its error
# into export_{fmt}.json (and empty files) instead of failing the job.
rule export:
    input:
        model="results/models/{method}/{level}/seed{seed}/model.pt",
        data=dataset_for,
    output:
        model="results/export/{method}/{level}/seed{seed}/model.{fmt}",
        record="results/export/{method}/{level}/seed{seed}/export_{fmt}.json",
        program="results/export/{method}/{level}/seed{seed}/update/program.{fmt}",
        weights="results/export/{method}/{level}/seed{seed}/update/weights_{fmt}.bin",
    log:
        "results/logs/export/{method}/{level}/seed{seed}/{fmt}.log",
    benchmark:
        "results/benchmarks/export/{method}/{level}/seed{seed}/{fmt}.tsv"
    threads: 2
    shell:
        "python -m frbench export --method {wildcards.method} --level {wildcards.level}"
        " --seed {wildcards.seed} --fmt {wildcards.fmt} --checkpoint {input.model} --data {input.data}"
        " --threads {threads} --out {output.model} --record {output.record}"
        " --update-program {output.program} --update-weights {output.weights} > {log} 2>&1"
