"""The user story "add a compression method as a rule", followed verbatim from the README.

The README's section "Adding a compression method" holds the blocks of two methods: each one's
module and rule, and their config entries. This test copies the repository (the package, the
workflow and the configs) to a temporary directory, writes the blocks there as a user would and
touches nothing else, and runs the tiny study with the copy first on the Python path (a user's
checkout is installed in editable mode instead; the README says both). Both methods must come out
of the other end: `slimming`, which changes the training objective (a loss hook), and `clustering`,
which declares facts of its own export.
"""

import csv
import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest
import yaml

from conftest import ROOT

SECTION = "## Adding a compression method"
MODULES = {"clustering", "slimming"}


def recipe_blocks() -> dict[str, str]:
    """{first-line comment: block} for the fenced blocks of the README's recipe."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index(SECTION):]
    section = section[: section.index("\n## ", len(SECTION))]
    blocks = re.findall(r"```\w+\n(# [^\n]+)\n(.*?)```", section, flags=re.S)
    return {head: body for head, body in blocks}


def test_readme_recipe_has_modules_rules_and_config():
    heads = set(recipe_blocks())
    assert {f"# file: frbench/methods/{m}.py" for m in MODULES} <= heads
    assert {f"# file: workflow/rules/methods/{m}.smk" for m in MODULES} <= heads
    assert "# under methods: in config/config.yaml" in heads
    # the cluster claim of each new rule (tests/test_slurm_profile.py checks that every rule has one)
    claims = yaml.safe_load(recipe_blocks()["# under set-resources: in workflow/profiles/slurm/config.yaml"]
                            .replace("*train", "train"))
    assert claims == {m: "train" for m in MODULES}


def changed_files(original, copy) -> set[str]:
    """Paths (relative) that differ between two trees, or exist in one only."""
    changed = set()

    def walk(cmp, prefix=""):
        changed.update(prefix + n for n in cmp.left_only + cmp.right_only + cmp.diff_files + cmp.funny_files)
        for name, sub in cmp.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(original, copy, ignore=["__pycache__"]))
    return changed


@pytest.mark.slow
def test_methods_added_by_the_recipe_reach_the_summary_and_the_report(tmp_path):
    repo = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "results", ".snakemake")
    for part in ("frbench", "workflow", "config"):
        shutil.copytree(ROOT / part, repo / part, ignore=ignore)

    # follow the recipe: the files, then the config entries (into the tiny study, beside the baseline only)
    entries = None
    for head, body in recipe_blocks().items():
        if head.startswith("# file: "):
            path = repo / head.removeprefix("# file: ")
            assert not path.exists(), f"the recipe would overwrite {path}"
            path.write_text(f"{head}\n{body}")
        elif "config/config.yaml" in head:
            entries = yaml.safe_load(textwrap.dedent(body))
    assert set(entries) == MODULES
    config = yaml.safe_load((repo / "config" / "tiny.yaml").read_text())
    config["methods"] = {"baseline": config["methods"]["baseline"],
                         **{m: {**entries[m], "levels": entries[m]["levels"][:1]} for m in MODULES}}
    (repo / "config" / "tiny.yaml").write_text(yaml.safe_dump(config))
    levels = {m: config["methods"][m]["levels"][0] for m in MODULES}
    # each method touched its module, its rule and its config entry, and nothing else
    touched = {*(f"frbench/methods/{m}.py" for m in MODULES), *(f"workflow/rules/methods/{m}.smk" for m in MODULES)}
    assert {p for part in ("frbench", "workflow") for p in changed_files(ROOT / part, repo / part)} \
        == {p.split("/", 1)[1] for p in touched}

    env = {**os.environ, "PYTHONPATH": str(repo)}
    listed = subprocess.run([sys.executable, "-m", "frbench", "methods"], cwd=repo, env=env, capture_output=True,
                            text=True, check=True)
    for m in MODULES:
        assert re.search(rf"^{m}\tpost-training", listed.stdout, flags=re.M)
    # a working directory of its own, as tests/test_workflow.py runs the tiny study: run from the repository
    # root, snakemake would merge the Snakefile's config/config.yaml (every default method) under tiny.yaml
    workdir = tmp_path / "study"
    proc = subprocess.run([sys.executable, "-m", "snakemake", "all", "--cores", "2", "--snakefile",
                           str(repo / "workflow" / "Snakefile"), "--directory", str(workdir), "--configfile",
                           str(repo / "config" / "tiny.yaml")], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-5000:]
    results = workdir / "results"

    rows = {(r["method"], r["level"]): r for r in csv.DictReader((results / "summary.csv").open())}
    assert set(rows) == {("baseline", "dense"), ("baseline_ft", "dense"), *levels.items()}  # and their control
    base = rows[("baseline", "dense")]
    for m, level in levels.items():
        row = rows[(m, level)]
        assert row["error"] == "" and 0 <= float(row["dice"]) <= 1 and float(row["p50_ms"]) > 0

    # clustering: the same float32 file, fewer distinct values, so only gzip shrinks; its own facts reach
    # the export record and the summary, and they are true of the file it made
    clustering = rows[("clustering", levels["clustering"])]
    assert clustering["file_bytes"] == base["file_bytes"] and int(clustering["gzip_bytes"]) < int(base["gzip_bytes"])
    export = json.loads((results / "export" / "clustering" / levels["clustering"] / "seed0" / "export_ptl.json")
                        .read_text())
    k = int(levels["clustering"][1:])
    assert export["clusters"] == k and export["index_bits"] == (k - 1).bit_length()
    assert export["method_facts"] == ["clusters", "codebook_bytes", "index_bits", "most_distinct_values_in_a_conv"]
    assert 0 < export["most_distinct_values_in_a_conv"] <= k
    assert export["codebook_bytes"] < export["bytes"] / 4  # float32 weights against log2(k)-bit indices
    assert f"codebook_bytes={export['codebook_bytes']}" in clustering["method_facts"]

    # slimming: the same budget and seed as its control, baseline_ft, but its hook's penalty is in every
    # step's loss (weight x the sum of |BatchNorm scale|, well above the loss's own size here)
    def losses(method, level):
        record = json.loads((results / "models" / method / level / "seed0" / "train.json").read_text())
        return [e["loss"] for e in record["epochs"]], record["epochs"]

    slim, slim_epochs = losses("slimming", levels["slimming"])
    control, _ = losses("baseline_ft", "dense")
    assert len(slim) == len(control) and all(s > c + 0.5 for s, c in zip(slim, control))
    assert all("scales_below_0.01" in e for e in slim_epochs)

    report = (results / "report.html").read_text()
    assert all(m in report for m in MODULES)
