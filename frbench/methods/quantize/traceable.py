"""The UNet made traceable by FX: milesial's `Up.forward` pads only if sizes differ, a branch FX
cannot trace; each Up is swapped for `StaticUp`, the same modules with the padding fixed from the
study's input size (none when it divides by 2**depth), recorded as `up_pad`."""

from __future__ import annotations

import torch
import torch.nn as nn

from ...models import UNet
from ...models.unet import Up


class StaticUp(nn.Module):
    """`Up` with its padding fixed in advance: the same submodules (and state-dict
    names), no data-dependent branch, so FX can trace it."""

    def __init__(self, up: Up, pad: list[int]):
        super().__init__()
        self.up, self.conv = up.up, up.conv
        self.pad = nn.ZeroPad2d(tuple(pad)) if any(pad) else None

    def forward(self, x1, x2):
        x1 = self.up(x1)
        if self.pad is not None:
            x1 = self.pad(x1)
        return self.conv(torch.cat([x2, x1], dim=1))


@torch.no_grad()
def up_padding(model: UNet, x: torch.Tensor) -> dict[str, list[int]]:
    """[left, right, top, bottom] padding each Up applies at input x (milesial's rule)."""
    pads, handles = {}, []

    def probe(name):
        def hook(module, args):
            up_hw = module.up(args[0]).shape[-2:]
            dy, dx = args[1].shape[-2] - up_hw[0], args[1].shape[-1] - up_hw[1]
            pads[name] = [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2]
        return hook

    for name, m in model.named_children():
        if isinstance(m, Up):
            handles.append(m.register_forward_pre_hook(probe(name)))
    try:
        model.eval()(x)
    finally:
        for h in handles:
            h.remove()
    return pads


def with_static_ups(model: UNet, pads: dict[str, list[int]]) -> UNet:
    for name, pad in pads.items():
        setattr(model, name, StaticUp(getattr(model, name), pad))
    return model
