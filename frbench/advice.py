"""The commands an error message tells the user to run: one home, so that every piece of advice
is a command that works as written (tests/test_advice.py runs them on the tiny study).

Why not "delete it and rerun": snakemake leaves a missing intermediate file alone while what was
made from it exists (`snakemake all` then says "Nothing to be done"), so deleting a damaged
checkpoint or `.ptl` does not rebuild it. `--forcerun FILE` does: it reruns the job that writes
FILE and every job downstream of it, and `all` finishes the study.

The study's config file(s) must be in the command too, or snakemake would rebuild the default
study's file. The workflow puts them in the environment of every job it starts
(`FRBENCH_CONFIGFILES`, set by workflow/rules/common.smk from `--configfile`), where the jobs that
write error messages read them.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

CONFIGFILES_ENV = "FRBENCH_CONFIGFILES"  # os.pathsep-separated; empty or unset: the default config
STDERR_LOG_ENV = "FRBENCH_STDERR_LOG"  # where a process's stderr ends up when it is relayed there (a worker's)


def configfiles() -> list[str]:
    """The `--configfile` paths of the snakemake run this job belongs to (none: the default study)."""
    return [p for p in os.environ.get(CONFIGFILES_ENV, "").split(os.pathsep) if p]


def shown_path(path: str | os.PathLike) -> str:
    """`path` relative to the working directory when it lies under it (what snakemake's targets are),
    else absolute."""
    absolute = Path(path).absolute()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def snakemake_command(*args: str, files: list[str] | None = None, cores: str = "1") -> str:
    """`snakemake --cores CORES all ARGS... [--configfile FILES...]`, quoted for a POSIX shell. The target
    comes first: `--forcerun` and `--configfile` take every word after them up to the next option."""
    files = configfiles() if files is None else files
    words = ["snakemake", "--cores", cores, "all", *args]
    if files:
        words += ["--configfile", *(shown_path(f) for f in files)]
    return shlex.join(words)


def rebuild_command(path: str | os.PathLike) -> str:
    """The command that rewrites `path` (a result file of the study), redoes everything made from it
    and finishes the study."""
    return snakemake_command("--forcerun", shown_path(path))


def rebuild_advice(path: str | os.PathLike) -> str:
    """The sentence an error message ends with when `path` is damaged: what to run."""
    return f"rebuild it and what was made from it with `{rebuild_command(path)}`"


def stderr_log() -> str | None:
    """The file this process's stderr ends up in, for a message that says where a library logged its
    reason (ExecuTorch prints only an error code, and its reason to stderr): the job's log, which
    snakemake's rule sends stderr to (`> {log} 2>&1`), or, for a benchmark worker whose stderr the
    host runner relays into that log, what the runner names in `STDERR_LOG_ENV`. None when unknown."""
    if os.environ.get(STDERR_LOG_ENV):
        return os.environ[STDERR_LOG_ENV]
    try:
        target = os.readlink("/proc/self/fd/2")  # Linux; elsewhere, unknown
    except OSError:
        return None
    return shown_path(target) if os.path.isfile(target) else None
