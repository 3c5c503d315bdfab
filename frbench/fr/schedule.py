"""FR's dynamic tail truncation schedule and the training hook that applies it.

Zhao et al. (IEEE Access 2023, "dynamic tail truncation") shrink the kept ratio
of every layer geometrically towards a target:

    beta_n = beta_{n-1} - gamma * (beta_{n-1} - eps),    beta_0 = 1,

and keep the round(beta_n * numel) lowest zigzag ranks, but never fewer than a
per-layer floor. The paper states the update per epoch with gamma = 0.01; the
released code (`freqreg`, `Conv2d_FR4d.forward`) applies it on every forward pass
with gamma = 0.1 and floors of 128 coefficients per conv and 256 per linear layer.
Both are modes here ("epoch", "step"), and "fixed" trains at a fixed count per
layer from the start (the released UNet keeps 33 per layer).

Kept counts only shrink: a dropped coefficient never comes back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterator

import torch.nn as nn

from ..contract import Hook
from ..errors import ConfigError
from .layers import FRLinear, fr_layers

MODES = ("step", "epoch", "fixed")


@dataclass(frozen=True)
class TruncationSchedule:
    """The schedule's parameters, all given: the `fr` method takes them from its config block, whose
    defaults (the released code's: step, gamma 0.1, floors 128 and 256) live in the config schema.
    A "fixed" schedule (`TruncationSchedule.fixed(count)`) uses only `fixed_count`."""

    mode: str  # "step": update after every optimiser step (released code); "epoch": paper text; "fixed"
    gamma: float  # fraction of the gap to eps closed per update (paper: 0.01 per epoch)
    eps: float  # target kept ratio, approached from above
    min_kept_conv: int  # floor per conv / transposed conv layer (released code: 128)
    min_kept_linear: int  # floor per linear layer (released code: 256)
    fixed_count: int = 0  # "fixed" mode: coefficients kept per layer (released UNet: 33)

    def __post_init__(self):
        where = f"TruncationSchedule({self.mode!r})"
        if self.mode not in MODES:
            raise ConfigError(f"{where}: mode must be one of {MODES}, got {self.mode!r}")
        if not 0.0 < self.gamma <= 1.0:
            raise ConfigError(f"{where}: gamma must be in (0, 1], got {self.gamma}")
        if not 0.0 <= self.eps <= 1.0:
            raise ConfigError(f"{where}: the kept ratio eps must be in [0, 1], got {self.eps}")
        counts = [self.min_kept_conv, self.min_kept_linear] + ([self.fixed_count] if self.mode == "fixed" else [])
        if min(counts) < 1:
            raise ConfigError(f"{where}: kept counts and floors must be at least 1, got {counts}")

    @classmethod
    def fixed(cls, count: int) -> "TruncationSchedule":
        """`count` coefficients per layer from the first step (the paper's released UNet: 33)."""
        return cls(mode="fixed", gamma=1.0, eps=0.0, min_kept_conv=1, min_kept_linear=1, fixed_count=count)

    def to_dict(self) -> dict:
        return asdict(self)


def next_ratio(ratio: float, gamma: float, eps: float) -> float:
    """One truncation update: beta - gamma * (beta - eps)."""
    return ratio - gamma * (ratio - eps)


def target_count(ratio: float, numel: int, floor: int) -> int:
    """Coefficients a layer of `numel` keeps at `ratio`: round(ratio * numel), at least the floor, at most numel.

    Rounding (not ceil) lets the count reach eps * numel, which beta only approaches.
    """
    return min(numel, max(floor, round(ratio * numel)))


def _layers(model: nn.Module) -> Iterator[tuple[str, nn.Module, str]]:
    for name, layer in fr_layers(model):
        yield name, layer, "linear" if isinstance(layer, FRLinear) else "conv"


def _floor(schedule: TruncationSchedule, kind: str) -> int:
    """The schedule's floor for a layer of `kind` ("linear" or "conv")."""
    return schedule.min_kept_linear if kind == "linear" else schedule.min_kept_conv


def final_count(schedule: TruncationSchedule, numel: int, kind: str) -> int:
    """The kept count a layer of `numel` coefficients and `kind` ("linear" or "conv") ends at under `schedule`."""
    if schedule.mode == "fixed":
        return min(numel, schedule.fixed_count)
    return target_count(schedule.eps, numel, _floor(schedule, kind))


def final_counts(schedule: TruncationSchedule, model: nn.Module) -> dict[str, int]:
    """The kept count every FR layer of `model` ends at under `schedule`."""
    return {name: final_count(schedule, layer.coeffs.numel(), kind) for name, layer, kind in _layers(model)}


def updates_to_reach(schedule: TruncationSchedule, model: nn.Module, limit: int) -> int | None:
    """How many schedule updates (optimizer steps in "step" mode, epochs in "epoch" mode) bring every FR
    layer of `model` to its final kept count, as TruncationHook applies them; None if more than
    `limit`. 0 for a "fixed" schedule, which starts there. Needs only the layers' shapes (a model on
    the meta device will do), so a config is checked before anything trains."""
    if schedule.mode == "fixed":
        return 0
    # (coefficients, floor, final kept count) of every layer
    layers = [(layer.coeffs.numel(), _floor(schedule, kind), final_count(schedule, layer.coeffs.numel(), kind))
              for _, layer, kind in _layers(model)]
    ratio = 1.0
    for updates in range(limit + 1):
        if all(target_count(ratio, numel, floor) <= final for numel, floor, final in layers):
            return updates
        ratio = next_ratio(ratio, schedule.gamma, schedule.eps)
    return None


class TruncationHook(Hook):
    """Applies a TruncationSchedule to every FR layer of a model during training.

    Constructing it sets the starting counts (all coefficients, or `fixed_count`
    in "fixed" mode). The shared training loop then calls:

        hook = TruncationHook(schedule, model)
        for epoch ...:
            for step ...:
                loss.backward(); opt.step()
                hook.on_step_end(model, step)
            record.update(hook.on_epoch_end(model, epoch))

    `on_epoch_end` returns the kept count of every FR layer and their total, for
    the epoch's record in train.json.
    """

    def __init__(self, schedule: TruncationSchedule, model: nn.Module):
        self.schedule = schedule
        self.ratio = 1.0
        self._model, self._layer_list = None, []
        if schedule.mode == "fixed":
            for _, layer, _ in self._layers(model):
                layer.set_kept(min(layer.kept_count(), schedule.fixed_count))

    def _layers(self, model: nn.Module) -> list[tuple[str, nn.Module, str]]:
        """The model's FR layers, listed once (walking the modules every step costs more than the step's update)."""
        if model is not self._model:
            self._model, self._layer_list = model, list(_layers(model))
        return self._layer_list

    def _advance(self, model: nn.Module) -> None:
        s = self.schedule
        self.ratio = next_ratio(self.ratio, s.gamma, s.eps)
        for _, layer, kind in self._layers(model):
            target = target_count(self.ratio, layer.coeffs.numel(), _floor(s, kind))
            if target < layer.kept_count():
                layer.set_kept(target)

    def on_step_end(self, model: nn.Module, step: int) -> None:
        if self.schedule.mode == "step":
            self._advance(model)

    def on_epoch_end(self, model: nn.Module, epoch: int) -> dict:
        if self.schedule.mode == "epoch":
            self._advance(model)
        kept = {name: layer.kept_count() for name, layer, _ in self._layers(model)}
        return {"fr_ratio": self.ratio, "fr_kept": kept, "fr_kept_total": sum(kept.values())}
