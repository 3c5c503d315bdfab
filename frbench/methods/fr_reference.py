"""The FR paper's released UNet (Zhao et al. 2023: 759 coefficients for UNet-31M), as a model of the
study that is imported, not trained: FR's model (rebuilt, exported and benchmarked as `fr`'s are) at
level k33 and seed 0, made by the rule `import_reference` (`frbench reference`,
frbench/reference_job.py) with its 16 test images as a dataset of its own, `results/data/fr_reference.npz`.

Configured by the study's `reference` block (`dir`, `size`, and `bench`, overrides of the benchmark
plan: a full-resolution UNet-31M inference takes seconds), not under `methods`. Compared with no control:
its compression is stated against UNet-31M, the network the paper compresses (`dense_params`).
"""

from __future__ import annotations

from ..contract import BenchSetting
from ..errors import ConfigError
from ._registry import register_method
from .fr import FR

REFERENCE_DEPTH = 4  # the released UNet pools 4 times (frbench.fr.reference.REFERENCE_UNET)


@register_method
class FRReference(FR):
    name = "fr_reference"
    made_by = "import_reference"
    dataset = "fr_reference"
    option_schema = {}  # its block is the study's `reference`, which the config schema checks
    figures = ()
    LEVEL, SEED = "k33", 0  # every conv kept to its 33 first coefficients

    @classmethod
    def imported(cls, config):
        return [(cls.LEVEL, cls.SEED)] if config.get("reference") else []

    @classmethod
    def config_block(cls, config):
        return dict(config.get("reference") or {})

    @classmethod
    def bench_plan(cls, config):
        return {**config["bench"], **((config.get("reference") or {}).get("bench") or {})}

    @classmethod
    def bench_setting(cls, config, test_images):
        """The released UNet-31M at `reference.size`, scored on the released test images; the plan's keys
        that `reference.bench` overrides are named there."""
        from ..fr.reference import REFERENCE_UNET, reference_pairs

        reference, plan = config["reference"], cls.bench_plan(config)
        overrides = reference.get("bench") or {}
        try:
            released = len(reference_pairs(reference["dir"]))
        except FileNotFoundError:
            released = 1  # the import refuses a folder without them; one image is the least a Dice pass scores
        keys = {key: f"reference.bench.{key}" if key in overrides else f"bench.{key}" for key in plan}
        return BenchSetting(plan, keys, REFERENCE_UNET.to_dict(), "the released FR UNet", tuple(reference["size"]),
                            released)

    def control(self):
        return None

    def check_study(self, study):
        """The released model pools 4 times and normalises with each batch's own statistics, also at
        inference: at `reference.size` its bottleneck needs more than one pixel."""
        size = self.params["size"]
        if min(size) >= 2**REFERENCE_DEPTH and (size[0] >> REFERENCE_DEPTH, size[1] >> REFERENCE_DEPTH) != (1, 1):
            return
        raise ConfigError(
            f"reference.size {list(size)} is too small for the released model: it pools {REFERENCE_DEPTH} times, so "
            f"every side needs at least {2**REFERENCE_DEPTH} pixels, and its BatchNorm uses each image's own "
            f"statistics, so one side needs at least {2 ** (REFERENCE_DEPTH + 1)}; use a larger reference.size "
            "(default [640, 959])")
