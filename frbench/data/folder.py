"""Image/mask pairs from two folders: Carvana's Kaggle layout, or any folder of images with masks.

Pairs are matched by file stem: the mask of `train/0cdf5b5d0ce1_01.jpg` is the image file in
the masks folder whose stem is the image's stem plus `mask_suffix` (Carvana: `"_mask"`, so
`train_masks/0cdf5b5d0ce1_01_mask.gif`). Files of other types in the folders are ignored.

Every file is decoded in full before any job runs (`check_folder`), so an image or mask that is cut
short or damaged is refused then, naming it, and never half-way through the dataset job. Files that
passed are not decoded again until they change (frbench.data.verified).

How each file's pixels are read (images scaled by their format's range, masks by the foreground
rule, sizes checked from the header before anything is decoded) is `frbench.data.pixels`'s, and
config/README.md (`data`) states it for users.

Images are resized with Pillow's bilinear filter, which widens its
support when down-sampling (anti-aliased); masks are binarised, then resized with nearest
neighbour. EXIF orientation is not applied, since masks carry none.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..wording import counted, verb
from .errors import DataError
from .pixels import binary_mask, image_rgb, open_file, some
from .verified import Verified

VERSION = 3  # bump when a change alters the arrays loaded from the same files (2: the mask rule; 3: the image rule)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff")


def _list_images(folder_cfg: dict, key: str) -> dict[str, Path]:
    """Stem -> path of each image file directly in the folder `data.folder.<key>`."""
    if folder_cfg.get(key) is None:
        raise DataError(f"data.folder.{key} is not set; with data.source 'folder' it must name a folder")
    folder = Path(folder_cfg[key])
    if not folder.is_dir():
        raise DataError(f"data.folder.{key}: {folder} does not exist or is not a folder; fix the path in the config")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in IMAGE_EXTENSIONS or not path.is_file():
            continue
        if path.stem in found:
            raise DataError(f"{folder}: {found[path.stem].name} and {path.name} share a stem; keep one of them")
        found[path.stem] = path
    if not found:
        raise DataError(f"data.folder.{key}: no images ({' '.join(IMAGE_EXTENSIONS)}) in {folder}")
    return found


def find_pairs(folder_cfg: dict) -> list[tuple[Path, Path]]:
    """The (image, mask) paths the dataset uses: all pairs sorted by image name, then the
    first `limit`. Every image must have exactly one mask and every mask an image."""
    images = _list_images(folder_cfg, "images")
    masks = _list_images(folder_cfg, "masks")
    suffix = folder_cfg.get("mask_suffix") or ""
    no_mask = sorted(images[s].name for s in images if s + suffix not in masks)
    image_stems = {s + suffix for s in images}
    no_image = sorted(masks[s].name for s in masks if s not in image_stems)
    if no_mask or no_image:
        lines = [
            f"data.folder: {counted(len(images), 'image')} in {folder_cfg['images']}, {counted(len(masks), 'mask')} in "
            f"{folder_cfg['masks']} (data.folder.mask_suffix {suffix!r}: the mask of a.jpg is a{suffix}.<ext>)"
        ]
        if no_mask:
            lines.append(f"{counted(len(no_mask), 'image')} {verb(len(no_mask), 'has', 'have')} no mask: {some(no_mask)}")
        if no_image:
            lines.append(f"{counted(len(no_image), 'mask')} {verb(len(no_image), 'has', 'have')} no image: "
                         f"{some(no_image)}")
        lines.append("add or remove files, or fix data.folder.mask_suffix")
        raise DataError("; ".join(lines))
    pairs = sorted((images[s], masks[s + suffix]) for s in images)
    limit = folder_cfg.get("limit")
    return pairs if limit is None else pairs[:limit]


def _check_same_size(image: Image.Image, mask: Image.Image, image_path: Path, mask_path: Path) -> None:
    if image.size != mask.size:
        raise DataError(
            f"{image_path} is {_wxh(image.size)} but its mask {mask_path} is {_wxh(mask.size)}; "
            "an image and its mask must have the same size"
        )


def _wxh(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def _check_headers(pairs: list[tuple[Path, Path]]) -> None:
    """Every file opened by its header only (`pixels.open_file`: a file too large to decode safely is
    refused there), each mask the size of its image, all images one size: nothing is decoded yet, so a
    file refused for its size costs nothing."""
    examples: dict[tuple[int, int], tuple[Path, int]] = {}  # size -> (first image, count)
    for image_path, mask_path in pairs:
        with open_file(image_path) as image, open_file(mask_path) as mask:
            _check_same_size(image, mask, image_path, mask_path)
            first, count = examples.get(image.size, (image_path, 0))
            examples[image.size] = (first, count + 1)
    if len(examples) > 1:
        found = "; ".join(f"{_wxh(size)}: {counted(n, 'image')}, e.g. {path}" for size, (path, n) in examples.items())
        raise DataError(f"data.folder.images: images of {len(examples)} sizes ({found}); all must have one size")


def check_folder(cfg: dict) -> int:
    """Validate a folder dataset before any job runs; returns the number of pairs it uses (0 for
    another source).

    `cfg` is the config's `data` block. Checks that both folders exist, images and masks pair
    up one to one; then, from the headers alone, that no file is too large to decode safely, each
    mask has its image's size and all images share one size; then that every image and mask decodes
    in full and reads by its rule (`frbench.data.pixels`). Files that passed before and have not
    changed since are not decoded again (frbench.data.verified). Raises DataError naming the config
    key or file and what to do.
    """
    if cfg["source"] != "folder":
        return 0
    pairs = find_pairs(cfg["folder"])
    _check_headers(pairs)
    verified = Verified()
    try:
        for image_path, mask_path in pairs:
            if ("image", image_path) not in verified:
                with open_file(image_path) as image:
                    image_rgb(image, image_path, mask_path)
                verified.add("image", image_path)
            if ("mask", mask_path) not in verified:
                with open_file(mask_path) as mask:
                    binary_mask(mask, mask_path, image_path)
                verified.add("mask", mask_path)
    finally:
        verified.save()  # what passed need not be decoded again, also when a later file failed
    return len(pairs)


def load_folder_pair(image_path: Path, mask_path: Path, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """One pair resized to `size` (height, width): image uint8 (H, W, 3), mask uint8 (H, W) in {0, 1}."""
    height, width = size
    with open_file(image_path) as image, open_file(mask_path) as mask:
        _check_same_size(image, mask, image_path, mask_path)
        binary = binary_mask(mask, mask_path, image_path)
        rgb = image_rgb(image, image_path, mask_path).resize((width, height), Image.Resampling.BILINEAR)
    resized = Image.fromarray(binary).resize((width, height), Image.Resampling.NEAREST)
    return np.asarray(rgb), np.asarray(resized)


def load_folder(folder_cfg: dict, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """All pairs of `find_pairs`: images uint8 (N, H, W, 3), masks uint8 (N, H, W), image stems."""
    pairs = find_pairs(folder_cfg)
    images = np.empty((len(pairs), *size, 3), dtype=np.uint8)
    masks = np.empty((len(pairs), *size), dtype=np.uint8)
    for i, (image_path, mask_path) in enumerate(pairs):
        images[i], masks[i] = load_folder_pair(image_path, mask_path, size)
    return images, masks, [image_path.stem for image_path, _ in pairs]
