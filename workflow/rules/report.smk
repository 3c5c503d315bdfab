rule summarize:
    input:
        bench=bench_results(),
        exports=export_records(),
        trains=train_records(),
    output:
        report("results/summary.csv", caption="../report/summary.rst", category="Summary"),
    log:
        "results/logs/summarize.log",
    benchmark:
        "results/benchmarks/summarize.tsv"
    localrule: True
    shell:
        "python -m frbench summarize --bench {input.bench} --exports {input.exports}"
        " --trains {input.trains} --out {output} > {log} 2>&1"


rule report:
    input:
        summary="results/summary.csv",
    output:
        html=report("results/report.html", caption="../report/report.rst", category="Report"),
        provenance="results/provenance.json",
    params:
        config=json.dumps(config, sort_keys=True),
        configfile=" ".join(map(str, workflow.overwrite_configfiles)) or "config/config.yaml",
    log:
        "results/logs/report.log",
    benchmark:
        "results/benchmarks/report.tsv"
    localrule: True
    shell:
        "python -m frbench report --summary {input.summary} --config-json {params.config:q}"
        " --configfile {params.configfile:q} --provenance {output.provenance} --out {output.html} > {log} 2>&1"
