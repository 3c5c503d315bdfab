"""Compact storage of an FR model, and the module a phone loads.

An FR layer that keeps K coefficients keeps exactly zigzag ranks 0..K-1 (the
truncation schedule only ever drops the tail), so storing the K values in zigzag
order, plus the tensor's shape, describes the layer completely: no indices are
needed. That is the compression FR claims (Zhao et al., IEEE Access 2023: the
released UNet stores 759 numbers for a 31M-parameter network).

`CompactUNet` is the deployable form: one module, so that the phone's file holds one
small program and three tensors, not a module tree. `coeffs` is every FR layer's kept
coefficients, float16, layer after layer; `extras` (float32) is everything else the model has (biases,
BatchNorm affine parameters and running statistics, if the UNet config has them). The rest is
the program's: each layer's kept count and shape, bias lengths and norms (integer attributes,
stored with the module, not as tensors: 759 numbers for the paper's UNet, as it says). On its
first call it rebuilds every dense float32 weight once (`rebuild`: zigzag order recomputed
from the shape, scatter into a leading block of zeros, inverse DCT from that block) and
keeps them; later calls run plain convolutions. A weights file of `coeffs` and `extras`
(`frbench.weights_file`: what a phone downloads to update the model) replaces them, and the next
call rebuilds. The forward is the UNet's
(frbench.models.UNet), written over those lists with ATen ops (no functional wrappers,
whose argument checks would be compiled into the program), and every helper is a free
function, inlined into the forward the file stores. It compiles with
`torch.jit.script` and runs in PyTorch's mobile lite interpreter: 3.4 kB of deflated bytecode
(the module tree it replaces took 71 kB).

Export it before running it: a module that has run holds its dense weights, and
saving it then would store them. Do not pass it through `optimize_for_mobile`
either: freezing would fold or reject the one-time unpack.
"""

from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from ..errors import ExportError
from ..weights_file import WeightsFromFile
from .dct import dct_rows, head_inverse
from .layers import FRConv2d, FRConvTranspose2d, fr_layers
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
    BatchNorm tensors): what a file stores of `model` besides the kept coefficients (`CompactUNet`'s
    `extras`). BatchNorm's step counters (`num_batches_tracked`) are left out: inference never
    reads them, and the compact file does not store them."""
    fr_keys = set()
    for name, _ in fr_layers(model):
        prefix = f"{name}." if name else ""
        fr_keys |= {prefix + "coeffs", prefix + "kept"}
    return [t for key, t in model.state_dict().items() if key not in fr_keys and not key.endswith("num_batches_tracked")]


def floor_bytes(model: nn.Module) -> int:
    """The least any file can store `model` in without further compression.

    2 bytes per kept coefficient (float16) + 4 bytes per dimension of each FR
    layer's shape, plus the bytes of every other tensor inference reads (biases,
    BatchNorm parameters and statistics; none in the paper's UNet), at their own dtype.
    """
    total = sum(2 * layer.kept_count() + 4 * layer.coeffs.dim() for _, layer in fr_layers(model))
    return total + sum(t.numel() * t.element_size() for t in _other_tensors(model))


def stored_numbers(model: nn.Module, kept: dict[str, int] | None = None) -> int:
    """Numbers a file of `model` stores: the kept coefficients (`kept`, name -> count; by
    default each layer's current count) and every other tensor, as the export counts them."""
    kept = kept if kept is not None else {name: layer.kept_count() for name, layer in fr_layers(model)}
    return sum(kept.values()) + sum(t.numel() for t in _other_tensors(model))


def rebuild(coeffs: Tensor, shape: List[int], block: List[int]) -> Tensor:
    """Dense float32 weight of `shape` from its kept coefficients in zigzag order: put them at
    zigzag ranks 0..K-1 of `block`, a leading block of zeros that holds those ranks
    (`zigzag.leading_block`), then take the N-D inverse DCT of the whole tensor from that block
    (`dct.head_inverse`: three matrix products for a conv weight, with only the first rows of each
    DCT matrix computed)."""
    k = coeffs.numel()
    head = torch.zeros(block, dtype=torch.float32, device=coeffs.device)
    head.view(-1)[block_order(block, k).to(coeffs.device)] = coeffs.float()
    rows = [dct_rows(shape[d], block[d], torch.float32, coeffs.device) for d in range(len(shape))]
    return head_inverse(head, shape, rows, None)


Unpacked = Tuple[List[Tensor], List[Optional[Tensor]], List[List[Optional[Tensor]]]]


def unpack(coeffs: Tensor, extras: Tensor, layout: List[List[int]], bias_sizes: List[int],
           norms: List[List[int]], blocks: List[List[int]]) -> Unpacked:
    """Every layer's dense weight and bias, and every norm's [weight, bias, running mean, running
    var] (None where the config has none), from the compact storage (`blocks`: each layer's
    leading block)."""
    weights: List[Tensor] = []
    biases: List[Optional[Tensor]] = []
    params: List[List[Optional[Tensor]]] = []
    at, off = 0, 0
    for i, (row, size) in enumerate(zip(layout, bias_sizes)):  # kept count and shape (4); bias length (0: none)
        weights.append(rebuild(coeffs[at : at + row[0]], row[1:5], blocks[i]))
        at += row[0]
        bias: Optional[Tensor] = None
        if size > 0:
            bias = extras[off : off + size]
            off += size
        biases.append(bias)
    for channels, affine, running in norms:
        norm: List[Optional[Tensor]] = []
        for present in [affine, affine, running, running]:
            norm.append(extras[off : off + channels] if present == 1 else None)
            off += channels * present
        params.append(norm)
    return weights, biases, params


def double_conv(x: Tensor, net: Unpacked, layer: int, norm: int) -> Tensor:
    """(conv 3x3 => norm => ReLU) * 2: layers `layer`, `layer` + 1 and norms `norm`, `norm` + 1."""
    weights, biases, norms = net
    for j in range(2):
        x = torch.conv2d(x, weights[layer + j], biases[layer + j], [1, 1], [1, 1])
        if len(norms) > 0:
            p = norms[norm + j]  # no running statistics: batch statistics, as UNet's BatchNorm in eval mode
            x = torch.batch_norm(x, p[0], p[1], p[2], p[3], p[2] is None, 0.1, 1e-5, False)
        x = torch.relu(x)
    return x


def unet_forward(x: Tensor, net: Unpacked, depth: int, bilinear: bool) -> Tensor:
    """The UNet's forward (frbench.models.UNet) with the unpacked weights `net`: a free function, so that
    TorchScript inlines it into the forward the file stores."""
    weights, biases = net[0], net[1]
    skips = [double_conv(x, net, 0, 0)]
    layer = 2
    for _ in range(depth):
        skips.append(double_conv(torch.max_pool2d(skips[-1], [2, 2]), net, layer, layer))
        layer += 2
    y, norm = skips.pop(), layer
    for _ in range(depth):
        if bilinear:
            y = torch.ops.aten.upsample_bilinear2d(y, None, True, [2.0, 2.0])
        else:
            y = torch.conv_transpose2d(y, weights[layer], biases[layer], [2, 2])
            layer += 1
        skip = skips.pop()
        dy, dx = skip.size(2) - y.size(2), skip.size(3) - y.size(3)  # odd sizes: pad like milesial
        y = torch.constant_pad_nd(y, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        y = double_conv(torch.cat([skip, y], 1), net, layer, norm)
        layer, norm = layer + 2, norm + 2
    return torch.conv2d(y, weights[layer], biases[layer])


class CompactUNet(WeightsFromFile):
    """The deployable form of an FR UNet (frbench.models.UNet after `to_fr`; see the module
    docstring). Its layers in `fr_layers` order: inc, down1..D (two 3x3 convs each), then per
    up stage its transposed conv (none when bilinear) and two 3x3 convs, then outc. A weights file
    of `coeffs` and `extras` replaces them (`set_weights`); the next call rebuilds from those."""

    depth: int
    bilinear: bool
    unpacked: bool
    layout: List[List[int]]  # per layer: its kept count and its shape (4)
    blocks: List[List[int]]  # per layer: the leading block that holds its kept zigzag ranks
    bias_sizes: List[int]  # per layer: its bias's length, 0 without one
    norms: List[List[int]]  # per BatchNorm: channels, affine (0/1), running statistics (0/1)
    net: Unpacked

    def __init__(self, fr_unet: nn.Module):
        super().__init__()
        cfg = fr_unet.cfg
        layers = [layer for _, layer in fr_layers(fr_unet)]
        for layer in layers:
            if not isinstance(layer, (FRConv2d, FRConvTranspose2d)) or layer.padding_mode != "zeros":
                raise ExportError(f"{layer}: the compact model runs the UNet's own convolutions only")
        norms = [m for m in fr_unet.modules() if isinstance(m, nn.BatchNorm2d)]
        extras = [layer.bias.detach().float().reshape(-1) for layer in layers if layer.bias is not None]
        for m in norms:
            extras += [t.detach().float().reshape(-1) for t in (m.weight, m.bias, m.running_mean, m.running_var)
                       if t is not None]
        self.depth, self.bilinear, self.unpacked = cfg.depth, cfg.bilinear, False
        self.norms = [[m.num_features, int(m.affine), int(m.track_running_stats)] for m in norms]
        self.register_buffer("coeffs", torch.cat([_kept_vector(layer) for layer in layers]))
        self.layout = [[layer.kept_count(), *layer.coeffs.shape] for layer in layers]
        self.blocks = [leading_block(row[1:5], row[0]) for row in self.layout]
        self.bias_sizes = [0 if layer.bias is None else layer.bias.numel() for layer in layers]
        self.register_buffer("extras", torch.cat(extras) if extras else torch.zeros(0))
        self.hold_weights([self.coeffs, self.extras])
        self.net = ([], [], [])

    def weights_changed(self) -> None:
        self.unpacked = False

    def forward(self, x: Tensor) -> Tensor:
        if not self.unpacked:
            self.net = unpack(self.coeffs, self.extras, self.layout, self.bias_sizes, self.norms, self.blocks)
            self.unpacked = True
        return unet_forward(x, self.net, self.depth, self.bilinear)


class GraphCompactUNet(CompactUNet):
    """The compact form for a runtime whose graph is exported whole and folded at load (ONNX Runtime,
    frbench.formats.onnx): every call unpacks (zigzag order, scatter, the DCT rows from `arange` and
    `cos`, the three matrix products), so an exported graph holds the unpack itself and stores only
    the coefficients and extras; the runtime's constant folding runs it once, when it loads the
    file. Not for TorchScript: `CompactUNet` unpacks once itself."""

    def forward(self, x: Tensor) -> Tensor:
        net = unpack(self.coeffs, self.extras, self.layout, self.bias_sizes, self.norms, self.blocks)
        return unet_forward(x, net, self.depth, self.bilinear)


def script_compact(fr_unet: nn.Module) -> torch.jit.ScriptModule:
    """CompactUNet of `fr_unet` in eval mode, compiled with TorchScript (not yet unpacked)."""
    return torch.jit.script(CompactUNet(fr_unet).eval())
