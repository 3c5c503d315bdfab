"""Image/mask pairs from two folders: Carvana's Kaggle layout, or any folder of images with masks.

Pairs are matched by file stem: the mask of `train/0cdf5b5d0ce1_01.jpg` is the image file in
the masks folder whose stem is the image's stem plus `mask_suffix` (Carvana: `"_mask"`, so
`train_masks/0cdf5b5d0ce1_01_mask.gif`). Files of other types in the folders are ignored.

A mask pixel is foreground when its value is above 0. The value of a palettised mask (GIF,
P-mode PNG) is its palette index, as in milesial/Pytorch-UNet, which reads Carvana's GIFs
with `np.asarray(Image.open(...))`; greyscale masks give their grey level (0/1 and 0/255
both work); colour masks are converted to grey first. A mask must hold at most one value
besides 0, so lossy (JPEG) masks are refused instead of silently thresholded.

Images are converted to RGB and resized with Pillow's bilinear filter, which widens its
support when down-sampling (anti-aliased); masks are binarised, then resized with nearest
neighbour. EXIF orientation is not applied, since masks carry none.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .errors import DataError

VERSION = 1  # bump when a change alters the arrays loaded from the same files

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff")
_VALUE_MODES = ("1", "L", "P", "I", "I;16", "F")  # modes whose pixels are read as they are
_SHOWN = 5  # unmatched names listed in an error


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


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


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
            f"data.folder: {len(images)} images in {folder_cfg['images']}, {len(masks)} masks in "
            f"{folder_cfg['masks']} (data.folder.mask_suffix {suffix!r}: the mask of a.jpg is a{suffix}.<ext>)"
        ]
        if no_mask:
            lines.append(f"{len(no_mask)} images have no mask: {_some(no_mask)}")
        if no_image:
            lines.append(f"{len(no_image)} masks have no image: {_some(no_image)}")
        lines.append("add or remove files, or fix data.folder.mask_suffix")
        raise DataError("; ".join(lines))
    pairs = sorted((images[s], masks[s + suffix]) for s in images)
    limit = folder_cfg.get("limit")
    return pairs if limit is None else pairs[:limit]


def _open(path: Path) -> Image.Image:
    try:
        return Image.open(path)
    except OSError as e:  # includes PIL.UnidentifiedImageError
        raise DataError(f"{path}: cannot be read as an image ({e}); replace or remove it") from None


def _check_same_size(image: Image.Image, mask: Image.Image, image_path: Path, mask_path: Path) -> None:
    if image.size != mask.size:
        raise DataError(
            f"{image_path} is {_wxh(image.size)} but its mask {mask_path} is {_wxh(mask.size)}; "
            "an image and its mask must have the same size"
        )


def _wxh(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def _binary_mask(mask: Image.Image, path: Path) -> np.ndarray:
    """Mask pixels as uint8 {0, 1} (value > 0), refusing a mask with two non-zero values."""
    values = np.asarray(mask if mask.mode in _VALUE_MODES else mask.convert("L"))
    nonzero = values[values != 0]
    if nonzero.size and (nonzero != nonzero[0]).any():
        distinct = np.unique(values)
        raise DataError(
            f"{path}: mask is not binary ({distinct.size} distinct values: {_some([str(v) for v in distinct])}); "
            "masks must hold 0 and one other value (0/1, 0/255, a two-colour palette); "
            "re-save it losslessly (PNG or GIF), e.g. thresholded"
        )
    return (values != 0).astype(np.uint8)


def check_folder(cfg: dict) -> None:
    """Validate a folder dataset quickly, before any job runs; a no-op for other sources.

    `cfg` is the config's `data` block. Checks that both folders exist, images and masks pair
    up one to one, each mask has its image's size, all images share one size, and masks are
    binary. Sizes come from file headers (Pillow opens lazily); only mask pixels are decoded.
    Raises DataError naming the config key or file and what to do.
    """
    if cfg["source"] != "folder":
        return
    examples: dict[tuple[int, int], tuple[Path, int]] = {}  # size -> (first image, count)
    for image_path, mask_path in find_pairs(cfg["folder"]):
        with _open(image_path) as image, _open(mask_path) as mask:
            _check_same_size(image, mask, image_path, mask_path)
            _binary_mask(mask, mask_path)
            first, count = examples.get(image.size, (image_path, 0))
            examples[image.size] = (first, count + 1)
    if len(examples) > 1:
        found = "; ".join(f"{_wxh(size)}: {n} images, e.g. {path}" for size, (path, n) in examples.items())
        raise DataError(f"data.folder.images: images of {len(examples)} sizes ({found}); all must have one size")


def load_folder_pair(image_path: Path, mask_path: Path, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """One pair resized to `size` (height, width): image uint8 (H, W, 3), mask uint8 (H, W) in {0, 1}."""
    height, width = size
    with _open(image_path) as image, _open(mask_path) as mask:
        _check_same_size(image, mask, image_path, mask_path)
        binary = _binary_mask(mask, mask_path)
        rgb = image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
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
