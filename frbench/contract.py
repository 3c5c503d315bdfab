"""The method contract: what a compression method declares, and what the rest of frbench asks of it.

Three parties meet here, and each imports this module, never the others' internals:

- a method (`frbench/methods/<name>.py`, one file) subclasses `Method`;
- the training loop (`frbench.train.fit`) calls the method's `Hook`s;
- the exporters (`frbench/export/`) write the method's `ExportForm` of a trained model.

A method is a class; each job makes its own instance (`Method(level, ctx)` to build and train
one model; `Method(level)` to load one from its checkpoint), which holds that job's facts. The
model carries no bookkeeping: a checkpoint holds the method's `arch` (JSON) and `extra_state`
(plain tensors) beside the model's state dict, so it loads with `weights_only=True`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import torch
import torch.nn as nn

from .config.schema import defaults_of
from .errors import ConfigError

__all__ = ["BASELINE", "FINETUNED_BASELINE", "BenchSetting", "ExportForm", "Hook", "Method", "MethodContext", "ModelRef",
           "StudyFacts"]


class ModelRef(NamedTuple):
    """Another model of the study, at the job's own seed: `method` at `level`."""

    method: str
    level: str

    def __str__(self) -> str:
        return f"{self.method}/{self.level}"


BASELINE = ModelRef("baseline", "dense")  # the network every compression ratio is taken against
FINETUNED_BASELINE = ModelRef("baseline_ft", "dense")  # the baseline after the `finetune` budget alone


@dataclass(frozen=True)
class StudyFacts:
    """What a method may check one of its levels against before any job runs (`Method.check_study`):
    the parts of the study its jobs will meet."""

    budget: str  # "train" or "finetune": the config block this method's jobs train with
    training: dict  # that block, defaults filled in (frbench.train.TrainConfig as a dict)
    train_images: int  # images in the training split
    size: tuple[int, int]  # (height, width) of every image (`data.size`)


@dataclass(frozen=True)
class BenchSetting:
    """What a method's models are benchmarked under and on, for the check before any job that the plan
    fits its timeout (`frbench.bench.plan.check_plans`; `Method.bench_setting`)."""

    plan: dict  # the benchmark plan (`Method.bench_plan`)
    keys: dict[str, str]  # each plan key -> the config key that sets it, for messages ("bench.warmup")
    unet: dict  # the network whose speed bounds a run from below (a UNetConfig as a dict)
    network: str  # how a message names that network
    size: tuple[int, int]  # (height, width) of its input
    images: int  # test images its Dice pass may score


@dataclass
class MethodContext:
    """Everything a build job gives a method for one (level, seed)."""

    unet: dict  # the study's `model` block (frbench.models.UNetConfig as a dict)
    params: dict = field(default_factory=dict)  # the method's own config block (`Method.config_block`)
    seed: int = 0
    # The inputs the method declared (`Method.inputs`), by name: each loaded from its checkpoint, on
    # `device`, in eval mode, and frozen (requires_grad False) unless named in `Method.trainable_inputs`.
    models: dict[str, nn.Module] = field(default_factory=dict)
    # Each input's {"method", "level", "arch"}: what rebuilds its shape (a method that starts from an
    # input keeps it in its own arch, so that its model is rebuilt on top of that shape).
    sources: dict[str, dict] = field(default_factory=dict)
    # training images, for methods that calibrate or trace: float32 (N,3,H,W) in [0, 1] on the CPU when
    # indexed or sliced (frbench.build.FloatImages over the uint8 split, or a plain tensor); len() is N
    calibration: Any = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))  # where the model trains


class Hook:
    """What the shared training loop (`frbench.train.fit`) calls on a method's hooks, in this order
    within a step: `loss`, then (after the optimizer step) `on_step_end`; after each epoch's
    validation, `on_epoch_end` and `checkpoint_ready`. Every call is a no-op by default; a hook
    overrides the ones it needs (Torch-Pruning's pattern: methods plug into one loop, never own one)."""

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor], output: torch.Tensor,
             loss: torch.Tensor) -> torch.Tensor:
        """The loss this step minimises. `batch` is (images, masks): images float32 (N, 3, H, W) in
        [0, 1], masks int64 (N, H, W) of class indices, both on the training device; `output` is the
        model's logits, float32 (N, classes, H, W) with `classes` the model block's (1 or 2); `loss`
        the scalar so far (the shared segmentation loss, or an earlier hook's). Default: unchanged."""
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
    """A compression method: one module `frbench/methods/<name>.py` with a subclass decorated
    `@register_method`; the smallest is `frbench/methods/baseline.py`. Every declaration below has a
    default; a build job (`frbench train`) then calls, in order::

        m = Method(level, ctx)             # ctx.models: the declared inputs, loaded
        model = m.build()
        model = fit(model, ..., hooks=m.hooks(model))
        model = m.finalize(model)
        save(arch=m.arch(model), state_dict=model.state_dict(), extra=m.extra_state())

    A job that reads the checkpoint calls `m = Method(level)`, `model = m.rebuild(arch)`, loads the
    state dict, then `m.set_extra_state(extra)`; the export job then asks `m.export_form(...)`.
    """

    name: str = ""
    #: "method": a compression method; "baseline": the network the compression ratios are taken
    #: against; "control": an equal-budget model other rows are compared with (marked in the report).
    role: str = "method"
    #: The config block its jobs train with: "train" (the budget of training from scratch) or
    #: "finetune" (the one budget every compression of a trained model gets).
    budget: str = "train"
    #: The input (a name of `inputs()`) whose model this method compresses, starting from a copy of it;
    #: None: it builds its model afresh. A chain hands each step the previous step's model here.
    start_input: str | None = None
    #: Inputs handed over trainable (requires_grad True, e.g. a teacher trained alongside); others are frozen.
    trainable_inputs: frozenset[str] = frozenset()
    #: False keeps training on the CPU even where CUDA is present (e.g. int8 kernels that only exist
    #: there); on a cluster its jobs then claim no GPU.
    trains_on_gpu: bool = True
    #: JSON schema of each key of its config block besides `levels` (type, `default`, description);
    #: the study's config is checked against it before any job, and `self.params` gets its defaults.
    option_schema: dict = {}
    #: Figures of the report that only this method's rows make (frbench.report.figures.FIGURES).
    figures: tuple[str, ...] = ()
    #: The workflow rule that makes its models: "train" (the one template every trained model uses),
    #: or the name of a rule that imports them (`imported` says which).
    made_by: str = "train"
    #: The dataset its models are exported and benchmarked on: results/data/{dataset}.npz.
    dataset: str = "dataset"
    #: The checkpoint a loaded instance was rebuilt from (`load_trained` sets it), for error messages.
    checkpoint: str | None = None

    def __init__(self, level: str, ctx: MethodContext | None = None):
        """`ctx` is given to a build job (and to `control` and `inputs`), not to a job that loads a
        checkpoint. `self.params` is the method's config block over its `option_schema` defaults."""
        self.level = level
        self.setting = self.parse_level(level)
        if (canonical := self.canonical_level()) != level:
            raise ConfigError(f"methods.{self.name}.levels: {level!r} is {canonical!r} written another way; write "
                              f"{canonical!r} (one model, one name: two spellings would train it twice)")
        self.ctx = ctx
        self.params = {**defaults_of(self.option_schema), **(ctx.params if ctx is not None else {})}

    def parse_level(self, level: str) -> Any:
        """The level as this method reads it (a ratio, a count, a scheme), kept as `self.setting`:
        a malformed level is refused (a ConfigError naming it) when the instance is made. Default:
        the string as it is."""
        return level

    def canonical_level(self) -> str:
        """The one spelling of this level (`0.5` for `0.50`); another is refused, naming both. Default: as given."""
        return self.level

    def check_study(self, study: StudyFacts) -> None:
        """Refuse, before any job runs, a level that cannot work with the rest of the study: raise a
        ConfigError that names the keys at odds and what to change (FR: its truncation schedule must
        reach the level's kept counts within the training budget). `ctx` holds `unet` and `params`.
        Default: nothing to check."""

    # ---- what the study makes for it ------------------------------------------------------------

    def inputs(self) -> dict[str, ModelRef]:
        """The other models of the study this level needs, by name (the same seed's): the workflow
        trains them first, reruns this job when they change, and hands them over as `ctx.models`.
        Default: the baseline as `start_input`, when the method has one; else none."""
        return {self.start_input: BASELINE} if self.start_input else {}

    def control(self) -> ModelRef | None:
        """The model this level's Dice is compared with, seed by seed and image by image: the one that
        had the same training without the compression. Default, from the declarations: a method built
        afresh, the baseline; one that starts from an input with the `finetune` budget, that input
        fine-tuned alone (`baseline_ft`, or the chain `INPUT+baseline_ft`); otherwise none (a method
        that starts from an input with the `train` budget names its own). Needs only `ctx.unet` and
        `ctx.params`."""
        if self.start_input is None:
            return BASELINE
        if self.budget != "finetune":
            return None
        start = self.inputs()[self.start_input]
        return FINETUNED_BASELINE if start == BASELINE else ModelRef(f"{start.method}+baseline_ft", f"{start.level}+dense")

    @classmethod
    def budgets(cls) -> list[str]:
        """The budgets its model had after the baseline's own training, in order (train.json's `budget`)."""
        return [cls.budget]

    @classmethod
    def config_block(cls, config: dict) -> dict:
        """Its options in the study config (what `ctx.params` holds, and a job's params: what changes
        its output besides the level): `methods.NAME` without `levels`, over the option defaults (the
        same whether or not the study lists the method, as a chain's step may not be)."""
        block = config["methods"].get(cls.name, {})
        return {**defaults_of(cls.option_schema), **{k: v for k, v in block.items() if k != "levels"}}

    @classmethod
    def imported(cls, config: dict) -> list[tuple[str, int]]:
        """(level, seed) of the models of this method the study imports (`made_by`'s rule writes
        them) instead of training them; none by default."""
        return []

    @classmethod
    def bench_plan(cls, config: dict) -> dict:
        """The benchmark plan its models run under: the study's `bench` block."""
        return dict(config["bench"])

    @classmethod
    def bench_setting(cls, config: dict, test_images: int) -> BenchSetting:
        """Its plan and what it runs on (`BenchSetting`): the study's UNet at `data.size`, scored on the
        study's `test_images`; a model imported with a network and images of its own says so."""
        plan = cls.bench_plan(config)
        return BenchSetting(plan, {key: f"bench.{key}" for key in plan}, dict(config["model"]), "the study's UNet",
                            tuple(config["data"]["size"]), test_images)

    # ---- building and training one model -----------------------------------------------------

    def build(self) -> nn.Module:
        """The model to train at this level: fresh, or compressed from a copy of an input."""
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
