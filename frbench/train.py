"""One training loop for every method (nanoGPT's train.py, as a function).

Baseline and FR train from scratch with the `train` budget; pruning, quantization
and Tucker fine-tune the compressed baseline with the `finetune` budget. Methods
never own a loop: they change how the model is built, and plug into this one
through hooks (Torch-Pruning's pattern), each a `frbench.contract.Hook`:

    loss(model, batch, output, loss) -> loss  the loss this step minimises (default: unchanged)
    on_step_end(model, step) -> None          after every optimizer step
    on_epoch_end(model, epoch) -> dict        merged into that epoch's record
    checkpoint_ready(model) -> bool           may this epoch's model be selected?

The checkpoint kept is the one with the best validation Dice among selectable
epochs (ShrinkBench: select on validation, report on test).
"""

from __future__ import annotations

import copy
import math
import random
import time
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from .config.schema import block_defaults
from .contract import Hook
from .data import to_float
from .errors import ConfigError, TrainingDiverged
from .hostinfo import peak_rss_kb
from .metrics import dice_per_image, predict_mask


@dataclass(frozen=True)
class TrainConfig:
    """One training budget (`train` or `finetune`); the defaults are the config schema's (`from_dict`)."""

    epochs: int  # the same budget for every method of one kind (train / finetune)
    batch_size: int
    lr: float  # peak learning rate
    lr_schedule: str  # "cosine" (decay to lr * min_lr_ratio) or "constant"
    min_lr_ratio: float
    warmup_steps: int  # linear warm-up from 0 over this many steps
    weight_decay: float
    optimizer: str  # "adamw" or "sgd" (momentum 0.9)
    dice_weight: float  # loss = cross-entropy + dice_weight * soft Dice loss (milesial)
    grad_clip: float  # clip the gradient norm to this (0 = off)
    eval_batch_size: int

    @classmethod
    def from_dict(cls, d: dict, where: str = "train") -> "TrainConfig":
        """The budget `d` over the schema's defaults; `where` names the config block in errors."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown keys {unknown}; known: {sorted(known)}")
        cfg = cls(**{**block_defaults("train"), **d})
        if cfg.lr_schedule not in ("cosine", "constant"):
            raise ConfigError(f"{where}.lr_schedule: 'cosine' or 'constant', not {cfg.lr_schedule!r}")
        if cfg.optimizer not in ("adamw", "sgd"):
            raise ConfigError(f"{where}.optimizer: 'adamw' or 'sgd', not {cfg.optimizer!r}")
        return cfg


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch; ask torch for deterministic kernels where it has them."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def lr_at(step: int, total_steps: int, cfg: TrainConfig) -> float:
    """The learning rate at `step` (0-based): linear warm-up, then cosine or constant."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.lr_schedule == "constant":
        return cfg.lr
    progress = (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps)
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + 0.5 * (cfg.lr - floor) * (1 + math.cos(math.pi * min(1.0, progress)))


def segmentation_loss(logits: torch.Tensor, masks: torch.Tensor, dice_weight: float) -> torch.Tensor:
    """Cross-entropy plus the soft multi-class Dice loss, as milesial/Pytorch-UNet trains; for a
    single-logit model (`model.classes: 1`), as milesial's n_classes=1: binary cross-entropy on the
    logit plus the soft Dice loss of its sigmoid (foreground where the logit is > 0, as predicted)."""
    if logits.shape[1] == 1:
        return _single_logit_loss(logits[:, 0], masks.to(logits.dtype), dice_weight)
    ce = F.cross_entropy(logits, masks)
    if dice_weight == 0:
        return ce
    probs = logits.softmax(dim=1)
    onehot = F.one_hot(masks, logits.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)
    inter = (probs * onehot).sum(dim=(0, 2, 3))
    denom = probs.sum(dim=(0, 2, 3)) + onehot.sum(dim=(0, 2, 3))
    soft_dice = ((2 * inter + 1e-6) / (denom + 1e-6)).mean()
    return ce + dice_weight * (1 - soft_dice)


def _single_logit_loss(logit: torch.Tensor, target: torch.Tensor, dice_weight: float) -> torch.Tensor:
    bce = F.binary_cross_entropy_with_logits(logit, target)
    if dice_weight == 0:
        return bce
    probs = logit.sigmoid()
    soft_dice = (2 * (probs * target).sum() + 1e-6) / (probs.sum() + target.sum() + 1e-6)
    return bce + dice_weight * (1 - soft_dice)


def model_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 16) -> torch.Tensor:
    """Foreground masks (N,H,W) for images (N,3,H,W), float or uint8 (see `frbench.data.to_float`),
    in eval mode, on the CPU."""
    was_training = model.training
    model.eval()
    device = model_device(model)
    out = torch.cat([predict_mask(model(to_float(images[i : i + batch_size]).to(device))).cpu()
                     for i in range(0, len(images), batch_size)])
    model.train(was_training)
    return out


def evaluate(model: nn.Module, images: torch.Tensor, masks: torch.Tensor, batch_size: int = 16) -> float:
    """Mean Dice over images (milesial's definition; see frbench.metrics)."""
    return float(dice_per_image(predict(model, images, batch_size), masks).mean())


def fit(model, train, val, cfg: TrainConfig, seed: int, hooks=(), label: str = "model", progress: bool = True):
    """Train `model` on `train` = (images, masks), select on `val`, return (best model, record).

    Images may be float or uint8 and masks int64 or uint8 (`load_split(..., uint8=True)`):
    each batch is converted as it is drawn, so the split is never held as float32.

    Raises TrainingDiverged, naming the epoch and `label`, when the loss is not finite.
    """
    for hook in hooks:
        if not isinstance(hook, Hook):
            raise TypeError(f"{label}: a training hook must be a frbench.contract.Hook, got {type(hook).__name__}")
    seed_everything(seed)
    images, masks = train
    n = len(images)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    total_steps = cfg.epochs * steps_per_epoch
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "adamw":
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    shuffle = torch.Generator().manual_seed(seed)
    device = model_device(model)  # the data stays on the CPU; each batch is converted and goes where the model is

    best = {"val_dice": -1.0, "epoch": None, "state": None}
    record = {"epochs": [], "steps_per_epoch": steps_per_epoch, "seed": seed, "train_config": asdict(cfg)}
    t_start = time.monotonic()
    step = 0
    for epoch in range(cfg.epochs):
        model.train()
        t_epoch = time.monotonic()
        order = torch.randperm(n, generator=shuffle)
        losses = []
        bar = tqdm(range(steps_per_epoch), desc=f"{label} epoch {epoch + 1}/{cfg.epochs}", disable=not progress, leave=False)
        for i in bar:
            # set the learning rate for this step
            lr = lr_at(step, total_steps, cfg)
            for group in opt.param_groups:
                group["lr"] = lr
            # forward, backward, step
            idx = order[i * cfg.batch_size : (i + 1) * cfg.batch_size]
            x, y = to_float(images[idx]).to(device), masks[idx].to(device).long()
            output = model(x)
            loss = segmentation_loss(output, y, cfg.dice_weight)
            for hook in hooks:
                loss = hook.loss(model, (x, y), output, loss)
            value = loss.item()  # the step's one CPU-GPU sync
            if not math.isfinite(value):
                raise TrainingDiverged(
                    f"{label}: loss is {value} at epoch {epoch + 1}, step {step}; no checkpoint written. "
                    f"Lower train.lr / finetune.lr (now {cfg.lr}) or set grad_clip, then rerun."
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
            for hook in hooks:
                hook.on_step_end(model, step)
            losses.append(value)
            bar.set_postfix(loss=f"{value:.4f}")
            step += 1
        # evaluate on validation, log, keep the best selectable model
        val_dice = evaluate(model, *val, batch_size=cfg.eval_batch_size)
        entry = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "val_dice": val_dice, "lr": lr,
                 "seconds": time.monotonic() - t_epoch}
        for hook in hooks:
            entry.update(hook.on_epoch_end(model, epoch) or {})
        record["epochs"].append(entry)
        print(f"{label} epoch {epoch + 1}: loss {entry['loss']:.4f}, val Dice {val_dice:.4f}", flush=True)
        if all(hook.checkpoint_ready(model) for hook in hooks) and val_dice > best["val_dice"]:
            best = {"val_dice": val_dice, "epoch": epoch + 1, "state": copy.deepcopy(model.state_dict())}

    if best["state"] is None:  # no epochs, or none selectable: keep the model as it is, and say so
        best = {"val_dice": evaluate(model, *val, batch_size=cfg.eval_batch_size), "epoch": cfg.epochs,
                "state": model.state_dict()}
        if cfg.epochs:
            record["selection_note"] = "no epoch was selectable by the method's hooks; the last epoch is kept"
    model.load_state_dict(best["state"])
    record.update(best_epoch=best["epoch"], best_val_dice=best["val_dice"],
                  wall_seconds=time.monotonic() - t_start, peak_rss_kb=peak_rss_kb(), total_steps=total_steps)
    return model, record
