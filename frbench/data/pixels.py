"""One image or mask file, read by the rules of config/README.md (`data`): opened by its header
first, decoded in full only when it may be, its values read for what they mean.

**Size.** `open_file` reads the header only (Pillow opens lazily) and refuses a file with more
pixels than Pillow decodes safely (`PIL.Image.MAX_IMAGE_PIXELS`, about 89 million: Pillow warns
there and raises `DecompressionBombError`, which is no `OSError`, at twice that), naming it, before
a byte of its pixels is decoded. So a decompression bomb, or a photo far larger than any study
resizes from, costs nothing; and since every header of a folder is read before any file is
decoded (`frbench.data.folder.check_folder`), an image of the wrong size is refused unread too.

**Images** become 8-bit RGB, each value scaled by its format's range, never clipped:
8-bit files as they are (palettes by their colours, CMYK and the like converted by Pillow; an
alpha channel is dropped); 16-bit greyscale by 255/65535 (rounded), so 65535 is white; 16-bit
colour, which Pillow reads at 8 bits per channel (the high byte), as read; float greyscale
(32-bit TIFF) by 255, as values from 0 (black) to 1 (white), and refused when a value lies outside
[0, 1] or is not a number, since no range is known then; 32-bit integer greyscale is refused, for
the same reason. Before this rule, `convert("RGB")` clipped: a 16-bit image became white, a 0-1
float image black.

**Masks**: a pixel is background when it is black (its grey level, or all of its red, green and blue
values, 0) or fully transparent (alpha 0), and foreground otherwise: a pure red (1, 0, 0) counts, as
do 1 in a 0/1 mask and 255 in a 0/255 one. Palettised masks (GIF, P-mode PNG) are read by their
palette's colours (Carvana's GIFs: index 0 black, 1 white), 16-bit and float greyscale masks by
their value. Every foreground pixel must have the same value (colour and alpha), so a lossy (JPEG)
or anti-aliased mask is refused instead of silently thresholded. A 16-bit colour mask is refused too:
Pillow reads it at 8 bits per channel, which would turn a colour below 256 into black.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import DataError

VALUE_MODES = ("1", "L", "I", "I;16", "I;16L", "I;16B", "I;16N", "F")  # one channel, read as it is
_SIXTEEN_BIT_GREY = ("I;16", "I;16L", "I;16B", "I;16N")
_SHOWN = 5  # distinct values listed in an error


def _wxh(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def _too_large(path: Path, pixels: int | None, size: str) -> DataError:
    limit = Image.MAX_IMAGE_PIXELS
    count = f" ({pixels / 1e6:.0f} million pixels)" if pixels else ""
    return DataError(
        f"{path}: {size}{count} is more than Pillow decodes safely ({limit / 1e6:.0f} million pixels, "
        "PIL.Image.MAX_IMAGE_PIXELS: a decompression bomb, or a photo far larger than a study resizes from); "
        "it was not decoded. Scale it down, or remove it with its partner")


def open_file(path: Path) -> Image.Image:
    """The file opened by its header only, once it is known to be an image of a size that may be
    decoded; a DataError naming it otherwise."""
    try:
        with warnings.catch_warnings():  # Pillow warns between its limit and twice it; refused below instead
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError:
        raise _too_large(path, None, "its size") from None
    except OSError as e:  # includes PIL.UnidentifiedImageError
        raise DataError(f"{path}: cannot be read as an image ({e}); replace or remove it") from None
    pixels = image.size[0] * image.size[1]
    if Image.MAX_IMAGE_PIXELS and pixels > Image.MAX_IMAGE_PIXELS:
        image.close()
        raise _too_large(path, pixels, _wxh(image.size))
    return image


def decode(image: Image.Image, path: Path, partner: Path) -> None:
    """Decode every pixel now (Pillow opens lazily), naming the file if it is cut short or damaged."""
    try:
        image.load()
    except Exception as e:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, ValueError, ... on damaged data
        raise DataError(
            f"{path}: cannot be decoded ({type(e).__name__}: {e}); the file is cut short or damaged. Replace it "
            f"with a sound copy, or remove it together with {partner}"
        ) from None


def image_rgb(image: Image.Image, path: Path, partner: Path) -> Image.Image:
    """A freshly opened image decoded as 8-bit RGB by the image rule (module docstring), at its own size.
    `partner` is its mask, named in the advice when the image cannot be decoded."""
    decode(image, path, partner)
    if image.mode in _SIXTEEN_BIT_GREY:
        values = np.asarray(image).astype(np.uint32)
        return Image.fromarray(((values * 255 + 32767) // 65535).astype(np.uint8), mode="L").convert("RGB")
    if image.mode == "F":
        values = np.asarray(image)
        finite = np.isfinite(values).all()
        if not finite or values.min() < 0 or values.max() > 1:
            seen = "values that are not numbers" if not finite else f"values from {values.min():g} to {values.max():g}"
            raise DataError(
                f"{path}: a floating-point image with {seen}; frbench reads a float image as 0 (black) to 1 "
                "(white) and scales nothing else (config/README.md, `data`). Rescale it to 0-1, or save it as an "
                "8- or 16-bit image")
        return Image.fromarray(np.rint(values * 255).astype(np.uint8), mode="L").convert("RGB")
    if image.mode == "I":
        raise DataError(
            f"{path}: a 32-bit integer image, whose range frbench cannot tell (config/README.md, `data`); "
            "save it as an 8- or 16-bit image")
    return image.convert("RGB")


def _reduced_precision(image: Image.Image) -> bool:
    """Whether Pillow will decode this (not yet loaded) file at fewer bits than it stores: it reads
    16-bit colour PNG and TIFF at 8 bits per channel, keeping the high byte."""
    if image.mode in VALUE_MODES:
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
    decode(mask, path, partner)
    if mask.mode in VALUE_MODES:
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


def some(names: list[str]) -> str:
    """The first few of `names`, and how many more."""
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def binary_mask(mask: Image.Image, path: Path, partner: Path) -> np.ndarray:
    """Mask pixels as uint8 {0, 1} by the foreground rule, refusing a mask with two foreground values."""
    values = mask_values(mask, path, partner)
    foreground = values != 0 if values.ndim == 2 else (values != 0).any(axis=-1)
    shown = values[foreground]
    if shown.size and (shown != shown[0]).any():
        distinct = np.unique(values.reshape(foreground.size, -1), axis=0)
        names = [str(v[0]) if v.size == 1 else str(tuple(int(c) for c in v)) for v in distinct]
        raise DataError(
            f"{path}: mask is not binary ({len(distinct)} distinct values: {some(names)}); a mask must hold "
            "background (black or transparent) and one other value (0/1, 0/255, a two-colour palette, one colour); "
            "re-save it losslessly (PNG or GIF), e.g. thresholded"
        )
    return foreground.astype(np.uint8)
