"""A configurable UNet (Ronneberger et al., MICCAI 2015), after milesial/Pytorch-UNet.

At `width=64, depth=4, bias=False, norm="batch", bilinear=False` with 3 input
channels and 2 classes this is exactly milesial's `UNet(3, 2, bilinear=False)`,
the network of the FR paper (Zhao et al., IEEE Access 2023): the same modules
under the same names (`inc.double_conv.0.weight`, `down1.maxpool_conv.1...`,
`up1.up.weight`, `outc.conv.weight`), so milesial and FR-reference state dicts
load unchanged.

Parameter count of that configuration, 31,037,698: each DoubleConv(i, o, m) holds
9*i*m + 9*m*o conv weights (no bias) and 2*(m + o) BatchNorm weights and biases;
each transposed conv 4*i*(i//2) weights + i//2 biases; the 1x1 output conv
64*2 + 2. Summed over inc, down1-4, up1-4 and outc this gives 31,037,698, the
figure `sum(p.numel() for p in UNet(3, 2).parameters())` prints for milesial's
code (checked in tests/test_models.py against that formula).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config.schema import block_defaults
from ..errors import ConfigError


@dataclass(frozen=True)
class UNetConfig:
    """A UNet's shape. Every field is given: `from_dict` fills a partial block with the study's
    defaults (the config schema's `model` block); `MILESIAL` below is the FR paper's 31M network."""

    in_channels: int
    classes: int
    width: int  # channels of the first level; level k has width * 2**k
    depth: int  # number of down-sampling steps
    bias: bool  # bias on the 3x3 convs (milesial: off, BatchNorm follows)
    norm: str  # "batch" or "none"
    norm_affine: bool  # FR paper: False
    norm_running_stats: bool  # FR paper: False (batch statistics at inference)
    bilinear: bool  # up-sample by bilinear interpolation instead of transposed convs

    def __post_init__(self):
        if not (self.width >= 1 and self.depth >= 1):
            raise ConfigError(f"model: width and depth must be positive, got width {self.width}, depth {self.depth}")
        if self.norm not in ("batch", "none"):
            raise ConfigError(f"model.norm: 'batch' or 'none', not {self.norm!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "UNetConfig":
        """The UNet of `d` (a `model` block, whole or in part) over the study's defaults."""
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"model: unknown UNet keys {sorted(unknown)}; known: {sorted(known)}")
        return cls(**{**block_defaults("model"), **d})


#: milesial's `UNet(3, 2, bilinear=False)`, the network of the FR paper (31,037,698 parameters)
MILESIAL = UNetConfig(in_channels=3, classes=2, width=64, depth=4, bias=False, norm="batch", norm_affine=True,
                      norm_running_stats=True, bilinear=False)


def _norm(channels: int, cfg: UNetConfig) -> nn.Module:
    if cfg.norm == "none":
        return nn.Identity()
    return nn.BatchNorm2d(channels, affine=cfg.norm_affine, track_running_stats=cfg.norm_running_stats)


class DoubleConv(nn.Module):
    """(conv 3x3 => norm => ReLU) * 2"""

    def __init__(self, in_ch: int, out_ch: int, cfg: UNetConfig, mid_ch: int | None = None):
        super().__init__()
        mid_ch = mid_ch or out_ch
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_ch, mid_ch, kernel_size=3, padding=1, bias=cfg.bias),
            _norm(mid_ch, cfg),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_ch, out_ch, kernel_size=3, padding=1, bias=cfg.bias),
            _norm(out_ch, cfg),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    """Max-pool by 2, then DoubleConv."""

    def __init__(self, in_ch: int, out_ch: int, cfg: UNetConfig):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_ch, out_ch, cfg))

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    """Up-sample by 2, pad to the skip's size, concatenate, DoubleConv."""

    def __init__(self, in_ch: int, out_ch: int, cfg: UNetConfig):
        super().__init__()
        if cfg.bilinear:
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
            self.conv = DoubleConv(in_ch, out_ch, cfg, in_ch // 2)
        else:
            self.up = nn.ConvTranspose2d(in_ch, in_ch // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(in_ch, out_ch, cfg)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        dy = x2.size(2) - x1.size(2)
        dx = x2.size(3) - x1.size(3)
        if dy or dx:  # odd input sizes (e.g. 959 wide): pad like milesial
            x1 = F.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class OutConv(nn.Module):
    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel_size=1)

    def forward(self, x):
        return self.conv(x)


class UNet(nn.Module):
    """UNet returning per-pixel logits of shape (N, classes, H, W)."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.cfg = cfg
        w, d = cfg.width, cfg.depth
        factor = 2 if cfg.bilinear else 1
        chans = [w * 2**k for k in range(d + 1)]  # 64, 128, 256, 512, 1024 for milesial
        self.inc = DoubleConv(cfg.in_channels, chans[0], cfg)
        for k in range(1, d + 1):
            out = chans[k] // factor if k == d else chans[k]
            self.add_module(f"down{k}", Down(chans[k - 1], out, cfg))
        for k in range(1, d + 1):
            in_ch = chans[d - k + 1]
            out = chans[d - k] // factor if k < d else chans[0]
            self.add_module(f"up{k}", Up(in_ch, out, cfg))
        self.outc = OutConv(chans[0], cfg.classes)

    def forward(self, x):
        d = self.cfg.depth
        skips = [self.inc(x)]
        for k in range(1, d + 1):
            skips.append(getattr(self, f"down{k}")(skips[-1]))
        y = skips.pop()
        for k in range(1, d + 1):
            y = getattr(self, f"up{k}")(y, skips.pop())
        return self.outc(y)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
