"""The uncompressed UNet, trained from scratch: the network every compression ratio is taken against.

`baseline_ft` is the same UNet after the `finetune` budget every post-training method gets:
the control their Dice is compared with (ShrinkBench's equal budget), so that extra training is
never read as a gain from compression. As a step of a chain (`baseline_ft+quantize`) it fine-tunes
whatever model it is handed: a chain's control is built from it."""

from ..contract import BASELINE, Method
from ..errors import ConfigError
from ..models import UNet, UNetConfig
from ._common import PostTraining
from ._registry import register_method


def parse_dense(method: str, level: str) -> str:
    if level != "dense":
        raise ConfigError(f"methods.{method}.levels: {method} has one level, 'dense', not {level!r}")
    return level


@register_method
class Baseline(Method):
    """A UNet of the study's `model` block, at the one level 'dense', trained from scratch."""

    name = "baseline"
    role = "baseline"

    def parse_level(self, level):
        return parse_dense(self.name, level)

    def build(self):
        return UNet(UNetConfig.from_dict(self.ctx.unet))

    def control(self):
        return None  # the reference point itself

    def arch(self, model):
        return {"unet": model.cfg.to_dict()}

    def rebuild(self, arch):
        return UNet(UNetConfig.from_dict(arch["unet"]))


@register_method
class BaselineFinetuned(PostTraining):
    """The trained baseline (or the model it is handed in a chain), fine-tuned with the `finetune`
    budget and nothing else: the control of every post-training method."""

    name = "baseline_ft"
    role = "control"

    def parse_level(self, level):
        return parse_dense(self.name, level)

    def build(self):
        return self.start_model()

    def control(self):
        return BASELINE  # what the extra budget alone gives
