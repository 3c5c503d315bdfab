"""What the post-training methods share (baseline_ft, prune_structured, prune_unstructured,
quantize, tucker): their base class, reading a level, copying the model they start from,
walking and replacing layers.

Facts: what a method decides at `build` time (the channel-rounding multiple, the Tucker
ranks and skipped layers, the per-layer quantized/float record) is kept in the job's
method instance (`self.facts`) and written into the checkpoint's `arch`, with the arch of the
model it started from (`start`), so that `rebuild` starts from that model's shape: after
structured pruning in a chain, quantize rebuilds the pruned network, not the study's UNet.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal

import torch
import torch.nn as nn

from ..contract import Method
from ..errors import CheckpointError, ConfigError
from ..models import UNet, UNetConfig

_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")

CONV_TYPES = (nn.Conv2d, nn.ConvTranspose2d)


# ---- levels ---------------------------------------------------------------------------------

def level_error(method: str, level: str, expected: str) -> ConfigError:
    return ConfigError(f"methods.{method}.levels: level {level!r} is malformed; expected {expected}")


def decimal_name(text: str) -> str:
    """The one spelling of a decimal: no trailing zeros, one leading zero ('0.50' and '00.5' -> '0.5')."""
    return format(Decimal(text).normalize(), "f")


def parse_fraction(method: str, level: str, meaning: str, *, allow_one: bool = False) -> float:
    """A level written as a decimal fraction, e.g. '0.5'. `meaning` says what it is
    ("the fraction of channels removed"), for the error message."""
    upper = "1]" if allow_one else "1)"
    expected = f"a decimal fraction in (0, {upper} such as '0.5': {meaning}"
    if not isinstance(level, str) or not _NUMBER.match(level):
        raise level_error(method, level, expected)
    value = float(level)
    if not (0 < value < 1 or (allow_one and value == 1)):
        raise level_error(method, level, expected)
    return value


# ---- the model to compress --------------------------------------------------------------------

def start_copy(ctx, method: str, name: str) -> UNet:
    """A trainable copy (requires_grad, train mode) of the input `name` that `method` compresses: the
    input itself is never changed, and stays frozen."""
    model = ctx.models.get(name) if ctx is not None else None
    if model is None:
        raise ConfigError(f"method {method!r} compresses a trained model, its input {name!r}: pass its checkpoint "
                          f"(frbench train ... --input {name}=CHECKPOINT; MethodContext.models[{name!r}])")
    if not isinstance(model, UNet):
        raise ConfigError(f"method {method!r} compresses a UNet; its input {name!r} is a {type(model).__name__}")
    return copy.deepcopy(model).requires_grad_(True).train()


def rebuild_start(arch: dict) -> nn.Module:
    """An empty model of the shape this model started from: the start's method rebuilds it from the
    arch kept at build time (`arch["start"]`); a plain UNet of `arch["unet"]` when none was kept."""
    from ._registry import get_method

    start = arch.get("start")
    if not start:
        return UNet(unet_config(arch))
    return get_method(start["method"])(start["level"]).rebuild(start["arch"])


def example_input(ctx) -> torch.Tensor:
    """One image of the study's size (the benchmark's input shape), on the training device, for tracing
    and counting."""
    if ctx.calibration is None or len(ctx.calibration) == 0:
        raise ConfigError("this method needs the training images (MethodContext.calibration) to trace the model; "
                          "the dataset's training split is empty")
    return ctx.calibration[:1].clone().to(ctx.device)


def unet_config(arch: dict) -> UNetConfig:
    return UNetConfig.from_dict(arch["unet"])


# ---- the base class ---------------------------------------------------------------------------

class PostTraining(Method):
    """A method that compresses a trained model (its input `start`: the baseline of the same seed, or
    in a chain the previous step's model), then fine-tunes it with the `finetune` budget. Its arch is
    the UNet config, the eager parameter count and `self.facts`, what this job decided with the
    start's arch; `rebuild` starts from the start's shape (a method whose layers differ changes them there)."""

    budget = "finetune"
    start_input = "start"

    def __init__(self, level, ctx=None):
        super().__init__(level, ctx)
        self.facts: dict = {}

    def start_model(self) -> UNet:
        """A trainable copy of the model to compress; where it came from goes into the facts (`start`)."""
        model = start_copy(self.ctx, self.name, self.start_input)
        if self.start_input in self.ctx.sources:
            self.facts["start"] = self.ctx.sources[self.start_input]
        return model

    def arch(self, model):
        return {"unet": model.cfg.to_dict(), "params_eager": model.num_params(), **self.facts}

    def rebuild(self, arch):
        return rebuild_start(arch)


class FractionLevel(PostTraining):
    """A post-training method whose level is a decimal fraction ('0.5') of what `meaning` says."""

    meaning: str = ""

    def parse_level(self, level):
        return parse_fraction(self.name, level, self.meaning)

    def canonical_level(self):
        return decimal_name(self.level)


# ---- layers -----------------------------------------------------------------------------------

def conv_layers(model: nn.Module, types=CONV_TYPES) -> dict[str, nn.Module]:
    """Every convolution (plain and transposed) by its qualified name, in definition order."""
    return {name: m for name, m in model.named_modules() if isinstance(m, types)}


def replace_module(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)


def layer_shapes(model: nn.Module) -> dict[str, list[int]]:
    """[in, out] channels of every conv and [features] of every BatchNorm: what
    `resize_layers` needs to rebuild a model whose channels were pruned."""
    shapes = {}
    for name, m in model.named_modules():
        if isinstance(m, CONV_TYPES):
            shapes[name] = [m.in_channels, m.out_channels]
        elif isinstance(m, nn.BatchNorm2d):
            shapes[name] = [m.num_features]
    return shapes


def resize_layers(model: nn.Module, shapes: dict[str, list[int]]) -> nn.Module:
    """Replace each named conv / BatchNorm by an empty one of the recorded channel
    counts, keeping kernel, stride, padding, bias and norm options (weights are
    loaded afterwards from the state dict)."""
    modules = dict(model.named_modules())
    for name, shape in shapes.items():
        old = modules.get(name)
        if isinstance(old, nn.ConvTranspose2d):
            new = nn.ConvTranspose2d(shape[0], shape[1], old.kernel_size, old.stride, old.padding,
                                     old.output_padding, old.groups, old.bias is not None, old.dilation)
        elif isinstance(old, nn.Conv2d):
            new = nn.Conv2d(shape[0], shape[1], old.kernel_size, old.stride, old.padding, old.dilation,
                            old.groups, old.bias is not None, old.padding_mode)
        elif isinstance(old, nn.BatchNorm2d):
            new = nn.BatchNorm2d(shape[0], old.eps, old.momentum, old.affine, old.track_running_stats)
        else:
            # load_trained names the file and what to run
            raise CheckpointError(f"the checkpoint's arch names layer {name!r}, which is not a conv or BatchNorm of "
                                  "this UNet")
        replace_module(model, name, new)
    return model


def conv_macs(conv: nn.Module, in_hw: tuple[int, int]) -> tuple[int, tuple[int, int]]:
    """Multiply-accumulates of one conv on an input of spatial size in_hw, and its output size."""
    h, w = in_hw
    kh, kw = conv.kernel_size
    sh, sw = conv.stride
    ph, pw = conv.padding
    per_position = conv.in_channels * conv.out_channels * kh * kw // conv.groups
    if isinstance(conv, nn.ConvTranspose2d):
        out = ((h - 1) * sh - 2 * ph + kh + conv.output_padding[0], (w - 1) * sw - 2 * pw + kw + conv.output_padding[1])
        return h * w * per_position, out  # every input position scatters a kh x kw patch to each output channel
    out = ((h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)
    return out[0] * out[1] * per_position, out


@torch.no_grad()
def input_sizes(model: nn.Module, x: torch.Tensor, names) -> dict[str, tuple[int, int]]:
    """Spatial size of the input each named module sees on x (one forward pass with hooks)."""
    sizes, handles = {}, []
    modules = dict(model.named_modules())
    for name in names:
        handles.append(modules[name].register_forward_pre_hook(
            lambda m, args, name=name: sizes.__setitem__(name, tuple(args[0].shape[-2:]))))
    was_training = model.training
    try:
        model.eval()(x)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return sizes
