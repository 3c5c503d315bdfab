"""What the benchmark scripts share: running a study with Snakemake in a directory of its own,
and reading the rows of its `results/summary.csv`.

Used by benchmarks/time_study.py, benchmarks/methods.py and benchmarks/formats.py (run as scripts, which puts this
folder on sys.path).
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def add_study_arguments(ap) -> None:
    """--config and --cores, as every study benchmark takes them."""
    ap.add_argument("--config", default="config/config.yaml", help="the study's config (default: %(default)s)")
    ap.add_argument("--cores", default="8", help="snakemake --cores (default: %(default)s)")


def snakemake_command(workdir: Path, configfile: Path, cores: str, target: str = "all") -> list[str]:
    return [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "workflow" / "Snakefile"),
            "--directory", str(workdir), "--configfile", str(configfile), "--cores", str(cores), target]


def run_study(workdir: Path, configfile: Path, cores: str) -> tuple[subprocess.CompletedProcess, float]:
    """Run `snakemake all` in `workdir` (results/ lands there); print the command; return the
    finished process (its output captured) and its wall seconds; a failed run's last lines go to
    stderr. Snakemake redoes only what is missing or out of date, so a second run in the same
    directory is quick."""
    cmd = snakemake_command(workdir, configfile, cores)
    print("running:", " ".join(cmd), flush=True)
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr)
    return proc, time.monotonic() - t0


def result_rows(workdir: Path, table: str = "summary.csv") -> list[dict]:
    """The rows of one of the study's tables (results/summary.csv, results/comparisons.csv), as
    strings (empty: missing)."""
    with (workdir / "results" / table).open() as f:
        return list(csv.DictReader(f))


def number(value: str | None) -> float:
    """A summary cell as a float; NaN when empty."""
    return float(value) if value not in (None, "", "nan", "NaN") else float("nan")
