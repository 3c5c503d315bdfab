"""Threads on the machine a study meets (issue #14): a job never runs more threads than the cores it
may use, and `snakemake --cores N` beyond the machine's cores schedules on the cores there are."""

import os
import re
import shutil
import subprocess

import pytest

from frbench import hostinfo

from conftest import ROOT, SNAKEMAKE


@pytest.mark.parametrize("cores, requested, expected", [(2, 8, 2), (2, 1, 1), (16, 4, 4), (1, 2, 1), (4, 0, 1)])
def test_a_job_runs_at_most_the_cores_it_may_use(monkeypatch, cores, requested, expected):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)))
    assert hostinfo.usable_cores() == cores
    assert hostinfo.capped_threads(requested) == expected


def test_usable_cores_without_affinity(monkeypatch):
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert hostinfo.usable_cores() == 6


def plan(cores: int, *, cpus: list[int] | None = None) -> str:
    """A dry run of the tiny study with `--cores cores`, pinned to `cpus` with taskset."""
    pin = ["taskset", "-c", ",".join(map(str, cpus))] if cpus else []
    proc = subprocess.run([*pin, *SNAKEMAKE, "--dry-run", "--configfile", "config/tiny.yaml", "--cores", str(cores),
                           "all"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.mark.skipif(shutil.which("taskset") is None, reason="needs taskset (util-linux) to give snakemake one core")
def test_more_cores_than_the_machine_has_are_scheduled_on_the_machines_and_said():
    one = plan(4, cpus=[0])  # as if on a 1-core machine
    assert "--cores 4 is more than the 1 cores this machine lets snakemake use" in one
    # the benchmark claims every core snakemake schedules on: 1 here, not 4
    assert not re.search(r"^\s+threads: [2-9]", one, flags=re.M)
    within = plan(1, cpus=[0])
    assert "more than" not in within


@pytest.mark.skipif(hostinfo.usable_cores() < 2, reason="needs 2 cores (snakemake prints no thread count of 1)")
def test_benchmark_claims_every_core_it_is_given():
    from frbench.config import check_config_files
    from frbench.config.study import study_models

    tiny = check_config_files(ROOT / "config/tiny.yaml")
    bench = re.findall(r"^rule bench:\n(?:.*\n)*?\s+threads: (\d+)", plan(2), flags=re.M)
    # every model of the tiny study on every format
    assert len(bench) == len(study_models(tiny)) * len(tiny["formats"]) and set(bench) == {"2"}
