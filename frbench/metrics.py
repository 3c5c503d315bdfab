"""Dice, as milesial/Pytorch-UNet (and so the FR paper) computes it.

Per image: (2 * sum(P * G) + eps) / (sum(P) + sum(G) + eps) on the foreground,
then averaged over images. P is the predicted foreground (argmax over the class
logits, or logit > 0 for a single-logit model), G the true mask. An image with no
foreground in either P or G scores 1.0 through the eps terms.
"""

from __future__ import annotations

import numpy as np
import torch

EPS = 1e-6


def predict_mask(logits: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) logits -> (N, H, W) int64 foreground mask."""
    if logits.shape[1] == 1:
        return (logits[:, 0] > 0).long()
    return (logits.argmax(dim=1) == 1).long()


def dice_per_image(pred: torch.Tensor | np.ndarray, target: torch.Tensor | np.ndarray, eps: float = EPS) -> np.ndarray:
    """Binary masks of shape (N, H, W) -> Dice of each image, shape (N,)."""
    p = np.asarray(pred, dtype=np.float64).reshape(len(pred), -1)
    g = np.asarray(target, dtype=np.float64).reshape(len(target), -1)
    if p.shape != g.shape:
        raise ValueError(f"prediction shape {p.shape} differs from target shape {g.shape}")
    inter = (p * g).sum(axis=1)
    return (2 * inter + eps) / (p.sum(axis=1) + g.sum(axis=1) + eps)


def mean_dice(pred, target, eps: float = EPS) -> float:
    return float(dice_per_image(pred, target, eps).mean())
