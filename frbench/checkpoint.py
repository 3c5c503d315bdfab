"""The checkpoint format every method writes and every later stage reads.

A checkpoint rebuilds its model from data, never from pickled code (nanoGPT's
`model_args`): `{"format", "method", "level", "arch", "state_dict", "extra", "meta"}`.
`arch` is JSON-able and means something only to the method named, which rebuilds
an empty model from it (`Method.rebuild`) before the state dict is loaded; `extra`
holds the plain tensors the method needs again beside the model's own
(`Method.extra_state`). Files load with `torch.load(weights_only=True)`, so a file
crafted to run code on unpickling is refused, naming what it asks to run.
`frbench.methods.load_trained` reads a checkpoint back into its method and model.

Every checkpoint is checked before it is used: `save_checkpoint` returns the file's sha256, which
the job that wrote it keeps in its record beside it (`RECORDS`: train.json, or reference.json for
the imported paper model, under `SHA256_KEY`), and `load_checkpoint`, the one place every load goes
through (export, benchmark, methods that start from another model), refuses a file that no longer
has it. A record without the key (a study trained before frbench recorded it) checks nothing.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch
import torch.nn as nn

from .advice import rebuild_advice
from .errors import CheckpointError
from .integrity import mismatch, sha256_of
from .io import atomic_path, read_json
from .pickle_globals import refused_globals

FORMAT = 1
RECORDS = ("train.json", "reference.json")  # the record a job writes beside the checkpoint it made
SHA256_KEY = "checkpoint_sha256"


def _plain(tensors: dict) -> dict:
    return {k: v.detach().cpu().clone() for k, v in tensors.items()}


def save_checkpoint(path, *, method: str, level: str, arch: dict, model: nn.Module, meta: dict,
                    extra: dict | None = None) -> dict:
    """Write the checkpoint atomically; returns what the record beside it must hold for `load_checkpoint`
    to accept it: `{SHA256_KEY: the file's sha256}`."""
    ckpt = {
        "format": FORMAT,
        "method": method,
        "level": level,
        "arch": arch,
        "state_dict": _plain(model.state_dict()),
        "extra": _plain(extra or {}),
        "meta": meta,
    }
    # Saved through a file object: given a path, torch.save names the archive's records after
    # the file, here a random temporary name, and identical weights would give other bytes.
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            torch.save(ckpt, f)
        return {SHA256_KEY: sha256_of(tmp)}


def _recorded_sha256(path: Path) -> tuple[str, Path] | None:
    """The sha256 the record beside the checkpoint holds for it, and that record; None without one."""
    for name in RECORDS:
        record = path.with_name(name)
        if record.is_file():
            try:
                expected = read_json(record).get(SHA256_KEY)
            except (ValueError, AttributeError):
                return None  # an unreadable record: its own job's problem, the checkpoint's load decides
            return (expected, record) if expected else None
    return None


def load_checkpoint(path) -> dict:
    """Read a checkpoint safely; every failure names the file and what to do."""
    path = Path(path)
    redo = rebuild_advice(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found; {redo}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as e:
        # weights_only refuses a global it does not allow (a function like os.system or exec, a class):
        # the file asks to run code when unpickled. torch words this differently from case to case,
        # so the file's own opcodes say which global it is (frbench.pickle_globals). Anything else is damage.
        refused = refused_globals(path)
        if refused:
            raise CheckpointError(
                f"{path}: refused: the file asks to run code ({', '.join(refused)}) when it is loaded, which "
                f"no frbench checkpoint does; it may have been crafted to. Do not load it with weights_only=False; "
                f"{redo}") from None
        what = "not a torch file" if isinstance(e, pickle.UnpicklingError) else type(e).__name__
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({what}); {redo}") from None
    recorded = _recorded_sha256(path)
    changed = recorded and mismatch(path, *recorded)
    if changed:
        raise CheckpointError(changed)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an frbench checkpoint of format {FORMAT}; {redo}")
    for key in ("method", "level", "arch", "state_dict"):
        if key not in ckpt:
            raise CheckpointError(f"{path}: checkpoint lacks the key {key!r}; {redo}")
    ckpt.setdefault("extra", {})
    return ckpt
