"""The tiny study, end to end through snakemake, and the workflow's own checks."""

import csv
import json
import os
import re
import shutil
import subprocess

import pytest
import torch
import yaml

from frbench.methods import with_controls

from conftest import ROOT, SNAKEMAKE, finished_copy, run_as_written, snakemake  # the tiny_study fixture is in conftest.py


def tiny_models() -> dict[str, list[str]]:
    """The tiny study's models: its methods' levels and the controls they are compared with."""
    config = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())
    return with_controls(config["methods"], config["model"])


@pytest.mark.slow
def test_summary_has_a_sound_row_per_model(tiny_study):
    config = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())
    models = tiny_models()
    assert {"baseline_ft", "small_dense"} <= set(models) - set(config["methods"])  # both controls, by themselves
    assert "baseline_ft+quantize" in set(models) - set(config["methods"])  # the chain's control too
    expected = sorted((m, level, str(seed), fmt, device) for m, levels in models.items()
                      for level in levels for seed in config["seeds"] for fmt in config["formats"]
                      for device in config["devices"])
    rows = list(csv.DictReader((tiny_study / "summary.csv").open()))
    assert sorted((r["method"], r["level"], r["seed"], r["fmt"], r["device"]) for r in rows) == expected
    for r in rows:
        where = f"{r['method']}/{r['level']}"
        assert r["error"] == "", (where, r["error"])
        assert 0 <= float(r["dice"]) <= 1 and float(r["dice"]) == pytest.approx(float(r["dice_eager"]), abs=0.02), where
        assert int(r["file_bytes"]) > int(r["gzip_bytes"]) > 0, where
        assert int(r["stored_numbers"]) >= int(r["nonzero_numbers"]) > 0, where
        assert 0 < float(r["min_ms"]) <= float(r["p50_ms"]) <= float(r["p90_ms"]) <= float(r["max_ms"]), where
        assert int(r["samples"]) == 5 and int(r["warmup"]) == 2 and float(r["load_ms"]) > 0, where
        assert int(r["peak_rss_kb"]) > 0 and float(r["train_seconds"]) > 0, where
    base = next(r for r in rows if r["method"] == "baseline")
    assert float(base["compression_by_bytes"]) == 1.0  # the baseline against itself
    assert int(base["stored_numbers"]) >= int(base["params_eager"]) > 0


@pytest.mark.slow
def test_every_row_is_compared_with_its_control(tiny_study):
    """comparisons.csv: one row per model, each compressed model paired with its equal-budget control
    on the same test images; the report and the paper tables print the verdicts, never a signed
    difference where there is none to measure."""
    rows = {(r["method"], r["level"]): r for r in csv.DictReader((tiny_study / "comparisons.csv").open())}
    assert set(rows) == {(m, level) for m, levels in tiny_models().items() for level in levels}
    small = next(level for m, level in rows if m == "small_dense")
    summary = {(r["method"], r["level"]): r for r in csv.DictReader((tiny_study / "summary.csv").open())}
    assert small == f"n{summary[('fr', 'r0.05')]['stored_numbers']}"  # as many numbers as FR's file stores
    for (method, level), r in rows.items():
        assert int(r["images"]) == int(summary[(method, level)]["dice_images"]) > 0
        assert float(r["dice_low"]) <= float(r["dice"]) <= float(r["dice_high"])
        if method in ("baseline", "baseline_ft+quantize"):  # the reference point; a chain's control (of nothing)
            assert r["control"] == "" and r["verdict"] == ""
            continue
        expected = {"fr": f"small_dense/{small}", "small_dense": "baseline/dense", "baseline_ft": "baseline/dense",
                    "prune_structured+quantize": "baseline_ft+quantize/dense+int8"}
        assert r["control"] == expected.get(method, "baseline_ft/dense"), (method, r["control"])
        assert r["verdict"] in ("worse", "better", "no measurable difference") and r["test"]
        assert float(r["delta_low"]) <= float(r["delta"]) <= float(r["delta_high"])
    html = (tiny_study / "report.html").read_text()
    assert "vs baseline_ft/dense" in html and f"vs small_dense/{small}" in html and 'class="control"' in html
    printed = list(csv.DictReader((tiny_study / "figures" / "comparison.csv").open()))
    for r in printed:
        verdict = rows[(r["Method"], r["Level"])]["verdict"]
        assert (r["Δ Dice vs control"] == verdict) == (verdict == "no measurable difference")


@pytest.mark.slow
def test_a_chain_of_two_methods_has_its_row_and_its_control_in_the_summary_and_the_report(tiny_study):
    """config/tiny.yaml's chain prune_structured+quantize at 0.5+int8: quantize applied to the model
    prune_structured/0.5 (the study's own row of it, trained once), with the finetune budget of each
    step; compared with the same chain whose pruning is replaced by its control (baseline_ft+quantize),
    which the study adds by itself and marks as a control."""
    rows = {(r["method"], r["level"]): r for r in csv.DictReader((tiny_study / "summary.csv").open())}
    chain, control = rows[("prune_structured+quantize", "0.5+int8")], rows[("baseline_ft+quantize", "dense+int8")]
    assert chain["error"] == "" == control["error"] and 0 <= float(chain["dice"]) <= 1
    assert (chain["role"], chain["control"], chain["budget"]) == ("method", "baseline_ft+quantize/dense+int8",
                                                                  "finetune+finetune")
    assert (control["role"], control["budget"]) == ("control", "finetune+finetune")  # the same training, step by step
    # the chain's file is both steps': fewer numbers than int8 alone (pruned) and a fraction of pruning's bytes (int8)
    assert int(chain["stored_numbers"]) < int(rows[("quantize", "int8")]["stored_numbers"])
    assert int(chain["file_bytes"]) < int(rows[("prune_structured", "0.5")]["file_bytes"])
    record = json.loads((tiny_study / "models" / "prune_structured+quantize" / "0.5+int8" / "seed0" / "train.json")
                        .read_text())
    assert record["inputs"]["start"] == {"model": "prune_structured/0.5",
                                         "checkpoint": "results/models/prune_structured/0.5/seed0/model.pt"}
    assert record["arch"]["start"]["method"] == "prune_structured"  # rebuilt on the pruned network's shape
    html = (tiny_study / "report.html").read_text()
    assert '<td class="t">prune_structured+quantize</td>' in html and "vs baseline_ft+quantize/dense+int8" in html


def planned(workdir, config=ROOT / "config" / "tiny.yaml") -> dict[str, set[str]]:
    """rule -> the first output file of each job a dry run of `all` plans for it."""
    proc = subprocess.run([*SNAKEMAKE, "--snakefile", str(ROOT / "workflow" / "Snakefile"), "--directory", str(workdir),
                           "--configfile", str(config), "--cores", "2", "all", "--dry-run"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs: dict[str, set[str]] = {}
    for block in proc.stdout.split("\n\n"):
        rule = re.search(r"^(?:local)?rule (\w+):$", block, flags=re.M)
        output = re.search(r"^\s+output: ([^,\n]+)", block, flags=re.M)
        if rule:
            jobs.setdefault(rule.group(1), set()).update([output.group(1)] if output else [])
    return jobs


@pytest.mark.slow
def test_adding_a_level_to_a_finished_study_plans_that_levels_jobs_alone(tiny_study, tmp_path):
    """A job's params are what changes its output (its level, its method's options, the model and its
    budget block): a new level of prune_unstructured trains, exports and benchmarks that level alone,
    and the tables and the report are made again; no other model is retrained."""
    workdir = finished_copy(tiny_study, tmp_path)
    config = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())
    config["methods"]["prune_unstructured"]["levels"].append("0.6")
    path = tmp_path / "more.yaml"
    path.write_text(yaml.safe_dump(config))
    jobs = planned(workdir, path)
    assert jobs.pop("train") == {"results/models/prune_unstructured/0.6/seed0/model.pt"}
    assert jobs.pop("export") == {f"results/export/prune_unstructured/0.6/seed0/model.{f}" for f in config["formats"]}
    assert jobs.pop("bench") == {f"results/bench/host/prune_unstructured/0.6/seed0/{f}.json" for f in config["formats"]}
    assert set(jobs) == {"summarize", "answers", "figures", "report", "all"}


@pytest.mark.slow
def test_a_changed_input_model_reruns_the_methods_that_take_it(tiny_study, tmp_path):
    """Declared inputs are rule inputs: a changed baseline retrains every model made from it (each
    post-training method, the controls fine-tuned from it, and the chain through prune_structured), and
    nothing trained from scratch; a changed prune_structured/0.5 retrains the chain that starts from it
    alone. (Changed in content: snakemake does not count a newer file whose checksum it recorded as the
    same.)"""
    workdir = finished_copy(tiny_study, tmp_path)
    models = workdir / "results" / "models"

    def change(path):
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        first = next(iter(checkpoint["state_dict"]))
        checkpoint["state_dict"][first] = checkpoint["state_dict"][first] + 1e-3
        torch.save(checkpoint, path)
        later = path.stat().st_mtime + 60
        os.utime(path, (later, later))

    change(models / "prune_structured" / "0.5" / "seed0" / "model.pt")
    assert planned(workdir)["train"] == {"results/models/prune_structured+quantize/0.5+int8/seed0/model.pt"}
    change(models / "baseline" / "dense" / "seed0" / "model.pt")
    retrained = {path.split("/")[2] for path in planned(workdir)["train"]}
    assert retrained == {"baseline_ft", "prune_structured", "prune_unstructured", "quantize", "tucker",
                         "prune_structured+quantize", "baseline_ft+quantize"}


@pytest.mark.slow
def test_fr_row_is_the_compact_file_and_records_its_training(tiny_study):
    rows = {r["method"]: r for r in csv.DictReader((tiny_study / "summary.csv").open())}
    fr, base = rows["fr"], rows["baseline"]
    assert fr["ratio_against"] == "baseline" and int(fr["stored_numbers"]) < int(base["stored_numbers"]) / 5
    assert float(fr["floor_bytes"]) < int(fr["file_bytes"]) and float(fr["dense_file_bytes"]) > 0
    assert float(fr["fidelity_max_abs"]) < 1e-2
    assert float(fr["train_peak_rss_kb"]) > 0 and float(base["train_peak_rss_kb"]) > 0
    train = json.loads(next((tiny_study / "models" / "fr").glob("*/seed0/train.json")).read_text())
    assert train["epochs"][-1]["fr_at_target"] and "fr_kept" in train["epochs"][0]
    html = (tiny_study / "report.html").read_text()
    assert "train peak MB" in html and "dense_file_bytes" in html and "floor_bytes" in html


@pytest.mark.slow
def test_report_is_self_contained_and_shows_the_rows(tiny_study):
    html = (tiny_study / "report.html").read_text()
    for method in tiny_models():
        assert f'<td class="t">{method}</td>' in html, method
    assert "pytorch-lite" in html
    assert re.search(r"data:image/png;base64,", html)
    # no request to the network: no external src or href
    assert not re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    prov = (tiny_study / "provenance.json").read_text()
    assert '"packages"' in prov and '"torch"' in prov


@pytest.mark.slow
def test_figures_target_redraws_from_results_alone(tiny_study, tmp_path):
    """`snakemake figures` on existing results: only the figures job, no training or benchmark (on a copy:
    the other tests read the session's study while this one runs)."""
    workdir = finished_copy(tiny_study, tmp_path)
    shutil.rmtree(workdir / "results" / "figures")
    plan = snakemake(workdir, "figures", "--dry-run")
    jobs = re.findall(r"^(\w+)\s+(\d+)$", plan.stdout, flags=re.M)
    assert dict(jobs) == {"figures": "1", "total": "1"}, plan.stdout
    snakemake(workdir, "figures")
    for name in ("dice_vs_size", "dice_vs_latency", "latency_distributions", "peak_memory", "training_curves"):
        assert (workdir / "results" / "figures" / f"{name}.pdf").stat().st_size > 1000
    assert "\\begin{tabular}" in (workdir / "results" / "figures" / "paper_table.tex").read_text()


@pytest.mark.slow
def test_the_answers_and_report_jobs_import_no_method_and_no_torch(tiny_study, tmp_path, monkeypatch):
    """The workflow hands the answers and report jobs what each control is (from the registry snakemake
    loads anyway): they import no method module, and with them no torch (about 1.5 s of CPU a job). Each
    job is run as the workflow writes it, under Python's -X importtime, whose lines land in the job's log."""
    workdir = finished_copy(tiny_study, tmp_path)
    plan = snakemake(workdir, "results/report.html", "--forcerun", "answers", "--dry-run").stdout
    commands = {job: command for command, job in
                re.findall(r"^Shell command: (python -m frbench (\w+) .*)$", plan, flags=re.M)}
    monkeypatch.setenv("PYTHONPROFILEIMPORTTIME", "1")
    for job in ("answers", "report"):
        run_as_written(workdir, commands[job])
        log = (workdir / f"results/logs/{job}.log").read_text()
        imported = re.findall(r"^import time:.*\|\s+([\w.]+)$", log, flags=re.M)
        assert "pandas" in imported, job  # the log holds the job's imports
        assert not [m for m in imported if m.split(".")[0] == "torch" or m.startswith("frbench.methods")], job
    assert (workdir / "results/answers.csv").read_bytes() == (tiny_study / "answers.csv").read_bytes()
    html = (workdir / "results/report.html").read_text()
    assert "a dense UNet as small as a compressed model" in html  # small_dense, described from the registry


@pytest.mark.slow
def test_snakemake_report(tiny_study, tmp_path):
    workdir = finished_copy(tiny_study, tmp_path)
    snakemake(workdir, "--report", "results/snakemake_report.zip")
    assert (workdir / "results" / "snakemake_report.zip").stat().st_size > 10_000


@pytest.mark.slow
def test_rerun_has_nothing_to_do(tiny_study):
    proc = snakemake(tiny_study.parent, "all", "--dry-run")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_lint_warnings_are_only_the_explained_ones():
    proc = subprocess.run([*SNAKEMAKE, "--lint", "--configfile", "config/tiny.yaml"], capture_output=True,
                          text=True, cwd=ROOT)
    out = proc.stdout + proc.stderr
    # snakemake --lint exits 1 when it has anything to say, and also when the workflow does not parse:
    # it parsed, linted every rule (each gets the conda warning below), and said nothing else
    assert proc.returncode in (0, 1) and "Traceback" not in out and "Error" not in out, out[-3000:]
    assert "Lints for rule train " in out and "Lints for rule bench " in out
    found = re.findall(r"^\s+\* (.+?)(?::|$)", out, flags=re.M)
    kinds = {re.sub(r" in line \d+\.$", "", k) for k in found}
    # All three are explained at the top of workflow/rules/common.smk.
    assert kinds <= {"Specify a conda environment or container for each rule.",
                     "Environment variable PATH used but not asserted with envvars directive",
                     "Environment variable PYTHONHASHSEED used but not asserted with envvars directive"}, kinds


def test_bad_config_fails_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "config/tiny.yaml").read_text().replace("epochs: 2", "epochz: 2"))
    proc = subprocess.run([*SNAKEMAKE, "--snakefile", str(ROOT / "workflow/Snakefile"), "--directory", str(tmp_path),
                           "--configfile", str(bad), "--cores", "1", "all"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode != 0
    assert "epochz" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()
