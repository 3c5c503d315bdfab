"""What the post-training methods share (prune_structured, prune_unstructured, quantize,
tucker): their base class, reading a level, copying the baseline, walking and replacing
layers.

Facts: what a method decides at `build` time (the channel-rounding multiple, the Tucker
ranks and skipped layers, the per-layer quantized/float record) is kept in the job's
method instance (`self.facts`) and written into the checkpoint's `arch`.
"""

from __future__ import annotations

import copy
import re

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

def baseline_copy(ctx, method: str) -> UNet:
    """A deep copy of the trained baseline (post-training methods never change ctx.baseline)."""
    if ctx.baseline is None:
        raise ConfigError(f"method {method!r} compresses the trained baseline: pass its checkpoint with --baseline")
    model = copy.deepcopy(ctx.baseline)
    if not isinstance(model, UNet):
        raise ConfigError(f"method {method!r} compresses a UNet baseline, got {type(model).__name__}")
    return model


def example_input(ctx) -> torch.Tensor:
    """One image of the study's size (the benchmark's input shape), for tracing and counting."""
    if ctx.calibration is None or len(ctx.calibration) == 0:
        raise ConfigError("this method needs the training images (MethodContext.calibration) to trace the model; "
                          "the dataset's training split is empty")
    return ctx.calibration[:1].clone()


def unet_config(arch: dict) -> UNetConfig:
    return UNetConfig.from_dict(arch["unet"])


# ---- the base class ---------------------------------------------------------------------------

class PostTraining(Method):
    """A method that compresses the trained baseline, then fine-tunes it with the `finetune` budget.
    Its arch is the UNet config, the eager parameter count and `self.facts`, what this job decided;
    `rebuild` starts from the plain UNet (a method whose layers differ replaces them there)."""

    from_baseline = True

    def __init__(self, level, ctx=None):
        super().__init__(level, ctx)
        self.facts: dict = {}

    def baseline(self) -> UNet:
        """A copy of the trained baseline, to compress."""
        return baseline_copy(self.ctx, self.name)

    def arch(self, model):
        return {"unet": model.cfg.to_dict(), "params_eager": model.num_params(), **self.facts}

    def rebuild(self, arch):
        return UNet(unet_config(arch))


class FractionLevel(PostTraining):
    """A post-training method whose level is a decimal fraction ('0.5') of what `meaning` says."""

    meaning: str = ""

    def parse_level(self, level):
        return parse_fraction(self.name, level, self.meaning)


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
