"""Model architectures. One for now: the configurable UNet."""

from .unet import UNet, UNetConfig

__all__ = ["UNet", "UNetConfig"]
