"""The benchmark plan: what every runner does to every model (DESIGN.md, "The benchmark protocol").

Each phase is bounded by a count and by time, like TFLite's benchmark_model (`num_runs` beside
`min_secs`/`max_secs`) and pyperf's calibration, so that one plan fits a 1 ms model and a 10 s one:
warm-up runs stop at `warmup`, timed runs at `iters` and the Dice pass (separate from the timing) at
`dice_images`, or before a run that would end past the phase's time (`warmup_s`, `max_s`, `dice_s`),
once at least `min_iters` timed runs (one image) ran. The result records what ran and what stopped each
phase (`ran`). `timeout_s` stays a guard against a hung model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from ..errors import ConfigError


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
        if plan.warmup_s < 0 or plan.max_s < 0 or plan.dice_s < 0:
            raise ConfigError(f"bench: warmup_s, max_s and dice_s are seconds >= 0; got {plan}")
        return plan

    def to_dict(self) -> dict:
        return asdict(self)

    def dice_split(self, data):
        """The test images and masks of the accuracy pass: the first `dice_images` (all when 0)."""
        from ..data import load_split  # here, not at the top: the benchmark job's own process never imports torch

        images, masks = load_split(data, "test")
        return (images[: self.dice_images], masks[: self.dice_images]) if self.dice_images else (images, masks)
