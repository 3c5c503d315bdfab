rule dataset:
    output:
        npz=DATASET,
        record="results/data/dataset.json",
    log:
        "results/logs/data/dataset.log",
    benchmark:
        "results/benchmarks/data/dataset.tsv"
    params:
        data=json.dumps(config["data"], sort_keys=True),
    shell:
        "python -m frbench data --config-json {params.data:q} --out {output.npz} --record {output.record} > {log} 2>&1"
