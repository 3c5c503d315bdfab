"""Image/mask pairs from two folders: Carvana's Kaggle layout, or any folder of images with masks.

Pairs are matched by file stem: the mask of `train/0cdf5b5d0ce1_01.jpg` is the image file in
the masks folder whose stem is the image's stem plus `mask_suffix` (Carvana: `"_mask"`, so
`train_masks/0cdf5b5d0ce1_01_mask.gif`). Files of other types in the folders are ignored.

Every file is decoded in full before any job runs (`check_folder`), so an image or mask that is cut
short or damaged is refused then, naming it, and never half-way through the dataset job. Files that
passed are not decoded again until they change (frbench.data.verified).

A mask pixel is background when it is black or fully transparent, and foreground otherwise: its
grey level, or any of its red, green and blue values, is above 0, and its alpha (where the mask has
one) is above 0. So a pure red (1, 0, 0) is foreground, as is 1 in a 0/1 mask and 255 in a 0/255 one.
Palettised masks (GIF, P-mode PNG) are read by the colours of their palette (Carvana's GIFs: index 0
black, index 1 white), 16-bit and float greyscale masks by their value. Every foreground pixel of a
mask must have the same value (colour and alpha), so a lossy (JPEG) or anti-aliased mask is refused
instead of silently thresholded. A 16-bit colour mask is refused too: Pillow reads it at 8 bits per
channel, which would turn a colour below 256 into black.

Images are converted to RGB and resized with Pillow's bilinear filter, which widens its
support when down-sampling (anti-aliased); masks are binarised, then resized with nearest
neighbour. EXIF orientation is not applied, since masks carry none.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .errors import DataError
from .verified import Verified

VERSION = 2  # bump when a change alters the arrays loaded from the same files (2: the foreground rule above)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff")
_VALUE_MODES = ("1", "L", "I", "I;16", "I;16L", "I;16B", "I;16N", "F")  # one channel, read as it is
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


def _decode(image: Image.Image, path: Path, partner: Path) -> None:
    """Decode every pixel now (Pillow opens lazily), naming the file if it is cut short or damaged."""
    try:
        image.load()
    except Exception as e:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, ValueError, ... on damaged data
        raise DataError(
            f"{path}: cannot be decoded ({type(e).__name__}: {e}); the file is cut short or damaged. Replace it "
            f"with a sound copy, or remove it together with {partner}"
        ) from None


def _check_same_size(image: Image.Image, mask: Image.Image, image_path: Path, mask_path: Path) -> None:
    if image.size != mask.size:
        raise DataError(
            f"{image_path} is {_wxh(image.size)} but its mask {mask_path} is {_wxh(mask.size)}; "
            "an image and its mask must have the same size"
        )


def _wxh(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def _reduced_precision(image: Image.Image) -> bool:
    """Whether Pillow will decode this (not yet loaded) file at fewer bits than it stores: it reads
    16-bit colour PNG and TIFF at 8 bits per channel, keeping the high byte."""
    if image.mode in _VALUE_MODES:
        return False
    for tile in image.tile:
        args = tile.args if isinstance(tile.args, tuple) else (tile.args,)
        if args and isinstance(args[0], str) and ";16" in args[0]:
            return True
    return False


def mask_values(mask: Image.Image, path: Path, partner: Path) -> np.ndarray:
    """A freshly opened mask's pixels as the foreground rule reads them (module docstring): (H, W)
    values of a one-channel mask, or (H, W, C) channel values, background pixels all zero (so a
    pixel is foreground where any of its values is not 0).
    `partner` is its image, named in the advice when the mask cannot be decoded."""
    if _reduced_precision(mask):
        raise DataError(
            f"{path}: a 16-bit colour mask (or grey with alpha), which Pillow reads at 8 bits per channel (a value "
            "below 256 would become 0); save it as an 8-bit image, or as 16-bit greyscale without alpha"
        )
    _decode(mask, path, partner)
    if mask.mode in _VALUE_MODES:
        return np.asarray(mask)
    if mask.mode in ("P", "PA"):
        mask = mask.convert("RGBA")  # the palette's colours, and its transparency
    elif mask.mode not in ("LA", "RGB", "RGBA"):
        mask = mask.convert("RGBA" if "A" in mask.getbands() or "a" in mask.getbands() else "RGB")  # CMYK, La, ...
    values = np.asarray(mask)
    bands = mask.getbands()
    if "A" in bands:  # background (black, or transparent whatever its colour) becomes all zeros, alpha included
        alpha = bands.index("A")
        black = (np.delete(values, alpha, axis=-1) == 0).all(axis=-1)
        values = np.where(((values[..., alpha] == 0) | black)[..., None], 0, values)
    return values


def _binary_mask(mask: Image.Image, path: Path, partner: Path) -> np.ndarray:
    """Mask pixels as uint8 {0, 1} by the foreground rule, refusing a mask with two foreground values."""
    values = mask_values(mask, path, partner)
    foreground = values != 0 if values.ndim == 2 else (values != 0).any(axis=-1)
    shown = values[foreground]
    if shown.size and (shown != shown[0]).any():
        distinct = np.unique(values.reshape(foreground.size, -1), axis=0)
        names = [str(v[0]) if v.size == 1 else str(tuple(int(c) for c in v)) for v in distinct]
        raise DataError(
            f"{path}: mask is not binary ({len(distinct)} distinct values: {_some(names)}); a mask must hold "
            "background (black or transparent) and one other value (0/1, 0/255, a two-colour palette, one colour); "
            "re-save it losslessly (PNG or GIF), e.g. thresholded"
        )
    return foreground.astype(np.uint8)


def check_folder(cfg: dict) -> int:
    """Validate a folder dataset before any job runs; returns the number of pairs it uses (0 for
    another source).

    `cfg` is the config's `data` block. Checks that both folders exist, images and masks pair
    up one to one, each mask has its image's size, all images share one size, every image and
    mask decodes in full, and masks are binary. Files that passed before and have not changed
    since are not decoded again (frbench.data.verified). Raises DataError naming the config key
    or file and what to do.
    """
    if cfg["source"] != "folder":
        return 0
    pairs = find_pairs(cfg["folder"])
    verified = Verified()
    examples: dict[tuple[int, int], tuple[Path, int]] = {}  # size -> (first image, count)
    try:
        for image_path, mask_path in pairs:
            with _open(image_path) as image, _open(mask_path) as mask:
                _check_same_size(image, mask, image_path, mask_path)
                if ("image", image_path) not in verified:
                    _decode(image, image_path, mask_path)
                    verified.add("image", image_path)
                if ("mask", mask_path) not in verified:
                    _binary_mask(mask, mask_path, image_path)
                    verified.add("mask", mask_path)
                first, count = examples.get(image.size, (image_path, 0))
                examples[image.size] = (first, count + 1)
    finally:
        verified.save()  # what passed need not be decoded again, also when a later file failed
    if len(examples) > 1:
        found = "; ".join(f"{_wxh(size)}: {n} images, e.g. {path}" for size, (path, n) in examples.items())
        raise DataError(f"data.folder.images: images of {len(examples)} sizes ({found}); all must have one size")
    return len(pairs)


def load_folder_pair(image_path: Path, mask_path: Path, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """One pair resized to `size` (height, width): image uint8 (H, W, 3), mask uint8 (H, W) in {0, 1}."""
    height, width = size
    with _open(image_path) as image, _open(mask_path) as mask:
        _check_same_size(image, mask, image_path, mask_path)
        binary = _binary_mask(mask, mask_path, image_path)
        _decode(image, image_path, mask_path)
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
