import ctypes.util
import json
import sys
import time

import pytest

from frbench.bench import Plan
from frbench.bench.host import HostRunner
from frbench.bench.job import bench_model
from frbench.bench.result import check_result, empty_result
from frbench.bench.stats import stability_warnings, summarize, trimmed_mean
from frbench.bench.worker import bounded
from frbench.errors import BenchError
from frbench.export import export_model
from frbench.integrity import sha256_of

KEY = {"method": "baseline", "level": "dense", "seed": 0, "fmt": "ptl"}
PLAN = {"warmup": 2, "iters": 6, "threads": 1, "timeout_s": 120, "dice_images": 0}


def test_stats_hand_worked():
    s = summarize([4.0, 1.0, 3.0, 2.0])
    assert s["mean"] == 2.5 and s["min"] == 1 and s["max"] == 4
    assert s["p50"] == 2.5 and s["p90"] == pytest.approx(3.7)  # linear: position 0.9 * 3 = 2.7
    assert s["std"] == pytest.approx(1.2909944, rel=1e-6)  # sample std (n - 1)
    assert trimmed_mean(list(range(1, 11))) == 5.5  # drops 1 and 10
    assert trimmed_mean([1.0, 2.0, 100.0] + [2.0] * 7) == pytest.approx(2.0)
    assert summarize([]) ["mean"] is None and summarize([5.0])["std"] == 0.0


def test_stability_warnings():
    assert stability_warnings([10.0, 10.1, 9.9, 10.0]) == []
    assert any("unstable" in w for w in stability_warnings([10.0, 10.0, 30.0, 10.0]))
    assert any("< 1 ms" in w for w in stability_warnings([0.5, 0.5, 0.5]))


@pytest.fixture
def exported(tiny_checkpoint, tiny_dataset, tmp_path):
    export_model(key=KEY, checkpoint=tiny_checkpoint, data=tiny_dataset, out=tmp_path / "model.ptl",
                 record_out=tmp_path / "export_ptl.json")
    return tmp_path / "model.ptl", tmp_path / "export_ptl.json"


def test_host_benchmark_result(exported, tiny_dataset, tmp_path):
    model, record = exported
    out = tmp_path / "bench" / "ptl.json"
    bench_model(key=KEY, device="host", model=str(model), export_record=str(record), data=str(tiny_dataset),
                plan=PLAN, out=str(out))
    r = check_result(json.loads(out.read_text()), source=str(out))
    assert r["error"] is None and r["runner"] == "host"
    assert r["key"] == {**KEY, "device": "host"}
    assert len(r["warmups"]) == 2 and len(r["values"]) == 6 and all(v > 0 for v in r["values"])
    assert r["stats"]["min"] <= r["stats"]["p50"] <= r["stats"]["p90"] <= r["stats"]["max"]
    assert r["load_ms"] > 0 and r["first_inference_ms"] > 0
    assert r["memory"]["peak_rss"] >= r["memory"]["rss_after_load"] > 0
    assert 0 <= r["accuracy"]["dice"] <= 1 and r["accuracy"]["images"] == len(r["accuracy"]["dice_per_image"])
    assert r["runtime"]["name"] == "pytorch-lite" and r["metadata"]["threads"] == 1
    assert r["device"]["kind"] == "host" and len(r["device"]["load_avg"]) == 3
    assert r["provenance"]["git"]["commit"] and len(r["provenance"]["settings_hash"]) == 16
    assert r["provenance"]["packages"]["torch"].startswith("2.13") and r["provenance"]["threads"] >= 1
    exported_dice = json.loads(record.read_text())["fidelity"]["dice_exported"]
    assert r["accuracy"]["dice"] == pytest.approx(exported_dice)


def test_model_that_fails_to_load_gives_error_row(exported, tiny_dataset, tmp_path):
    model, record = exported
    model.write_bytes(model.read_bytes()[:100])  # truncated .ptl, as its export record says (else refused unread)
    record.write_text(json.dumps({**json.loads(record.read_text()), "sha256": sha256_of(model)}))
    out = tmp_path / "bench.json"
    result = bench_model(key=KEY, device="host", model=str(model), export_record=str(record),
                         data=str(tiny_dataset), plan=PLAN, out=str(out))
    assert "the lite interpreter could not load it" in result["error"] and result["values"] is None
    check_result(json.loads(out.read_text()), source=str(out))


def test_failed_export_becomes_error_row(exported, tiny_dataset, tmp_path):
    model, record = exported
    rec = json.loads(record.read_text())
    rec["error"] = "ExportError: cannot export this"
    record.write_text(json.dumps(rec))
    result = bench_model(key=KEY, device="host", model=str(model), export_record=str(record),
                         data=str(tiny_dataset), plan=PLAN, out=str(tmp_path / "b.json"))
    assert result["error"].startswith("export failed") and "cannot export this" in result["error"]


class _ScriptedWorker(HostRunner):
    """A host runner whose worker is a given Python snippet."""

    def __init__(self, code):
        super().__init__()
        self.code = code

    def worker_command(self, *args):
        return [sys.executable, "-c", self.code]


def test_hanging_worker_is_killed_at_the_timeout():
    t0 = time.monotonic()
    result = _ScriptedWorker("import time; time.sleep(60)").run("m.ptl", "ptl", "d.npz", Plan(iters=1, timeout_s=1))
    assert "timed out after 1 s (bench.timeout_s)" in result["error"] and time.monotonic() - t0 < 30
    check_result(result, "x")


def test_dying_worker_is_reported_with_its_signal():
    result = _ScriptedWorker("import os, sys; print('about to die', file=sys.stderr); os.abort()").run(
        "m.ptl", "ptl", "d.npz", Plan(iters=1))
    assert "killed by signal SIGABRT" in result["error"] and "about to die" in result["error"]


def test_result_schema_rejects_impossible_values():
    r = empty_result(runner="host", model="m.ptl", fmt="ptl", plan=PLAN)
    check_result(dict(r, error="boom"), "x")
    with pytest.raises(BenchError, match="x: benchmark result does not match"):
        check_result(r, "x")  # no error, yet no samples
    bad = dict(r, error=None, values=[1.0, 0.0], load_ms=1.0, accuracy={"dice": 0.5})
    with pytest.raises(BenchError, match="values"):
        check_result(bad, "x")


def test_bounded_stops_before_a_run_that_would_end_past_its_budget_and_after_its_minimum():
    """`bounded` on a fake clock, each call one second long: the calls that fit the budget, at least the minimum,
    at most the count, and what stopped them."""
    now = [0.0]

    def call(i):
        now[0] += 1.0
        return i

    def run(**kw):
        now[0] = 0.0
        return bounded(call, clock=lambda: now[0], **kw)

    assert run(count=10, budget_s=3.5) == ([0, 1, 2], "time")  # a 4th call would end at 4.0 s
    assert run(count=10, budget_s=3.5, minimum=5) == ([0, 1, 2, 3, 4], "time")  # the minimum wins over the budget
    assert run(count=2, budget_s=3.5) == ([0, 1], "count")
    assert run(count=10, budget_s=0.5, estimate_s=1.0) == ([], "time")  # the first call's length, guessed
    assert run(count=10, budget_s=0.5, minimum=1, estimate_s=1.0) == ([0], "time")


def test_a_plan_bounded_by_time_runs_its_minimum_and_records_what_ran(exported, tiny_dataset, tmp_path):
    model, record = exported
    out = tmp_path / "ptl.json"
    plan = {**PLAN, "warmup_s": 0, "min_iters": 2, "max_s": 0, "dice_s": 0}  # every phase out of time at once
    bench_model(key=KEY, device="host", model=str(model), export_record=str(record), data=str(tiny_dataset),
                plan=plan, out=str(out))
    r = check_result(json.loads(out.read_text()), source=str(out))
    assert r["error"] is None and len(r["warmups"]) == 0 and len(r["values"]) == 2 and r["accuracy"]["images"] == 1
    assert r["ran"] == {"warmups": 0, "warmups_stopped_by": "time", "iters": 2, "iters_stopped_by": "time",
                        "dice_images": 1, "dice_stopped_by": "time"}
    bench_model(key=KEY, device="host", model=str(model), export_record=str(record), data=str(tiny_dataset),
                plan=PLAN, out=str(out))  # a small model within the default budgets: the counts stop every phase
    r = json.loads(out.read_text())
    assert {r["ran"][k] for k in ("warmups_stopped_by", "iters_stopped_by", "dice_stopped_by")} == {"count"}
    assert r["metadata"]["allocator"]["name"] == "glibc" and r["metadata"]["allocator"]["preloaded"] == []


@pytest.mark.skipif(not ctypes.util.find_library("tcmalloc_minimal"), reason="Debian's libtcmalloc-minimal4 is absent")
def test_the_plans_allocator_is_preloaded_in_the_worker_and_recorded(exported, tiny_dataset, tmp_path):
    model, record = exported
    out = tmp_path / "ptl.json"
    bench_model(key=KEY, device="host", model=str(model), export_record=str(record), data=str(tiny_dataset),
                plan={**PLAN, "allocator": "tcmalloc"}, out=str(out))
    allocator = json.loads(out.read_text())["metadata"]["allocator"]
    assert allocator["name"] == "tcmalloc" and any("libtcmalloc_minimal" in p for p in allocator["preloaded"])


def test_a_missing_allocator_library_is_an_error_row_naming_the_package(exported, tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    model, record = exported
    out = tmp_path / "ptl.json"
    bench_model(key=KEY, device="host", model=str(model), export_record=str(record), data=str(tiny_dataset),
                plan={**PLAN, "allocator": "jemalloc"}, out=str(out))
    error = json.loads(out.read_text())["error"]
    assert "bench.allocator" in error and "libjemalloc2" in error and "apt-get install" in error


# --- a plan that cannot fit its timeout is refused before any job (issue #23) ----------------------------------


@pytest.mark.parametrize("plan", [Plan(), Plan(warmup=10000, warmup_s=10), Plan(iters=50, min_iters=40, max_s=0.01),
                                  Plan(dice_images=3, dice_s=0), Plan(warmup=3, warmup_s=1000, iters=2, min_iters=9)])
@pytest.mark.parametrize("run_s", [0.001, 0.3, 7.0])
def test_the_plans_least_time_counts_the_runs_the_worker_makes(plan, run_s):
    """`least_seconds` counts what `bounded` runs, phase by phase, for a model whose every run takes `run_s`."""
    from frbench.bench.plan import least_seconds

    now = [0.0]

    def call(i):
        now[0] += run_s
        return i

    def ran(count, budget_s, minimum=0):
        now[0] = 0.0
        return len(bounded(call, count, budget_s, minimum=minimum, estimate_s=run_s, clock=lambda: now[0])[0])

    least = least_seconds(plan, run_s, dice_images=7)
    assert least["warmups"] == ran(plan.warmup, plan.warmup_s)
    assert least["timed runs"] == ran(plan.iters, plan.max_s, minimum=min(plan.min_iters, plan.iters))
    assert least["dice images"] == ran(plan.dice_images or 7, plan.dice_s, minimum=1)
    assert least["warmup"] == pytest.approx(least["warmups"] * run_s)


def _tiny_config(**bench):
    import copy

    import yaml
    from snakemake.utils import validate

    from conftest import ROOT

    config = copy.deepcopy(yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text()))
    config["bench"].update(bench)
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"), set_default=True)
    return config


@pytest.mark.parametrize("bench, keys", [
    ({"warmup": 10000, "timeout_s": 1}, ["bench.warmup 10000", "bench.warmup_s"]),  # the issue's
    ({"warmup": 2, "timeout_s": 1}, []),  # the issue's: the worker's start alone takes longer
    ({"min_iters": 10**9, "iters": 10**9, "max_s": 1, "timeout_s": 60}, ["bench.min_iters", "lower bench.min_iters to"]),
])
def test_a_plan_that_cannot_fit_its_timeout_is_refused_naming_the_keys_and_a_value_that_fits(bench, keys):
    import re

    from frbench.config import check_study
    from frbench.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^bench\.timeout_s .* cannot hold this plan") as info:
        check_study(_tiny_config(**bench))
    message = str(info.value)
    for key in ["bench.min_iters", "bench.dice_images", "bench.warmup", *keys]:
        assert key in message, (key, message)
    fits = int(re.search(r"[Ss]et bench\.timeout_s to (\d+) or more", message).group(1))
    check_study(_tiny_config(**{**bench, "timeout_s": fits}))  # the value it names fits


def test_an_imported_models_plan_is_checked_on_its_own_network_naming_its_own_keys():
    """The FR paper's released model declares its network, images and plan overrides (`reference.bench`;
    Method.bench_setting): a timeout of its own too short for UNet-31M at 640x959 is refused naming
    `reference.bench.timeout_s`, while the study's own plan passes."""
    from frbench.config import check_study
    from frbench.errors import ConfigError

    from conftest import ROOT

    released = ROOT.parent / "shared" / "fr_reference"
    if not released.is_dir():
        pytest.skip("needs ../shared/fr_reference beside the checkout")
    config = _tiny_config()
    config["reference"] = {"dir": str(released), "size": [640, 959], "bench": {"timeout_s": 2, "warmup": 3}}
    with pytest.raises(ConfigError, match=r"^reference\.bench\.timeout_s 2 cannot hold this plan") as info:
        check_study(config)
    assert "the released FR UNet at 640x959" in str(info.value) and "reference.bench.warmup 3" in str(info.value)
    assert "bench.min_iters" in str(info.value)  # a key reference.bench leaves to the study's plan


def test_a_plan_far_from_its_timeout_is_passed_without_measuring_anything(monkeypatch):
    """The study's own plans pass on a bound of the model's operations: no worker is started to measure, no
    model is run on the meta device."""
    from frbench.bench import plan
    from frbench.config import check_study

    def measured(*args):
        raise AssertionError("measured a plan that fits by far")

    monkeypatch.setattr(plan, "worker_start_s", measured)
    monkeypatch.setattr(plan, "_conv_flops", measured)
    check_study(_tiny_config())
    check_study(_tiny_config(timeout_s=80, dice_s=10))


def test_an_allocator_this_machine_lacks_is_refused_before_any_job(monkeypatch):
    from frbench.bench import allocator
    from frbench.config import check_study
    from frbench.errors import ConfigError

    monkeypatch.setattr(allocator, "installed", lambda name: name == "glibc")
    with pytest.raises(ConfigError, match=r"bench\.allocator: jemalloc needs libjemalloc.so.2.*apt-get install"):
        check_study(_tiny_config(allocator="jemalloc"))
