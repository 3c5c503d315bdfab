"""The checkpoint format every method writes and every later stage reads.

A checkpoint rebuilds its model from data, never from pickled code (nanoGPT's
`model_args`): `{"format", "method", "level", "arch", "state_dict", "extra", "meta"}`.
`arch` is JSON-able and means something only to the method named, which rebuilds
an empty model from it (`Method.rebuild`) before the state dict is loaded; `extra`
holds the plain tensors the method needs again beside the model's own
(`Method.extra_state`). Files load with `torch.load(weights_only=True)`, so a file
crafted to run code on unpickling is refused. `frbench.methods.load_trained` reads
a checkpoint back into its method and model.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch
import torch.nn as nn

from .errors import CheckpointError
from .io import atomic_path

FORMAT = 1


def _plain(tensors: dict) -> dict:
    return {k: v.detach().cpu().clone() for k, v in tensors.items()}


def save_checkpoint(path, *, method: str, level: str, arch: dict, model: nn.Module, meta: dict,
                    extra: dict | None = None) -> None:
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
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(ckpt, f)


def load_checkpoint(path) -> dict:
    """Read a checkpoint safely; every failure names the file and what to do."""
    path = Path(path)
    redo = "delete it and rerun the rule that writes it (snakemake reruns it when it is missing)"
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found; rerun the rule that writes it")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # weights_only refuses a global it does not allow (a class, a function like exec):
        # the file may be crafted to run code. Anything else is damage.
        refused = [line.strip() for line in str(e).splitlines() if "Unsupported global" in line]
        if refused:
            raise CheckpointError(
                f"{path}: refused to load: it holds objects other than tensors and plain data "
                f"(weights_only=True; {refused[0].split('.')[0]}). It may have been crafted to run code; "
                f"do not load it: {redo}"
            ) from None
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint (not a torch file); {redo}") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({type(e).__name__}); {redo}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an frbench checkpoint of format {FORMAT}; {redo}")
    for key in ("method", "level", "arch", "state_dict"):
        if key not in ckpt:
            raise CheckpointError(f"{path}: checkpoint lacks the key {key!r}; {redo}")
    ckpt.setdefault("extra", {})
    return ckpt

