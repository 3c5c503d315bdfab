"""Weight-only storage: conv weights kept as float16, or int8 with a float scale per output channel,
expanded to float32 at each call (as TFLite's float16 post-training quantization does on CPUs)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .._common import conv_layers, replace_module


class WeightOnlyConv(nn.Module):
    """A conv (or transposed conv) whose weight is stored in a small dtype (float16,
    or int8 with a float32 scale per output channel) and expanded to float32 at each
    call; bias and arithmetic stay float32."""

    def __init__(self, conv: nn.Module, dtype: torch.dtype):
        super().__init__()
        self.transposed = isinstance(conv, nn.ConvTranspose2d)
        self.stride, self.padding, self.dilation, self.groups = conv.stride, conv.padding, conv.dilation, conv.groups
        self.output_padding = getattr(conv, "output_padding", (0, 0))
        self.register_buffer("weight", torch.zeros(conv.weight.shape, dtype=dtype))
        out_dim = 1 if self.transposed else 0
        scale_shape = [1] * conv.weight.dim()
        scale_shape[out_dim] = conv.weight.shape[out_dim]
        self.register_buffer("scale", torch.ones(scale_shape) if dtype == torch.int8 else None)
        self.bias = None if conv.bias is None else nn.Parameter(torch.zeros_like(conv.bias))

    @torch.no_grad()
    def store(self, conv: nn.Module) -> "WeightOnlyConv":
        w = conv.weight.detach()
        if self.scale is None:
            self.weight.copy_(w.to(self.weight.dtype))
        else:  # symmetric per-output-channel int8
            dims = [d for d in range(w.dim()) if self.scale.shape[d] == 1]
            scale = w.abs().amax(dim=dims, keepdim=True).clamp_min(1e-12) / 127
            self.scale.copy_(scale)
            self.weight.copy_(torch.round(w / scale).clamp(-127, 127).to(torch.int8))
        if conv.bias is not None:
            self.bias.copy_(conv.bias)
        return self

    def forward(self, x):
        w = self.weight.float() if self.scale is None else self.weight.float() * self.scale
        if self.transposed:
            return F.conv_transpose2d(x, w, self.bias, self.stride, self.padding, self.output_padding, self.groups,
                                      self.dilation)
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


def weight_only(model: nn.Module, dtype: torch.dtype, keep_float: list[str], fill: bool) -> dict:
    """Swap every conv not in keep_float for a WeightOnlyConv (filled from it if `fill`)."""
    layers = {}
    for name, conv in conv_layers(model).items():
        if name in keep_float:
            layers[name] = {"op": type(conv).__name__, "runs": "float", "weights": "float32"}
            continue
        new = WeightOnlyConv(conv, dtype)
        replace_module(model, name, new.store(conv) if fill else new)
        layers[name] = {"op": type(conv).__name__, "runs": "float", "weights": str(dtype).removeprefix("torch.")}
    return layers
