"""Per-operator profiles, as every format's `Format.profile` returns them (DESIGN.md, "Where the time goes").

A profile is three phases of one fresh load of the file, each from the runtime's own profiler where it
has one: `load`, `first_inference` and `inference` (`runs` later calls, summed). A phase is
`{"wall_ms", "runs", "ops_recorded", "ops": {operator: {"ms": self time, "calls": n}}}`;
`ops_recorded` is false where the profiler records no operators in that phase (ONNX Runtime's
session creation, one event of its own), so that a reader never takes "no operators" for "no time".

- `torch_phase`: PyTorch's profiler (Kineto's CPU activity): every ATen operator's self time. The
  lite interpreter (`.ptl`) calls ATen operators through the dispatcher, so this is PyTorch Mobile's own
  view of a `.ptl` (its Android build has the same profiler, KinetoEdgeCPUProfiler); on an eager
  model it is the stand-in for a runtime without a profiler (frbench.bench.profile).
- ExecuTorch: ETDump, read with `executorch.devtools.Inspector` (`etdump_phases`), where the runtime
  was built with its event tracer.
- ONNX Runtime: session profiling (`frbench.formats.onnx.runtime`).
"""

from __future__ import annotations

import time
from collections import defaultdict


class ProfileUnavailable(Exception):
    """This format's own profiler cannot profile here; the message says why (the result records it,
    and the benchmark profiles a stand-in instead)."""


def phase(wall_ms: float, ops: dict, runs: int = 1, recorded: bool = True) -> dict:
    return {"wall_ms": wall_ms, "runs": runs, "ops_recorded": recorded,
            "ops": {name: {"ms": round(v["ms"], 6), "calls": int(v["calls"])} for name, v in sorted(ops.items())}}


def torch_phase(fn, runs: int = 1) -> dict:
    """`fn()` called `runs` times under PyTorch's profiler: its wall time and each ATen operator's self time.

    `torch.autograd.profiler.profile` with Kineto, the profiler `torch.profiler.profile` starts with these
    settings, called directly: the latter first asks `hasattr(torch, "_inductor")` (torch 2.13), which imports
    Inductor and torch._dynamo, about 1.2 s of CPU in every benchmark worker that profiles."""
    from torch.autograd.profiler import profile

    with profile(use_cpu=True, use_kineto=True) as prof:
        t0 = time.perf_counter_ns()
        for _ in range(runs):
            fn()
        wall_ms = (time.perf_counter_ns() - t0) / 1e6
    ops = {e.key: {"ms": e.self_cpu_time_total / 1e3, "calls": e.count} for e in prof.key_averages()}
    return phase(wall_ms, ops, runs)


def torch_profile(load, run, x, runs: int) -> dict:
    """The three phases of `load()` then `run(loaded, x)`, each under PyTorch's profiler (`torch_phase`)."""
    box = {}
    load_phase = torch_phase(lambda: box.__setitem__("m", load()))
    first = torch_phase(lambda: run(box["m"], x))
    later = torch_phase(lambda: run(box["m"], x), runs)
    return {"load": load_phase, "first_inference": first, "inference": later}


def etdump_phases(etdump_path: str, load_ms: float | None = None) -> dict:
    """The phases of an ETDump (ExecuTorch's event tracer), read with `executorch.devtools.Inspector`:
    `Method::execute` blocks in order, the first the first inference, the rest the later runs. A
    delegate's events (XNNPACK's kernels) keep their own names. The load is the app's timing alone."""
    from executorch.devtools import Inspector

    inspector = Inspector(etdump_path=etdump_path)
    runs: list[dict] = []
    for block in inspector.event_blocks:
        for event in block.events:
            raw = list(getattr(event.perf_data, "raw", None) or [])
            if not raw or event.name in ("Method::execute", "Program::load_method", "Method::init"):
                continue
            for i, ms in enumerate(raw):
                while len(runs) <= i:
                    runs.append(defaultdict(lambda: {"ms": 0.0, "calls": 0}))
                runs[i][event.name]["ms"] += float(ms)
                runs[i][event.name]["calls"] += 1
    if not runs:
        raise ProfileUnavailable(f"{etdump_path}: the ETDump holds no profiling events")
    later: dict = defaultdict(lambda: {"ms": 0.0, "calls": 0})
    for run in runs[1:]:
        for name, v in run.items():
            later[name]["ms"] += v["ms"]
            later[name]["calls"] += v["calls"]
    total = [sum(v["ms"] for v in run.values()) for run in runs]
    return {"load": phase(load_ms or 0.0, {}, recorded=False),
            "first_inference": phase(total[0], runs[0]),
            "inference": phase(sum(total[1:]), later, runs=max(len(runs) - 1, 0))}
