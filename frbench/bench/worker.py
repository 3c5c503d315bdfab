"""`frbench bench-one`: benchmark ONE exported model, in a process of its own.

The host runner starts this in a fresh interpreter for each model (pyperf's
worker), so load time and memory are not polluted by another model. Order:
load (timed; with a weights file, the program's load and its `set_weights` or
data file together), first inference (timed), `warmup` runs, `iters` runs each timed
alone with perf_counter, memory, then a separate accuracy pass over the test
images. Any failure becomes a result whose `error` says what failed; this
process then still exits 0 with a valid file.
"""

from __future__ import annotations

import platform
import time
import traceback
from pathlib import Path

import torch

from .. import __version__
from ..hostinfo import host_facts, peak_rss_kb, rss_kb
from ..io import atomic_write_json
from ..metrics import dice_per_image, predict_mask
from ..runtimes import RUNTIMES
from .plan import Plan
from .result import empty_result, utc_now, with_stats


def _timed_ms(fn) -> float:
    t0 = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - t0) / 1e6


@torch.no_grad()
def bench_one(model: str, fmt: str, data: str, plan: Plan, weights: str | None = None) -> dict:
    result = empty_result(runner="host", model=model, fmt=fmt, plan=plan.to_dict())
    result["device"] = host_facts()  # first: the load average before we add to it
    torch.set_num_threads(plan.threads)
    runtime = RUNTIMES.get(fmt)
    runtime.prepare()  # the runtime's own library: loaded before rss_before_load and outside load_ms
    result["runtime"] = {"name": runtime.name, "version": runtime.version()}
    result["metadata"] = {"date": utc_now(), "python": platform.python_version(), "torch": torch.__version__,
                          "frbench": __version__, "threads": torch.get_num_threads(),
                          "interop_threads": torch.get_num_interop_threads(), "timer": "time.perf_counter_ns",
                          "quantized_engine": torch.backends.quantized.engine}
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
    result["first_inference_ms"] = _timed_ms(lambda: runtime.run(module, x))
    result["warmups"] = [_timed_ms(lambda: runtime.run(module, x)) for _ in range(plan.warmup)]
    result["values"] = [_timed_ms(lambda: runtime.run(module, x)) for _ in range(plan.iters)]
    memory["rss_after_runs"] = rss_kb()
    memory["peak_rss"] = peak_rss_kb()
    result["memory"] = memory

    preds = torch.cat([predict_mask(runtime.run(module, images[i : i + 1])) for i in range(len(images))])
    per_image = dice_per_image(preds, masks)
    result["accuracy"] = {"dice": float(per_image.mean()), "dice_per_image": per_image.tolist(), "images": len(images)}
    return with_stats(result)


def main(model: str, fmt: str, data: str, plan: Plan, out: str, weights: str | None = None) -> None:
    try:
        result = bench_one(model, fmt, data, plan, weights)
    except Exception as e:  # noqa: BLE001 - a model that fails is an error row, never a crash
        traceback.print_exc()
        result = empty_result(runner="host", model=model, fmt=fmt, plan=plan.to_dict(),
                              error=f"{type(e).__name__}: {e}")
    atomic_write_json(out, result)
