"""The user story "add a compression method", followed verbatim from the README.

The README's section "Adding a compression method" holds the module of each of two methods and their
config entries. This test copies the repository (the package, the workflow, the configs and the
.gitignore) into a git repository of its own, writes the blocks there as a user would, and runs the
workflow with the copy first on the Python path (a user's checkout is installed in editable mode instead;
the README says both) on a copy of the finished tiny study: the recipe adds methods to a study that has
run, and what is trained already (the baseline and its fine-tuned control) is reused, not redone.
`git status` on the copy then says what following the recipe changed: the two modules and the config,
and nothing else, before the run and after it. Both methods must come out of
the other end: `clustering`, which compresses a trained model with the `finetune` budget and declares
facts of its own export, and `distill`, which trains from scratch with the `train` budget and takes
another model of the study, the trained baseline, as its input (`teacher`), with a loss hook and a
control of its own.
"""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest
import yaml

from conftest import ROOT, finished_copy

SECTION = "## Adding a compression method"
MODULES = {"clustering", "distill"}
CONFIG_HEAD = "# under methods: in config/config.yaml"


def recipe_blocks() -> dict[str, str]:
    """{first-line comment: block} for the fenced blocks of the README's recipe."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index(SECTION):]
    section = section[: section.index("\n## ", len(SECTION))]
    blocks = re.findall(r"```\w+\n(# [^\n]+)\n(.*?)```", section, flags=re.S)
    return {head: body for head, body in blocks}


def test_readme_recipe_is_a_module_per_method_and_a_config_entry():
    assert set(recipe_blocks()) == {*(f"# file: frbench/methods/{m}.py" for m in MODULES), CONFIG_HEAD}


def git(repo, *args) -> str:
    return subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.org", *args], cwd=repo,
                          capture_output=True, text=True, check=True).stdout


def status(repo) -> set[str]:
    """What `git status` says changed in the copy: each path with its state (?? new, M modified)."""
    return {line[:2] + " " + line[3:] for line in git(repo, "status", "--porcelain", "--untracked-files=all")
            .splitlines()}


@pytest.mark.slow
def test_methods_added_by_the_recipe_reach_the_summary_and_the_report(tiny_study, tmp_path):
    repo = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "results", ".snakemake")
    for part in ("frbench", "workflow", "config"):
        shutil.copytree(ROOT / part, repo / part, ignore=ignore)
    shutil.copy(ROOT / ".gitignore", repo / ".gitignore")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the checkout as it is")

    # follow the recipe: the files, then the config entries (into the tiny study, beside the baseline only)
    entries = None
    for head, body in recipe_blocks().items():
        if head.startswith("# file: "):
            path = repo / head.removeprefix("# file: ")
            assert not path.exists(), f"the recipe would overwrite {path}"
            path.write_text(f"{head}\n{body}")
        elif head == CONFIG_HEAD:
            entries = yaml.safe_load(textwrap.dedent(body))
    assert set(entries) == MODULES
    config = yaml.safe_load((repo / "config" / "tiny.yaml").read_text())
    config["methods"] = {"baseline": config["methods"]["baseline"],
                         **{m: {**entries[m], "levels": entries[m]["levels"][:1]} for m in MODULES}}
    config["formats"] = ["ptl"]  # the recipe adds methods; every format's path is the tiny study's own test
    (repo / "config" / "tiny.yaml").write_text(yaml.safe_dump(config))
    levels = {m: config["methods"][m]["levels"][0] for m in MODULES}
    # what following the recipe changed: the two modules and the study's config, nothing else
    recipe = {"?? frbench/methods/clustering.py", "?? frbench/methods/distill.py", " M config/tiny.yaml"}
    assert status(repo) == recipe

    env = {**os.environ, "PYTHONPATH": str(repo)}
    listed = subprocess.run([sys.executable, "-m", "frbench", "methods"], cwd=repo, env=env, capture_output=True,
                            text=True, check=True)
    assert re.search(r"^clustering\tmethod\tfinetune budget\tcompresses its input 'start'\ttrained$", listed.stdout,
                     flags=re.M)
    assert re.search(r"^distill\tmethod\ttrain budget\tbuilds its model afresh\ttrained$", listed.stdout, flags=re.M)
    # a working directory of its own, as tests/test_workflow.py runs the tiny study (run from the repository
    # root, snakemake would merge the Snakefile's config/config.yaml, every default method, under tiny.yaml):
    # a copy of the finished tiny study, with snakemake's records and modification times
    workdir = finished_copy(tiny_study, tmp_path)
    results = workdir / "results"
    trained = {m: (results / "models" / m / "dense" / "seed0" / "model.pt").stat().st_mtime_ns  # not rewritten
               for m in ("baseline", "baseline_ft")}
    proc = subprocess.run([sys.executable, "-m", "snakemake", "all", "--cores", "2", "--snakefile",
                           str(repo / "workflow" / "Snakefile"), "--directory", str(workdir), "--configfile",
                           str(repo / "config" / "tiny.yaml")], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert status(repo) == recipe  # the run wrote nothing into the checkout
    ran = set(re.findall(r"^\s+wildcards: .*?\bmethod=([^,\s]+)", proc.stdout + proc.stderr, flags=re.M))
    assert ran and ran <= {*MODULES, "small_dense"}, ran  # the new methods' jobs and their control's alone
    assert trained == {m: (results / "models" / m / "dense" / "seed0" / "model.pt").stat().st_mtime_ns for m in trained}

    rows = {(r["method"], r["level"]): r for r in csv.DictReader((results / "summary.csv").open())}
    student = json.loads((results / "models" / "distill" / levels["distill"] / "seed0" / "train.json").read_text())
    control = tuple(student["control"].split("/"))
    assert control[0] == "small_dense"  # the narrow UNet without its teacher, added by itself
    assert set(rows) == {("baseline", "dense"), ("baseline_ft", "dense"), control, *levels.items()}
    base = rows[("baseline", "dense")]
    for m, level in levels.items():
        row = rows[(m, level)]
        assert row["error"] == "" and 0 <= float(row["dice"]) <= 1 and float(row["p50_ms"]) > 0

    # clustering: the same float32 file, fewer distinct values, so only gzip shrinks; its own facts reach
    # the export record and the summary, and they are true of the file it made
    clustering = rows[("clustering", levels["clustering"])]
    assert clustering["file_bytes"] == base["file_bytes"] and int(clustering["gzip_bytes"]) < int(base["gzip_bytes"])
    assert (clustering["budget"], clustering["control"]) == ("finetune", "baseline_ft/dense")
    export = json.loads((results / "export" / "clustering" / levels["clustering"] / "seed0" / "export_ptl.json")
                        .read_text())
    k = int(levels["clustering"][1:])
    assert export["clusters"] == k and export["index_bits"] == (k - 1).bit_length()
    assert export["method_facts"] == ["clusters", "codebook_bytes", "index_bits", "most_distinct_values_in_a_conv"]
    assert 0 < export["most_distinct_values_in_a_conv"] <= k
    assert export["codebook_bytes"] < export["bytes"] / 4  # float32 weights against log2(k)-bit indices
    assert f"codebook_bytes={export['codebook_bytes']}" in clustering["method_facts"]

    # distill: the train budget from scratch, the baseline of its seed as its teacher (an input of its job),
    # the teacher's term in every step's loss, a network narrower than the baseline, its own control
    assert (student["budget"], student["role"]) == ("train", "method")
    assert student["inputs"] == {"teacher": {"model": "baseline/dense",
                                             "checkpoint": "results/models/baseline/dense/seed0/model.pt"}}
    weight = config["methods"]["distill"]["weight"]
    assert student["epochs"] and all(e["loss"] > weight * e["teacher_mse"] > 0 for e in student["epochs"])
    assert int(rows[("distill", levels["distill"])]["stored_numbers"]) < int(base["stored_numbers"])
    comparisons = {(r["method"], r["level"]): r for r in csv.DictReader((results / "comparisons.csv").open())}
    assert comparisons[("distill", levels["distill"])]["control"] == "/".join(control)

    report = (results / "report.html").read_text()
    assert all(f'<td class="t">{m}</td>' in report for m in MODULES)
