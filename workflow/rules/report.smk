rule summarize:
    input:
        bench=bench_results(),
        exports=export_records(),
        trains=train_records(),
    output:
        summary=report("results/summary.csv", caption="../report/summary.rst", category="Tables"),
        samples="results/samples.csv",
        curves="results/curves.csv",
        dice="results/dice.csv",
        comparisons=report("results/comparisons.csv", caption="../report/comparisons.rst", category="Tables"),
    log:
        "results/logs/summarize.log",
    benchmark:
        "results/benchmarks/summarize.tsv"
    localrule: True
    shell:
        "python -m frbench summarize --bench {input.bench} --exports {input.exports}"
        " --trains {input.trains} --out {output.summary} --samples {output.samples}"
        " --curves {output.curves} --dice {output.dice} --comparisons {output.comparisons} > {log} 2>&1"


# The answer: every model against the baseline (keeps, loses or undecided quality, by a
# non-inferiority test with report.dice_budget as its margin) and the picks, from the tables alone.
rule answers:
    input:
        summary=rules.summarize.output.summary,
        dice=rules.summarize.output.dice,
        comparisons=rules.summarize.output.comparisons,
    output:
        answers=report("results/answers.csv", caption="../report/answers.rst", category="Tables"),
    log:
        "results/logs/answers.log",
    benchmark:
        "results/benchmarks/answers.tsv"
    localrule: True
    params:
        config=json.dumps({"report": config["report"]}, sort_keys=True),
        controls=CONTROLS_JSON,
    shell:
        "python -m frbench answers --summary {input.summary} --dice {input.dice}"
        " --comparisons {input.comparisons} --config-json {params.config:q}"
        " --controls-json {params.controls:q} --out {output.answers} > {log} 2>&1"


# Figures and tables come from the tables alone: `snakemake figures` on
# existing results schedules no training, export or benchmark.
rule figures:
    input:
        summary=rules.summarize.output.summary,
        samples=rules.summarize.output.samples,
        curves=rules.summarize.output.curves,
        comparisons=rules.summarize.output.comparisons,
        answers=rules.answers.output.answers,
    output:
        figures=report(
            expand("results/figures/{name}.{ext}", name=FIGURE_NAMES, ext=["png", "pdf"]),
            caption="../report/figures.rst",
            category="Figures",
        ),
        tables=expand("results/figures/{table}.{ext}", table=TABLE_NAMES, ext=["csv", "tex"]),
    log:
        "results/logs/figures.log",
    benchmark:
        "results/benchmarks/figures.tsv"
    localrule: True
    params:
        names=FIGURE_NAMES,
        config=json.dumps({"report": config["report"]}, sort_keys=True),
    shell:
        "python -m frbench figures --summary {input.summary} --samples {input.samples}"
        " --curves {input.curves} --comparisons {input.comparisons} --answers {input.answers}"
        " --names {params.names}"
        " --config-json {params.config:q}"
        " --outdir results/figures > {log} 2>&1"


rule report:
    input:
        summary=rules.summarize.output.summary,
        comparisons=rules.summarize.output.comparisons,
        answers=rules.answers.output.answers,
        curves=rules.summarize.output.curves,
        figures=expand("results/figures/{name}.png", name=FIGURE_NAMES),
    output:
        html=report("results/report.html", caption="../report/report.rst", category="Report"),
        provenance="results/provenance.json",
    log:
        "results/logs/report.log",
    benchmark:
        "results/benchmarks/report.tsv"
    localrule: True
    params:
        config=json.dumps(config, sort_keys=True),
        configfile=" ".join(map(str, workflow.overwrite_configfiles)) or "config/config.yaml",
        controls=CONTROLS_JSON,
    shell:
        "python -m frbench report --summary {input.summary} --comparisons {input.comparisons}"
        " --answers {input.answers} --curves {input.curves} --figures {input.figures}"
        " --config-json {params.config:q} --configfile {params.configfile:q} --controls-json {params.controls:q}"
        " --provenance {output.provenance} --out {output.html} > {log} 2>&1"
