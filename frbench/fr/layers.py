"""FR layers: convolutions and linear layers that learn their weights as DCT coefficients.

In Frequency Regularization (Zhao et al., IEEE Access 2023) a layer's trainable
parameters are a tensor of frequency coefficients with the weight's own shape
(out, in, kh, kw for a conv; in, out, kh, kw for a transposed conv, as PyTorch
stores it; out, in for a linear layer). Every forward pass rebuilds the spatial
weight with the orthonormal N-D inverse DCT over all dimensions, after zeroing the
high-frequency tail that the truncation schedule (schedule.py) has dropped:

    weight = idctn(coeffs * keep_mask(shape, kept))

Masked coefficients therefore get exactly zero gradient, and a trained layer is
fully described by its `kept` lowest zigzag-ranked coefficients.

`FRConv2d`, `FRConvTranspose2d` and `FRLinear` subclass the torch layers and keep
their `forward` unchanged (stride, padding, dilation, groups, padding_mode,
output_size all behave exactly as in torch): only `weight` changes, from a stored
Parameter to a value computed from `coeffs`. The state dict holds `coeffs`, the
int64 scalar `kept` and `bias`, so a checkpoint loads with `weights_only=True` and
rebuilds from `(UNetConfig, fr_arch(model))` via `build_fr_unet`.
"""

from __future__ import annotations

from typing import Iterator

import torch
import torch.nn as nn
from torch import Tensor

from ..models.unet import UNet, UNetConfig
from .dct import dctn, head_inverse, head_inverse_joint, head_rows, joint_basis
from .zigzag import head_block, keep_mask

INITS = ("random", "dct")
INIT_STD = 0.1  # the paper and its released code draw coefficients from N(0, 0.1)


class _FRMixin:
    """Turns a torch layer's `weight` Parameter into DCT coefficients `coeffs`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # torch.empty and torch.ones, not *_like, and no draw on the meta device (a model built for its shapes
        # alone, as a study's checks do at every snakemake start): there, those go through torch's Python
        # references, whose imports (sympy, torch._dynamo) cost about a second of CPU
        coeffs = torch.empty(self.weight.shape, dtype=self.weight.dtype, device=self.weight.device)
        if coeffs.device.type != "meta":
            coeffs.normal_(0.0, INIT_STD)
        del self.weight
        self.coeffs = nn.Parameter(coeffs)
        self.register_buffer("kept", torch.tensor(coeffs.numel(), dtype=torch.long))
        self.register_buffer("mask", torch.ones(coeffs.shape, dtype=torch.bool, device=coeffs.device), persistent=False)
        self.block = tuple(coeffs.shape)  # a leading block that holds every kept coefficient
        self._bases = None  # the DCT rows etc. for `block` (dense_weight): rebuilt when block, dtype or device change
        self._head_mask = None  # mask[block] as coeffs.dtype: rebuilt when the mask changes

    def __getattr__(self, name: str):
        # Module.__getattr__ only runs when normal lookup fails; once `weight` has
        # left _parameters, `self.weight` (used by the torch layer's forward) is computed.
        if name == "weight" and "coeffs" in self.__dict__.get("_parameters", {}):
            return self.dense_weight()
        return super().__getattr__(name)

    def dense_weight(self) -> Tensor:
        """The spatial weight: idctn(coeffs * mask) over all dimensions (computed
        from the leading block that holds the kept coefficients, the rest being zero)."""
        coeffs, block = self.coeffs, self.block
        bases = self._bases
        if bases is None or bases[0] != block or bases[1] != coeffs.dtype or bases[2] != coeffs.device:
            # built once per block (the schedule changes it a few times), not per step; never as
            # inference tensors, which a later training step could not save for backward
            with torch.inference_mode(False):
                rows = head_rows(coeffs.shape, block, coeffs.dtype, coeffs.device)
                kernel = torch.kron(rows[2], rows[3]) if len(rows) == 4 else None
                joint = joint_basis(coeffs.shape, rows)
            slices = tuple(slice(0, b) for b in block)
            bases = (block, coeffs.dtype, coeffs.device, rows, kernel, slices, list(coeffs.shape), joint)
            self._bases = bases
        head_mask = self._head_mask
        if head_mask is None or head_mask.dtype != coeffs.dtype or head_mask.device != coeffs.device:
            # the mask over the block, in the coefficients' dtype: a bool mask would be converted twice
            # a step (forward and backward); rebuilt when the kept count changes
            with torch.inference_mode(False):
                head_mask = self._head_mask = self.mask[bases[5]].to(coeffs.dtype)
        head = coeffs[bases[5]] * head_mask
        if bases[7] is not None:  # a small block: two products
            return head_inverse_joint(head, bases[6], bases[7])
        return head_inverse(head, bases[6], bases[3], bases[4])

    def kept_count(self) -> int:
        return int(self.kept)

    @torch.no_grad()
    def set_kept(self, k: int) -> None:
        """Keep the k lowest zigzag ranks; zero the others (they stay masked)."""
        numel = self.coeffs.numel()
        if not 1 <= k <= numel:
            raise ValueError(f"kept count must be in [1, {numel}], got {k}")
        self.kept.fill_(k)
        self._refresh_mask()
        self.coeffs.mul_(self.mask)

    def _refresh_mask(self) -> None:
        shape, k = list(self.coeffs.shape), self.kept_count()
        self.mask.copy_(keep_mask(shape, k))
        self.block = tuple(head_block(shape, k))
        self._head_mask = None

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        self._refresh_mask()

    @classmethod
    def from_dense(cls, layer: nn.Module, init: str = "random"):
        """The FR twin of `layer`: same hyper-parameters and bias; coefficients
        N(0, 0.1) (`init="random"`, as the paper trains from scratch) or the DCT of
        `layer.weight` (`init="dct"`: the same function, to fine-tune a trained model)."""
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; known: {', '.join(INITS)}")
        twin = cls(**cls._hyper(layer), device=layer.weight.device, dtype=layer.weight.dtype)
        with torch.no_grad():
            if init == "dct":
                twin.coeffs.copy_(dctn(layer.weight))
            if layer.bias is not None:
                twin.bias.copy_(layer.bias)
        return twin.train(layer.training)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, kept={self.kept_count()}/{self.coeffs.numel()}"


def _conv_hyper(layer: nn.Module) -> dict:
    return dict(
        in_channels=layer.in_channels,
        out_channels=layer.out_channels,
        kernel_size=layer.kernel_size,
        stride=layer.stride,
        padding=layer.padding,
        dilation=layer.dilation,
        groups=layer.groups,
        bias=layer.bias is not None,
        padding_mode=layer.padding_mode,
    )


class FRConv2d(_FRMixin, nn.Conv2d):
    """nn.Conv2d whose (out, in, kh, kw) weight is idctn of learnable coefficients."""

    @staticmethod
    def _hyper(layer: nn.Conv2d) -> dict:
        return _conv_hyper(layer)


class FRConvTranspose2d(_FRMixin, nn.ConvTranspose2d):
    """nn.ConvTranspose2d whose (in, out, kh, kw) weight is idctn of learnable coefficients."""

    @staticmethod
    def _hyper(layer: nn.ConvTranspose2d) -> dict:
        return dict(_conv_hyper(layer), output_padding=layer.output_padding)


class FRLinear(_FRMixin, nn.Linear):
    """nn.Linear whose (out, in) weight is the 2-D idctn of learnable coefficients."""

    @staticmethod
    def _hyper(layer: nn.Linear) -> dict:
        return dict(in_features=layer.in_features, out_features=layer.out_features, bias=layer.bias is not None)


_TWINS = {nn.Conv2d: FRConv2d, nn.ConvTranspose2d: FRConvTranspose2d, nn.Linear: FRLinear}


def to_fr(model: nn.Module, init: str = "random") -> nn.Module:
    """Replace, in place, every Conv2d / ConvTranspose2d / Linear of `model` by its FR twin.

    Biases are kept. Returns `model`. Layers that are already FR, and subclasses of
    the torch layers, are left alone (the match is on the exact type).
    """
    for _, parent in list(model.named_modules()):
        for child_name, child in list(parent.named_children()):
            twin = _TWINS.get(type(child))
            if twin is not None:
                setattr(parent, child_name, twin.from_dense(child, init))
    return model


def fr_layers(model: nn.Module) -> Iterator[tuple[str, _FRMixin]]:
    """(name, layer) for every FR layer of `model`, in module order."""
    for name, module in model.named_modules():
        if isinstance(module, _FRMixin):
            yield name, module


def kept_counts(model: nn.Module) -> dict[str, int]:
    return {name: layer.kept_count() for name, layer in fr_layers(model)}


def fr_arch(model: nn.Module) -> dict:
    """What rebuilds an FR model besides its UNetConfig (JSON-able): the kept count
    of every FR layer, and whether it has a bias (the paper's UNet has none)."""
    layers = list(fr_layers(model))
    return {
        "kept": {name: layer.kept_count() for name, layer in layers},
        "bias": {name: layer.bias is not None for name, layer in layers},
    }


def build_fr_unet(unet_cfg: dict, arch: dict, unet_class: type[UNet] = UNet) -> nn.Module:
    """An FR UNet shaped like `arch` (from `fr_arch`), ready for `load_state_dict`.
    `unet_class`: UNet or a subclass of it (the `fr` method's, which knows its export)."""
    model = to_fr(unet_class(UNetConfig.from_dict(unet_cfg)))
    layers = dict(fr_layers(model))
    for key in ("kept", "bias"):
        missing, unknown = sorted(set(layers) - set(arch[key])), sorted(set(arch[key]) - set(layers))
        if missing or unknown:
            raise KeyError(f"FR arch {key!r} does not match the UNet: missing {missing}, unknown {unknown}")
    for name, layer in layers.items():
        if arch["bias"][name] and layer.bias is None:
            raise ValueError(f"FR arch gives {name} a bias, but this UNet config has none there")
        if not arch["bias"][name]:
            layer.bias = None
        layer.set_kept(int(arch["kept"][name]))
    return model


def dense_unet(model: nn.Module) -> tuple[UNet, list[str]]:
    """The FR UNet `model` as a plain UNet of its config, every FR weight idctn(coefficients)
    computed once, the other tensors copied; and the sorted keys the FR model lacks (biases an
    FR layer dropped), which are zero there (the same function). In `model`'s train/eval mode."""
    net = UNet(model.cfg)
    target, mine = net.state_dict(), model.state_dict()
    state = {k: v for k, v in mine.items() if k in target}
    with torch.no_grad():
        for name, layer in fr_layers(model):
            state[f"{name}.weight"] = layer.dense_weight().detach().cpu()
    zeroed = sorted(target.keys() - state.keys())
    for key in zeroed:
        state[key] = torch.zeros_like(target[key])
    net.load_state_dict(state)
    return net.train(model.training), zeroed
