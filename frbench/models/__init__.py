"""Model architectures. One for now: the configurable UNet."""

from .unet import MILESIAL, UNet, UNetConfig

__all__ = ["MILESIAL", "UNet", "UNetConfig"]
