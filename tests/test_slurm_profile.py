"""The slurm profile, planned (issues #14 and #17): the profile's own command, as its header writes it,
dry-run on config/paper.yaml in a folder laid out like a checkout (with a Carvana-layout folder where
paper.yaml looks for it). Every training job asks for the GPU, memory and runtime the profile gives
training in one place; every benchmark job stays on the submitting machine and holds it alone; the
site's account and partition come from the environment. Fast: no SLURM needed (the run on a real
one-node SLURM is tests/test_cluster.py, `make cluster-test`)."""

import os
import re
import subprocess
import sys

import pytest
import yaml

from frbench.methods import get_method, list_methods, with_controls

from conftest import ROOT, carvana_folder

PROFILE = ROOT / "workflow" / "profiles" / "slurm" / "config.yaml"


def profile() -> dict:
    """The profile as YAML (its anchors resolved; its `?expr` values left as text)."""
    return yaml.safe_load(PROFILE.read_text())


def local_rules() -> set[str]:
    """The rules declared `localrule: True` (a dry run prints no difference between local and submitted)."""
    names = set()
    for path in (ROOT / "workflow").rglob("*.smk"):
        for name, body in re.findall(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", path.read_text(), flags=re.M):
            if re.search(r"^\s+localrule: True$", body, flags=re.M):
                names.add(name)
    return names


def documented_command() -> str:
    """The command the profile's header gives."""
    return next(line.lstrip("# ").strip() for line in PROFILE.read_text().splitlines() if "snakemake " in line)


# small images, enough pairs that paper.yaml's FR schedule reaches its level within the planned training steps
STAND_IN = {"n": 100, "size": (32, 48)}


def planned_jobs(plan: str) -> list[tuple[str, dict]]:
    """(rule, resources) of every job a dry run plans."""
    jobs = re.findall(r"^rule (\w+):\n(?:.*\n)*?\s+resources: (.*)$", plan, flags=re.M)
    return [(rule, dict(item.split("=", 1) for item in resources.split(", "))) for rule, resources in jobs]


def test_every_training_job_has_the_training_claims_from_one_place():
    """Every model of every method and chain trains in the one rule `train`, so its one entry under
    set-resources is every training job's claim: no entry names a method (a method added later
    needs none), and nothing else is set there but the dataset's own."""
    claims = profile()["set-resources"]
    assert set(claims) == {"train", "dataset"}, f"only `train` and `dataset` belong under set-resources: {set(claims)}"
    assert not set(claims) & set(list_methods())
    train = claims["train"]
    assert train["mem_mb"] >= 16000 and train["runtime"] >= 60
    assert "gpu" not in train  # the rule's own claim, from the method (Method.trains_on_gpu)
    assert re.search(r"^rule train:", (ROOT / "workflow" / "rules" / "train.smk").read_text(), flags=re.M)


@pytest.fixture(scope="module")
def paper_plan(tmp_path_factory) -> str:
    """The profile's documented command on config/paper.yaml, as written, with --dry-run, in a folder
    laid out like a checkout, the site's account and partition in the environment."""
    checkout = tmp_path_factory.mktemp("checkout")
    (checkout / "workflow").symlink_to(ROOT / "workflow")
    (checkout / "config").symlink_to(ROOT / "config")
    carvana_folder(checkout / "data" / "carvana", **STAND_IN)  # where config/paper.yaml looks
    command = documented_command()
    assert command == "snakemake all --workflow-profile workflow/profiles/slurm --configfile config/paper.yaml"
    env = {**os.environ, "SBATCH_ACCOUNT": "acme_gpu", "SBATCH_PARTITION": "gpu",
           "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])}
    proc = subprocess.run(["bash", "-c", f"{command} --dry-run"], cwd=checkout, env=env, capture_output=True, text=True,
                          timeout=600)
    plan = proc.stdout + proc.stderr
    assert proc.returncode == 0, plan[-3000:]
    assert re.search(r"Using workflow specific profile \S*workflow/profiles/slurm for setting", plan), plan[:2000]
    return plan


def test_paper_yaml_command_plans_with_the_folder_it_names(tmp_path):
    """config/paper.yaml's header command, as written but for where the Carvana folder lies."""
    header = (ROOT / "config" / "paper.yaml").read_text().split("\nseeds:")[0]
    command = re.search(r"e\.g\. (snakemake .*?)\n# \(", header, flags=re.S).group(1)
    command = re.sub(r"\\\n#\s*", "", command).replace("/data/carvana", str(tmp_path / "carvana"))
    carvana_folder(tmp_path / "carvana", **STAND_IN)
    (tmp_path / "checkout").mkdir()
    for part in ("workflow", "config"):
        (tmp_path / "checkout" / part).symlink_to(ROOT / part)
    env = {**os.environ, "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])}
    proc = subprocess.run(["bash", "-c", f"{command} --dry-run"], cwd=tmp_path / "checkout", env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "This was a dry-run" in proc.stdout, (command, (proc.stdout + proc.stderr)[-3000:])


def test_paper_plan_every_training_job_asks_for_its_gpu_memory_and_runtime(paper_plan):
    paper = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    models = with_controls(paper["methods"], paper["model"])  # the FR levels' small_dense controls too
    assert all(get_method(m).trains_on_gpu for m in models)  # each claims its GPU
    train = profile()["set-resources"]["train"]
    training = [(rule, res) for rule, res in planned_jobs(paper_plan) if rule == "train"]
    assert len(training) == sum(len(levels) for levels in models.values()) * len(paper["seeds"])
    assert "train" not in local_rules()  # submitted with sbatch
    for rule, res in training:
        assert (res["gpu"], res["mem_mb"], res["runtime"]) == ("1", str(train["mem_mb"]), str(train["runtime"])), res
        assert (res["slurm_account"], res["slurm_partition"]) == ("acme_gpu", "gpu"), (rule, res)


def test_paper_plan_benchmarks_stay_local_and_one_at_a_time(paper_plan):
    assert {"bench", "summarize", "figures", "report"} <= local_rules()
    jobs = planned_jobs(paper_plan)
    paper = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    models = with_controls(paper["methods"], paper["model"])
    bench = [res for rule, res in jobs if rule == "bench"]
    n_models = sum(len(levels) for levels in models.values()) * len(paper["seeds"])
    assert len(bench) == n_models * len(paper["formats"]) * len(paper["devices"])
    for res in bench:
        assert "gpu" not in res and res["android_device"] == "0" and res["whole_host"] == "1", res
    assert profile()["resources"]["whole_host"] == 1  # the limit that makes the claim hold
    # what is not local goes through sbatch: the dataset, the training and the exports
    submitted = {rule for rule, _ in jobs} - local_rules() - {"all"}
    assert submitted == {"dataset", "export", "train"}


def test_paper_plan_dataset_and_exports_get_their_own_claims(paper_plan):
    claims = profile()
    jobs = planned_jobs(paper_plan)
    dataset = next(res for rule, res in jobs if rule == "dataset")
    assert dataset["mem_mb"] == str(claims["set-resources"]["dataset"]["mem_mb"]) and "gpu" not in dataset
    exports = [res for rule, res in jobs if rule == "export"]
    assert exports and all(res["mem_mb"] == str(claims["default-resources"]["mem_mb"]) and "gpu" not in res
                           for res in exports)
