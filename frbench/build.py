"""Make one model of the study: method x level x seed -> checkpoint + train.json.

The job every method rule runs. A method trained from scratch gets the `train`
budget; a post-training method gets the trained baseline and the `finetune`
budget. Both go through the same `frbench.train.fit`.

Bad input does not fail the job: an unreadable dataset (`DataError`) or baseline
checkpoint (`CheckpointError`, also when the baseline's own training recorded an
error) gives a train.json whose `error` names the file and what to do, and an empty
checkpoint, so that export, benchmark and summary carry an error row and the report
still builds, as the later stages do with their own failures. A diverging loss still
fails the job (`TrainingDiverged`, naming the epoch and the model): that is this job's
own result, and it asks for a different config, not a rerun.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn

from . import __version__
from .checkpoint import save_checkpoint
from .data import DataError, load_split, to_float
from .errors import CheckpointError, ConfigError
from .hostinfo import capped_threads
from .io import atomic_write_bytes, atomic_write_json, read_json
from .methods import MethodContext, get_method, load_model
from .provenance import stamp
from .train import TrainConfig, fit, seed_everything


class FloatImages:
    """uint8 images (N, 3, H, W) that index as float32 model input (`to_float`): the
    training images a method calibrates or traces on (`MethodContext.calibration`: it
    takes `len()` and slices), without a float copy of the whole split."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index) -> torch.Tensor:
        return to_float(self.images[index])


def load_baseline(path) -> nn.Module:
    """The trained baseline. When its checkpoint cannot be read because the baseline's own
    job recorded an error (its train.json, beside the checkpoint), the error says so."""
    try:
        return load_model(path)[0]
    except CheckpointError as e:
        record = Path(path).with_name("train.json")
        try:
            failed = read_json(record).get("error")
        except Exception:  # noqa: BLE001 - no readable record: the checkpoint's own error stands
            failed = None
        if failed:
            raise CheckpointError(f"{path}: the baseline was not trained ({record}: {failed})") from e
        raise


def build_model(*, method: str, level: str, seed: int, data: str, config: dict, out: str, record_out: str,
                baseline: str | None = None, threads: int | None = None, progress: bool = True) -> dict:
    """Build, train and save one model. `config` holds the blocks this job depends on:
    `unet`, `train` or `finetune`, and `params` (the method's own block)."""
    if threads:
        torch.set_num_threads(capped_threads(threads))
    cls = get_method(method)
    budget = "finetune" if cls.from_baseline else "train"
    train_cfg = TrainConfig.from_dict(config.get(budget, {}), where=budget)
    key = {"method": method, "level": level, "seed": seed}
    light = MethodContext(unet=config["unet"], params=config.get("params", {}), seed=seed)
    control = cls(level, light).control()
    about = dict(key=key, budget=budget, role=cls.role, control="/".join(control) if control else None,
                 frbench=__version__, torch=torch.__version__,
                 python=platform.python_version(), baseline=baseline, config=config,
                 provenance=stamp({"config": config, "seed": seed, "level": level}, threads=torch.get_num_threads()))
    if cls.from_baseline and baseline is None:
        raise ConfigError(f"method {method!r} compresses the trained baseline: pass its checkpoint with --baseline")

    try:  # the inputs: unreadable ones give an error record, not a failed job
        # uint8 as stored: fit converts each batch, so no float copy of a split is made
        train_set, val_set = load_split(data, "train", uint8=True), load_split(data, "val", uint8=True)
        seed_everything(seed)
        base_model = load_baseline(baseline) if cls.from_baseline else None
    except (DataError, CheckpointError) as e:
        record = {**about, "error": f"{type(e).__name__}: {e}"}
        print(f"{method}/{level}/seed{seed} not trained; error recorded in {record_out}: {record['error']}",
              file=sys.stderr)
        atomic_write_bytes(out, b"")  # the declared output exists; its emptiness and `error` say why
        atomic_write_json(record_out, record)
        return record

    m = cls(level, MethodContext(unet=light.unet, params=light.params, seed=seed, baseline=base_model,
                                 calibration=FloatImages(train_set[0])))  # this job's method: it holds the job's facts
    t0 = time.monotonic()
    model = m.build()
    build_seconds = time.monotonic() - t0
    device = torch.device("cuda" if torch.cuda.is_available() and m.trains_on_gpu else "cpu")
    model = model.to(device)
    label = f"{method}/{level}/seed{seed}"
    model, record = fit(model, train_set, val_set, train_cfg, seed=seed, hooks=m.hooks(model), label=label,
                        progress=progress)
    model = m.finalize(model.cpu())

    record.update(about, error=None, build_seconds=build_seconds, threads=torch.get_num_threads(), device=str(device))
    arch = m.arch(model)  # what the method decided (channels, ranks, per-layer int8/float, kept counts)
    record["arch"] = arch
    record.update(save_checkpoint(out, method=method, level=level, arch=arch, model=model, extra=m.extra_state(),
                    meta={"seed": seed, "best_epoch": record["best_epoch"], "best_val_dice": record["best_val_dice"]}))
    atomic_write_json(record_out, record)
    return record
