"""Faults survived and bad input refused (issue #7): interrupted runs resume to the same
results, damaged files (a checkpoint, an exported model, the dataset) become error rows
while the report still builds, a second run gives the same numbers and bytes, a full disk
leaves no half-written file, and mistaken configs fail before any job runs."""

import csv
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from filelock import FileLock

from frbench.io import atomic_path, atomic_write_bytes
from frbench.methods import with_controls

from conftest import ROOT, run_as_written, shared_tmp, snakemake

SNAKEFILE = ROOT / "workflow" / "Snakefile"
HOLD = ROOT / "tests" / "hold"  # sitecustomize.py: holds a job in the stage an interrupt test names
# What must not change when a run is interrupted and resumed (timings and memory may).
STABLE = ["method", "level", "seed", "fmt", "device", "error", "dice", "dice_eager", "file_bytes", "gzip_bytes",
          "stored_numbers", "nonzero_numbers", "fidelity_max_abs", "best_val_dice", "best_epoch", "epochs"]


def micro_config(tmp_path: Path, **changes) -> Path:
    """The tiny study cut to the baseline and one format, without the weights-only update's second
    benchmark worker (the tiny study's own; tests/test_bad_input.py damages its files), so that a study
    takes seconds."""
    config = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())
    config["methods"] = {"baseline": {"levels": ["dense"]}}
    config["formats"] = ["ptl"]
    config["bench"]["weights_update"] = False
    config["train"]["epochs"] = 3
    config.update(changes)
    path = tmp_path / "micro.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def snakemake_cmd(workdir: Path, configfile: Path, *args) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE), "--directory", str(workdir),
            "--configfile", str(configfile), "--cores", "2", *args]


def run(workdir, configfile, *args, check=True):
    proc = subprocess.run(snakemake_cmd(workdir, configfile, *args), capture_output=True, text=True, cwd=ROOT)
    if check and proc.returncode:
        pytest.fail(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def stable_rows(workdir: Path) -> list[dict]:
    with (workdir / "results" / "summary.csv").open() as f:
        return [{k: row[k] for k in STABLE} for row in csv.DictReader(f)]


@pytest.fixture(scope="session")
def reference_study(request):
    """An uninterrupted micro study: what every interrupted one must end equal to. Built once for the
    session in the folder every xdist worker shares (the first worker to ask builds it, under a lock; the
    others wait for it), and only read: a test that changes it works on a copy."""
    d = shared_tmp(request.config) / "uninterrupted"
    with FileLock(d.with_suffix(".lock")):
        if not (d / "results" / "report.html").exists():
            d.mkdir(exist_ok=True)
            run(d, micro_config(d), "all")
    return d, d / "micro.yaml"


# A shell starts a background job (`make test &`, `nohup`) with SIGINT ignored, and an ignored signal stays
# ignored across exec: snakemake and its jobs would never see the test's SIGINT. The study is started
# through this, which gives SIGINT its default action back and then runs the command.
SIGINT_RESTORED = [sys.executable, "-c", "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                   "os.execv(sys.argv[1], sys.argv[1:])"]


def interrupt(workdir: Path, configfile: Path, stage: str, sig: signal.Signals, timeout=300):
    """Start the study with its first job of `stage` held there (tests/hold/sitecustomize.py), wait
    until that job says it is held, then send `sig` to snakemake and every job it started."""
    marker = workdir / "held"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HOLD), os.environ.get("PYTHONPATH", "")]),
           "FRBENCH_HOLD": stage, "FRBENCH_HOLD_MARKER": str(marker)}
    proc = subprocess.Popen([*SIGINT_RESTORED, *snakemake_cmd(workdir, configfile, "all")], cwd=ROOT,
                            start_new_session=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"the study ended before a {stage} job was held")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"no {stage} job was held within {timeout} s")
        time.sleep(0.05)
    os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # no process of the study outlives the test
        pytest.fail(f"snakemake did not end within 120 s of {sig.name}")
    marker.unlink()


@pytest.mark.slow
@pytest.mark.parametrize("sig, stage", [
    (signal.SIGINT, "train"),  # during training, after its first epoch
    (signal.SIGKILL, "bench"),  # during the benchmark
])
def test_interrupted_study_resumes_to_the_same_results(reference_study, tmp_path, sig, stage):
    ref_dir, config = reference_study
    interrupt(tmp_path, config, stage, sig)
    assert not (tmp_path / "results" / "summary.csv").exists()
    # no partial file under a final name: every output that exists is complete or marked incomplete
    leftovers = [p for p in (tmp_path / "results").rglob(".*.tmp")]
    assert leftovers == [], leftovers
    if sig == signal.SIGKILL:  # snakemake had no chance to release its lock: its own recovery step
        run(tmp_path, config, "--unlock")
    run(tmp_path, config, "all")  # the same command again finishes the study
    assert stable_rows(tmp_path) == stable_rows(ref_dir)


@pytest.mark.slow
def test_damaged_files_become_error_rows_and_the_report_builds(reference_study, tmp_path):
    ref_dir, _ = reference_study
    shutil.copytree(ref_dir, tmp_path, dirs_exist_ok=True)  # seed 0 done, with snakemake's records and mtimes
    config = micro_config(tmp_path, seeds=[0, 1])
    run(tmp_path, config, "all")  # seed 1's jobs, then the tables
    ckpt = tmp_path / "results/models/baseline/dense/seed1/model.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])  # truncated checkpoint
    model = tmp_path / "results/export/baseline/dense/seed0/model.ptl"
    model.write_bytes(b"\0" * 64)  # corrupt exported model
    run(tmp_path, config, "all")  # snakemake reruns what depends on the damaged files
    with (tmp_path / "results/summary.csv").open() as f:
        rows = {row["seed"]: row for row in csv.DictReader(f)}
    assert "truncated or corrupt checkpoint" in rows["1"]["error"] and str(ckpt.relative_to(tmp_path)) in rows["1"]["error"]
    assert rows["0"]["error"] and "model.ptl" in rows["0"]["error"]
    html = (tmp_path / "results/report.html").read_text()
    assert "Failed runs" in html and "truncated or corrupt checkpoint" in html


@pytest.mark.slow
def test_corrupt_dataset_gives_error_rows_and_the_report_builds(reference_study, tmp_path):
    """A dataset file damaged after it was built: every training job records the DataError and
    writes an empty checkpoint instead of failing, so the study still ends in a summary with
    an error row per model and a report; the error's advice then rebuilds the study."""
    ref_dir, config = reference_study
    shutil.copytree(ref_dir, tmp_path, dirs_exist_ok=True)  # a finished study, with snakemake's records and mtimes
    npz = tmp_path / "results/data/dataset.npz"
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])  # truncated (a copy cut short, a full disk)
    # The file is now newer than everything made from it: snakemake reruns all of that, but not
    # the dataset rule, whose output exists and whose params did not change.
    plan = dict(re.findall(r"^(\w+)\s+(\d+)$", run(tmp_path, config, "all", "--dry-run").stdout, flags=re.M))
    assert "dataset" not in plan and plan["train"] == "1" and plan["report"] == "1", plan  # the baseline: one job
    run(tmp_path, config, "all")
    train = json.loads((tmp_path / "results/models/baseline/dense/seed0/train.json").read_text())
    assert train["error"].startswith("DataError: results/data/dataset.npz: truncated or corrupt")
    assert (tmp_path / "results/models/baseline/dense/seed0/model.pt").read_bytes() == b""
    with (tmp_path / "results/summary.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows and all("results/data/dataset.npz" in r["error"] for r in rows)
    html = (tmp_path / "results/report.html").read_text()
    assert "Failed runs" in html and "dataset.npz: truncated or corrupt" in html
    # What the error says to run, as written: it rebuilds the file and everything made from it (deleting
    # the file and running `all` would not: snakemake leaves a missing intermediate file alone while what
    # was made from it exists), and the study is whole again.
    commands = set(re.findall(r"`(snakemake [^`]+)`", " ".join(r["error"] for r in rows)))
    assert commands == {f"snakemake --cores 1 all --forcerun results/data/dataset.npz --configfile {config}"}, commands
    run_as_written(tmp_path, commands.pop())
    assert stable_rows(tmp_path) == stable_rows(ref_dir)


# What a second run of the tiny study must reproduce, read from each model's records: the training's
# epochs (loss, learning rate, validation Dice, method facts such as FR's kept counts; not their seconds)
# and best epoch, and the export's file (its sha256, sizes, numbers stored) and test Dice, eager and run by
# the format's own runtime over every test image (the benchmark's Dice is that runtime on those bytes).
DICE = ("dice_eager", "dice_exported")


def reproduced(results: Path, fmt: str) -> dict[str, dict]:
    """model (method/level/seed) -> what a second run must reproduce, from its train.json and export record."""
    out = {}
    for record in sorted((results / "export").rglob(f"export_{fmt}.json")):
        export = json.loads(record.read_text())
        key = export["key"]
        train = json.loads((results / "models" / key["method"] / key["level"] / f"seed{key['seed']}" / "train.json")
                           .read_text())
        out[f"{key['method']}/{key['level']}/seed{key['seed']}"] = {
            "error": (train["error"], export["error"]),
            "epochs": [{k: v for k, v in e.items() if k != "seconds"} for e in train["epochs"]],
            "best": (train["best_epoch"], train["best_val_dice"], train["checkpoint_sha256"]),
            "file": {k: export[k] for k in ("sha256", "bytes", "gzip_bytes", "stored_numbers", "nonzero_numbers",
                                            "params_eager")},
            "fidelity": export["fidelity"]}
    return out


@pytest.mark.slow
def test_same_config_same_seed_same_numbers_and_bytes_for_every_method(tiny_study, tmp_path):
    """Issue #7: same config, same seed, same machine: the same test Dice (to 1e-6) and the same
    exported bytes, for every method and control. The session's tiny study is the first run; this one
    stops at the exports (`--until export`: the benchmarks time the same bytes, and the report adds
    nothing to compare), on .ptl alone and without the weights-only update's pass (neither changes a
    model, a file or a Dice: each format's file is made from the same checkpoint by its own export job),
    so that it takes a third of the study's time."""
    config = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())
    config["formats"], config["bench"]["weights_update"] = ["ptl"], False
    (tmp_path / "again.yaml").write_text(yaml.safe_dump(config))
    snakemake(tmp_path, "all", "--until", "export", config=str(tmp_path / "again.yaml"))
    first, again = reproduced(tiny_study, "ptl"), reproduced(tmp_path / "results", "ptl")
    assert not (tmp_path / "results" / "bench").exists()  # it stopped at the exports
    methods = {name.split("/")[0] for name in first}
    assert methods == set(with_controls(config["methods"], config["model"]))  # every method, with the controls
    assert list(first) == list(again)
    for name, a in first.items():
        b = again[name]
        assert a["error"] == (None, None), (name, a["error"])
        for k in DICE:
            assert a["fidelity"][k] == pytest.approx(b["fidelity"][k], abs=1e-6), (name, k)
        assert {k: v for k, v in a["fidelity"].items() if k not in DICE} == \
            {k: v for k, v in b["fidelity"].items() if k not in DICE}, name  # exactly: images, max diff, pixels
        assert (a["epochs"], a["best"], a["file"]) == (b["epochs"], b["best"], b["file"]), name
    files = sorted((tmp_path / "results").rglob("model.p*"))  # the files a phone loads, and their checkpoints
    assert sorted(p.name for p in files) == sorted(["model.pt", "model.ptl"] * len(first))
    for path in files:
        assert path.read_bytes() == (tiny_study / path.relative_to(tmp_path / "results")).read_bytes(), path


def test_full_disk_leaves_no_half_written_file(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("the previous complete version")

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half of it")
            no_space()
    assert target.read_text() == "the previous complete version"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    monkeypatch.setattr(os, "fsync", no_space)  # the failure comes while flushing to disk
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new")
    assert target.read_text() == "the previous complete version"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
