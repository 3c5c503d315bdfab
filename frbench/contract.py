"""The method contract: what a compression method declares, and what the rest of frbench asks of it.

Three parties meet here, and each imports this module, never the others' internals:

- a method (`frbench/methods/<name>.py`) subclasses `Method`;
- the training loop (`frbench.train.fit`) calls the method's `Hook`s;
- the exporters (`frbench/export/`) write the method's `ExportForm` of a trained model.

A method is a class; each job makes its own instance (`Method(level, ctx)` to build and train
one model; `Method(level)` to load one from its checkpoint), which holds that job's facts. The
model carries no bookkeeping: a checkpoint holds the method's `arch` (JSON) and `extra_state`
(plain tensors) beside the model's state dict, so it loads with `weights_only=True`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn as nn

from .defaults import method_defaults

__all__ = ["ExportForm", "Hook", "Method", "MethodContext", "StudyFacts"]


@dataclass(frozen=True)
class StudyFacts:
    """What a method may check one of its levels against before any job runs (`Method.check_study`):
    the parts of the study its jobs will meet."""

    budget: str  # "train" or "finetune": the config block this method's jobs train with
    training: dict  # that block, defaults filled in (frbench.train.TrainConfig as a dict)
    train_images: int  # images in the training split
    size: tuple[int, int]  # (height, width) of every image (`data.size`)


@dataclass
class MethodContext:
    """Everything a build job gives a method for one (level, seed)."""

    unet: dict  # the study's `model` block (frbench.models.UNetConfig as a dict)
    params: dict = field(default_factory=dict)  # the method's own config block (config["methods"][name])
    seed: int = 0
    baseline: nn.Module | None = None  # the trained baseline, for post-training methods
    # training images, for methods that calibrate or trace: float32 (N,3,H,W) when indexed or sliced
    # (frbench.build.FloatImages over the uint8 split, or a plain tensor); len() is N
    calibration: Any = None


class Hook:
    """What the shared training loop (`frbench.train.fit`) calls on a method's hooks, in this order
    within a step: `loss`, then (after the optimizer step) `on_step_end`; after each epoch's
    validation, `on_epoch_end` and `checkpoint_ready`. Every call is a no-op by default; a hook
    overrides the ones it needs (Torch-Pruning's pattern: methods plug into one loop, never own one)."""

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor], output: torch.Tensor,
             loss: torch.Tensor) -> torch.Tensor:
        """The loss this step minimises, from the batch (images, masks), the model's output and the
        loss so far (the shared segmentation loss, or an earlier hook's). Default: unchanged."""
        return loss

    def on_step_end(self, model: nn.Module, step: int) -> None:
        """After every optimizer step."""

    def on_epoch_end(self, model: nn.Module, epoch: int) -> dict:
        """After every epoch; what it returns is merged into that epoch's record in train.json."""
        return {}

    def checkpoint_ready(self, model: nn.Module) -> bool:
        """May this epoch's model be selected as the checkpoint? (FR: only once at its size.)"""
        return True


@dataclass
class ExportForm:
    """What an exporter writes for one trained model and format (`Method.export_form`).

    `model` is the eager module the exporter traces or exports (FR's `.pte`: the dense network of
    the same weights; the fidelity check always runs the trained model itself); `program`, when
    given, is written as it is instead: for `.ptl` a module that `torch.jit.script` compiles (FR's
    compact module), which takes a weights file when it is a `frbench.weights_file.WeightsFromFile`
    (a weights-only update; a traced `model` always does); for `.pte` a `torch.export.ExportedProgram`
    (an int8 program from the XNNPACK quantizer). `facts` are merged into export_{fmt}.json. `also` names other forms of
    the same weights (eager modules), each written with the same exporter and measured (bytes,
    gzip bytes, numbers) under `{name}_export`: FR's plain dense file, what a phone would
    download without FR's compact form."""

    model: nn.Module
    program: Any = None
    facts: dict = field(default_factory=dict)
    also: dict[str, nn.Module] = field(default_factory=dict)


class Method:
    """A compression method. Subclass it in `frbench/methods/<name>.py` and decorate the class with
    `@register_method`; the smallest is `frbench/methods/baseline.py`.

    One instance per job. A build job (`frbench train`) calls, in order::

        m = Method(level, ctx)
        model = m.build()                  # fresh, or compressed from ctx.baseline
        model = fit(model, ..., hooks=m.hooks(model))
        model = m.finalize(model)
        save(arch=m.arch(model), state_dict=model.state_dict(), extra=m.extra_state())

    A job that reads the checkpoint calls `m = Method(level)`, `model = m.rebuild(arch)`, loads the
    state dict, then `m.set_extra_state(extra)`; the export job then asks `m.export_form(...)`.
    """

    name: str = ""
    #: True: compresses the trained baseline, then fine-tunes it with the `finetune` budget.
    #: False: trains from scratch with the `train` budget.
    from_baseline: bool = False
    #: False keeps training on the CPU even where CUDA is present (e.g. int8 kernels that only exist there).
    trains_on_gpu: bool = True
    #: "method": a compression method; "baseline": the network the compression ratios are taken
    #: against; "control": an equal-budget model other rows are compared with (marked in the report).
    role: str = "method"

    def __init__(self, level: str, ctx: MethodContext | None = None):
        """`ctx` is given to a build job (and to `control`), not to a job that loads a checkpoint.
        `self.params` is the method's config block over its defaults (the schema's, one home)."""
        self.level = level
        self.setting = self.parse_level(level)
        self.ctx = ctx
        self.params = {**method_defaults(self.name), **(ctx.params if ctx is not None else {})}

    def parse_level(self, level: str) -> Any:
        """The level as this method reads it (a ratio, a count, a scheme), kept as `self.setting`:
        a malformed level is refused (a ConfigError naming it) when the instance is made. Default:
        the string as it is."""
        return level

    def check_study(self, study: StudyFacts) -> None:
        """Refuse, before any job runs, a level that cannot work with the rest of the study: raise a
        ConfigError that names the keys at odds and what to change (FR: its truncation schedule must
        reach the level's kept counts within the training budget). `ctx` holds `unet` and `params`.
        Default: nothing to check."""

    # ---- building and training one model -----------------------------------------------------

    def build(self) -> nn.Module:
        """The model to train at this level: fresh, or the compressed `ctx.baseline`."""
        raise NotImplementedError

    def hooks(self, model: nn.Module) -> list[Hook]:
        """The hooks the training loop calls while `model` trains; none by default."""
        return []

    def finalize(self, model: nn.Module) -> nn.Module:
        """Turn the trained model into the one that is saved and exported (default: as is)."""
        return model

    def arch(self, model: nn.Module) -> dict:
        """JSON data from which `rebuild` makes an empty model of the same shape, and the facts this
        job decided (channels, ranks, per-layer int8/float, ...), which the checkpoint keeps."""
        raise NotImplementedError

    def extra_state(self) -> dict[str, torch.Tensor]:
        """Tensors this method needs again after loading that are not the model's own (quantize:
        the float weights its int8 `.pte` is quantized from); saved beside the state dict."""
        return {}

    def control(self) -> tuple[str, str] | None:
        """The (method, level) this level's Dice is compared with, seed by seed and image by image:
        the model that had the same training budget without the compression. A post-training
        method: the baseline fine-tuned with the same `finetune` budget (`baseline_ft`); a method
        trained from scratch: the baseline. None: compared with nothing. Needs only `ctx.unet` and
        `ctx.params`."""
        return ("baseline_ft", "dense") if self.from_baseline else ("baseline", "dense")

    # ---- loading and exporting a trained model -------------------------------------------------

    def rebuild(self, arch: dict) -> nn.Module:
        """An empty model of the shape `arch` describes; the checkpoint's state dict fills it."""
        raise NotImplementedError

    def set_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        """Take back what `extra_state` saved (called after `rebuild` and the state dict's load)."""

    def export_form(self, fmt: str, model: nn.Module, example: torch.Tensor,
                    calibration: Callable[[int], torch.Tensor] | None = None) -> ExportForm:
        """What the `fmt` exporter writes for `model` (rebuilt and loaded) at input `example`.
        `calibration(n)` gives the first n training images, for a form that is quantized at export.
        Default: the model as it is, traced (`.ptl`) or exported (`.pte`), with no facts of its own."""
        return ExportForm(model)
