"""Shared by tests/test_methods_*.py: compress the tiny baseline with one method at
one level through the real train job (frbench.build.build_model), then reload it
the way every later stage does."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from frbench.build import build_model
from frbench.export import export_model
from frbench.methods import load_model

from conftest import TINY_UNET

FINETUNE = {"epochs": 2, "batch_size": 4, "lr": 0.001}


def compress(tmp_path: Path, dataset: Path, baseline: Path, method: str, level: str, **params) -> tuple[Path, dict]:
    """Run the train job; return the checkpoint path and the train.json record."""
    config = {"unet": TINY_UNET, "finetune": FINETUNE, "options": params}
    out, record = tmp_path / f"{method}-{level}.pt", tmp_path / f"{method}-{level}.json"
    build_model(method=method, level=level, seed=0, data=str(dataset), config=config, out=out, record_out=record,
                inputs={"start": str(baseline)}, threads=1, progress=False)
    return out, json.loads(record.read_text())


def reload(path: Path):
    """Rebuild from the checkpoint as export does (weights_only=True), checking the arch is plain JSON."""
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert json.loads(json.dumps(raw["arch"])) == raw["arch"]
    model, ckpt = load_model(path)
    return model, ckpt


def export(tmp_path: Path, checkpoint: Path, dataset: Path, method: str, level: str, fmt: str = "ptl") -> dict:
    """Export to .ptl (or `fmt`) and run it in its runtime (export_model checks fidelity there)."""
    suffix = "" if fmt == "ptl" else f".{fmt}"
    return export_model(key={"method": method, "level": level, "seed": 0, "fmt": fmt}, checkpoint=str(checkpoint),
                        data=str(dataset), out=str(tmp_path / f"{method}-{level}.{fmt}"),
                        record_out=str(tmp_path / f"{method}-{level}.export{suffix}.json"), threads=1)
