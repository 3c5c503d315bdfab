"""Build the dataset: a pool of images from the configured source, split into train/val/test.

The split is a permutation of the pool drawn from `data.seed`: the first
round(val_fraction * N) indices go to val, the next round(test_fraction * N) to test, the
rest to train; each split keeps pool order. It depends only on the seed and the pool size,
so training seeds never move images between splits.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
import PIL
import skimage

import frbench

from ..wording import counted
from . import folder, synthetic
from .errors import DataError

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # uint8 (N, H, W, 3), RGB
    masks: np.ndarray  # uint8 (N, H, W), values {0, 1}

    def foreground_fraction(self) -> float:
        return float(self.masks.mean()) if self.masks.size else 0.0


@dataclass(frozen=True)
class Dataset:
    splits: dict[str, Split]  # keyed by SPLITS
    meta: dict  # JSON-able description, written beside the arrays

    def arrays(self) -> dict[str, np.ndarray]:
        return split_arrays(self.splits)


def split_arrays(splits: dict[str, Split]) -> dict[str, np.ndarray]:
    """The arrays under their stored names: train_images, train_masks, val_images, ..."""
    out = {}
    for name, split in splits.items():
        out[f"{name}_images"] = split.images
        out[f"{name}_masks"] = split.masks
    return out


class _Pool(NamedTuple):
    """What a source yields before the split."""

    images: np.ndarray
    masks: np.ndarray
    stems: list[str] | None  # file stems, for sources read from files
    meta: dict  # source-specific entries for Dataset.meta


def _synthetic_pool(cfg: dict) -> _Pool:
    scenes = synthetic.Scenes.from_dict(cfg["synthetic"])
    images, masks, textures = synthetic.generate(cfg["synthetic"]["n_images"], tuple(cfg["size"]), cfg["seed"], scenes)
    return _Pool(images, masks, None, {"generator_version": synthetic.VERSION, "scenes": scenes.to_dict(),
                                       "textures": textures})


def _folder_pool(cfg: dict) -> _Pool:
    images, masks, stems = folder.load_folder(cfg["folder"], tuple(cfg["size"]))
    return _Pool(images, masks, stems, {"generator_version": folder.VERSION})


_SOURCES: dict[str, Callable[[dict], _Pool]] = {"synthetic": _synthetic_pool, "folder": _folder_pool}


def split_sizes(n: int, val_fraction: float, test_fraction: float) -> dict[str, int]:
    """Images per split for a pool of `n`. A non-zero fraction that rounds to no image is an
    error, as is an empty train split: both would only fail later, in training or the report."""
    sizes = {"val": round(val_fraction * n), "test": round(test_fraction * n)}
    for name, fraction in (("val", val_fraction), ("test", test_fraction)):
        if fraction > 0 and sizes[name] == 0:
            raise DataError(
                f"data.{name}_fraction: {fraction} of {counted(n, 'image')} is no image; use more images or a larger "
                "fraction"
            )
    sizes["train"] = n - sizes["val"] - sizes["test"]
    if sizes["train"] < 1:
        raise DataError(
            f"data.val_fraction + data.test_fraction: {val_fraction} + {test_fraction} of {counted(n, 'image')} "
            "leaves no training image; lower them"
        )
    return {name: sizes[name] for name in SPLITS}


def split_indices(n: int, seed: int, val_fraction: float, test_fraction: float) -> dict[str, np.ndarray]:
    """Pool indices of each split, each sorted. `default_rng(seed)` draws from the root of
    `SeedSequence(seed)`, a stream independent of the children that draw synthetic images."""
    sizes = split_sizes(n, val_fraction, test_fraction)
    perm = np.random.default_rng(seed).permutation(n)
    val_end = sizes["val"]
    test_end = val_end + sizes["test"]
    parts = {"val": perm[:val_end], "test": perm[val_end:test_end], "train": perm[test_end:]}
    return {name: np.sort(parts[name]) for name in SPLITS}


def content_sha256(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of the arrays themselves: for each name in sorted order, the name, dtype,
    shape and C-order bytes. Unlike a hash of the .npz, it ignores zip timestamps."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}\n".encode())
        h.update(a.data)
    return h.hexdigest()


def build_dataset(cfg: dict) -> Dataset:
    """Build the dataset described by the config's `data` block (validated, defaults filled)."""
    if cfg["source"] not in _SOURCES:
        raise DataError(f"data.source: unknown source {cfg['source']!r}; known: {', '.join(sorted(_SOURCES))}")
    pool = _SOURCES[cfg["source"]](cfg)
    indices = split_indices(len(pool.images), cfg["seed"], cfg["val_fraction"], cfg["test_fraction"])
    splits = {name: Split(pool.images[idx], pool.masks[idx]) for name, idx in indices.items()}
    meta = {
        "source": cfg["source"],
        "config": copy.deepcopy(cfg),
        "size": list(cfg["size"]),
        "counts": {name: len(split.images) for name, split in splits.items()},
        "foreground_fraction": {name: split.foreground_fraction() for name, split in splits.items()},
        **pool.meta,
        "versions": {
            "frbench": frbench.__version__,
            "numpy": np.__version__,
            "pillow": PIL.__version__,
            "scikit-image": skimage.__version__,
        },
        "sha256": content_sha256(split_arrays(splits)),
    }
    if pool.stems is not None:
        meta["stems"] = {name: [pool.stems[i] for i in idx] for name, idx in indices.items()}
    return Dataset(splits, meta)
