"""Exporters, one per phone format: `EXPORTERS.get("ptl")`, each an `Exporter`.

The export job (`job.export_model`) loads a trained model through its method
(`frbench.methods.load_trained`), asks the method for its declared form of that format
(`Method.export_form` -> `frbench.contract.ExportForm`), and hands the form to the exporter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from ..contract import ExportForm
from ..registry import Registry


@dataclass(frozen=True)
class UpdateFiles:
    """Where an export writes its weights-only update: the program a phone keeps (`program`) and the
    weights file it downloads to replace the program's weights (`weights`)."""

    program: Path
    weights: Path


class Exporter(Protocol):
    def write(self, form: ExportForm, example: torch.Tensor, path: Path, update: UpdateFiles | None = None) -> dict:
        """Write the form's file for input shape `example`, and with `update` the same model as program
        plus weights file; return facts about how it was exported (`weights_update`: the update's
        bytes, or the `error` that says why this model has none; its files are then empty)."""

    def stored_tensors(self, path: Path) -> dict[str, torch.Tensor]:
        """The tensors the file holds, read back from the file, so that compression is measured on
        what a phone downloads rather than on a method's bookkeeping."""

    def graph(self, path: Path) -> dict:
        """The graph the file runs (`frbench.export.graph.graph_record`)."""

    def split(self, path: Path) -> dict:
        """Where the file's bytes go, read back from it: `program` (bytecode or instructions, a
        delegate's graph), `weights` (tensor data) and `container` (the rest); they add up to its size."""


EXPORTERS: Registry[Exporter] = Registry("exporter (model format)")

from . import ptl  # noqa: E402,F401  (registers "ptl")
from . import pte  # noqa: E402,F401  (registers "pte")
from .job import export_model  # noqa: E402

__all__ = ["EXPORTERS", "Exporter", "UpdateFiles", "export_model"]
