"""Make one model of the study: method x level x seed -> checkpoint + train.json.

The job every trained model's rule runs (the `train` template). The method says what it needs:
its budget (`Method.budget`: the `train` or the `finetune` block), and the other models of the
study it takes as inputs (`Method.inputs`: the baseline it compresses, a teacher, the earlier steps
of a chain), each passed as `--input NAME=CHECKPOINT`, loaded here and handed over as
`ctx.models[NAME]` on the training device, in eval mode and frozen. Every method goes through the
same `frbench.train.fit`.

Bad input does not fail the job: an unreadable dataset (`DataError`) or input checkpoint
(`CheckpointError`, also when the input's own training recorded an error) gives a train.json whose
`error` names the file and what to do, and an empty checkpoint, so that export, benchmark and
summary carry an error row and the report still builds, as the later stages do with their own
failures. A diverging loss still fails the job (`TrainingDiverged`, naming the epoch and the
model): that is this job's own result, and it asks for a different config, not a rerun.
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
from .methods import MethodContext, get_method, load_trained
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


def load_input(name: str, path, device: torch.device, trainable: bool) -> tuple[nn.Module, dict]:
    """One input model, ready to hand over: loaded, on `device`, in eval mode, frozen unless
    `trainable`; and what rebuilds its shape ({"method", "level", "arch"}). When its checkpoint
    cannot be read because its own job recorded an error (its train.json, beside it), the error says so."""
    try:
        trained = load_trained(path)
    except CheckpointError as e:
        record = Path(path).with_name("train.json")
        try:
            failed = read_json(record).get("error")
        except Exception:  # noqa: BLE001 - no readable record: the checkpoint's own error stands
            failed = None
        if failed:
            raise CheckpointError(f"{path}: input {name!r} was not trained ({record}: {failed})") from e
        raise
    model = trained.model.to(device).eval().requires_grad_(trainable)
    ckpt = trained.checkpoint
    return model, {"method": ckpt["method"], "level": ckpt["level"], "arch": ckpt["arch"]}


def check_inputs(label: str, declared: dict, given: dict) -> None:
    if set(given) != set(declared):
        wanted = ", ".join(f"--input {name}=CHECKPOINT (the model {ref})" for name, ref in declared.items()) or "none"
        raise ConfigError(f"{label} takes the inputs {wanted}; given: {', '.join(sorted(given)) or 'none'}")


def build_model(*, method: str, level: str, seed: int, data: str, config: dict, out: str, record_out: str,
                inputs: dict[str, str] | None = None, threads: int | None = None, progress: bool = True) -> dict:
    """Build, train and save one model. `config` holds the blocks this job depends on: `unet`, the
    method's budget (`train` or `finetune`) and `options` (the method's config block without its
    levels); `inputs` the checkpoint of each input the method declares, by name."""
    if threads:
        torch.set_num_threads(capped_threads(threads))
    cls = get_method(method)
    train_cfg = TrainConfig.from_dict(config.get(cls.budget, {}), where=cls.budget)
    key = {"method": method, "level": level, "seed": seed}
    label = f"{method}/{level}/seed{seed}"
    unknown = sorted(set(config) - {"unet", "options", "train", "finetune"})
    if unknown:  # a misspelt block would be left out silently, and the model trained without it
        raise ConfigError(f"{label}: the job's config has no block {', '.join(map(repr, unknown))}; it takes `unet`, "
                          "`options` (the method's config block) and the budget blocks `train` and `finetune`")
    light = cls(level, MethodContext(unet=config["unet"], params=config.get("options", {}), seed=seed))
    declared, inputs = light.inputs(), dict(inputs or {})
    check_inputs(label, declared, inputs)
    control = light.control()
    about = dict(key=key, budget="+".join(cls.budgets()), role=cls.role, control=str(control) if control else None,
                 inputs={name: {"model": str(ref), "checkpoint": inputs[name]} for name, ref in declared.items()},
                 frbench=__version__, torch=torch.__version__, python=platform.python_version(), config=config,
                 provenance=stamp({"config": config, "seed": seed, "level": level}, threads=torch.get_num_threads()))
    device = torch.device("cuda" if torch.cuda.is_available() and cls.trains_on_gpu else "cpu")

    try:  # the inputs: unreadable ones give an error record, not a failed job
        # uint8 as stored: fit converts each batch, so no float copy of a split is made
        train_set, val_set = load_split(data, "train", uint8=True), load_split(data, "val", uint8=True)
        seed_everything(seed)
        loaded = {name: load_input(name, path, device, name in cls.trainable_inputs) for name, path in inputs.items()}
    except (DataError, CheckpointError) as e:
        record = {**about, "error": f"{type(e).__name__}: {e}"}
        print(f"{label} not trained; error recorded in {record_out}: {record['error']}", file=sys.stderr)
        atomic_write_bytes(out, b"")  # the declared output exists; its emptiness and `error` say why
        atomic_write_json(record_out, record)
        return record

    m = cls(level, MethodContext(unet=config["unet"], params=config.get("options", {}), seed=seed,
                                 models={name: model for name, (model, _) in loaded.items()},
                                 sources={name: source for name, (_, source) in loaded.items()},
                                 calibration=FloatImages(train_set[0]), device=device))  # this job's: it holds its facts
    t0 = time.monotonic()
    model = m.build()
    build_seconds = time.monotonic() - t0
    model = model.to(device)
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
