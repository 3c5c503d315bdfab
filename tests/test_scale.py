"""Paper scale through the SLURM profile, planned but not run (issue #7): `snakemake -n` with
workflow/profiles/slurm and config/paper.yaml on a Carvana-layout folder. Training jobs ask
for a GPU; benchmark jobs do not, and take no phone when the device is the host."""

import re
import subprocess
import sys

import yaml

from frbench.methods import with_controls

from conftest import ROOT, carvana_folder


def jobs(plan: str) -> list[tuple[str, str]]:
    """(rule, resources line) of every job a dry run plans."""
    return re.findall(r"^(?:local)?rule (\w+):\n(?:.*\n)*?\s+resources: (.*)$", plan, flags=re.M)


def test_paper_config_plans_gpu_training_on_slurm(tmp_path):
    # enough images that FR's r0.0001 schedule (155 steps) fits in 5 epochs at batch 2 (frbench.combinations)
    carvana_folder(tmp_path, n=80)
    override = tmp_path / "carvana.yaml"
    override.write_text(yaml.safe_dump({"data": {"folder": {"images": str(tmp_path / "train"),
                                                            "masks": str(tmp_path / "train_masks")}}}))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--dry-run", "--workflow-profile",
                           str(ROOT / "workflow/profiles/slurm"), "--snakefile", str(ROOT / "workflow/Snakefile"),
                           "--configfile", str(ROOT / "config/paper.yaml"), str(override),
                           "--directory", str(tmp_path / "run"), "all"], capture_output=True, text=True, cwd=ROOT)
    plan = proc.stdout + proc.stderr
    assert proc.returncode == 0, plan[-3000:]
    assert re.search(r"Using workflow specific profile \S*workflow/profiles/slurm for setting", plan), plan[:2000]
    planned = jobs(plan)
    paper = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    models = with_controls(paper["methods"], paper["model"])  # the FR levels' small_dense controls too
    assert set(models) == {*paper["methods"], "small_dense"}
    training = [(r, res) for r, res in planned if r == "train"]  # one rule trains every model
    n_models = sum(len(levels) for levels in models.values()) * len(paper["seeds"])
    assert len(training) == n_models
    assert all("gpu=1" in res for _, res in training), training
    bench = [res for r, res in planned if r == "bench"]
    assert len(bench) == n_models * len(paper["formats"])
    assert all("gpu=" not in res and "android_device=0" in res for res in bench)
    assert sum(r == "dataset" for r, _ in planned) == 1
