"""The thread sweep (`bench.threads: [1, 2]`): one benchmark job, result and summary row per count, on
the host as on a device (tests/test_android_runner.py); a single count keeps the paths it always had."""

from __future__ import annotations

import pytest
import yaml

from frbench.bench.sweep import device_labels, plan_for_device, split_label, thread_counts

from conftest import ROOT, snakemake


def test_labels_keep_the_first_count_as_the_device_itself():
    assert thread_counts({"threads": 1}) == [1] and thread_counts({"threads": [1, 2, 1, 4]}) == [1, 2, 4]
    assert device_labels(["host"], {"threads": 1}) == ["host"]
    assert device_labels(["host", "192.168.1.7:5555"], {"threads": [1, 4]}) == [
        "host", "host@t4", "192.168.1.7:5555", "192.168.1.7:5555@t4"]
    bench = {"threads": [2, 8], "iters": 5}
    assert split_label("host", bench) == ("host", 2) and split_label("emulator-5554@t8", bench) == ("emulator-5554", 8)
    assert plan_for_device(bench, "host@t8") == {"threads": 8, "iters": 5}


@pytest.mark.slow
def test_the_workflow_schedules_one_benchmark_per_count(tmp_path):
    config = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())
    config["bench"]["threads"] = [1, 2]
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    planned = snakemake(tmp_path, "all", "-n", "--quiet", "rules", config=str(path)).stdout
    counts = dict(line.split()[:2] for line in planned.splitlines() if line.split()[:1] in (["export"], ["bench"]))
    assert int(counts["bench"]) == 2 * int(counts["export"]), planned  # every exported file, at each count
    base = "results/bench/{}/baseline/dense/seed0/ptl.json"
    dry = snakemake(tmp_path, base.format("host@t2"), "-n", "-p", config=str(path)).stdout
    assert "--device host@t2" in dry and '"threads": 2' in dry, dry[-2000:]
    dry = snakemake(tmp_path, base.format("host"), "-n", "-p", config=str(path)).stdout
    assert '"threads": 1' in dry and "--profile-out results/profiles/host/baseline/dense/seed0/ptl.json" in dry
