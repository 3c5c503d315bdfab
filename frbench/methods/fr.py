"""Frequency Regularization (Zhao et al., "Frequency Regularization: Reducing
Information Redundancy in Convolutional Neural Networks", IEEE Access 2023) as a
method of the pipeline.

The UNet of the study's `model` block, with every conv and transposed conv learned
as DCT coefficients (frbench.fr: `to_fr`), trained from scratch with the `train`
budget through the shared loop, as the paper does. Its one hook is the core's
`TruncationHook`, which drops the high-frequency tail of every layer as training
goes; it also forbids selecting an epoch before every layer has reached its final
kept count, so that the checkpoint kept has the level's size.

Levels (path-safe strings):
  'r0.01'  kept ratio 1 %: the schedule closes the gap to 0.01 by `gamma` per
           update (`schedule: step`, every optimizer step as the released code;
           `epoch`, once per epoch as the paper's text), never below the per-layer
           floors `min_kept_conv` / `min_kept_linear`;
  'k33'    a fixed 33 coefficients per layer from the first step (the paper's
           released UNet keeps 33 per layer: 759 numbers for 31M parameters).

Options of the `methods.fr` block besides `levels` (`FR.option_schema`): `schedule`,
`gamma`, `min_kept_conv`, `min_kept_linear`; `unet`, UNet keys that override the
study's `model` block for FR only (the paper: `norm_affine: false,
norm_running_stats: false`); `layer_bias: false` drops the bias of every FR layer
(the paper's UNet has none, so its file stores exactly the kept coefficients).

The checkpoint keeps the coefficients rounded to float16, as the compact file stores them.

Export (`FR.export_form`): the `.ptl` is the compact module (frbench.fr.compact: kept coefficients as float16, first K
in zigzag order, dense weights rebuilt once at the first call), and its export
record also measures the plain dense `.ptl` of the same weights (`dense_export`)
and the floor (2 bytes per kept coefficient + 4 per shape dimension + the other
tensors). Its `.pte` stores the dense weights (ExecuTorch lowers constants), and
says so (`compact: false`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
import torch.nn as nn

from ..config.schema import defaults_of
from ..contract import ExportForm, Method, ModelRef
from ..errors import ConfigError
from ..fr import (
    CompactUNet,
    TruncationHook,
    TruncationSchedule,
    build_fr_unet,
    dense_unet,
    final_counts,
    floor_bytes,
    fr_arch,
    fr_layers,
    kept_counts,
    stored_numbers,
    to_fr,
    updates_to_reach,
)
from ..fr.compact import GraphCompactUNet
from ..models import UNet, UNetConfig
from . import small_dense
from ._common import decimal_name
from ._registry import register_method

_RATIO = re.compile(r"^r(?P<ratio>\d*\.?\d+)$")
_COUNT = re.compile(r"^k(?P<count>[1-9]\d*)$")
EXPECTED = ("r<kept ratio in (0, 1]>, e.g. r0.01 (1 % of each layer's coefficients, down to the floors), "
            "or k<count per layer>, e.g. k33 (the paper's released model)")
SCHEDULES = ("step", "epoch")
OPTIONS = {
    "schedule": {"enum": list(SCHEDULES), "default": "step", "description": "update the kept ratio after every "
                 "optimizer step (released code) or every epoch (paper text)"},
    "gamma": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.1, "description": "fraction of the "
              "gap to the target ratio closed per update (released code: 0.1 per step; paper: 0.01 per epoch)"},
    "min_kept_conv": {"type": "integer", "minimum": 1, "default": 128,
                      "description": "floor per conv / transposed conv layer (released code: 128)"},
    "min_kept_linear": {"type": "integer", "minimum": 1, "default": 256,
                        "description": "floor per linear layer (released code: 256)"},
    "layer_bias": {"type": "boolean", "default": True,
                   "description": "false drops the bias of every FR layer (the paper's UNet has none)"},
    "unet": {"type": "object", "additionalProperties": False, "default": {},
             "description": "UNet keys that override the `model` block for FR only (the paper: norm_affine false, "
                            "norm_running_stats false)",
             "properties": {"bias": {"type": "boolean"}, "norm": {"enum": ["batch", "none"]},
                            "norm_affine": {"type": "boolean"}, "norm_running_stats": {"type": "boolean"}}},
}


@dataclass(frozen=True)
class FRLevel:
    """An operating point: a kept ratio (`ratio`) or a fixed count per layer (`count`)."""

    ratio: float | None = None
    count: int | None = None


def parse_level(level: str) -> FRLevel:
    """'r0.01' -> FRLevel(ratio=0.01); 'k33' -> FRLevel(count=33); anything else: ConfigError naming it."""
    if isinstance(level, str):
        if m := _RATIO.match(level):
            ratio = float(m["ratio"])
            if 0 < ratio <= 1:
                return FRLevel(ratio=ratio)
        elif m := _COUNT.match(level):
            return FRLevel(count=int(m["count"]))
    raise ConfigError(f"methods.fr.levels: level {level!r} is malformed; expected {EXPECTED}")


def level_name(lv: FRLevel, level: str) -> str:
    """The one spelling of a level: 'r0.01' for 'r0.010' or 'r.01'."""
    return f"r{decimal_name(level[1:])}" if lv.ratio is not None else f"k{lv.count}"


def schedule_for(level: str, params: dict) -> TruncationSchedule:
    """The truncation schedule of one level under the method's config block (with its defaults)."""
    lv = parse_level(level)
    p = {**defaults_of(OPTIONS), **params}
    if p["schedule"] not in SCHEDULES:
        raise ConfigError(f"methods.fr.schedule: {' or '.join(SCHEDULES)}, not {p['schedule']!r}")
    if not 0 < p["gamma"] <= 1:
        raise ConfigError(f"methods.fr.gamma: a fraction in (0, 1], not {p['gamma']!r}")
    for key in ("min_kept_conv", "min_kept_linear"):
        if not (isinstance(p[key], int) and p[key] >= 1):
            raise ConfigError(f"methods.fr.{key}: a count of at least 1, not {p[key]!r}")
    if lv.count is not None:
        return TruncationSchedule.fixed(lv.count)
    return TruncationSchedule(mode=p["schedule"], gamma=p["gamma"], eps=lv.ratio, min_kept_conv=p["min_kept_conv"],
                              min_kept_linear=p["min_kept_linear"])


class FRTruncation(TruncationHook):
    """The core's TruncationHook, plus `checkpoint_ready`: an epoch may be selected
    only once every layer has reached its final kept count. Each epoch's record
    gets the kept count per layer, their total, and whether the target is reached."""

    def __init__(self, schedule: TruncationSchedule, model: nn.Module):
        super().__init__(schedule, model)
        self.targets = final_counts(schedule, model)

    def checkpoint_ready(self, model: nn.Module) -> bool:
        return at_target(model, self.targets)

    def on_epoch_end(self, model: nn.Module, epoch: int) -> dict:
        record = super().on_epoch_end(model, epoch)
        record.update(fr_target_total=sum(self.targets.values()), fr_at_target=self.checkpoint_ready(model))
        return record


def at_target(model: nn.Module, targets: dict[str, int]) -> bool:
    return all(layer.kept_count() <= targets[name] for name, layer in fr_layers(model))


def dense_params(unet_cfg: dict) -> int:
    """Parameters of the dense UNet of this config (what FR compresses), counted without allocating it."""
    with torch.device("meta"):
        return UNet(UNetConfig.from_dict(unet_cfg)).num_params()


def fr_unet_config(unet: dict, params: dict) -> dict:
    """The study's `model` block with the method's `unet` overrides applied."""
    return UNetConfig.from_dict({**unet, **(params.get("unet") or {})}).to_dict()


@register_method
class FR(Method):
    name = "fr"  # trained from scratch with the `train` budget, as the paper does
    option_schema = OPTIONS
    figures = ("fr_kept_vs_dice",)

    def __init__(self, level, ctx=None):
        super().__init__(level, ctx)
        self.schedule: TruncationSchedule | None = None  # a build job's, from the level and the config block
        self.dense_params: int | None = None  # parameters of the dense network this model compresses

    def parse_level(self, level):
        return parse_level(level)

    def canonical_level(self):
        return level_name(self.setting, self.level)

    def build(self):
        self.schedule = schedule_for(self.level, self.params)
        self.dense_params = dense_params(self.ctx.unet)
        model = to_fr(UNet(UNetConfig.from_dict(fr_unet_config(self.ctx.unet, self.params))))
        if not self.params["layer_bias"]:
            for _, layer in fr_layers(model):
                layer.bias = None
        return model

    def check_study(self, study):
        """FR's own network (the `unet` option over the model block) must suit the image size as the
        study's does (frbench.config.combinations.check_batch_norm); and the schedule must bring every
        layer to the level's kept count within the `train` budget: otherwise no epoch is selectable
        and the job fails after training (`finalize`)."""
        from ..config.combinations import check_batch_norm

        check_batch_norm(study.size, fr_unet_config(self.ctx.unet, self.params), "methods.fr.unet",
                         {study.budget: study.training}, study.train_images)
        with torch.device("meta"):  # shapes only
            model = self.build()
        s = self.schedule
        if s.mode == "fixed":
            return
        t = study.training
        steps = t["epochs"] * math.ceil(study.train_images / t["batch_size"])
        given = steps if s.mode == "step" else t["epochs"]
        needed = updates_to_reach(s, model, limit=max(given, 100_000))
        if needed is not None and needed <= given:
            return
        per_epoch = f" of {steps // t['epochs']} steps" if s.mode == "step" and t["epochs"] else ""
        raise ConfigError(
            f"methods.fr.levels {self.level!r}, methods.fr.gamma {s.gamma} (schedule: {s.mode}) and train.epochs "
            f"{t['epochs']} cannot go together: the schedule reaches the level's kept counts after "
            f"{needed if needed is not None else 'more than 100,000'} updates, and {t['epochs']} epochs{per_epoch} "
            f"give {given}; raise methods.fr.gamma or train.epochs (with schedule: step, a smaller train.batch_size "
            "also gives more steps)")

    def hooks(self, model):
        return [FRTruncation(self.schedule, model)]

    def finalize(self, model):
        # What is saved is what ships: the kept coefficients rounded to float16, as the compact file
        # stores them (so the eager model, its .ptl and its .pte are one model, and the export's
        # fidelity check compares like with like), and the dropped ones zero (the optimizer's
        # momentum moves them after their gradient went to zero; the mask keeps them out of every
        # forward, and this keeps them out of the checkpoint).
        with torch.no_grad():
            for _, layer in fr_layers(model):
                layer.coeffs.copy_(layer.coeffs.half().float() * layer.mask)
        targets = final_counts(self.schedule, model)
        if not at_target(model, targets):
            kept = sum(kept_counts(model).values())
            raise ConfigError(
                f"fr/{self.level}: the truncation schedule ({self.schedule.mode}, gamma {self.schedule.gamma}) did not "
                f"reach the level's kept counts within the training budget ({kept} coefficients kept, target "
                f"{sum(targets.values())}), so no checkpoint of that size exists; raise methods.fr.gamma, use "
                f"schedule: step, or raise train.epochs")
        return model

    def control(self):
        """A dense UNet trained from scratch with the same budget, as small as this level's file
        (`small_dense`, level n<the numbers it stores>)."""
        with torch.device("meta"):  # shapes only: nothing is allocated or initialised
            model = self.build()
        return ModelRef("small_dense", small_dense.level_for(stored_numbers(model, final_counts(self.schedule, model))))

    def arch(self, model):
        arch = {"unet": model.cfg.to_dict(), **fr_arch(model), "dense_params": self.dense_params}
        if self.schedule is not None:
            arch["schedule"] = self.schedule.to_dict()
        return arch

    def rebuild(self, arch):
        self.dense_params = arch.get("dense_params")
        return build_fr_unet(arch["unet"], arch)

    def export_form(self, fmt, model, example, calibration=None):
        """`.ptl`: the compact module (kept coefficients as float16), measured beside the plain dense
        `.ptl` of the same weights (`dense_export`); `.pte`: the dense network with weights
        idctn(coefficients), since ExecuTorch lowers constant weights; `.onnx`: the compact graph
        (`GraphCompactUNet`: the unpack in the graph, folded by ONNX Runtime when it loads the file),
        beside the plain dense `.onnx`. All report the floor."""
        kept = kept_counts(model)
        facts = {"compact": fmt in ("ptl", "onnx"), "kept_coefficients": sum(kept.values()), "fr_layers": len(kept),
                 "floor_bytes": floor_bytes(model), "dense_params": self.dense_params}
        dense = dense_unet(model)[0].eval()  # biases an FR layer dropped (`layer_bias: false`) are zero there
        if fmt == "ptl":
            facts["storage_note"] = ("compact: the kept DCT coefficients as float16, first K in zigzag order; the dense "
                                     "weights are rebuilt once, at the first call (in first_inference_ms)")
            return ExportForm(model, program=CompactUNet(model).eval(), facts=facts, also={"dense": dense})
        if fmt == "onnx":
            facts["storage_note"] = ("compact: the kept DCT coefficients as float16, first K in zigzag order; the graph "
                                     "rebuilds the dense weights, which ONNX Runtime folds once, at load (in load_ms)")
            return ExportForm(model, program=GraphCompactUNet(model).eval(), facts=facts, also={"dense": dense})
        facts["storage_note"] = "dense: ExecuTorch lowers constant weights, so the file stores idctn(coefficients)"
        return ExportForm(dense, facts=facts)
