"""The uncompressed UNet, trained from scratch: the reference every method is compared with."""

from ..errors import ConfigError
from ..models import UNet, UNetConfig
from ._registry import Method, register_method


@register_method
class Baseline(Method):
    name = "baseline"

    def build(self, level, ctx):
        if level != "dense":
            raise ConfigError(f"methods.baseline.levels: the baseline has one level, 'dense', not {level!r}")
        return UNet(UNetConfig.from_dict(ctx.unet))

    def arch(self, model):
        return {"unet": model.cfg.to_dict()}

    def rebuild(self, arch):
        return UNet(UNetConfig.from_dict(arch["unet"]))
