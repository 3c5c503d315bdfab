"""The method registry: a method is found by name (timm's `register_model`).

A method is a subclass of `Method` in its own module of `frbench/methods/`,
decorated with `@register_method`. Importing `frbench.methods` imports every
module of the package, so adding a method is adding a file (and its rule in
`workflow/rules/methods/`). Generic code never branches on a method's name: it
asks the method.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch.nn as nn

from ..registry import Registry

__all__ = ["Method", "MethodContext", "control_of", "get_method", "list_methods", "register_method", "with_controls"]

METHODS: Registry["Method"] = Registry("method")


@dataclass
class MethodContext:
    """Everything a method may need to build its model for one (level, seed)."""

    unet: dict  # the UNet configuration (frbench.models.UNetConfig as a dict)
    params: dict = field(default_factory=dict)  # the method's own config block (config["methods"][name])
    seed: int = 0
    baseline: nn.Module | None = None  # the trained baseline, for post-training methods
    # training images, for methods that calibrate or trace: float32 (N,3,H,W) when indexed or sliced
    # (frbench.build.FloatImages over the uint8 split, or a plain tensor); len() is N
    calibration: Any = None


class Method:
    """What every compression method answers.

    Example, the smallest method (see frbench/methods/baseline.py)::

        @register_method
        class Baseline(Method):
            name = "baseline"
            def build(self, level, ctx): return UNet(UNetConfig.from_dict(ctx.unet))
            def arch(self, model): return {"unet": model.cfg.to_dict()}
            def rebuild(self, arch): return UNet(UNetConfig.from_dict(arch["unet"]))
    """

    name: str = ""
    #: True: compresses the trained baseline, then fine-tunes it with the
    #: `finetune` budget. False: trains from scratch with the `train` budget.
    from_baseline: bool = False
    #: False keeps training on the CPU even where CUDA is present (e.g. int8 kernels that only exist there).
    trains_on_gpu: bool = True
    #: "method": a compression method; "baseline": the network the compression ratios are taken
    #: against; "control": an equal-budget model other rows are compared with (marked in the report).
    role: str = "method"

    def build(self, level: str, ctx: MethodContext) -> nn.Module:
        """The model to train at this operating point (fresh, or the compressed ctx.baseline)."""
        raise NotImplementedError

    def arch(self, model: nn.Module) -> dict:
        """A JSON-able description from which `rebuild` makes an empty model of the same shape."""
        raise NotImplementedError

    def rebuild(self, arch: dict) -> nn.Module:
        raise NotImplementedError

    def hooks(self, model: nn.Module, level: str, ctx: MethodContext) -> list:
        """Objects the training loop calls (see frbench.train.Hook); none by default."""
        return []

    def finalize(self, model: nn.Module) -> nn.Module:
        """Turn the trained model into the one that is saved and exported (default: as is)."""
        return model

    def control(self, level: str, ctx: MethodContext) -> tuple[str, str] | None:
        """The (method, level) this operating point's Dice is compared with, seed by seed and image
        by image: the model that had the same training budget without the compression. A
        post-training method: the baseline fine-tuned with the same `finetune` budget
        (`baseline_ft`); a method trained from scratch: the baseline. None: compared with nothing."""
        return ("baseline_ft", "dense") if self.from_baseline else ("baseline", "dense")


def register_method(cls: type[Method]) -> type[Method]:
    """Class decorator: register one instance of `cls` under `cls.name`."""
    name = cls.name
    if not name or not name.isidentifier() or name != name.lower():
        raise ValueError(f"{cls.__module__}.{cls.__qualname__}: method name must be a lower-case identifier, got {name!r}")
    METHODS.add(name, cls())
    return cls


def get_method(name: str) -> Method:
    return METHODS.get(name)


def list_methods() -> list[str]:
    return METHODS.names()


def control_of(method: str, level: str, unet: dict, params: dict) -> tuple[str, str] | None:
    """The control of one operating point (`Method.control`), from the study's `model` block and
    the method's own config block."""
    return get_method(method).control(level, MethodContext(unet=unet, params=params))


def with_controls(methods: dict[str, dict], unet: dict) -> dict[str, list[str]]:
    """The study's models: every configured method's levels, plus the controls they are compared
    with, and theirs in turn (method -> levels, configured methods first, in config order)."""
    models = {name: list(block["levels"]) for name, block in methods.items()}
    todo = [(name, level) for name, levels in models.items() for level in levels]
    while todo:
        name, level = todo.pop(0)
        control = control_of(name, level, unet, methods.get(name, {}))
        if control is not None and control[1] not in models.setdefault(control[0], []):
            models[control[0]].append(control[1])
            todo.append(control)
    return models
