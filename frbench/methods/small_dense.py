"""A dense UNet as small as a compressed model, trained from scratch with the `train` budget: the
control that says whether a method beats simply training a smaller network of the same size.

Level `n<count>`: the stored-number count to match (FR's level `r0.01` asks for the count its own
file stores, `Method.control`). The network is the study's `model` block with the width, and
where no width comes within `TOLERANCE` of the count, also the depth, whose count (every state-dict
tensor, as the export counts a file's numbers) is nearest to it on a log scale. The arch records
the count reached (`numbers`), beside the count asked for (the level).
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

import torch

from ..contract import Method
from ..errors import ConfigError
from ..models import UNet, UNetConfig
from ._registry import register_method

_LEVEL = re.compile(r"^n(?P<count>[1-9]\d*)$")
TOLERANCE = 0.1  # a width whose count is within 10 % keeps the study's depth


def level_for(count: int) -> str:
    return f"n{count}"


def parse_level(level: str) -> int:
    if isinstance(level, str) and (m := _LEVEL.match(level)):
        return int(m["count"])
    raise ConfigError(f"methods.small_dense.levels: level {level!r} is malformed; expected n<stored numbers>, e.g. n2865")


def stored_numbers(cfg: UNetConfig) -> int:
    """Numbers the exported file of a dense UNet of `cfg` stores (every state-dict tensor), without
    allocating it."""
    with torch.device("meta"):
        return sum(t.numel() for t in UNet(cfg).state_dict().values())


def matched_config(unet: dict, target: int) -> UNetConfig:
    """The study's UNet resized to store about `target` numbers (see the module docstring)."""
    base = UNetConfig.from_dict(unet)

    def best(depths):
        candidates = [replace(base, width=w, depth=d) for d in depths for w in range(1, 2 * base.width + 1)]
        return min(candidates, key=lambda c: (abs(math.log(stored_numbers(c) / target)), -c.depth))

    cfg = best([base.depth])
    if abs(stored_numbers(cfg) / target - 1) > TOLERANCE:
        cfg = best(range(1, base.depth + 1))
    return cfg


@register_method
class SmallDense(Method):
    name = "small_dense"
    role = "control"

    def parse_level(self, level):
        return parse_level(level)  # the stored-number count to match

    def build(self):
        return UNet(matched_config(self.ctx.unet, self.setting))

    def arch(self, model):
        return {"unet": model.cfg.to_dict(), "numbers": stored_numbers(model.cfg)}

    def rebuild(self, arch):
        return UNet(UNetConfig.from_dict(arch["unet"]))
