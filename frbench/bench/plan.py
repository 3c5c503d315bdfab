"""The benchmark plan: what every runner does to every model (DESIGN.md, "The benchmark protocol")."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from ..errors import ConfigError


@dataclass(frozen=True)
class Plan:
    warmup: int = 10  # runs discarded after the first inference (recorded as `warmups`)
    iters: int = 50  # timed runs, each timed alone
    threads: int = 1  # intra-op threads of the runtime, fixed and recorded
    timeout_s: float = 600.0  # per model: a hung or dying run becomes an error row
    dice_images: int = 0  # test images in the accuracy pass (0 = all)
    weights_update: bool = True  # also run the model as program plus weights file (the export's update files)

    @classmethod
    def from_dict(cls, d: dict) -> "Plan":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"bench: unknown keys {unknown}; known: {sorted(known)}")
        plan = cls(**d)
        if plan.iters < 1 or plan.warmup < 0 or plan.threads < 1 or plan.timeout_s <= 0:
            raise ConfigError(f"bench: need iters >= 1, warmup >= 0, threads >= 1, timeout_s > 0; got {plan}")
        return plan

    def to_dict(self) -> dict:
        return asdict(self)

    def dice_split(self, data):
        """The test images and masks of the accuracy pass: the first `dice_images` (all when 0)."""
        from ..data import load_split  # here, not at the top: the benchmark job's own process never imports torch

        images, masks = load_split(data, "test")
        return (images[: self.dice_images], masks[: self.dice_images]) if self.dice_images else (images, masks)
