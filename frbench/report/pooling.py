"""Seeds pooled into one report row: mean and 95 % interval over seeds, and whether they may be pooled.

Seeds pooled into one report row (`seed_table`) must have run under the same conditions, as
pyperf checks a benchmark's metadata before it merges runs: the runtime (name and version),
the frbench and torch versions, the thread count and the allocator (`POOLED_METADATA`). Where they differ
the row is kept, never refused (a bad input loses no other result), but flagged: its
`mixed_metadata` names each differing field with its values ("threads: 1, 2"), the report
shows it, and `gather` warns on stderr.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .controls import GROUP


def seed_table(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Mean and 95 % t-interval half-width over seeds, per (method, level, fmt, device); and
    `mixed_metadata`, what differs between the seeds pooled (`differing_metadata`), or None."""
    groups = df[df["error"].isna()].groupby(GROUP, sort=True)
    out = groups.size().rename("seeds").to_frame()
    for col in columns:
        if col not in df:  # a summary written before the column existed
            out[col] = out[col + "_ci95"] = np.nan
            continue
        g = groups[col]
        n, sd = g.count(), g.std(ddof=1)
        t = stats.t.ppf(0.975, np.maximum(n - 1, 1))
        out[col] = g.mean()
        out[col + "_ci95"] = np.where(n > 1, t * sd / np.sqrt(n), np.nan)
    # flagged where the seeds pooled here did not run under the same conditions (see POOLED_METADATA)
    out["mixed_metadata"] = pd.Series([differing_metadata(g) for _, g in groups], index=out.index, dtype=object)
    if "method_facts" in df:
        out["method_facts"] = pd.Series([_one_value(g["method_facts"]) for _, g in groups], index=out.index, dtype=object)
    return out.reset_index()


def _one_value(values: pd.Series) -> str | None:
    """The seeds' common text, or a pointer to the per-seed rows where they differ."""
    shown = set(values.dropna())
    return shown.pop() if len(shown) == 1 else ("differ by seed (summary.csv)" if shown else None)


# What the seeds pooled into one row must share (summary.csv column: how the flag names it). Older
# summaries lack some columns: those are not checked.
POOLED_METADATA = {"runtime": "runtime", "runtime_version": "runtime version", "frbench_version": "frbench",
                   "torch_version": "torch", "threads": "threads", "allocator": "allocator"}


def _shown(value) -> str:
    """A metadata value as the flag prints it: 2.0 (a CSV's integer column with a gap) as 2, a gap as "none"."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return "none"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _sort_key(text: str):
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def differing_metadata(rows: pd.DataFrame) -> str | None:
    """Which of POOLED_METADATA differ between `rows` (the seeds pooled into one report row) and their
    values, "threads: 1, 2; torch: 2.12.0, 2.13.0"; None where they agree. A missing value counts as a
    value of its own, "none": it is not known to agree."""
    differ = []
    for col, name in POOLED_METADATA.items():
        if col not in rows:
            continue
        values = sorted({_shown(v) for v in rows[col].astype(object)}, key=_sort_key)
        if len(values) > 1:
            differ.append(f"{name}: {', '.join(values)}")
    return "; ".join(differ) or None


def mixed_metadata(df: pd.DataFrame) -> pd.DataFrame:
    """Per (method, level, fmt, device) with a successful seed: `mixed_metadata`, what differs between
    the successful seeds pooled into that row (`differing_metadata`), or None."""
    return seed_table(df, [])[[*GROUP, "mixed_metadata"]]


def metadata_warnings(df: pd.DataFrame) -> list[str]:
    """One line per row whose pooled seeds differ in POOLED_METADATA, naming the row and what differs."""
    mixed = mixed_metadata(df).dropna(subset=["mixed_metadata"])
    return [f"{r.method}/{r.level} on {r.fmt}/{r.device}: seeds pooled with differing metadata ({r.mixed_metadata});"
            " kept and flagged in the report, but its means mix these conditions"
            for r in mixed.itertuples(index=False)]
