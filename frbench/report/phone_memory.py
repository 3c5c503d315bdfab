"""The FR paper's released model's peak memory, beside what the authors of the code it comes from
reported on their Android phone (issue #16): cited as reported, never as measured here."""

from __future__ import annotations

import pandas as pd

#: UNet-31M from its 759 coefficients at 640x959 (Dice 0.9718), on the seed authors' Android phone, in GB
PHONE_REPORTED = (("the released code", 3.27), ("freeing each layer once used", 1.93))
GB_IN_KB = 1024 * 1024


def reference_memory(summary: pd.DataFrame, method: str = "fr_reference") -> list[dict]:
    """One entry per format and device the paper's model ran on: its peak RSS in GB (mean over seeds),
    the host's allocator and threads, and the input it ran at."""
    ok = summary[(summary["method"] == method) & summary["error"].isna()] if "method" in summary else summary[:0]
    out = []
    for (fmt, device), rows in ok.groupby(["fmt", "device"], sort=True):
        peak = rows["peak_rss_kb"].dropna()
        if peak.empty:
            continue
        out.append({"fmt": fmt, "device": device, "peak_gb": float(peak.mean()) / GB_IN_KB,
                    "allocator": _first(rows, "allocator"), "threads": _first(rows, "threads"),
                    "input": _first(rows, "input_shape")})
    return out


def _first(rows: pd.DataFrame, column: str):
    values = rows[column].dropna() if column in rows else []
    return values.iloc[0] if len(values) else None
