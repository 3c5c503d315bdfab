"""The FR paper's released UNet, its 16 test images, and its Dice.

guanfangdong/pytorch-frequency-regularization (the code of Zhao et al., IEEE Access
2023) releases `unet_fr.tar.xz`: `unet_fr.pt`, a dict of 23 sparse COO float32
tensors, the frequency coefficients of every conv / transposed-conv weight of
milesial's `UNet(3, 2, bilinear=False)` with bias-free convs and
`BatchNorm2d(affine=False, track_running_stats=False)`. Each keeps 33 non-zeros,
zigzag ranks 0..32: 759 numbers for a 31M-parameter network. The spatial weight
is `idctn(coeffs)` over all four dimensions. On the 16 released Carvana images at
full resolution (959x640) the paper's own evaluation code gives mean Dice 0.9718
(the paper's Table 3: 97.19 % on its 508-image test split). The stored float32
values are float16 numbers already (each survives a round trip through float16),
so loading with `dtype=torch.float16` gives the very same model.

Differences from our UNet, handled here: the paper's transposed convs and 1x1
output conv have no bias, ours do (`UNetConfig` has no switch for them). The
dense model gets those biases set to zero (the same function); the FR model drops
them, so that its compact form stores exactly the 759 coefficients.
"""

from __future__ import annotations

import hashlib
import io
import lzma
import pickle
import tarfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from torch import Tensor

from ..data.errors import DataError
from ..metrics import dice_per_image, predict_mask
from ..models.unet import MILESIAL, UNet
from .layers import build_fr_unet, dense_unet
from .zigzag import zigzag_order

REFERENCE_UNET = replace(MILESIAL, norm_affine=False, norm_running_stats=False)  # the paper's FR UNet
ARCHIVE_MEMBER = "unet_fr.pt"
EXPECTED_MEAN_DICE = 0.9718  # the paper's code on the 16 released images (fr_reference/README.md)


def _read_archive(path: Path) -> dict:
    """The dict stored in the archive's `unet_fr.pt`, extracted in memory."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: FR reference archive not found")
    try:
        with tarfile.open(path, mode="r:xz") as tar:
            member = tar.extractfile(ARCHIVE_MEMBER)
            if member is None:
                raise KeyError(f"{ARCHIVE_MEMBER} is not a regular file")
            payload = member.read()
        stored = torch.load(io.BytesIO(payload), weights_only=True)
    except (tarfile.TarError, lzma.LZMAError, EOFError, KeyError, RuntimeError, pickle.UnpicklingError) as e:
        raise DataError(f"{path}: corrupt FR reference archive ({type(e).__name__}: {e})") from None
    if not isinstance(stored, dict):
        raise DataError(f"{path}: {ARCHIVE_MEMBER} holds a {type(stored).__name__}, expected a dict of tensors")
    return stored


def _expected_shapes() -> dict[str, tuple[int, ...]]:
    """Weight key -> shape of every conv / transposed conv of the reference UNet."""
    with torch.device("meta"):
        net = UNet(REFERENCE_UNET)
    convs = (nn.Conv2d, nn.ConvTranspose2d)
    return {f"{name}.weight": tuple(m.weight.shape) for name, m in net.named_modules() if isinstance(m, convs)}


def _dense_coefficients(key: str, t: Tensor, shape: tuple[int, ...], dtype: torch.dtype) -> tuple[Tensor, int]:
    """Check one stored tensor and return (its dense float32 coefficients, kept count)."""
    if not isinstance(t, Tensor) or t.layout != torch.sparse_coo:
        raise DataError(f"{key}: expected a sparse COO tensor, got {getattr(t, 'layout', type(t).__name__)}")
    if tuple(t.shape) != shape:
        raise DataError(f"{key}: shape {tuple(t.shape)} does not match the UNet's {shape}")
    t = t.coalesce()
    try:
        flat = torch.from_numpy(np.ravel_multi_index(t.indices().numpy(), shape))
    except ValueError:
        raise DataError(f"{key}: indices out of range for shape {shape}") from None
    k = flat.numel()
    if not torch.equal(flat.sort().values, zigzag_order(list(shape), k).sort().values):
        raise DataError(f"{key}: its {k} non-zeros are not zigzag ranks 0..{k - 1}")
    dense = torch.zeros(shape).reshape(-1)
    dense[flat] = t.values().to(dtype).float()
    return dense.reshape(shape), k


def load_reference_coefficients(archive_path: str | Path, dtype: torch.dtype = torch.float32) -> tuple[dict, dict]:
    """({weight key: dense coefficient tensor}, info) from the archive, every tensor checked.

    `dtype=torch.float16` rounds the stored values to float16 first (the compact form).
    """
    path = Path(archive_path)
    stored = _read_archive(path)
    shapes = _expected_shapes()
    for key in shapes:
        if key not in stored:
            raise KeyError(f"{path}: key {key!r} missing (the UNet has that layer)")
    for key in stored:
        if key not in shapes:
            raise KeyError(f"{path}: unexpected key {key!r} (no such conv weight in the UNet)")
    coeffs, kept = {}, {}
    for key, shape in shapes.items():
        coeffs[key], kept[key] = _dense_coefficients(key, stored[key], shape, dtype)
    info = {
        "archive": str(path),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "unet_config": REFERENCE_UNET.to_dict(),
        "dtype": str(dtype).removeprefix("torch."),
        "tensors": len(kept),
        "coefficients": sum(kept.values()),
        "kept": kept,
    }
    return coeffs, info


def load_reference_fr(archive_path: str | Path, dtype: torch.dtype = torch.float32) -> tuple[nn.Module, dict]:
    """The released model as an FR UNet (our layers, no biases, kept = 33 per layer),
    ready for `compact.script_compact`; and info about what was loaded."""
    coeffs, info = load_reference_coefficients(archive_path, dtype)
    layers = {key.removesuffix(".weight"): key for key in coeffs}
    arch = {
        "kept": {layer: info["kept"][key] for layer, key in layers.items()},
        "bias": {layer: False for layer in layers},
    }
    model = build_fr_unet(REFERENCE_UNET.to_dict(), arch)
    state = {f"{layer}.coeffs": coeffs[key] for layer, key in layers.items()}
    state |= {f"{layer}.kept": torch.tensor(info["kept"][key]) for layer, key in layers.items()}
    model.load_state_dict(state)
    info["arch"] = arch
    return model.eval(), info


def load_reference(archive_path: str | Path, dtype: torch.dtype = torch.float32) -> tuple[UNet, dict]:
    """The released model as a dense UNet, weights idctn(coeffs) computed once (the
    biases our UNet has where the paper's has none are zero), and info about what
    was loaded."""
    fr, info = load_reference_fr(archive_path, dtype)
    net, info["zeroed"] = dense_unet(fr)
    return net.eval(), info


def _read_png(path: Path, mode: str) -> np.ndarray:
    with Image.open(path) as im:
        if im.mode != mode:
            raise DataError(f"{path}: expected a {mode} image, got {im.mode}")
        return np.asarray(im)


def reference_pairs(folder: str | Path) -> list[tuple[Path, Path]]:
    """(image, mask) paths of the released test images, sorted by name:
    `folder/testimgs/input/inNNNN.png` with `folder/testimgs/mask/gtNNNN.png`.
    FileNotFoundError when there are no images or an image has no mask."""
    root = Path(folder) / "testimgs"
    inputs = sorted((root / "input").glob("in*.png"))
    if not inputs:
        raise FileNotFoundError(f"{root / 'input'}: no in*.png test images")
    pairs = [(path, root / "mask" / f"gt{path.stem.removeprefix('in')}.png") for path in inputs]
    for path, mask_path in pairs:
        if not mask_path.is_file():
            raise FileNotFoundError(f"{mask_path}: mask for {path.name} not found")
    return pairs


def load_reference_images(folder: str | Path) -> tuple[Tensor, Tensor]:
    """(images float32 (N, 3, H, W) in [0, 1], masks int64 (N, H, W) in {0, 1}) from
    `folder/testimgs/input/inNNNN.png` and `folder/testimgs/mask/gtNNNN.png`.

    Scaled as the paper's evaluation: RGB / 255, no mean/std normalisation.
    """
    root = Path(folder) / "testimgs"
    images, masks = [], []
    for path, mask_path in reference_pairs(folder):
        mask = _read_png(mask_path, "L")
        if not np.isin(mask, (0, 255)).all():
            raise DataError(f"{mask_path}: mask values must be 0 or 255, got {np.unique(mask)[:10]}")
        images.append(torch.from_numpy(_read_png(path, "RGB").astype(np.float32) / 255.0).permute(2, 0, 1))
        masks.append(torch.from_numpy((mask == 255).astype(np.int64)))
    try:
        return torch.stack(images), torch.stack(masks)
    except RuntimeError as e:
        raise DataError(f"{root}: test images differ in size ({e})") from None


def score_reference(model: nn.Module, images: Tensor, masks: Tensor) -> dict:
    """Dice of `model` on each image, run one at a time at full resolution, as the
    paper's evaluation does (eval mode; the paper's BatchNorm keeps no running
    statistics, so each image is normalised by its own). Prediction = argmax over
    the 2 logits; Dice on the foreground via frbench.metrics. Uses
    torch.get_num_threads() threads, as set by the caller."""
    model.eval()
    preds = []
    start = time.perf_counter()
    with torch.inference_mode():
        for image in images:
            preds.append(predict_mask(model(image.unsqueeze(0)))[0])
    seconds = time.perf_counter() - start
    dice = dice_per_image(torch.stack(preds), masks)
    return {
        "mean_dice": float(dice.mean()),
        "dice_per_image": [float(d) for d in dice],
        "seconds": seconds,
        "threads": torch.get_num_threads(),
    }
