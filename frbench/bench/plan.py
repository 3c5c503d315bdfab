"""The benchmark plan: what every runner does to every model (DESIGN.md, "The benchmark protocol").

Each phase is bounded by a count and by time, like TFLite's benchmark_model (`num_runs` beside
`min_secs`/`max_secs`) and pyperf's calibration, so that one plan fits a 1 ms model and a 10 s one:
warm-up runs stop at `warmup`, timed runs at `iters` and the Dice pass (separate from the timing) at
`dice_images`, or before a run that would end past the phase's time (`warmup_s`, `max_s`, `dice_s`),
once at least `min_iters` timed runs (one image) ran. The result records what ran and what stopped each
phase (`ran`). `timeout_s` stays a guard against a hung model.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass, fields

from ..errors import ConfigError
from ..wording import counted
from .sweep import plan_for_threads, thread_counts


@dataclass(frozen=True)
class Plan:
    warmup: int = 10  # at most this many runs discarded after the first inference (recorded as `warmups`)
    warmup_s: float = 10.0  # ... and none that would end past this many seconds of them
    iters: int = 50  # timed runs, each timed alone: at most this many
    min_iters: int = 3  # ... and at least this many (or `iters`, if fewer), whatever `max_s` says
    max_s: float = 30.0  # no timed run (past `min_iters`) that would end past this many seconds of them
    threads: int = 1  # intra-op threads of the runtime, fixed and recorded
    timeout_s: float = 1200.0  # per model: a hung or dying run becomes an error row
    dice_images: int = 0  # test images in the accuracy pass (0 = all)
    dice_s: float = 600.0  # no image (past the first) whose scoring would end past this many seconds of the pass
    weights_update: bool = True  # also run the model as program plus weights file (the export's update files)
    allocator: str = "glibc"  # the host worker's memory allocator (frbench.bench.allocator)
    heap: bool = True  # a heap pass after the timed runs: bytes held after load, first inference, peak (bench.heap)
    profile: bool = True  # a per-operator profile pass after them (frbench.bench.profile)
    cooldown_s: float = 30.0  # on a device: wait at most this long before each model for it to cool ...
    cooldown_temp_c: float = 40.0  # ... to this temperature (its hottest thermal zone), where it reports one

    @classmethod
    def from_dict(cls, d: dict) -> "Plan":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"bench: unknown keys {unknown}; known: {sorted(known)}")
        plan = cls(**d)
        if plan.iters < 1 or plan.warmup < 0 or plan.threads < 1 or plan.timeout_s <= 0:
            raise ConfigError(f"bench: need iters >= 1, warmup >= 0, threads >= 1, timeout_s > 0; got {plan}")
        if plan.min_iters < 1:
            raise ConfigError(f"bench: need min_iters >= 1; got {plan.min_iters}")
        if plan.warmup_s < 0 or plan.max_s < 0 or plan.dice_s < 0 or plan.cooldown_s < 0:
            raise ConfigError(f"bench: warmup_s, max_s, dice_s and cooldown_s are seconds >= 0; got {plan}")
        return plan

    def to_dict(self) -> dict:
        return asdict(self)

    def dice_split(self, data):
        """The test images and masks of the accuracy pass: the first `dice_images` (all when 0)."""
        from ..data import load_split  # here, not at the top: the benchmark job's own process never imports torch

        images, masks = load_split(data, "test")
        return (images[: self.dice_images], masks[: self.dice_images]) if self.dice_images else (images, masks)


# --- a plan that cannot fit its timeout is refused before any job -----------------------------------------------
#
# Each worker (one per model, and one per weights-only update) must start, load the model, run the
# first inference, its warm-ups, at least `min_iters` timed runs and at least one Dice image within
# `timeout_s`. `least_seconds` is the least that takes on a model whose run takes `run_s`: each
# bounded phase runs as `frbench.bench.worker.bounded` would, every run taking exactly `run_s`. A
# model's run is estimated from below: its convolutions' floating-point operations at a rate no CPU
# core reaches, plus the least a call into a runtime costs; the worker's start is measured (a fresh
# interpreter importing what a worker imports). So a plan refused here would time out on this host
# whatever the model's real speed, and no error row replaces a result for a failure the config made certain.

RUN_OVERHEAD_S = 20e-6  # the least one call into a runtime costs, whatever the model (the tiny UNet: ~0.2 ms)
FLOPS_PER_THREAD = 200e9  # more than a CPU core computes a convolution at (AVX-512: 2 FMA units x 16 lanes x 3 GHz)
PROFILE_RUNS = 3  # later calls the profile pass runs after its first (frbench.bench.profile)
START_CEILING_S = 60.0  # more than a worker takes to start anywhere: beyond it, no need to measure the start


def _runs_within(count: int, budget_s: float, run_s: float, minimum: int = 0) -> int:
    """How many runs of `run_s` seconds `bounded(fn, count, budget_s, minimum)` makes."""
    return min(count, max(minimum, int(budget_s / run_s)))


def least_seconds(plan: Plan, run_s: float, dice_images: int) -> dict[str, float]:
    """The least each phase of `plan` takes on a model whose run takes `run_s` seconds, the worker's
    start aside; `dice_images` is the number of test images the Dice pass may score."""
    warmups = _runs_within(plan.warmup, plan.warmup_s, run_s)
    iters = _runs_within(plan.iters, plan.max_s, run_s, minimum=min(plan.min_iters, plan.iters))
    dice = _runs_within(plan.dice_images or dice_images, plan.dice_s, run_s, minimum=1)
    # the heap pass runs the model twice, the profile pass once and PROFILE_RUNS more (frbench.bench.heap, .profile)
    passes = (2 if plan.heap else 0) + (1 + PROFILE_RUNS if plan.profile else 0)
    return {"first": run_s + passes * run_s, "warmup": warmups * run_s, "iters": iters * run_s, "dice": dice * run_s,
            "warmups": warmups, "timed runs": iters, "dice images": dice}


def _meta_unet(unet: dict):
    """The UNet of config block `unet` on the meta device: its shapes, no memory, no arithmetic."""
    import torch

    from ..models import UNet, UNetConfig

    with torch.device("meta"):
        return UNet(UNetConfig.from_dict(unet)).eval()


def _conv_flops(model, size: tuple[int, int]) -> int:
    """Floating-point operations of a (meta) model's convolutions on one image of `size`."""
    import torch

    flops = 0

    def count(module, inputs, output):
        nonlocal flops
        per_value = module.weight[0].numel()  # in/groups*kh*kw per output (conv); out/groups*kh*kw per input (transposed)
        flops += 2 * per_value * (inputs[0] if isinstance(module, torch.nn.ConvTranspose2d) else output).numel()

    hooks = [m.register_forward_hook(count) for m in model.modules()
             if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    with torch.no_grad():
        model(torch.empty(1, 3, *size, device="meta"))
    for hook in hooks:
        hook.remove()
    return flops


@functools.cache
def worker_start_s() -> float:
    """Seconds a fresh interpreter takes to import what a benchmark worker imports (torch, the runtimes);
    measured once per process (a snakemake run checks its config once, the study's plans one after another)."""
    import subprocess
    import sys
    import time

    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", "import frbench.bench.worker"], check=True, capture_output=True,
                   timeout=START_CEILING_S)
    return time.monotonic() - t0


def _least_total(parts: dict) -> float:
    return parts["first"] + parts["warmup"] + parts["iters"] + parts["dice"]


def check_fits(plan_dict: dict, key_of, unet: dict, model_name: str, size, test_images: int) -> None:
    """Refuse, with a ConfigError naming the keys and a `timeout_s` that would fit, the plan that no
    worker could finish on the UNet `unet` (`model_name` in the message) at `size` within its timeout;
    `key_of(name)` is where the config sets the plan's key `name`, `test_images` the number of images
    the Dice pass may score.
    Cheap when the timeout is far off: every weight used once per pixel bounds the operations from
    above, and only a plan that might not fit costs a count of them and a worker's start."""
    plan = Plan.from_dict(plan_dict)
    size = tuple(size)
    rate = FLOPS_PER_THREAD * plan.threads
    model = _meta_unet(unet)
    bound = 2 * sum(p.numel() for p in model.parameters()) * size[0] * size[1]
    if _least_total(least_seconds(plan, RUN_OVERHEAD_S + bound / rate, test_images)) + START_CEILING_S <= plan.timeout_s:
        return
    flops = _conv_flops(model, size)
    run_s = RUN_OVERHEAD_S + flops / rate
    parts = least_seconds(plan, run_s, test_images)
    least = _least_total(parts)
    if least + START_CEILING_S <= plan.timeout_s:
        return
    start = worker_start_s()
    if start + least <= plan.timeout_s:
        return
    raise ConfigError(_too_short(plan, key_of, model_name, size, flops, run_s, parts, start, least))


def _too_short(plan: Plan, key_of, model_name: str, size, flops: int, run_s: float, parts: dict, start: float,
               least: float) -> str:
    """The refusal: what the least time is made of, key by key, and the values that would fit."""
    n_dice = f"{plan.dice_images}" if plan.dice_images else "0: every test image"
    made_of = (f"its start {start:.2f} s (measured here), the first inference (and the heap and profile passes' runs, "
               f"bench.heap, bench.profile), {counted(parts['warmups'], 'warm-up')} "
               f"({key_of('warmup')} {plan.warmup}, within {key_of('warmup_s')} {plan.warmup_s:g}), "
               f"{counted(parts['timed runs'], 'timed run')} ({key_of('min_iters')} {plan.min_iters}, "
               f"{key_of('iters')} {plan.iters}, within {key_of('max_s')} {plan.max_s:g}) and "
               f"{counted(parts['dice images'], 'Dice image')} ({key_of('dice_images')} {n_dice}, within "
               f"{key_of('dice_s')} {plan.dice_s:g})")
    fits = [f"Set {key_of('timeout_s')} to {math.ceil(2 * (start + least))} or more (twice that: a real run is "
            "slower than this estimate)"]
    fixed = start + least
    for key, part, floor in (("warmup", "warmup", 0), ("min_iters", "iters", 1), ("dice_images", "dice", 1)):
        room = plan.timeout_s / 2 - (fixed - parts[part])  # what this phase may take, at half the timeout
        value = int(room // run_s) if room > 0 else -1
        if floor <= value < getattr(plan, key) and parts[part] > room:
            fits.append(f"lower {key_of(key)} to {value}")
    return (f"{key_of('timeout_s')} {plan.timeout_s:g} cannot hold this plan: every benchmark worker would be killed. "
            f"A worker takes at least {fixed:.2f} s here: {made_of}, each run at least {run_s * 1e3:.3g} ms "
            f"({model_name} at {size[0]}x{size[1]}: {flops / 1e9:.3g} GFLOP, "
            f"{counted(plan.threads, 'thread')}). {'; or '.join(fits)}")


def check_plans(config: dict, images: int) -> None:
    """Every benchmark plan of a study against its timeout (`check_fits`), each on the network its
    models run (`Method.bench_setting`: the study's UNet, or an imported model's own with its plan's
    overrides), and the host's allocator (local rules benchmark on the machine that checks), before any
    job; `images` is the dataset's pool size."""
    from ..config.study import study_models
    from ..data.dataset import split_sizes
    from ..methods import get_method

    data = config["data"]
    if {"host", "auto"} & set(config["devices"]):  # the host worker's allocator, on the machine that runs it
        from .allocator import worker_env

        worker_env(config["bench"]["allocator"])  # a ConfigError naming bench.allocator and the package
    test = split_sizes(images, data["val_fraction"], data["test_fraction"])["test"]
    checked = set()
    for method in dict.fromkeys(m for m, _, _ in study_models(config)):
        s = get_method(method).bench_setting(config, test)
        plan = plan_for_threads(s.plan, min(thread_counts(s.plan)))  # the slowest runs of a thread sweep
        seen = (json.dumps(plan, sort_keys=True), json.dumps(s.unet, sort_keys=True), s.size, s.images)
        if seen not in checked:
            checked.add(seen)
            check_fits(plan, lambda key, keys=s.keys: keys.get(key, f"bench.{key}"), s.unet, s.network, s.size,
                       s.images)
