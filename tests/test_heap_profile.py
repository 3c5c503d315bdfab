"""The heap pass (memray) on models of known weight bytes, FR's unpacked weights, and the profile pass
(each runtime's own profiler, else a labelled stand-in) on the tiny UNet."""

from __future__ import annotations

import subprocess
import sys
import warnings
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

from frbench.bench.heap import measure_heap, replay
from frbench.bench.profile import profile_pass, summarize
from frbench.contract import ExportForm
from frbench.formats import get_format
from frbench.formats.profiling import ProfileUnavailable
from frbench.fr import fr_layers, script_compact, to_fr
from frbench.models import UNet, UNetConfig

from conftest import TINY_UNET

CHANNELS = 96  # one 96->96 3x3 conv: 83,040 float32 numbers, 332,160 bytes of weights


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors: one thread (conftest)


def _convs(n: int) -> nn.Module:
    torch.manual_seed(n)
    return nn.Sequential(*[nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1) for _ in range(n)]).eval()


def _weight_bytes(model: nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def _ptl(model: nn.Module, example, path, program=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the lite interpreter is deprecated
        get_format("ptl").write(ExportForm(model, program=program), example, path)
    return str(path)


def _heap(path, x, fmt="ptl"):
    runtime = get_format(fmt)
    runtime.prepare()
    with torch.no_grad():
        return measure_heap(runtime, path, None, x)


def test_a_model_with_twice_the_weights_holds_about_twice_the_bytes_after_load(tmp_path):
    x = torch.rand(1, CHANNELS, 8, 8)
    one, two = _convs(1), _convs(2)
    held = {n: _heap(_ptl(m, x, tmp_path / f"{n}.ptl"), x)["held_after_load"] for n, m in ((1, one), (2, two))}
    # each holds at least its weights, and the second conv adds its weight bytes, within 10 %
    assert held[1] >= _weight_bytes(one) and held[2] >= _weight_bytes(two)
    assert held[2] / held[1] == pytest.approx(2, rel=0.1), held
    assert held[2] - held[1] == pytest.approx(_weight_bytes(one), rel=0.1), held


def test_heap_figures_are_stable_across_two_runs(tmp_path):
    x = torch.rand(1, CHANNELS, 8, 8)
    path = _ptl(_convs(2), x, tmp_path / "two.ptl")
    a, b = _heap(path, x), _heap(path, x)
    for key in ("held_after_load", "held_after_first_inference", "peak_inference"):
        assert a[key] == pytest.approx(b[key], rel=0.02), (key, a[key], b[key])  # stated tolerance: 2 %


def test_fr_holds_its_dense_weights_after_the_first_inference(tmp_path):
    cfg = UNetConfig.from_dict({**TINY_UNET, "width": 16})
    torch.manual_seed(0)
    model = to_fr(UNet(cfg))
    for _, layer in fr_layers(model):
        layer.set_kept(max(8, round(0.01 * layer.coeffs.numel())))
    model.eval()
    dense = sum(layer.coeffs.numel() * 4 for _, layer in fr_layers(model))  # float32 weights, rebuilt at the first call
    x = torch.rand(1, 3, 32, 32)
    heap = _heap(_ptl(model, x, tmp_path / "fr.ptl", program=script_compact(model)), x)
    assert heap["held_after_load"] < dense / 4  # the file's coefficients: a small fraction
    assert heap["held_after_first_inference"] >= dense, heap
    assert heap["peak_inference"] >= heap["held_after_first_inference"]


def test_replay_counts_live_bytes_between_markers_and_skips_what_it_never_saw():
    from memray import AllocatorType as A

    def rec(kind, address, size=0):
        return SimpleNamespace(allocator=kind, address=address, size=size)

    page = 4096
    markers = [11 * page, 12 * page, 13 * page]
    records = [rec(A.MMAP, 1, markers[0]), rec(A.MUNMAP, 1, markers[0]),
               rec(A.MALLOC, 100, 1000), rec(A.FREE, 999),  # a block from before tracking: ignored
               rec(A.MMAP, 10 * page, 4 * page), rec(A.MMAP, 2, markers[1]), rec(A.MUNMAP, 2, markers[1]),
               rec(A.REALLOC, 200, 5000), rec(A.MUNMAP, 11 * page, page),  # part of a map goes
               rec(A.FREE, 200), rec(A.MMAP, 3, markers[2])]
    marks = replay(records, markers)
    assert [m["live"] for m in marks] == [0, 1000 + 4 * page, 1000 + 3 * page]
    assert marks[2]["peak"] == 1000 + 4 * page + 5000


def test_a_profile_names_the_models_convolutions_among_its_top_operators(tmp_path):
    torch.manual_seed(0)
    model = UNet(UNetConfig.from_dict(TINY_UNET)).eval()
    x = torch.rand(1, 3, 32, 32)
    for fmt, conv in (("ptl", "conv"), ("onnx", "Conv")):
        path = tmp_path / f"model.{fmt}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            get_format(fmt).write(ExportForm(model), x, path)
        runtime = get_format(fmt)
        runtime.prepare()
        with torch.no_grad():
            prof = profile_pass(runtime, str(path), None, x)
        assert prof["available"] and prof["stand_in"] is None, prof
        top = [t["op"] for t in prof["summary"]["top"]]
        assert any(conv in op for op in top[:3]), (fmt, top)
        assert prof["summary"]["first_call_extra_share"] < 0.5  # a dense model's first call runs what later ones do


def test_the_torch_profile_imports_no_compiler():
    """`torch.profiler.profile` imports Inductor and torch._dynamo before it starts (torch 2.13): about 1.2 s of
    CPU in every benchmark worker that profiles. The profile pass starts the same profiler without them: in a
    fresh process, a profile of a conv records its operators and leaves neither module imported."""
    code = ("import sys, torch\n"
            "from frbench.formats.profiling import torch_profile\n"
            "p = torch_profile(lambda: torch.nn.Conv2d(3, 4, 3), lambda m, t: m(t), torch.rand(1, 3, 8, 8), 2)\n"
            "assert any('conv' in op for op in p['inference']['ops']), p\n"
            "print(sorted(m for m in sys.modules if m.startswith(('torch._dynamo', 'torch._inductor'))))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "[]"


def test_frs_first_call_extra_is_its_unpack(tmp_path):
    cfg = UNetConfig.from_dict(TINY_UNET)
    torch.manual_seed(0)
    model = to_fr(UNet(cfg)).eval()
    x = torch.rand(1, 3, 32, 32)
    path = _ptl(model, x, tmp_path / "fr.ptl", program=script_compact(model))
    runtime = get_format("ptl")
    with torch.no_grad():
        prof = profile_pass(runtime, path, None, x)
    ops = prof["first_inference"]["ops"]
    assert "aten::mm" in ops and "aten::mm" not in prof["inference"]["ops"]  # the inverse DCT: first call only
    # the first call's extra is counted (its share of the first call's time is a timing: no threshold on
    # it holds under load, 0.45 to over 0.5 measured here)
    assert prof["summary"]["first_call_extra_ms"] > 0 and 0 < prof["summary"]["first_call_extra_share"] <= 1


class _NoProfiler:
    """A runtime whose profiler is unavailable: the pass profiles the checkpoint's eager model instead."""

    runtime = "no-profiler"

    def profile(self, path, weights, x, runs):
        raise ProfileUnavailable("built without its tracer")


def test_a_runtime_without_a_profiler_gets_a_labelled_stand_in(tiny_checkpoint):
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        prof = profile_pass(_NoProfiler(), "model.none", None, x, checkpoint=str(tiny_checkpoint))
        missing = profile_pass(_NoProfiler(), "model.none", None, x)
    assert prof["available"] and prof["stand_in"] == "no-profiler: built without its tracer"
    assert "stand-in" in prof["source"] and any("conv" in t["op"] for t in prof["summary"]["top"])
    assert missing == {"available": False, "reason": "built without its tracer"}


def test_summarize_counts_only_what_the_first_call_runs_beyond_a_later_one():
    def ph(ops, runs=1, wall=10.0, recorded=True):
        return {"wall_ms": wall, "runs": runs, "ops_recorded": recorded,
                "ops": {k: {"ms": ms, "calls": n} for k, (ms, n) in ops.items()}}

    prof = {"load": ph({}, recorded=False),
            "first_inference": ph({"conv": (5.0, 2), "mm": (3.0, 4), "cat": (2.0, 3)}),
            "inference": ph({"conv": (8.0, 4), "cat": (2.0, 2)}, runs=2)}
    s = summarize(prof)
    # conv: as many calls as later (its slower first run is not counted); mm: first call only; cat: one more call
    assert s["first_call_extra_ms"] == pytest.approx(3.0 + (2.0 - 1.0))
    assert s["first_call_extra_share"] == pytest.approx(4.0 / 10.0)
    assert [t["op"] for t in s["top"]] == ["conv", "cat"] and s["top"][0]["share"] == pytest.approx(0.8)
    assert s["load_ops_share"] is None and "no operators" in s["load_ops_why"]


def _etdump(path, conv_ms=(5.0, 2.0, 2.0)):
    """An ETDump as ExecuTorch's runtime writes one (size-prefixed FlatCC), of three runs of a method with
    a convolution and a relu, built with executorch.devtools' own schema and serializer."""
    import struct

    from executorch.devtools.etdump.schema_flatcc import ETDumpFlatCC, Event, ProfileEvent, RunData
    from executorch.devtools.etdump.serialize import serialize_to_etdump_flatcc

    def event(name, start, ms, instruction=-1):
        return Event(profile_event=ProfileEvent(name=name, chain_index=0, instruction_id=instruction,
                                                delegate_debug_id_int=-1, delegate_debug_id_str="",
                                                delegate_debug_metadata=None, start_time=start,
                                                end_time=start + int(ms * 1e6)),
                     allocation_event=None, debug_event=None)

    runs = [RunData(name="forward", bundled_input_index=-1, allocators=[], events=[
        event("Method::execute", i * 20_000_000, 10.0), event("native_call_convolution.out", i * 20_000_000 + 100, ms, 0),
        event("native_call_relu.out", i * 20_000_000 + 9_000_000, 0.5, 1)]) for i, ms in enumerate(conv_ms)]
    data = serialize_to_etdump_flatcc(ETDumpFlatCC(version=0, run_data=runs))
    path.write_bytes(struct.pack("<I", len(data)) + data)
    return path


def test_an_etdump_is_read_with_executorchs_inspector_into_the_phases(tmp_path):
    from frbench.formats.profiling import etdump_phases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        phases = etdump_phases(str(_etdump(tmp_path / "model.etdp")), load_ms=3.0)
    assert phases["first_inference"]["ops"] == {"native_call_convolution.out": {"ms": 5.0, "calls": 1},
                                                "native_call_relu.out": {"ms": 0.5, "calls": 1}}
    assert phases["inference"]["runs"] == 2 and phases["inference"]["ops"]["native_call_convolution.out"] == {
        "ms": 4.0, "calls": 2}
    assert phases["load"] == {"wall_ms": 3.0, "runs": 1, "ops_recorded": False, "ops": {}}
    s = summarize(phases)
    assert s["top"][0]["op"] == "native_call_convolution.out" and s["top"][0]["share"] == pytest.approx(0.8)


def test_a_devices_etdump_is_pulled_into_the_profile_and_removed(tmp_path):
    from frbench.bench.android.etdump import pull_profile

    data = _etdump(tmp_path / "model.etdp").read_bytes()
    commands = []
    result = {"load_ms": 4.0, "profile": {"available": True, "source": "ExecuTorch ETDump (Module.etdump())",
                                          "etdump_device_path": "/data/local/tmp/result.etdump"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pull_profile(result, lambda path: data, commands.append)
    prof = result["profile"]
    assert prof["available"] and prof["stand_in"] is None and prof["load"]["wall_ms"] == 4.0
    assert prof["summary"]["top"][0]["op"] == "native_call_convolution.out"
    assert commands == ["rm -f /data/local/tmp/result.etdump"]
