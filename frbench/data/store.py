"""The dataset on disk: one compressed .npz of uint8 arrays and one JSON file of metadata.

The .npz holds `{split}_images` (N, H, W, 3) and `{split}_masks` (N, H, W) for each split,
stored as uint8: a quarter of float32's size, and masks compress to almost nothing.
`load_split` converts one split to the tensors training and evaluation use; with
`uint8=True` it keeps the stored bytes, and `to_float` converts them a batch at a time, so
that training never holds a float32 copy of a whole split (Carvana's 5088 images at 959x640
take 37 GB as float32, 9.4 GB as uint8; their masks 25 GB as int64, 3.1 GB as uint8). Every read
error (missing, truncated or corrupt file, missing or malformed arrays) becomes a DataError
naming the file and how to rebuild it; zip's CRC-32 catches flipped bytes.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch

from ..advice import rebuild_advice
from ..io import atomic_path, atomic_write_json
from .dataset import SPLITS, build_dataset
from .errors import DataError


def write_dataset(cfg: dict, npz_path: str | os.PathLike, json_path: str | os.PathLike) -> dict:
    """Build the dataset of the config's `data` block; write arrays and meta atomically; return the meta."""
    dataset = build_dataset(cfg)
    write_arrays(dataset.arrays(), npz_path)
    atomic_write_json(json_path, dataset.meta)
    return dataset.meta


def write_arrays(arrays: dict[str, np.ndarray], npz_path: str | os.PathLike) -> None:
    """Write `{split}_images` / `{split}_masks` arrays (see `split_arrays`) as one compressed
    .npz, atomically. A split may be empty, (0, H, W, 3) and (0, H, W): a dataset made only
    for testing, such as the FR paper's 16 released images, has no training images."""
    # np.savez appends ".npz" to a path without it, so write through a file object.
    with atomic_path(npz_path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, allow_pickle=False, **arrays)


def _rebuild_hint(path: Path) -> str:
    return rebuild_advice(path)


def _read_arrays(path: Path, names: list[str]) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise DataError(f"{path}: dataset file not found; {_rebuild_hint(path)}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            stored = list(npz.files)
            arrays = {name: npz[name] for name in names if name in stored}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as e:
        raise DataError(f"{path}: truncated or corrupt ({type(e).__name__}: {e}); {_rebuild_hint(path)}") from e
    missing = [name for name in names if name not in arrays]
    if missing:
        raise DataError(f"{path}: no array {', '.join(missing)} (has: {', '.join(stored)}); {_rebuild_hint(path)}")
    return arrays


def _check_arrays(path: Path, split: str, images: np.ndarray, masks: np.ndarray) -> None:
    ok = (
        images.dtype == np.uint8
        and masks.dtype == np.uint8
        and images.ndim == 4
        and images.shape[3] == 3
        and masks.shape == images.shape[:3]
    )
    if not ok:
        raise DataError(
            f"{path}: {split} arrays are images {images.dtype}{images.shape}, masks {masks.dtype}{masks.shape}; "
            f"expected uint8 (N, H, W, 3) and uint8 (N, H, W); {_rebuild_hint(path)}"
        )
    if masks.size and masks.max() > 1:
        raise DataError(f"{path}: {split}_masks holds values above 1; {_rebuild_hint(path)}")


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (..., 3, H, W) -> float32 in [0, 1] (RGB / 255, no mean/std normalisation,
    as in the FR paper): the model's input. Float images are returned as they are, so a
    batch of either kind can be passed."""
    return images.float().div_(255) if images.dtype == torch.uint8 else images


def load_split(npz_path: str | os.PathLike, split: str, *, uint8: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """One split as tensors: images float32 (N, 3, H, W) in [0, 1] (see `to_float`) and masks
    int64 (N, H, W) in {0, 1}. With `uint8=True`, both stay uint8 as stored (a quarter and
    an eighth of the memory): convert each batch with `to_float` and `.long()`, which gives
    the same values bit for bit."""
    path = Path(npz_path)
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    arrays = _read_arrays(path, [f"{split}_images", f"{split}_masks"])
    images, masks = arrays.pop(f"{split}_images"), arrays.pop(f"{split}_masks")
    _check_arrays(path, split, images, masks)
    images = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))  # (N, 3, H, W), still uint8
    masks = torch.from_numpy(masks)
    return (images, masks) if uint8 else (to_float(images), masks.long())
