"""`results/report.html`: one self-contained file (figures inlined as data URIs, no
network), rendered by Jinja2 with autoescape on, so text from config or result
files never becomes markup."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import jinja2
import pandas as pd

from .controls import GROUP
from .heap import heap_table, reference_heap
from .phone_memory import PHONE_REPORTED, reference_memory
from .profiles import profile_rows
from .runtimes import DICE_TOLERANCE, runtime_table
from .significance import TEST_NAME
from .tables import answers, comparison, fmt_num, is_missing


def _data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(png).read_bytes()).decode()


def fmt_bytes(x) -> str:
    if is_missing(x):
        return "–"
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.4g} {unit}"
    return f"{x:.0f} B"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("frbench.report", "templates"),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                             undefined=jinja2.StrictUndefined)
    env.filters.update(num=fmt_num, bytes=fmt_bytes, signed=lambda x: f"{x:+.3f}".replace("-", "−"),
                       fixed=lambda x, digits: "–" if is_missing(x) else f"{x:.{digits}f}", mixed_fields=mixed_fields)
    return env


def mixed_fields(text: str) -> str:
    """The fields a `mixed_metadata` text names ("threads: 1, 2; torch: 2.12.0, 2.13.0" -> "threads, torch"):
    the flag's short form; the values go in its tooltip and in "Seeds pooled with differing metadata"."""
    return ", ".join(part.split(":", 1)[0].strip() for part in str(text).split(";") if part.strip())


def _records(df: pd.DataFrame) -> list[dict]:
    return df.astype(object).where(df.notna(), None).to_dict("records")


FLAT_GAIN = 0.005  # config/README.md: a baseline whose last quarter of epochs gains less has converged


def convergence(summary: pd.DataFrame, baseline: str = "baseline") -> dict | None:
    """How settled the baseline's training was: its mean best epoch, the mean and largest gain of
    its best validation Dice over the last quarter of the epochs (`last_quarter_gain`; under 0.005
    the curve is flat), and the number of seeds. None where no baseline trained."""
    base = summary[summary["method"].eq(baseline)].drop_duplicates("seed")
    if "last_quarter_gain" not in base or base["last_quarter_gain"].dropna().empty:
        return None
    gains = base["last_quarter_gain"].dropna()
    return {"seeds": len(gains), "mean_gain": float(gains.mean()), "max_gain": float(gains.max()),
            "best_epoch": float(base["best_epoch"].mean()), "epochs": float(base["epochs"].mean()),
            "flat": bool(gains.max() < FLAT_GAIN)}


def render_report(summary: pd.DataFrame, comparisons: pd.DataFrame, figures: dict[str, Path], provenance: dict,
                  rerun: str, dice_budget: float, fidelity_tolerance: float, report_dir: str | None = None) -> str:
    table = comparison(summary, comparisons, fidelity_tolerance)
    # seeds pooled with differing runtime, versions or thread counts (summary.mixed_metadata): flagged per row
    mixed = table.loc[table["mixed_metadata"].notna(), [*GROUP, "mixed_metadata"]]
    best = answers(table, dice_budget)
    devices = (summary.dropna(subset=["device_name"]).groupby("device")["device_name"].first().to_dict()
               if "device_name" in summary else {})
    failed = summary[summary["error"].notna()]
    unstable = summary[summary["warnings"].fillna("") != ""]
    ok = summary[summary["error"].isna()]
    # every thread count the successful rows ran with, never one row's for all: "unknown" where a runtime
    # could not set it (null in the result file)
    threads = [str(t) for t in sorted({int(t) for t in ok["threads"].dropna()})] if "threads" in ok else []
    if "threads" in ok and ok["threads"].isna().any():
        threads.append("unknown")
    runtime_formats, runtimes = runtime_table(summary)
    return _environment().get_template("report.html.j2").render(
        runtimes=_records(runtimes), runtime_formats=runtime_formats, runtime_dice_tolerance=DICE_TOLERANCE,
        answers=_records(best), table=_records(table), rows=_records(summary), mixed=_records(mixed),
        failed=_records(failed), unstable=_records(unstable), convergence=convergence(summary),
        figures={name: _data_uri(path) for name, path in figures.items()}, threads=threads,
        provenance=provenance, devices=devices, rerun=rerun, dice_budget=dice_budget, flat_gain=FLAT_GAIN,
        fidelity_tolerance=fidelity_tolerance, test_name=TEST_NAME,
        reference_memory=reference_memory(summary), phone_reported=PHONE_REPORTED,
        heap=_records(heap_table(summary)), reference_heap=reference_heap(summary),
        profiles=profile_rows(summary, report_dir),
        generated=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
