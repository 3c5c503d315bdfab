"""The uncompressed UNet, trained from scratch: the network every compression ratio is taken against.

`baseline_ft` is the same UNet after the `finetune` budget every post-training method gets:
the control their Dice is compared with (ShrinkBench's equal budget), so that extra training is
never read as a gain from compression."""

from ..contract import Method
from ..errors import ConfigError
from ..models import UNet, UNetConfig
from ._common import baseline_copy
from ._registry import register_method


class Dense(Method):
    """A UNet of the study's `model` block, at the one level 'dense'."""

    def parse_level(self, level):
        if level != "dense":
            raise ConfigError(f"methods.{self.name}.levels: {self.name} has one level, 'dense', not {level!r}")
        return level

    def arch(self, model):
        return {"unet": model.cfg.to_dict()}

    def rebuild(self, arch):
        return UNet(UNetConfig.from_dict(arch["unet"]))


@register_method
class Baseline(Dense):
    name = "baseline"
    role = "baseline"

    def build(self):
        return UNet(UNetConfig.from_dict(self.ctx.unet))

    def control(self):
        return None  # the reference point itself


@register_method
class BaselineFinetuned(Dense):
    """The trained baseline, fine-tuned with the `finetune` budget and nothing else: the control of
    every post-training method."""

    name = "baseline_ft"
    role = "control"
    from_baseline = True

    def build(self):
        return baseline_copy(self.ctx, self.name)

    def control(self):
        return ("baseline", "dense")  # what the extra budget alone gives
