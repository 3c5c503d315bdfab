"""The check a benchmark makes before it runs anything: the exported file, and its weights-only
update pair, are the files their export record describes (DESIGN.md, "Before a file is benchmarked
it is checked against the sha256 its export record holds").

One function, called by the benchmark job for every device and format (`frbench.bench.job`), so a
runner or a runtime never needs its own check: a `.pte` whose weights were zeroed after export, or
a `.ptl` copied over from another study, is refused naming the file, the record and the command
that rebuilds them, instead of being benchmarked as the model the record measured.
"""

from __future__ import annotations

from ..errors import BenchError
from ..integrity import mismatch

#: the sha256 keys of an export record (`frbench.export.job`): the file's, and its update pair's
#: under `exporter.weights_update` (records written before frbench kept those have none, and are not checked)
PAIR_KEYS = ("program_sha256", "data_sha256")


def check_exported(record_path: str, record: dict, model: str | None = None,
                   update: tuple[str, str] | None = None) -> None:
    """Raise `BenchError` unless `model` (the exported file) and `update` (its pair: program, weights
    file), those given, have the sha256 the export record at `record_path` (read as `record`) holds."""
    written = (record.get("exporter") or {}).get("weights_update") or {}
    files = [(model, record.get("sha256"))] if model is not None else []
    files += [(path, written.get(key)) for path, key in zip(update or (), PAIR_KEYS)]
    for path, expected in files:
        changed = expected and mismatch(path, expected, record_path)
        if changed:
            raise BenchError(changed)
