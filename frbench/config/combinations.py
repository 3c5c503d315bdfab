"""Config values that are each valid alone but cannot go together. `frbench.config.check_study` runs
these before any job (a dry run refuses them too), so that no job replaces a result and then fails;
each refusal names the keys at odds and what to change.

- The image size and the UNet's depth (`data.size`, `model.depth`): each of `depth` max-poolings
  halves both sides (rounding down), so every side needs at least 2**depth pixels, or a pooling has
  nothing left to pool.
- BatchNorm on a 1x1 bottleneck (the image side < 2**(depth + 1) both ways): a batch of one image
  gives it one value per channel, which it cannot normalise. Training then needs no batch of one
  (`batch_size` 1, or a training split that leaves one image over), and a network that uses the
  batch's statistics at inference too (`norm_running_stats: false`, the FR paper's) cannot run at
  all, since a phone runs one image at a time.
- The split (`data.val_fraction`, `data.test_fraction` and the number of images): every split
  that is asked for needs an image, and the training split one at least.
- Each model's own method checks its level against the study (`Method.check_study`): FR's
  truncation schedule must reach the level within the training budget, and its own network's
  normalisation must fit the image size; quantize's `keep_float` must name modules of the UNet;
  the imported reference's size must suit the released model.
"""

from __future__ import annotations

import math

from ..contract import MethodContext, StudyFacts
from ..data.dataset import split_sizes
from ..data.errors import DataError
from ..errors import ConfigError
from ..models import UNetConfig
from .schema import block_defaults


def bottleneck(size: tuple[int, int], depth: int) -> tuple[int, int]:
    """(height, width) of the deepest feature map: `depth` poolings by 2, each rounding down."""
    return size[0] >> depth, size[1] >> depth


def check_size_and_depth(size, depth: int, size_key: str, depth_key: str) -> None:
    side = min(size)
    if side >= 2**depth:
        return
    deepest = int(math.log2(side))
    raise ConfigError(
        f"{size_key} {list(size)} and {depth_key} {depth} cannot go together: each of the {depth} poolings halves "
        f"the image, and a side of {side} pixels allows {deepest}; make every side of {size_key} at least "
        f"{2**depth}, or lower {depth_key} to {deepest}")


def check_split(data: dict, images: int, where: str) -> dict[str, int]:
    """Images per split for a pool of `images` (`where` says where that number comes from)."""
    try:
        return split_sizes(images, data["val_fraction"], data["test_fraction"])
    except DataError as e:
        raise ConfigError(f"{e} ({images} images: {where})") from None


def _one_image_batch(train_images: int, batch_size: int) -> bool:
    return batch_size == 1 or train_images % batch_size == 1


def check_batch_norm(size, unet: dict, unet_key: str, budgets: dict[str, dict], train_images: int) -> None:
    """BatchNorm on a 1x1 bottleneck (see the module docstring). `unet_key` names the block the
    network's settings come from; `budgets` maps each budget block name its jobs use to the block."""
    cfg = UNetConfig.from_dict(unet)
    if cfg.norm != "batch" or bottleneck(size, cfg.depth) != (1, 1):
        return
    where = (f"at data.size {list(size)} the bottleneck of the UNet (model.depth {cfg.depth}) is 1x1 pixel, so "
             "BatchNorm there sees one value per channel for each image")
    fix = (f"make a side of data.size at least {2 ** (cfg.depth + 1)}, lower model.depth, or set {unet_key}.norm: "
           "none")
    if not cfg.norm_running_stats:
        raise ConfigError(
            f"{unet_key}.norm_running_stats false and data.size {list(size)} cannot go together: {where}, and without "
            f"running statistics it normalises with the batch's own, also at inference, where a phone runs one "
            f"image at a time; {fix}")
    for name, budget in budgets.items():
        batch = budget["batch_size"]
        if _one_image_batch(train_images, batch):
            leftover = "every batch holds one image" if batch == 1 else (
                f"{train_images} training images in batches of {batch} leave a last batch of one")
            raise ConfigError(
                f"{name}.batch_size {batch} and data.size {list(size)} cannot go together: {where}, and {leftover}, "
                f"which BatchNorm cannot train on; choose a {name}.batch_size that leaves no single image over "
                f"(e.g. {_good_batch(train_images, batch)}), or {fix}")


def _good_batch(train_images: int, batch: int) -> int:
    """The batch size nearest to `batch` that never makes a batch of one image."""
    sizes = range(2, max(train_images, 2) + 1)
    return min((b for b in sizes if not _one_image_batch(train_images, b)), key=lambda b: (abs(b - batch), b),
               default=train_images)


def check_combinations(config: dict, images: int, where: str) -> None:
    """Every check of the module docstring, on a config the schema has validated (defaults filled in).
    `images` is the dataset's pool size, `where` what it comes from (for messages)."""
    from ..methods import get_method, list_methods, with_controls

    data, model = config["data"], config["model"]
    size = tuple(data["size"])
    check_size_and_depth(size, model["depth"], "data.size", "model.depth")
    train_images = check_split(data, images, where)["train"]
    trained = with_controls(config["methods"], model)
    budgets = {cls.budget: {**block_defaults("train"), **config[cls.budget]} for cls in map(get_method, trained)}
    check_batch_norm(size, model, "model", budgets, train_images)

    def facts(cls) -> StudyFacts:
        training = budgets.get(cls.budget) or {**block_defaults("train"), **config[cls.budget]}
        return StudyFacts(budget=cls.budget, training=training, train_images=train_images, size=size)

    models = [(get_method(name), level) for name, levels in trained.items() for level in levels]
    models += [(get_method(m), level) for m in list_methods() for level, _ in get_method(m).imported(config)]
    for cls, level in models:
        cls(level, MethodContext(unet=model, params=cls.config_block(config))).check_study(facts(cls))
