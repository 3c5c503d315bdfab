"""The uncompressed UNet, trained from scratch: the network every compression ratio is taken against.

`baseline_ft` is the same UNet after the `finetune` budget every post-training method gets:
the control their Dice is compared with (ShrinkBench's equal budget), so that extra training is
never read as a gain from compression."""

from ..errors import ConfigError
from ..models import UNet, UNetConfig
from ._common import baseline_copy
from ._registry import Method, register_method


def check_dense(method: str, level: str) -> None:
    if level != "dense":
        raise ConfigError(f"methods.{method}.levels: {method} has one level, 'dense', not {level!r}")


@register_method
class Baseline(Method):
    name = "baseline"
    role = "baseline"

    def build(self, level, ctx):
        check_dense(self.name, level)
        return UNet(UNetConfig.from_dict(ctx.unet))

    def arch(self, model):
        return {"unet": model.cfg.to_dict()}

    def rebuild(self, arch):
        return UNet(UNetConfig.from_dict(arch["unet"]))

    def control(self, level, ctx):
        return None  # the reference point itself


@register_method
class BaselineFinetuned(Baseline):
    """The trained baseline, fine-tuned with the `finetune` budget and nothing else: the control of
    every post-training method."""

    name = "baseline_ft"
    role = "control"
    from_baseline = True

    def build(self, level, ctx):
        check_dense(self.name, level)
        return baseline_copy(ctx, self.name)

    def control(self, level, ctx):
        return ("baseline", "dense")  # what the extra budget alone gives
