"""Where the time goes: the benchmark worker's profile pass, after its timed runs (the result's
`profile`; the whole profile in `results/profiles/`).

The format's own profiler where it has one (`Format.profile`: torch.profiler on the lite interpreter's
ATen operators for `.ptl`, ONNX Runtime's session profiling for `.onnx`, ETDump read by
`executorch.devtools.Inspector` for `.pte` where the runtime was built with its event tracer); else the
model's eager form, rebuilt from its checkpoint, under torch.profiler, labelled a stand-in with the reason
its runtime could not be profiled. `summarize` derives what the report shows:

- `top`: the operators that take most of a later call (self time, per call of the model), with shares;
- `first_call_extra_share`: what the first call runs beyond a later one (each operator the first call
  calls more often than a later call does, its extra self time), as a share of the first call's
  operator time: FR's unpack in a `.ptl`, which rebuilds its dense weights at its first call; 0 where
  the first call runs what later ones run;
- `load_ops_share`: the share of the load spent in operators (FR's unpack where a runtime runs it at
  load and its profiler records it); None where the profiler records no operators at load, with why.
"""

from __future__ import annotations

from .plan import PROFILE_RUNS

TOP = 5  # operators a result keeps; the file in results/profiles/ keeps them all


def profile_pass(runtime, model: str, weights: str | None, x, checkpoint: str | None = None) -> dict:
    """The whole profile (`available`, `source`, `stand_in`, the phases and their `summary`), or
    `available: false` with the reason; never raises, so that the timed result stands."""
    from ..formats.profiling import ProfileUnavailable  # here: the benchmark job imports this module without torch

    try:
        try:
            prof = {**runtime.profile(model, weights, x, PROFILE_RUNS), "stand_in": None}
        except ProfileUnavailable as e:
            if checkpoint is None:
                return {"available": False, "reason": str(e)}
            prof = {**stand_in(checkpoint, x), "stand_in": f"{runtime.runtime}: {e}"}
    except Exception as e:  # noqa: BLE001 - a profiler that fails leaves the timed row as it is
        return {"available": False, "reason": f"{type(e).__name__}: {e}"}
    return {"available": True, **prof, "summary": summarize(prof)}


def stand_in(checkpoint: str, x) -> dict:
    """The checkpoint's eager model under torch.profiler (its load: the checkpoint read and rebuilt)."""
    from ..formats.profiling import torch_profile
    from ..methods import load_model

    return {"source": "torch.profiler on the eager model (a stand-in for the runtime)",
            **torch_profile(lambda: load_model(checkpoint)[0], lambda m, t: m(t), x, PROFILE_RUNS)}


def _op_ms(ph: dict) -> float:
    return sum(v["ms"] for v in ph["ops"].values())


def summarize(prof: dict) -> dict:
    """top operators of a later call, the first call's extra share and the load's operator share."""
    later, first, load = prof["inference"], prof["first_inference"], prof["load"]
    runs = max(later["runs"], 1)
    total = _op_ms(later) / runs
    top = sorted(later["ops"].items(), key=lambda kv: -kv[1]["ms"])[:TOP]
    extra = 0.0
    for name, v in first["ops"].items():
        steady = later["ops"].get(name, {"ms": 0.0, "calls": 0})
        if v["calls"] * runs > steady["calls"]:
            extra += max(0.0, v["ms"] - steady["ms"] / runs)
    first_total = _op_ms(first)
    out = {"top": [{"op": name, "ms": v["ms"] / runs, "share": v["ms"] / runs / total if total else None}
                   for name, v in top],
           "inference_ops_ms": total, "first_inference_ops_ms": first_total,
           "first_call_extra_ms": extra, "first_call_extra_share": extra / first_total if first_total else None,
           "load_ms": load["wall_ms"], "load_ops_share": None, "load_ops_why": None}
    if load["ops_recorded"] and load["wall_ms"]:
        out["load_ops_share"] = min(1.0, _op_ms(load) / load["wall_ms"])
    else:
        out["load_ops_why"] = "the profiler records no operators in this runtime's load"
    return out


def short(prof: dict, file: str | None) -> dict:
    """What the result keeps of a profile: where it came from, its summary, and the file that holds it."""
    keep = ("available", "reason", "source", "stand_in", "summary")
    return {**{k: prof[k] for k in keep if k in prof}, "file": file}
