"""Faults survived and bad input refused (issue #7): interrupted runs resume to the same
results, damaged files become error rows while the report still builds, a full disk
leaves no half-written file, and mistaken configs fail before any job runs."""

import csv
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from frbench.io import atomic_path, atomic_write_bytes

from conftest import ROOT

SNAKEFILE = ROOT / "workflow" / "Snakefile"
# What must not change when a run is interrupted and resumed (timings and memory may).
STABLE = ["method", "level", "seed", "fmt", "device", "error", "dice", "dice_eager", "file_bytes", "gzip_bytes",
          "stored_numbers", "nonzero_numbers", "fidelity_max_abs", "best_val_dice", "best_epoch", "epochs"]


def micro_config(tmp_path: Path, **changes) -> Path:
    """The tiny study cut to the baseline, so that a study takes seconds."""
    config = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())
    config["methods"] = {"baseline": {"levels": ["dense"]}}
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


@pytest.fixture(scope="module")
def reference_study(tmp_path_factory):
    """An uninterrupted micro study: what every interrupted one must end equal to."""
    d = tmp_path_factory.mktemp("uninterrupted")
    config = micro_config(d)
    run(d, config, "all")
    return d, config


def interrupt(workdir: Path, configfile: Path, marker: str, sig: signal.Signals, timeout=300):
    """Start the study, wait until `marker` (a glob under workdir) exists, then send `sig`
    to snakemake and every job it started."""
    proc = subprocess.Popen(snakemake_cmd(workdir, configfile, "all"), cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not list(workdir.glob(marker)):
        if proc.poll() is not None:
            pytest.fail(f"the study ended before {marker} appeared")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"{marker} did not appear in {timeout} s")
        time.sleep(0.05)
    os.killpg(proc.pid, sig)
    proc.wait(timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("sig, marker", [
    (signal.SIGINT, "results/logs/models/baseline/dense/seed0.log"),  # during training
    (signal.SIGKILL, "results/logs/bench/host/baseline/dense/seed0/ptl.log"),  # during the benchmark
])
def test_interrupted_study_resumes_to_the_same_results(reference_study, tmp_path, sig, marker):
    ref_dir, config = reference_study
    interrupt(tmp_path, config, marker, sig)
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
    config = micro_config(tmp_path, seeds=[0, 1])
    run(tmp_path, config, "all")
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
def test_same_config_same_seed_same_numbers_and_bytes(reference_study, tmp_path):
    ref_dir, config = reference_study
    run(tmp_path, config, "all")
    a, b = stable_rows(ref_dir), stable_rows(tmp_path)
    assert a == b
    for exported in (ref_dir / "results/export").rglob("model.*"):
        twin = tmp_path / exported.relative_to(ref_dir)
        assert exported.read_bytes() == twin.read_bytes(), exported.relative_to(ref_dir)


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
