"""Where a result came from: git commit and dirty flag, config hash, package
versions, host. Gathered into `results/provenance.json` and the report's footer."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from .hostinfo import cpu_model

CODE_DIR = Path(__file__).resolve().parent  # the frbench checkout whose commit every result names
PACKAGES = ("frbench", "torch", "executorch", "snakemake", "numpy", "pandas", "scipy", "seaborn", "matplotlib",
            "scikit-image", "psutil", "adbutils", "jinja2", "torch-pruning", "tensorly")


def _git(*args: str, cwd: Path) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def git_state(cwd: str | Path = ".") -> dict:
    cwd = Path(cwd)
    commit = _git("rev-parse", "HEAD", cwd=cwd)
    status = _git("status", "--porcelain", "--untracked-files=no", cwd=cwd)
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def package_versions() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def stamp(settings: dict, threads: int) -> dict:
    """What every result file carries about where it came from: the code (git commit and
    dirty flag of the frbench checkout), a hash of the settings this job ran with, the
    package versions, the CPU and the thread count the job's model ran with."""
    return {"git": git_state(CODE_DIR), "settings_hash": config_hash(settings),
            "packages": package_versions(), "python": platform.python_version(), "cpu": cpu_model(),
            "threads": threads}


def collect(config: dict) -> dict:
    """results/provenance.json: the study as a whole (the config as run, and its hash)."""
    return {"git": git_state(CODE_DIR), "config_hash": config_hash(config), "config": config,
            "packages": package_versions(), "python": platform.python_version(),
            "host": {"cpu": cpu_model(), "machine": platform.machine(), "system": platform.platform()}}
