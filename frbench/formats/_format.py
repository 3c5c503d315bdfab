"""The format contract: what a phone format declares, and what the export job, the benchmark worker
and the Android runner ask of it (DESIGN.md, "Formats are plug-ins too")."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..contract import ExportForm
from .profiling import ProfileUnavailable


@dataclass(frozen=True)
class UpdateFiles:
    """Where an export writes its weights-only update: the program a phone keeps (`program`) and the
    weights file it downloads to replace the program's weights (`weights`)."""

    program: Path
    weights: Path


class Format(abc.ABC):
    """One phone format: its file, read back; its runtime on the host; its runner on Android.

    Subclass it in `frbench/formats/<name>` and decorate the class with `@register_format`; each
    use makes a fresh instance (`get_format(name)`). Every abstract method must be implemented,
    or registration refuses the class, naming what is missing. For example::

        fmt = get_format("onnx")
        facts = fmt.write(form, example, Path("model.onnx"), UpdateFiles(program, weights))
        split = fmt.split("model.onnx")            # {"program": ..., "weights": ..., "container": ...}
        fmt.prepare()                              # the runtime's library, before anything is timed
        loaded = fmt.load("model.onnx")            # what the benchmark times as load_ms
        y = fmt.run(loaded, x)                     # one inference, batch 1

    The runtime runs with `torch.get_num_threads()` intra-op threads (the benchmark worker has
    fixed it to the plan's `threads`; the export job to its own).
    """

    #: the `fmt` wildcard, the config's `formats` entry and the file's suffix (`model.ptl`)
    name: str = ""
    #: the runtime's name in every record (`runtime.name`), e.g. "pytorch-lite"
    runtime: str = ""
    #: the Java class of the Android app's flavor `name` that runs the file
    #: (android_bench/app/src/<name>/java/org/frbench/bench/<android_runner>.java)
    android_runner: str = ""

    # ---- export and read back ------------------------------------------------------------------

    @abc.abstractmethod
    def write(self, form: ExportForm, example: torch.Tensor, path: Path, update: UpdateFiles | None = None) -> dict:
        """Write the form's file for input shape `example`, and with `update` the same model as program
        plus weights file; return facts about how it was exported (`weights_update`: the update's
        bytes, or the `error` that says why this model has none; its files are then empty)."""

    @abc.abstractmethod
    def stored_tensors(self, path: Path) -> dict[str, torch.Tensor]:
        """The tensors the file holds, read back from the file, so that compression is measured on
        what a phone downloads rather than on a method's bookkeeping."""

    @abc.abstractmethod
    def graph(self, path: Path) -> dict:
        """The graph the file runs (`frbench.formats.graph.graph_record`)."""

    @abc.abstractmethod
    def split(self, path: Path) -> dict:
        """Where the file's bytes go, read back from it: `program` (bytecode, instructions, a graph),
        `weights` (tensor data) and `container` (the rest); they add up to its size."""

    # ---- the host runtime ------------------------------------------------------------------------

    @abc.abstractmethod
    def runtime_version(self) -> str:
        """The version of the runtime that loads the file here."""

    def prepare(self) -> None:
        """Load the runtime's own library and settle its engine, before anything is timed or measured
        (default: nothing to do)."""

    @abc.abstractmethod
    def load(self, path, weights=None) -> Any:
        """The file at `path`, ready to run; with `weights` (the weights file of a weights-only update),
        the program at `path` with those weights. A file the runtime cannot read raises, naming it and
        the command that rebuilds it."""

    @abc.abstractmethod
    def run(self, loaded: Any, x: torch.Tensor) -> torch.Tensor:
        """One inference of the loaded file on `x`; its first output as a tensor."""

    def profile(self, path, weights, x: torch.Tensor, runs: int) -> dict:
        """Where the time goes: one fresh load of the file, its first inference and `runs` later calls,
        per operator, from the runtime's own profiler (`frbench.formats.profiling`: a dict of the phases
        `load`, `first_inference`, `inference`, and `source`, what recorded them). Raises
        `ProfileUnavailable`, saying why, where the runtime has no profiler here (the default); the
        benchmark then profiles a stand-in and labels it so."""
        raise ProfileUnavailable(f"{self.runtime} has no profiler frbench can read")

    def session(self, loaded: Any) -> dict:
        """How the runtime was set up to run `loaded` (graph optimizations, threads, providers), as the
        result's `metadata.session` records it; default: nothing beyond the plan's threads."""
        return {}
