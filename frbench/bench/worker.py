"""`frbench bench-one`: benchmark ONE exported model, in a process of its own.

The host runner starts this in a fresh interpreter for each model (pyperf's
worker), so load time and memory are not polluted by another model. Order:
load (timed; with a weights file, the program's load and its `set_weights` or
data file together), first inference (timed), warm-up runs, timed runs each timed
alone with perf_counter, memory, then a separate accuracy pass over the test
images; each phase bounded by count and time (`Plan`, `bounded`), and what ran
recorded (`ran`); then, with nothing timed any more, the heap pass (`heap`) and the
profile pass (`profile`), each on a fresh load of the file. Any failure becomes a
result whose `error` says what failed; this process then still exits 0 with a valid file.
"""

from __future__ import annotations

import platform
import statistics
import time
import traceback
from pathlib import Path

import torch

from .. import __version__
from ..formats import get_format
from ..hostinfo import host_facts, minor_faults, peak_rss_kb, rss_kb
from ..io import atomic_write_json
from ..metrics import dice_per_image, predict_mask
from .allocator import active_allocator
from .heap import heap_pass
from .plan import Plan
from .profile import profile_pass
from .result import empty_result, utc_now, with_stats


def _timed_ms(fn) -> float:
    t0 = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - t0) / 1e6


def bounded(fn, count: int, budget_s: float, minimum: int = 0, estimate_s: float = 0.0,
            clock=time.perf_counter) -> tuple[list, str]:
    """`fn(i)` for i = 0, 1, ... up to `count` calls, within `budget_s` seconds: once `minimum` calls
    ran, no call starts that would end past the budget, its length guessed as the mean of the calls so
    far (before the first, `estimate_s`). The calls' results, and what stopped them ("count" or "time")."""
    out, start = [], clock()
    while len(out) < count:
        elapsed = clock() - start
        guess = elapsed / len(out) if out else estimate_s
        if len(out) >= minimum and elapsed + guess > budget_s:
            return out, "time"
        out.append(fn(len(out)))
    return out, "count"


@torch.no_grad()
def bench_one(model: str, fmt: str, data: str, plan: Plan, weights: str | None = None,
              checkpoint: str | None = None) -> dict:
    result = empty_result(runner="host", model=model, fmt=fmt, plan=plan.to_dict())
    result["device"] = host_facts()  # first: the load average before we add to it
    torch.set_num_threads(plan.threads)
    runtime = get_format(fmt)
    runtime.prepare()  # the runtime's own library: loaded before rss_before_load and outside load_ms
    result["runtime"] = {"name": runtime.runtime, "version": runtime.runtime_version()}
    result["metadata"] = {"date": utc_now(), "python": platform.python_version(), "torch": torch.__version__,
                          "frbench": __version__, "threads": torch.get_num_threads(),
                          "interop_threads": torch.get_num_interop_threads(), "timer": "time.perf_counter_ns",
                          "quantized_engine": torch.backends.quantized.engine,
                          "allocator": active_allocator(plan.allocator)}
    result["model"]["bytes"] = Path(model).stat().st_size
    if weights is not None:
        result["model"]["weights"] = {"path": str(weights), "bytes": Path(weights).stat().st_size}
    images, masks = plan.dice_split(data)
    x = images[:1].contiguous()
    memory = {"unit": "kB", "rss_before_load": rss_kb()}

    t0 = time.perf_counter_ns()
    module = runtime.load(model, weights)
    result["load_ms"] = (time.perf_counter_ns() - t0) / 1e6
    memory["rss_after_load"] = rss_kb()
    session = runtime.session(module)  # how the runtime was set up (ONNX Runtime: its session options)
    if session:
        result["metadata"]["session"] = session

    def timed_run(_):
        return _timed_ms(lambda: runtime.run(module, x))

    result["first_inference_ms"] = timed_run(0)
    guess_s = result["first_inference_ms"] / 1e3  # the first call's length (an FR model's unpack included)
    result["warmups"], warmups_by = bounded(timed_run, plan.warmup, plan.warmup_s, estimate_s=guess_s)
    if result["warmups"]:
        guess_s = statistics.mean(result["warmups"]) / 1e3
    faults = minor_faults()
    result["values"], values_by = bounded(timed_run, plan.iters, plan.max_s, minimum=min(plan.min_iters, plan.iters),
                                          estimate_s=guess_s)
    # pages the allocator gave back and each run faulted in again (frbench.bench.allocator)
    memory["minor_faults_per_run"] = (minor_faults() - faults) / len(result["values"])
    memory["rss_after_runs"] = rss_kb()
    memory["peak_rss"] = peak_rss_kb()
    result["memory"] = memory

    preds, dice_by = bounded(lambda i: predict_mask(runtime.run(module, images[i : i + 1])), len(images), plan.dice_s,
                             minimum=1, estimate_s=statistics.median(result["values"]) / 1e3)
    per_image = dice_per_image(torch.cat(preds), masks[: len(preds)])
    result["accuracy"] = {"dice": float(per_image.mean()), "dice_per_image": per_image.tolist(), "images": len(preds)}
    result["ran"] = {"warmups": len(result["warmups"]), "warmups_stopped_by": warmups_by,
                     "iters": len(result["values"]), "iters_stopped_by": values_by,
                     "dice_images": len(preds), "dice_stopped_by": dice_by}
    # passes of their own, after everything timed (frbench.bench.heap, frbench.bench.profile)
    module = None  # the timed model, released: each pass below loads the file afresh
    if plan.heap:
        result["heap"] = heap_pass(runtime, model, weights, x)
    if plan.profile:
        result["profile"] = profile_pass(runtime, model, weights, x, checkpoint)
    return with_stats(result)


def main(model: str, fmt: str, data: str, plan: Plan, out: str, weights: str | None = None,
         checkpoint: str | None = None) -> None:
    try:
        result = bench_one(model, fmt, data, plan, weights, checkpoint)
    except Exception as e:  # noqa: BLE001 - a model that fails is an error row, never a crash
        traceback.print_exc()
        result = empty_result(runner="host", model=model, fmt=fmt, plan=plan.to_dict(),
                              error=f"{type(e).__name__}: {e}")
    atomic_write_json(out, result)
