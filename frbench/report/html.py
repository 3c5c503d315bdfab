"""`results/report.html`: one self-contained file (figures inlined as data URIs, no
network), rendered by Jinja2 with autoescape on, so text from config or result
files never becomes markup."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import jinja2
import pandas as pd

from .controls import GROUP, TEST_NAME, control_descriptions
from .convergence import convergence
from .decisions import TEST_NAME as ANSWER_TEST
from .decisions import baseline_of
from .heap import heap_table, reference_heap
from .phone_memory import PHONE_REPORTED, reference_memory
from .profiles import profile_rows
from .runtimes import DICE_TOLERANCE, runtime_table
from .tables import comparison, fmt_num, is_missing


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
    env.filters.update(num=fmt_num, bytes=fmt_bytes, signed=signed, interval=interval,
                       fixed=lambda x, digits: "–" if is_missing(x) else f"{x:.{digits}f}", mixed_fields=mixed_fields)
    return env


def interval(mean, low, high, digits: int = 3) -> str:
    """A bounded interval as a table cell's second line: "± 0.015" where it is symmetric about the mean,
    "0–0.669" where the metric's range cut it (at exactly 0 or 1, printed so)."""
    if is_missing(low) or is_missing(high):
        return ""
    if abs((high - mean) - (mean - low)) < 0.5 * 10**-digits:
        return f"± {(high - low) / 2:.{digits}f}"
    end = lambda v: f"{v:g}" if v in (0, 1) else f"{v:.{digits}f}"  # noqa: E731
    return f"{end(low)}–{end(high)}"


def signed(x, digits: int = 3) -> str:
    """A difference with its sign and a true minus: +0.012, −0.750."""
    return "–" if is_missing(x) else f"{x:+.{digits}f}".replace("-", "−")


def mixed_fields(text: str) -> str:
    """The fields a `mixed_metadata` text names ("threads: 1, 2; torch: 2.12.0, 2.13.0" -> "threads, torch"):
    the flag's short form; the values go in its tooltip and in "Seeds pooled with differing metadata"."""
    return ", ".join(part.split(":", 1)[0].strip() for part in str(text).split(";") if part.strip())


def _records(df: pd.DataFrame) -> list[dict]:
    return df.astype(object).where(df.notna(), None).to_dict("records")


def render_report(summary: pd.DataFrame, comparisons: pd.DataFrame, answers: pd.DataFrame, figures: dict[str, Path],
                  provenance: dict, rerun: str, dice_budget: float, fidelity_tolerance: float,
                  curves: pd.DataFrame | None = None, convergence_tolerance: float = 0.01,
                  report_dir: str | None = None, controls: dict[str, str] | None = None) -> str:
    """The report from the study's tables: summary.csv, comparisons.csv, answers.csv (frbench.report.decisions)
    and curves.csv (for the baseline's convergence; none: not shown); `report_dir` is where the report is written, so
    that its links to results/profiles/ are relative to it; `controls`: what each control method is
    (`frbench.methods.describe_controls`; none: read from the registry)."""
    table = comparison(summary, comparisons, fidelity_tolerance)
    # seeds pooled with differing runtime, versions or thread counts (summary.mixed_metadata): flagged per row
    mixed = table.loc[table["mixed_metadata"].notna(), [*GROUP, "mixed_metadata"]]
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
    # what differs between the seeds pooled is read from the summary rendered, as the tables read it
    answers = answers.drop(columns="mixed_metadata", errors="ignore").merge(
        table[[*GROUP, "mixed_metadata"]], on=GROUP, how="left")
    base = baseline_of(summary)
    trained = None if curves is None or base is None else convergence(curves, *base, convergence_tolerance)
    runtime_formats, runtimes = runtime_table(summary)
    return _environment().get_template("report.html.j2").render(
        runtimes=_records(runtimes), runtime_formats=runtime_formats, runtime_dice_tolerance=DICE_TOLERANCE,
        answer=answer_view(answers), table=_records(table), rows=_records(summary), mixed=_records(mixed),
        failed=_records(failed), unstable=_records(unstable), convergence=trained,
        controls=control_descriptions(controls), figures={name: _data_uri(path) for name, path in figures.items()},
        threads=threads, provenance=provenance, devices=devices, rerun=rerun, dice_budget=dice_budget,
        fidelity_tolerance=fidelity_tolerance, test_name=TEST_NAME, answer_test=ANSWER_TEST,
        reference_memory=reference_memory(summary), phone_reported=PHONE_REPORTED,
        heap=_records(heap_table(summary)), reference_heap=reference_heap(summary),
        profiles=profile_rows(summary, report_dir),
        generated=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


def answer_view(answers: pd.DataFrame) -> dict:
    """answers.csv as "The answer" shows it: every row, the overall picks and, per method, format and
    device, its picks, its undecided levels and the simpler alternatives its rows name."""
    answers = answers.assign(overall=answers["overall"].fillna(""),
                             seeds_to_decide=answers["seeds_to_decide"].astype("Int64"))
    rows = _records(answers.sort_values(GROUP))
    per_method = []
    for (method, fmt, device), group in answers.groupby(["method", "fmt", "device"], sort=True):
        if group["role"].eq("baseline").all() or group["own_dense"].astype(bool).all():
            continue
        pick = lambda column: _records(group[group[column].astype(bool)])[0] if group[column].astype(bool).any() else None  # noqa: E731
        per_method.append({"method": method, "fmt": fmt, "device": device, "role": group["role"].iloc[0],
                           "smallest": pick("picked"), "fastest": pick("picked_fastest"),
                           "undecided": _records(group[group["quality"].eq("undecided")]),
                           "simpler": [(r["level"], r["simpler"]) for r in _records(group) if r["simpler"]]})
    per_method.sort(key=lambda m: (m["role"] == "control", m["method"], m["fmt"], m["device"]))
    overall = [r for r in rows if isinstance(r.get("overall"), str) and r["overall"]]
    family = answers[answers["p_holm"].notna()].groupby(["fmt", "device"]).size()
    return {"rows": rows, "methods": per_method, "overall": overall, "tested": int(family.max()) if len(family) else 0}
