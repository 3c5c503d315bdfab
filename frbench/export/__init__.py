"""Exporters, one per phone format: `EXPORTERS.get("ptl")`.

An exporter answers `write(model, example, path, calibration=None) -> dict` (facts
about how it exported; `calibration(n)` gives the first n training images to an exporter
whose quantizer calibrates) and `stored_tensors(path) -> dict[str, Tensor]` (the tensors the file
holds, read back from the file, so that compression is measured on what a phone
downloads rather than on a method's bookkeeping).
"""

from ..registry import Registry

EXPORTERS = Registry("exporter (model format)")

from . import ptl  # noqa: E402,F401  (registers "ptl")
from . import pte  # noqa: E402,F401  (registers "pte")
from .job import export_model  # noqa: E402

__all__ = ["EXPORTERS", "export_model"]
