"""Where the time goes: a short table per model from its profile (frbench.bench.profile), linked to the
whole profile in results/profiles/. The stand-in profiles (an eager model where the runtime could not
be profiled) are labelled as such, with the reason."""

from __future__ import annotations

import os

import pandas as pd

GROUP = ["method", "level", "fmt", "device"]


def profile_rows(summary: pd.DataFrame, report_dir: str | None = None) -> list[dict]:
    """One entry per model, format and device: its profile's source, the costliest operators of a later
    call, FR's first-call extra (its unpack) and the load's operator share, and the profile file of its
    first seed (relative to the report's folder where given, so that the link works from the report)."""
    if "profile_top" not in summary:
        return []
    ok = summary[summary["error"].isna()]
    out = []
    for key, rows in ok.groupby(GROUP, sort=True):
        first = rows.sort_values("seed").iloc[0]
        if pd.isna(first.get("profile_top")) and pd.isna(first.get("profile_unavailable")):
            continue
        file = first.get("profile_file")
        if isinstance(file, str) and report_dir:
            file = os.path.relpath(file, report_dir) if os.path.isabs(file) else os.path.relpath(file, report_dir)
        out.append({**dict(zip(GROUP, key)), "source": _text(first.get("profile_source")),
                    "stand_in": _text(first.get("profile_stand_in")), "unavailable": _text(first.get("profile_unavailable")),
                    "top": [part.rsplit(" ", 1) for part in str(first.get("profile_top") or "").split("; ") if part],
                    "first_call_extra_share": _number(rows["first_call_extra_share"].mean()),
                    "load_ops_share": _number(rows["load_ops_share"].mean()),
                    "file": file if isinstance(file, str) else None})
    return out


def _text(v):
    return v if isinstance(v, str) and v else None


def _number(v):
    return None if v is None or pd.isna(v) else float(v)
