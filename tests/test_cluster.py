"""The cluster path, run for real (issue #17): the tiny study through workflow/profiles/slurm on a
one-node SLURM with accounting on this machine (scripts/slurm_one_node.sh), beside the same study
run locally. `make cluster-test` starts the cluster and runs this file; elsewhere it skips.

One run through the profile serves most tests: the README's command for it, as written, in a folder
laid out like a checkout, with the site's account and partition in the environment (SBATCH_ACCOUNT,
SBATCH_PARTITION). While it runs, the baseline's training job is scancelled mid-job, as a scheduler
kills a job; the profile's retry must resubmit it and the study must end with the local run's results
(Dice, exported bytes and their sha256; never timings, which the SLURM jobs on the same two cores
disturb). Two short runs check what happens without account and partition, and with a wrong account."""

import csv
import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from frbench.methods import with_controls

from conftest import ROOT

pytestmark = pytest.mark.skipif(
    os.environ.get("FRBENCH_CLUSTER_TEST") != "1",
    reason="runs on the one-node SLURM that `make cluster-test` starts (scripts/slurm_one_node.sh)",
)

ACCOUNT, PARTITION = "frbench", "main"  # what scripts/slurm_one_node.sh registers
PROFILE = yaml.safe_load((ROOT / "workflow" / "profiles" / "slurm" / "config.yaml").read_text())
RUN_TIMEOUT = 1800  # seconds for the whole study through SLURM (about 8 minutes here)
# What must be the same whether a model was trained on SLURM or here: accuracy and the exported file.
SAME_COLUMNS = ["error", "dice", "dice_eager", "dice_images", "best_val_dice", "best_epoch", "file_bytes",
                "gzip_bytes", "weights_bytes", "program_bytes", "container_bytes", "update_bytes", "stored_numbers",
                "nonzero_numbers", "params_eager", "fidelity_max_abs", "graph_signature", "update_dice"]


TINY = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())


def tiny_models() -> dict[str, list[str]]:
    return with_controls(TINY["methods"], TINY["model"])


def tiny_benchmarks() -> int:
    """The tiny study's benchmark jobs (and summary rows): every model on every format, on the host."""
    return sum(len(levels) for levels in tiny_models().values()) * len(TINY["formats"])


def documented_cluster_command() -> str:
    """The README's command for the tiny study through the slurm profile."""
    text = (ROOT / "README.md").read_text()
    found = [line.split("#")[0].strip() for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S)
             for line in block.splitlines()
             if line.startswith("snakemake") and "workflow/profiles/slurm" in line and "config/tiny.yaml" in line]
    assert len(found) == 1, f"the README should show one such command, found {found}"
    return found[0]


def make_checkout(root: Path) -> Path:
    """A folder laid out like a checkout: the repository's workflow and configs, results of its own."""
    root.mkdir(parents=True)
    for part in ("workflow", "config"):
        (root / part).symlink_to(ROOT / part)
    return root


def environment(**site) -> dict:
    """This environment with the virtualenv first on PATH, no site settings unless given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SBATCH_", "SLURM_"))}
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    return {**env, **site}


def cancel_leftovers(workdir: Path):
    """scancel whatever a run in `workdir` left in the queue (a timed-out or failed run)."""
    out = subprocess.run(["squeue", "-h", "-o", "%i|%Z"], capture_output=True, text=True).stdout
    ids = [i for i, d in (line.split("|", 1) for line in out.splitlines() if "|" in line)
           if d.startswith(str(workdir))]
    if ids:
        subprocess.run(["scancel", *ids], check=False)


def run(workdir: Path, command: str, env: dict, timeout: int, while_running=None) -> subprocess.CompletedProcess:
    """`command` in bash in `workdir`, killed (with the jobs it queued) after `timeout` seconds;
    `while_running(proc)` runs in a thread meanwhile."""
    with open(workdir / "run.log", "w") as log:
        proc = subprocess.Popen(["bash", "-c", command], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        watcher = threading.Thread(target=while_running, args=(proc,), daemon=True) if while_running else None
        if watcher:
            watcher.start()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        finally:
            cancel_leftovers(workdir)
    output = (workdir / "run.log").read_text()
    if proc.returncode == -signal.SIGKILL:
        pytest.fail(f"{command!r} did not finish in {timeout} s:\n{output[-4000:]}")
    return subprocess.CompletedProcess(command, proc.returncode, output, "")


def sacct(run_id: str) -> list[dict]:
    """Every job of a snakemake run (its SLURM job name is the run's id), from the accounting."""
    start = f"{datetime.now() - timedelta(days=1):%Y-%m-%dT%H:%M}"
    fields = ["JobIDRaw", "State", "Comment", "AllocTRES", "TimelimitRaw", "Account", "Partition"]
    out = subprocess.run(["sacct", "-X", "-P", "-n", "--name", run_id, "-S", start, "-E", "now", "-o", ",".join(fields)],
                         capture_output=True, text=True, check=True).stdout
    return [dict(zip(fields, line.split("|"))) for line in out.splitlines() if line]


def run_id(output: str) -> str:
    found = re.search(r"SLURM run ID: (\S+)", output)
    assert found, output[-3000:]
    return found.group(1)


def rule_of(job: dict) -> str:
    """The rule a SLURM job ran: the plugin's comment is rule_<rule>_wildcards_<values>, or rule_<rule>."""
    return re.match(r"rule_(\w+?)(?:_wildcards_.*)?$", job["Comment"]).group(1)


BASELINE_JOB = "rule_train_wildcards_baseline_dense_0"  # the comment of the baseline's training job (values joined by _)


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory):
    """The tiny study through the slurm profile, with the baseline's training job scancelled while it runs."""
    assert subprocess.run(["sinfo", "-h"], capture_output=True).returncode == 0, "no SLURM: scripts/slurm_one_node.sh start"
    checkout = make_checkout(tmp_path_factory.mktemp("cluster") / "checkout")
    train_log = checkout / "results" / "logs" / "models" / "baseline" / "dense" / "seed0.log"
    cancelled = []

    def cancel_baseline_while_it_trains(proc):
        # The job is RUNNING and its command has started (its log exists): scancel it, as a scheduler would.
        while proc.poll() is None and not cancelled:
            queue = subprocess.run(["squeue", "-h", "-o", "%i|%T|%k"], capture_output=True, text=True).stdout
            for jobid, state, comment in (line.split("|", 2) for line in queue.splitlines() if line.count("|") >= 2):
                if comment == BASELINE_JOB and state == "RUNNING" and train_log.exists():
                    subprocess.run(["scancel", jobid], check=True)
                    cancelled.append(jobid)
                    break
            time.sleep(0.2)

    command = documented_cluster_command()
    start = time.monotonic()
    proc = run(checkout, command, environment(SBATCH_ACCOUNT=ACCOUNT, SBATCH_PARTITION=PARTITION), RUN_TIMEOUT,
               while_running=cancel_baseline_while_it_trains)
    seconds = time.monotonic() - start
    print(f"\n{command}: {seconds:.0f} s through SLURM")
    assert proc.returncode == 0, proc.stdout[-5000:]
    return {"dir": checkout, "log": proc.stdout, "jobs": sacct(run_id(proc.stdout)), "cancelled": cancelled}


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The same study run here, the README's way (`snakemake --cores N all --configfile config/tiny.yaml`)."""
    checkout = make_checkout(tmp_path_factory.mktemp("local") / "checkout")
    proc = run(checkout, "snakemake --cores 2 all --configfile config/tiny.yaml", environment(), 1200)
    assert proc.returncode == 0, proc.stdout[-5000:]
    return checkout


def test_the_documented_command_runs_the_tiny_study_through_sbatch(cluster_run):
    log, jobs = cluster_run["log"], cluster_run["jobs"]
    assert "Using workflow specific profile workflow/profiles/slurm" in log
    assert "No SLURM account given" not in log  # taken from SBATCH_ACCOUNT
    submitted = {rule_of(job) for job in jobs}
    # the dataset, every training job (the one rule `train`) and the exports through sbatch; nothing local among them
    assert submitted == {"dataset", "export", "train"}, submitted
    trained = [job for job in jobs if rule_of(job) == "train" and job["JobIDRaw"] not in cluster_run["cancelled"]]
    assert len(trained) == sum(len(levels) for levels in tiny_models().values())
    assert all(job["State"] == "COMPLETED" for job in jobs if job["JobIDRaw"] not in cluster_run["cancelled"]), jobs
    assert all((job["Account"], job["Partition"]) == (ACCOUNT, PARTITION) for job in jobs), jobs
    for rule in ("bench", "summarize", "figures", "report"):
        assert re.search(rf"^localrule {rule}:$", log, flags=re.M), rule  # run here, by snakemake itself
    summary = list(csv.DictReader((cluster_run["dir"] / "results" / "summary.csv").open()))
    assert len(summary) == tiny_benchmarks() and all(r["error"] == "" for r in summary)


def test_every_job_gets_the_profiles_claims_from_the_scheduler(cluster_run):
    train = PROFILE["set-resources"]["train"]
    for job in cluster_run["jobs"]:
        if job["JobIDRaw"] in cluster_run["cancelled"]:
            continue
        rule, tres = rule_of(job), dict(item.split("=", 1) for item in job["AllocTRES"].split(","))
        if rule == "train":  # every tiny method trains on a GPU where there is one (Method.trains_on_gpu)
            expected = (1, train["mem_mb"], train["runtime"])
        else:
            claims = {**PROFILE["default-resources"], **PROFILE["set-resources"].get(rule, {})}
            expected = (0, claims["mem_mb"], claims["runtime"])
        assert (int(tres.get("gres/gpu", 0)), tres["mem"], int(job["TimelimitRaw"])) == (
            expected[0], f"{expected[1]}M", expected[2]), job


def test_a_scancelled_training_job_is_retried(cluster_run):
    assert len(cluster_run["cancelled"]) == 1, "the baseline's training job was never seen running"
    jobs = {job["JobIDRaw"]: job for job in cluster_run["jobs"]}
    cancelled = jobs[cluster_run["cancelled"][0]]
    assert cancelled["Comment"] == BASELINE_JOB and cancelled["State"].startswith("CANCELLED"), cancelled
    again = [job for job in jobs.values() if job["Comment"] == BASELINE_JOB and job is not cancelled]
    assert len(again) == 1 and again[0]["State"] == "COMPLETED" and int(again[0]["JobIDRaw"]) > int(cancelled["JobIDRaw"])
    assert f"SLURM-job '{cancelled['JobIDRaw']}' failed, SLURM status is: 'CANCELLED'" in cluster_run["log"]
    assert "Trying to restart job" in cluster_run["log"]


def test_benchmarks_ran_one_at_a_time_on_the_submitting_machine(cluster_run):
    running, most, started = set(), 0, 0
    lines = cluster_run["log"].splitlines()
    for i, line in enumerate(lines):
        if line == "localrule bench:":
            jobid = next(re.match(r"\s+jobid: (\d+)", later).group(1) for later in lines[i:] if "jobid:" in later)
            running.add(jobid)
            started += 1
            most = max(most, len(running))
        elif found := re.match(r"Finished jobid: (\d+) \(Rule: bench\)", line):
            running.discard(found.group(1))
    assert started == tiny_benchmarks() and most == 1


def test_the_summary_equals_the_local_runs(cluster_run, local_run):
    """Same Dice, same exported bytes: a model trained by a SLURM job, its first attempt killed, is the
    model trained here."""
    def rows(checkout):
        table = csv.DictReader((checkout / "results" / "summary.csv").open())
        return {(r["method"], r["level"], r["seed"], r["fmt"], r["device"]): r for r in table}

    slurm, local = rows(cluster_run["dir"]), rows(local_run)
    assert slurm.keys() == local.keys()
    for key in local:
        assert {c: slurm[key][c] for c in SAME_COLUMNS} == {c: local[key][c] for c in SAME_COLUMNS}, key

    def digests(checkout):  # every exported file (the records hold timings and are compared above)
        export = checkout / "results" / "export"
        return {str(p.relative_to(export)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(export.rglob("*")) if p.is_file() and p.suffix != ".json"}

    assert digests(cluster_run["dir"]) == digests(local_run) and len(digests(local_run)) >= len(local)


def test_without_account_or_partition_jobs_go_to_the_defaults(tmp_path):
    """No SBATCH_ACCOUNT or SBATCH_PARTITION: sbatch charges the user's default account, in the default
    partition (the plugin's guess at an account fails and says so, harmlessly)."""
    checkout = make_checkout(tmp_path / "checkout")
    proc = run(checkout, "snakemake results/data/dataset.npz --workflow-profile workflow/profiles/slurm"
               " --configfile config/tiny.yaml --slurm-init-seconds-before-status-checks 5", environment(), 600)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "No SLURM account given, trying to guess" in proc.stdout
    (job,) = sacct(run_id(proc.stdout))
    assert (rule_of(job), job["State"], job["Account"], job["Partition"]) == ("dataset", "COMPLETED", ACCOUNT, PARTITION)


def test_an_account_that_is_not_yours_stops_the_first_job_saying_which_you_have(tmp_path):
    checkout = make_checkout(tmp_path / "checkout")
    proc = run(checkout, "snakemake results/data/dataset.npz --workflow-profile workflow/profiles/slurm"
               " --configfile config/tiny.yaml", environment(SBATCH_ACCOUNT="not_ours"), 600)
    assert proc.returncode != 0
    assert "The given account not_ours appears to be invalid. Available accounts:" in proc.stdout, proc.stdout[-3000:]
    assert ACCOUNT in proc.stdout.split("Available accounts:")[1].splitlines()[1]
    assert not (checkout / "results" / "data" / "dataset.npz").exists()
