"""The user story "add a compression method as a rule", followed verbatim from the README.

The README's section "Adding a compression method" holds three blocks: the module,
the rule and the config entry. This test copies the repository (the package, the
workflow and the configs) to a temporary directory, writes the blocks there as a
user would, and runs the tiny study with the copy first on the Python path (a
user's checkout is installed in editable mode instead; the README says both). The
new method must come out of the other end: rows in summary.csv, no edit elsewhere.
"""

import csv
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


def recipe_blocks() -> dict[str, str]:
    """{first-line comment: block} for the fenced blocks of the README's recipe."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index(SECTION):]
    section = section[: section.index("\n## ", len(SECTION))]
    blocks = re.findall(r"```\w+\n(# [^\n]+)\n(.*?)```", section, flags=re.S)
    return {head: body for head, body in blocks}


def test_readme_recipe_has_module_rule_and_config():
    heads = set(recipe_blocks())
    assert {"# file: frbench/methods/clustering.py", "# file: workflow/rules/methods/clustering.smk",
            "# under methods: in config/config.yaml"} <= heads


@pytest.mark.slow
def test_a_method_added_by_the_recipe_reaches_the_summary(tmp_path):
    repo = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "results", ".snakemake")
    for part in ("frbench", "workflow", "config"):
        shutil.copytree(ROOT / part, repo / part, ignore=ignore)

    # follow the recipe: the two files, then the config entry (into the tiny study, beside the baseline only)
    entry = None
    for head, body in recipe_blocks().items():
        if head.startswith("# file: "):
            path = repo / head.removeprefix("# file: ")
            assert not path.exists(), f"the recipe would overwrite {path}"
            path.write_text(f"{head}\n{body}")
        elif "config/config.yaml" in head:
            entry = yaml.safe_load(textwrap.dedent(body))
    assert set(entry) == {"clustering"}
    config = yaml.safe_load((repo / "config" / "tiny.yaml").read_text())
    config["methods"] = {"baseline": config["methods"]["baseline"],
                         "clustering": {**entry["clustering"], "levels": entry["clustering"]["levels"][:1]}}
    (repo / "config" / "tiny.yaml").write_text(yaml.safe_dump(config))
    level = config["methods"]["clustering"]["levels"][0]

    env = {**os.environ, "PYTHONPATH": str(repo)}
    listed = subprocess.run([sys.executable, "-m", "frbench", "methods"], cwd=repo, env=env, capture_output=True,
                            text=True, check=True)
    assert re.search(r"^clustering\tpost-training", listed.stdout, flags=re.M)
    # a working directory of its own, as tests/test_workflow.py runs the tiny study: run from the repository
    # root, snakemake would merge the Snakefile's config/config.yaml (every default method) under tiny.yaml
    workdir = tmp_path / "study"
    proc = subprocess.run([sys.executable, "-m", "snakemake", "all", "--cores", "2", "--snakefile",
                           str(repo / "workflow" / "Snakefile"), "--directory", str(workdir), "--configfile",
                           str(repo / "config" / "tiny.yaml")], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-5000:]

    rows = {(r["method"], r["level"]): r for r in csv.DictReader((workdir / "results" / "summary.csv").open())}
    assert set(rows) == {("baseline", "dense"), ("baseline_ft", "dense"), ("clustering", level)}  # and its control
    new, base = rows[("clustering", level)], rows[("baseline", "dense")]
    assert new["error"] == "" and 0 <= float(new["dice"]) <= 1 and float(new["p50_ms"]) > 0
    # the honest outcome the README states: same float32 file, fewer distinct values, so only gzip shrinks
    assert new["file_bytes"] == base["file_bytes"] and int(new["gzip_bytes"]) < int(base["gzip_bytes"])
    assert "clustering" in (workdir / "results" / "report.html").read_text()
