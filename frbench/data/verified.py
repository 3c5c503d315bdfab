"""Image files already decoded in full and found sound, so that a dataset folder of thousands of
images is decoded once, not at every snakemake invocation (every dry run, and under a cluster
executor every job, parses the workflow and so checks the folder).

A file counts as verified for one use (`image` or `mask`) while its size, modification time and
inode are those it had when it passed; any change to the file, or a new version of the checks
(`RULES`), decodes it again. The record is a JSON file in the user's cache folder
(`$FRBENCH_CACHE_DIR`, else `$XDG_CACHE_HOME/frbench`, else `~/.cache/frbench`); deleting it
only costs one slow check. Files that no longer exist are dropped when it is saved.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..io import atomic_write_json

RULES = 3  # bump when what a check verifies changes (frbench.data.folder): older verdicts no longer hold


def cache_dir() -> Path:
    if os.environ.get("FRBENCH_CACHE_DIR"):
        return Path(os.environ["FRBENCH_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "frbench"


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


class Verified:
    """The record of verified files: `(use, path) in verified`, `verified.add(use, path)`, `save()`."""

    def __init__(self, record: Path | None = None):
        self.record = record or cache_dir() / "verified_images.json"
        self.files: dict[str, list[int]] = {}
        self.changed = False
        try:
            stored = json.loads(self.record.read_text(encoding="utf-8"))
            if stored.get("rules") == RULES:
                self.files = dict(stored["files"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # no record yet, or an unreadable one: everything is checked again

    @staticmethod
    def _key(use: str, path: Path) -> str:
        return f"{use}:{path.resolve()}"

    def __contains__(self, item: tuple[str, Path]) -> bool:
        use, path = item
        try:
            return self.files.get(self._key(use, path)) == _stamp(path)
        except OSError:
            return False

    def add(self, use: str, path: Path) -> None:
        self.files[self._key(use, path)] = _stamp(path)
        self.changed = True

    def save(self) -> None:
        """Write the record, if anything was added; a cache that cannot be written is skipped."""
        if not self.changed:
            return
        kept = {key: stamp for key, stamp in self.files.items() if Path(key.split(":", 1)[1]).exists()}
        try:
            atomic_write_json(self.record, {"rules": RULES, "files": kept})
        except OSError:
            pass  # a read-only home: the next run checks again
        self.changed = False
