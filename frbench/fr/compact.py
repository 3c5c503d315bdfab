"""Compact storage of an FR model, and the module a phone loads.

An FR layer that keeps K coefficients keeps exactly zigzag ranks 0..K-1 (the
truncation schedule only ever drops the tail), so storing the K values in zigzag
order, plus the tensor's shape, describes the layer completely: no indices are
needed. That is the compression FR claims (Zhao et al., IEEE Access 2023: the
released UNet stores 759 numbers for a 31M-parameter network).

`CompactUNet` is the deployable form. It holds, per FR layer, only the float16
vector of kept coefficients and the shape; everything else it stores is what the
model has besides conv weights (biases, BatchNorm affine parameters and running
statistics, if the UNet config has them). On its first call each layer rebuilds
its dense float32 weight once (zigzag order recomputed from the shape, scatter
into zeros, N-D inverse DCT) and keeps it; later calls run plain convolutions.
It compiles with `torch.jit.script` and runs in PyTorch's mobile lite interpreter.

Export it before running it: a module that has run holds its dense weights, and
saving it then would store them. Do not pass it through `optimize_for_mobile`
either: freezing would fold or reject the one-time unpack.
"""

import copy
import os
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ..io import atomic_write_bytes
from .dct import dct_rows, head_inverse
from .layers import FRConv2d, FRConvTranspose2d, FRLinear, fr_layers
from .zigzag import block_order, leading_block, zigzag_order


def _kept_vector(layer: nn.Module) -> Tensor:
    """The layer's kept coefficients, float16, in zigzag order."""
    order = zigzag_order(list(layer.coeffs.shape), layer.kept_count())
    return layer.coeffs.detach().reshape(-1)[order.to(layer.coeffs.device)].to(torch.float16).cpu()


def compact_coefficients(model: nn.Module) -> dict[str, tuple[Tensor, tuple[int, ...]]]:
    """{layer name: (float16 1-D tensor of its kept coefficients in zigzag order, weight shape)}."""
    return {name: (_kept_vector(layer), tuple(layer.coeffs.shape)) for name, layer in fr_layers(model)}


def _other_tensors(model: nn.Module) -> list[Tensor]:
    """Every state-dict tensor that is not an FR layer's coefficients or kept count (biases,
    BatchNorm tensors): what a file stores of `model` besides the kept coefficients."""
    fr_keys = set()
    for name, _ in fr_layers(model):
        prefix = f"{name}." if name else ""
        fr_keys |= {prefix + "coeffs", prefix + "kept"}
    return [t for key, t in model.state_dict().items() if key not in fr_keys]


def floor_bytes(model: nn.Module) -> int:
    """The least any file can store `model` in without further compression.

    2 bytes per kept coefficient (float16) + 4 bytes per dimension of each FR
    layer's shape, plus the bytes of every other tensor in the state dict
    (biases, BatchNorm tensors; none in the paper's UNet), at their own dtype.
    """
    total = sum(2 * layer.kept_count() + 4 * layer.coeffs.dim() for _, layer in fr_layers(model))
    return total + sum(t.numel() * t.element_size() for t in _other_tensors(model))


def stored_numbers(model: nn.Module, kept: dict[str, int] | None = None) -> int:
    """Numbers a file of `model` stores: the kept coefficients (`kept`, name -> count; by
    default each layer's current count) and every other tensor, as the export counts them."""
    kept = kept if kept is not None else {name: layer.kept_count() for name, layer in fr_layers(model)}
    return sum(kept.values()) + sum(t.numel() for t in _other_tensors(model))


def rebuild_weight(coeffs: Tensor, shape: List[int]) -> Tensor:
    """Dense float32 weight of `shape` from its kept coefficients in zigzag order:
    put them at zigzag ranks 0..K-1 of a leading block of zeros that holds those
    ranks, then take the N-D inverse DCT of the whole tensor from that block
    (`dct.head_inverse`: three matrix products for a conv weight, with only the
    first rows of each DCT matrix computed)."""
    k = coeffs.numel()
    block = leading_block(shape, k)
    head = torch.zeros(block, dtype=torch.float32, device=coeffs.device)
    head.view(-1)[block_order(block, k).to(coeffs.device)] = coeffs.float()
    rows = [dct_rows(shape[d], block[d], torch.float32, coeffs.device) for d in range(len(shape))]
    return head_inverse(head, shape, rows, None)


class PackedLayer(nn.Module):
    """An FR layer as stored: float16 `coeffs` (its K kept values, in zigzag order),
    `shape` and `bias`; its dense `weight` stays empty until the first call, which
    rebuilds it once. Then it runs F.conv2d, F.conv_transpose2d or F.linear (`kind`)
    with the layer's hyper-parameters (zero padding only; a transposed conv keeps
    its fixed output_padding and takes no output_size).

    One class with plain (not constant) attributes, so that every packed layer
    shares one compiled type.
    """

    kind: str
    shape: List[int]
    unpacked: bool
    bias: Optional[Tensor]
    stride: List[int]
    padding: List[int]
    dilation: List[int]
    groups: int
    output_padding: List[int]

    def __init__(self, fr_layer: nn.Module):
        super().__init__()
        self.kind = _KINDS[type(fr_layer)]
        self.shape = list(fr_layer.coeffs.shape)
        self.register_buffer("coeffs", _kept_vector(fr_layer))
        self.register_buffer("weight", torch.empty(0))
        bias = fr_layer.bias
        self.bias = None if bias is None else nn.Parameter(bias.detach().float().cpu().clone())
        self.unpacked = False
        self.stride, self.padding, self.dilation, self.groups, self.output_padding = [], [], [], 1, []
        if self.kind != "linear":
            if fr_layer.padding_mode != "zeros" or isinstance(fr_layer.padding, str):
                raise ValueError(f"{fr_layer}: the compact model supports zero padding given as numbers only")
            self.stride, self.padding = list(fr_layer.stride), list(fr_layer.padding)
            self.dilation, self.groups = list(fr_layer.dilation), fr_layer.groups
        if self.kind == "conv_transpose2d":
            self.output_padding = list(fr_layer.output_padding)

    @torch.jit.export
    def unpack(self) -> None:
        self.weight = rebuild_weight(self.coeffs, self.shape)
        self.unpacked = True

    def forward(self, x: Tensor) -> Tensor:
        if not self.unpacked:
            self.unpack()
        if self.kind == "conv2d":
            return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        if self.kind == "conv_transpose2d":
            return F.conv_transpose2d(
                x, self.weight, self.bias, self.stride, self.padding, self.output_padding, self.groups, self.dilation
            )
        return F.linear(x, self.weight, self.bias)


_KINDS = {FRConv2d: "conv2d", FRConvTranspose2d: "conv_transpose2d", FRLinear: "linear"}


def _pack_in_place(model: nn.Module) -> None:
    for _, parent in list(model.named_modules()):
        for child_name, child in list(parent.named_children()):
            if type(child) in _KINDS:
                setattr(parent, child_name, PackedLayer(child))


class CompactUNet(nn.Module):
    """The deployable form of an FR UNet (frbench.models.UNet after `to_fr`).

    Same sub-modules and the same forward as the UNet, with every FR layer
    replaced by its packed form and the down / up stages in ModuleLists (the UNet's
    own forward looks them up by name, which TorchScript cannot compile).
    """

    def __init__(self, fr_unet: nn.Module):
        super().__init__()
        net = copy.deepcopy(fr_unet).cpu()
        _pack_in_place(net)
        depth = net.cfg.depth
        self.inc = net.inc
        self.downs = nn.ModuleList([getattr(net, f"down{k}") for k in range(1, depth + 1)])
        self.ups = nn.ModuleList([getattr(net, f"up{k}") for k in range(1, depth + 1)])
        self.outc = net.outc
        self.train(fr_unet.training)

    def forward(self, x: Tensor) -> Tensor:
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        y = skips.pop()
        for up in self.ups:
            y = up(y, skips.pop())
        return self.outc(y)


def script_compact(fr_unet: nn.Module) -> torch.jit.ScriptModule:
    """CompactUNet of `fr_unet` in eval mode, compiled with TorchScript (not yet unpacked)."""
    return torch.jit.script(CompactUNet(fr_unet).eval())


def save_ptl(fr_unet: nn.Module, path: str | os.PathLike) -> int:
    """Write `fr_unet` as a lite-interpreter `.ptl` file (atomically); return its size in bytes.

    Load it with `torch.jit.mobile._load_for_lite_interpreter(path)`. Saved through
    a buffer, so the bytes do not depend on the (temporary) file name.
    """
    data = script_compact(fr_unet)._save_to_buffer_for_lite_interpreter()
    atomic_write_bytes(path, data)
    return len(data)
