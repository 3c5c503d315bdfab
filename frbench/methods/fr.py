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

Options of the `methods.fr` block besides `levels`: `schedule`, `gamma`,
`min_kept_conv`, `min_kept_linear`; `unet`, UNet keys that override the study's
`model` block for FR only (the paper: `norm_affine: false, norm_running_stats:
false`); `layer_bias: false` drops the bias of every FR layer (the paper's UNet
has none, so its file stores exactly the kept coefficients).

The checkpoint keeps the coefficients rounded to float16, as the compact file stores them.

Export: the model is an `FRUNet`, which answers the exporters' hooks. Its `.ptl`
is the compact module (frbench.fr.compact: kept coefficients as float16, first K
in zigzag order, dense weights rebuilt once at the first call), and its export
record also measures the plain dense `.ptl` of the same weights (`dense_export`)
and the floor (2 bytes per kept coefficient + 4 per shape dimension + the other
tensors). Its `.pte` stores the dense weights (ExecuTorch lowers constants), and
says so (`compact: false`).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn

from ..errors import ConfigError
from ..fr import (
    TruncationHook,
    TruncationSchedule,
    build_fr_unet,
    dense_unet,
    final_counts,
    floor_bytes,
    fr_arch,
    fr_layers,
    kept_counts,
    script_compact,
    stored_numbers,
    to_fr,
)
from ..models import UNet, UNetConfig
from . import small_dense
from ._registry import Method, register_method

_RATIO = re.compile(r"^r(?P<ratio>\d*\.?\d+)$")
_COUNT = re.compile(r"^k(?P<count>[1-9]\d*)$")
EXPECTED = ("r<kept ratio in (0, 1]>, e.g. r0.01 (1 % of each layer's coefficients, down to the floors), "
            "or k<count per layer>, e.g. k33 (the paper's released model)")
SCHEDULES = ("step", "epoch")
DEFAULTS = {"schedule": "step", "gamma": 0.1, "min_kept_conv": 128, "min_kept_linear": 256, "layer_bias": True}


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


def schedule_for(level: str, params: dict) -> TruncationSchedule:
    """The truncation schedule of one level under the method's config block."""
    lv = parse_level(level)
    p = {**DEFAULTS, **params}
    if p["schedule"] not in SCHEDULES:
        raise ConfigError(f"methods.fr.schedule: {' or '.join(SCHEDULES)}, not {p['schedule']!r}")
    if not 0 < p["gamma"] <= 1:
        raise ConfigError(f"methods.fr.gamma: a fraction in (0, 1], not {p['gamma']!r}")
    for key in ("min_kept_conv", "min_kept_linear"):
        if not (isinstance(p[key], int) and p[key] >= 1):
            raise ConfigError(f"methods.fr.{key}: a count of at least 1, not {p[key]!r}")
    if lv.count is not None:
        return TruncationSchedule(mode="fixed", fixed_count=lv.count)
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


def _dense_params(unet_cfg: dict) -> int:
    """Parameters of the dense UNet of this config (what FR compresses), counted without allocating it."""
    with torch.device("meta"):
        return UNet(UNetConfig.from_dict(unet_cfg)).num_params()


class FRUNet(UNet):
    """A UNet whose convs are FR layers (after `to_fr`), with the hooks the exporters call.

    - `to_torchscript(example)`: the compact module (frbench.fr.script_compact), what `.ptl` stores;
    - `to_exported_program(example, calibration)`: the dense network with weights idctn(coefficients), for `.pte`;
    - `export_facts(fmt, example)`: merged into export_{fmt}.json (floor, dense export, dense_params).
    """

    #: parameters of the dense network this model compresses (the study's `model` block; for the
    #: paper's released model, milesial's UNet-31M), for the compression ratio against it
    dense_params: int | None = None

    def dense_unet(self) -> UNet:
        """The same function as a plain UNet: every FR weight computed once. Biases an FR layer
        dropped (`layer_bias: false`, the paper's UNet) are zero there."""
        return dense_unet(self)[0]

    def to_torchscript(self, example: torch.Tensor) -> torch.jit.ScriptModule:
        return script_compact(self)

    def to_exported_program(self, example: torch.Tensor, calibration=None):
        with torch.no_grad():
            return torch.export.export(self.dense_unet().eval(), (example,))

    def export_facts(self, fmt: str, example: torch.Tensor) -> dict:
        kept = kept_counts(self)
        facts = {"compact": fmt == "ptl", "kept_coefficients": sum(kept.values()), "fr_layers": len(kept),
                 "floor_bytes": floor_bytes(self), "dense_params": self.dense_params}
        if fmt == "ptl":
            facts["storage_note"] = ("compact: the kept DCT coefficients as float16, first K in zigzag order; the dense "
                                     "weights are rebuilt once, at the first call (in first_inference_ms)")
            facts["dense_export"] = dense_export(self.dense_unet().eval(), example)
        else:
            facts["storage_note"] = "dense: ExecuTorch lowers constant weights, so the file stores idctn(coefficients)"
        return facts


def dense_export(model: nn.Module, example: torch.Tensor) -> dict:
    """Bytes, gzip bytes and stored numbers of the plain (traced) `.ptl` of `model`, written to a
    temporary file: what the phone would download without FR's compact form."""
    from ..export import EXPORTERS
    from ..export.job import count_numbers, file_facts

    exporter = EXPORTERS.get("ptl")
    with tempfile.TemporaryDirectory(prefix="frbench-dense-") as d:
        path = Path(d) / "dense.ptl"
        how = exporter.write(model, example, path)
        return {**file_facts(path), **count_numbers(exporter.stored_tensors(path)), "exporter": how}


def fr_unet_config(unet: dict, params: dict) -> dict:
    """The study's `model` block with the method's `unet` overrides applied."""
    return UNetConfig.from_dict({**unet, **(params.get("unet") or {})}).to_dict()


@register_method
class FR(Method):
    name = "fr"
    from_baseline = False  # trained from scratch with the `train` budget, as the paper does

    def build(self, level, ctx):
        schedule = schedule_for(level, ctx.params)
        model = to_fr(FRUNet(UNetConfig.from_dict(fr_unet_config(ctx.unet, ctx.params))))
        if not ctx.params.get("layer_bias", DEFAULTS["layer_bias"]):
            for _, layer in fr_layers(model):
                layer.bias = None
        model.dense_params = _dense_params(ctx.unet)
        model.fr_level, model.fr_schedule = level, schedule
        return model

    def hooks(self, model, level, ctx):
        return [FRTruncation(schedule_for(level, ctx.params), model)]

    def finalize(self, model):
        # What is saved is what ships: the kept coefficients rounded to float16, as the compact file
        # stores them (so the eager model, its .ptl and its .pte are one model, and the export's
        # fidelity check compares like with like), and the dropped ones zero (the optimizer's
        # momentum moves them after their gradient went to zero; the mask keeps them out of every
        # forward, and this keeps them out of the checkpoint).
        with torch.no_grad():
            for _, layer in fr_layers(model):
                layer.coeffs.copy_(layer.coeffs.half().float() * layer.mask)
        schedule = getattr(model, "fr_schedule", None)
        if schedule is not None:
            targets = final_counts(schedule, model)
            if not at_target(model, targets):
                kept = sum(kept_counts(model).values())
                raise ConfigError(
                    f"fr/{model.fr_level}: the truncation schedule ({schedule.mode}, gamma {schedule.gamma}) did not "
                    f"reach the level's kept counts within the training budget ({kept} coefficients kept, target "
                    f"{sum(targets.values())}), so no checkpoint of that size exists; raise methods.fr.gamma, use "
                    f"schedule: step, or raise train.epochs")
        return model

    def control(self, level, ctx):
        """A dense UNet trained from scratch with the same budget, as small as this level's file
        (`small_dense`, level n<the numbers it stores>)."""
        with torch.device("meta"):  # shapes only: nothing is allocated or initialised
            model = self.build(level, ctx)
        return ("small_dense", small_dense.level_for(stored_numbers(model, final_counts(model.fr_schedule, model))))

    def arch(self, model):
        arch = {"unet": model.cfg.to_dict(), **fr_arch(model), "dense_params": model.dense_params}
        schedule = getattr(model, "fr_schedule", None)
        if schedule is not None:
            arch["schedule"] = schedule.to_dict()
        return arch

    def rebuild(self, arch):
        model = build_fr_unet(arch["unet"], arch, unet_class=FRUNet)
        model.dense_params = arch.get("dense_params")
        return model


# ---- the paper's released model ------------------------------------------------------------

REFERENCE_LEVEL = "k33"


def import_reference(*, folder: str, size: tuple[int, int], out_checkpoint: str, out_dataset: str,
                     out_record: str, threads: int | None = None) -> dict:
    """Import the FR paper's released UNet (`folder`/unet_fr.tar.xz, see frbench.fr.reference)
    as an `fr` checkpoint (level k33, seed 0) and its 16 test images, resized to `size`
    (height, width), as the test split of a dataset of its own (no training or validation
    images); score it in this process and write what was done to `out_record`.

    The checkpoint's `dense_params` is the parameter count of milesial's UNet(3, 2), 31,037,698
    (BatchNorm affine, biased transposed and output convs): the network the paper compresses
    and states its compression rate against, so the report compares this model with it
    rather than with the study's own (small) baseline.
    """
    import time

    import numpy as np

    from ..checkpoint import save_checkpoint
    from ..data import content_sha256, load_folder_pair, to_float, write_arrays
    from ..fr.reference import EXPECTED_MEAN_DICE, REFERENCE_UNET, load_reference_fr, reference_pairs, score_reference
    from ..hostinfo import capped_threads
    from ..io import atomic_write_json

    if threads:
        torch.set_num_threads(capped_threads(threads))
    root = Path(folder)
    t0 = time.monotonic()
    imported, info = load_reference_fr(root / "unet_fr.tar.xz", dtype=torch.float16)
    counts = set(info["kept"].values())
    level = f"k{counts.pop()}" if len(counts) == 1 else None
    if level != REFERENCE_LEVEL:
        raise ConfigError(f"{root / 'unet_fr.tar.xz'}: expected {REFERENCE_LEVEL[1:]} coefficients in every layer (the "
                          f"paper's released model), found {sorted(set(info['kept'].values()))}")
    usual = UNetConfig(width=REFERENCE_UNET.width, depth=REFERENCE_UNET.depth, bilinear=REFERENCE_UNET.bilinear)
    method = FR()
    arch = {"unet": REFERENCE_UNET.to_dict(), **info["arch"], "dense_params": _dense_params(usual.to_dict())}
    model = method.rebuild(arch)
    model.load_state_dict(imported.state_dict())
    model.eval()
    del imported

    # the test images, resized as a folder dataset is (frbench.data.folder), in a dataset of their own
    pairs = reference_pairs(root)
    height, width = size
    loaded = [load_folder_pair(image, mask, (height, width)) for image, mask in pairs]
    arrays = {f"{split}_images": np.zeros((0, height, width, 3), np.uint8) for split in ("train", "val")}
    arrays |= {f"{split}_masks": np.zeros((0, height, width), np.uint8) for split in ("train", "val")}
    arrays["test_images"] = np.stack([image for image, _ in loaded])
    arrays["test_masks"] = np.stack([mask for _, mask in loaded])
    write_arrays(arrays, out_dataset)

    images = to_float(torch.from_numpy(arrays["test_images"].transpose(0, 3, 1, 2).copy()))
    masks = torch.from_numpy(arrays["test_masks"].astype(np.int64))
    score = score_reference(model, images, masks)
    save_checkpoint(out_checkpoint, method=method.name, level=level, arch=arch, model=model,
                    meta={"seed": 0, "source": "the FR paper's released model", "sha256": info["sha256"]})
    record = {
        "key": {"method": method.name, "level": level, "seed": 0},
        "archive": info["archive"], "sha256": info["sha256"], "coefficients": info["coefficients"],
        "tensors": info["tensors"], "dense_params": arch["dense_params"], "unet_config": arch["unet"],
        "dataset": {"file": str(out_dataset), "size": [height, width], "images": len(pairs),
                    "stems": [p.stem for p, _ in pairs], "sha256": content_sha256(arrays),
                    "resize": "Pillow bilinear (images), nearest (masks); none at 640x959"},
        "dice": score["mean_dice"], "dice_per_image": score["dice_per_image"], "score_seconds": score["seconds"],
        "threads": score["threads"], "full_resolution_dice_expected": EXPECTED_MEAN_DICE,
        "full_resolution": [height, width] == [640, 959], "seconds": time.monotonic() - t0,
    }
    atomic_write_json(out_record, record)
    return record
