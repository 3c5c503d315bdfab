"""Make one model of the study: method x level x seed -> checkpoint + train.json.

The job every method rule runs. A method trained from scratch gets the `train`
budget; a post-training method gets the trained baseline and the `finetune`
budget. Both go through the same `frbench.train.fit`.
"""

from __future__ import annotations

import platform
import time

import torch

from . import __version__
from .checkpoint import load_model, save_checkpoint
from .data import load_split
from .io import atomic_write_json
from .methods import MethodContext, get_method
from .provenance import stamp
from .train import TrainConfig, fit, seed_everything


def build_model(*, method: str, level: str, seed: int, data: str, config: dict, out: str, record_out: str,
                baseline: str | None = None, threads: int | None = None, progress: bool = True) -> dict:
    """Build, train and save one model. `config` holds the blocks this job depends on:
    `unet`, `train` or `finetune`, and `params` (the method's own block)."""
    if threads:
        torch.set_num_threads(threads)
    m = get_method(method)
    budget = "finetune" if m.from_baseline else "train"
    train_cfg = TrainConfig.from_dict(config[budget], where=budget)
    train_set, val_set = load_split(data, "train"), load_split(data, "val")

    seed_everything(seed)
    base_model = None
    if m.from_baseline:
        if baseline is None:
            raise ValueError(f"method {method!r} compresses the baseline: pass its checkpoint with --baseline")
        base_model, _ = load_model(baseline)
    ctx = MethodContext(unet=config["unet"], params=config.get("params", {}), seed=seed,
                        baseline=base_model, calibration=train_set[0])
    t0 = time.monotonic()
    model = m.build(level, ctx)
    build_seconds = time.monotonic() - t0
    device = torch.device("cuda" if torch.cuda.is_available() and m.trains_on_gpu else "cpu")
    model = model.to(device)
    label = f"{method}/{level}/seed{seed}"
    model, record = fit(model, train_set, val_set, train_cfg, seed=seed, hooks=m.hooks(model, level, ctx),
                        label=label, progress=progress)
    model = m.finalize(model.cpu())

    record.update(key={"method": method, "level": level, "seed": seed}, budget=budget, build_seconds=build_seconds,
                  threads=torch.get_num_threads(), device=str(device), torch=torch.__version__, frbench=__version__,
                  python=platform.python_version(), baseline=baseline, config=config,
                  provenance=stamp({"config": config, "seed": seed, "level": level}))
    arch = m.arch(model)  # what the method decided (channels, ranks, per-layer int8/float, kept counts)
    record["arch"] = arch
    save_checkpoint(out, method=method, level=level, arch=arch, model=model,
                    meta={"seed": seed, "best_epoch": record["best_epoch"], "best_val_dice": record["best_val_dice"]})
    atomic_write_json(record_out, record)
    return record
