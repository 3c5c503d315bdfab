"""Files checked against the sha256 their record holds, before they are used.

A job that writes a file records its sha256 beside it: the training record (`train.json`, or
`reference.json` for the imported paper model) holds its checkpoint's, the export record
(`export_{fmt}.json`) its file's and its weights-only update's. A later job that uses the file
checks it first (`frbench.checkpoint.load_checkpoint`, `frbench.bench.verify`), so a file changed
after it was written (damaged, edited, swapped for another) is refused, naming the file, its
record and the command that rebuilds both, instead of being exported or benchmarked as if it were
the one the record describes.
"""

from __future__ import annotations

import hashlib
import os

from .advice import rebuild_advice

_CHUNK = 1 << 20


def sha256_of(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes, read a megabyte at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def mismatch(path: str | os.PathLike, expected: str, record: str | os.PathLike) -> str | None:
    """None when the file at `path` has the sha256 `expected` (as `record` holds it); else the sentence
    that says so, naming the file, the record and the command that rebuilds them."""
    actual = sha256_of(path)
    if actual == expected:
        return None
    return (f"{path}: its sha256 ({actual[:16]}...) is not the {expected[:16]}... that {record} holds: the file "
            f"changed after it was written (damaged, edited or replaced), so it is not the model that record "
            f"describes; {rebuild_advice(path)}")
