"""The tables of the report and the paper, from summary.csv.

- `comparison`: one row per method, level, format and device; mean and 95 %
  t-interval half-width over seeds (DESIGN.md, "What the report says"), and the
  flags: compression on paper only, export fidelity, failed seeds, ratios against
  the model's own dense network, and `same_graph` (the exported graph has the
  baseline's operators and shapes: only weight values changed, e.g. unstructured
  pruning; from summary.csv's `graph_differs`, absent from older summaries).
- `answers`: for each method, the best operating point within the Dice budget
  (the smallest exported file whose mean Dice is at most `budget` below the
  baseline's), with size, latency and memory as ratios to the baseline.
- `paper_table`: the FR paper's Table 3 layout: model, Dice, compression rate,
  parameters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .summary import against_own_dense, seed_table

COMPARISON_COLUMNS = ["dice", "file_bytes", "gzip_bytes", "stored_numbers", "nonzero_numbers",
                      "compression_by_count", "compression_by_bytes", "load_ms", "p50_ms", "p90_ms", "peak_rss_kb",
                      "train_seconds", "train_peak_rss_kb", "fidelity_max_abs"]
GROUP = ["method", "level", "fmt", "device"]


def comparison(summary: pd.DataFrame, fidelity_tolerance: float, baseline: str = "baseline") -> pd.DataFrame:
    table = seed_table(summary, COMPARISON_COLUMNS)
    flags = summary.groupby(GROUP).agg(
        only_on_paper=("only_on_paper", lambda s: bool(s.astype(bool).any())),
        failed_seeds=("error", lambda s: int(s.notna().sum())))
    # compared with its own dense network (e.g. the FR paper's released model), not the baseline
    own = against_own_dense(summary)
    flags["own_dense"] = own.groupby([summary[c] for c in GROUP]).any()
    table = table.merge(flags.reset_index(), on=GROUP, how="outer")
    table["own_dense"] = table["own_dense"].fillna(False).astype(bool)
    table["seeds"] = table["seeds"].fillna(0).astype(int)
    table["fidelity_flag"] = table["fidelity_max_abs"] > fidelity_tolerance
    table = table.merge(_same_graph(summary), on=GROUP, how="left")
    table["same_graph"] = table["same_graph"].fillna(False).astype(bool) & (table["method"] != baseline)
    return table.sort_values(GROUP).reset_index(drop=True)


def _as_bool(x):
    """summary.csv's `graph_differs`: True / False, or empty (the baseline, error rows, older code)."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, str) and x.strip().lower() in ("true", "false", "1", "0"):
        return x.strip().lower() in ("true", "1")
    if isinstance(x, (int, float, np.integer, np.floating)) and x == x:
        return bool(x)
    return None


def _same_graph(summary: pd.DataFrame) -> pd.DataFrame:
    """Per group: True where every successful seed says its exported graph does not differ from the
    baseline's (`graph_differs` False). False where the column is absent, empty or True for any seed."""
    if "graph_differs" not in summary:
        return pd.DataFrame(columns=[*GROUP, "same_graph"])
    ok = summary[summary["error"].isna()]
    differs = ok["graph_differs"].map(_as_bool)
    same = differs.map(lambda d: d is False)
    known = differs.notna()
    keys = [ok[c] for c in GROUP]
    out = (same.groupby(keys).all() & known.groupby(keys).any()).rename("same_graph").reset_index()
    return out


def answers(table: pd.DataFrame, budget: float, baseline: str = "baseline") -> pd.DataFrame:
    """Per (method, fmt, device): the smallest file within the Dice budget, against the baseline."""
    rows = []
    ok = table[table["seeds"] > 0]
    if "own_dense" in ok:  # another network on another test set (the FR paper's released model)
        ok = ok[~ok["own_dense"].astype(bool)]
    for (fmt, device), group in ok.groupby(["fmt", "device"]):
        base = group[group["method"] == baseline]
        if base.empty:
            continue
        b = base.iloc[0]
        for method, cands in group[group["method"] != baseline].groupby("method"):
            within = cands[cands["dice"] >= b["dice"] - budget]
            pick = within.nsmallest(1, "file_bytes") if not within.empty else cands.nlargest(1, "dice")
            r = pick.iloc[0]
            rows.append({"method": method, "fmt": fmt, "device": device, "level": r["level"],
                         "within_budget": not within.empty, "dice": r["dice"], "dice_delta": r["dice"] - b["dice"],
                         "size_ratio": r["file_bytes"] / b["file_bytes"], "gzip_ratio": r["gzip_bytes"] / b["gzip_bytes"],
                         "p50_ratio": r["p50_ms"] / b["p50_ms"], "memory_ratio": r["peak_rss_kb"] / b["peak_rss_kb"]})
    return pd.DataFrame(rows, columns=["method", "fmt", "device", "level", "within_budget", "dice", "dice_delta",
                                       "size_ratio", "gzip_ratio", "p50_ratio", "memory_ratio"])


def paper_table(table: pd.DataFrame) -> pd.DataFrame:
    """Table 3 of the FR paper: one row per model on the first format and device measured."""
    ok = table[table["seeds"] > 0]
    if ok.empty:
        return pd.DataFrame(columns=["Model", "Dice (%)", "Compression rate", "Parameters"])
    first = ok.sort_values(["fmt", "device"]).iloc[0]
    ok = ok[(ok["fmt"] == first["fmt"]) & (ok["device"] == first["device"])]
    return pd.DataFrame({
        "Model": ok["method"] + " (" + ok["level"].astype(str) + ")",
        "Dice (%)": (100 * ok["dice"]).round(2),
        "Compression rate": ok["compression_by_count"].map(lambda x: fmt_ratio(x) + "x" if x == x else "-"),
        "Parameters": ok["stored_numbers"].map(lambda x: f"{int(x):,}" if x == x else "-"),
    })


def is_missing(x) -> bool:
    return x is None or (isinstance(x, float) and x != x)


def fmt_num(x, digits: int = 4) -> str:
    if is_missing(x):
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    short = f"{x:.{digits}g}"
    if isinstance(x, int) or abs(x) >= 1000 or "e+" in short:
        return f"{x:,.0f}"  # never exponent notation for large values: 40892.9 -> 40,893; 170.4 to 2 digits -> 170
    return short


def fmt_ratio(x: float) -> str:
    """`fmt_num` for the CSV and LaTeX tables ("-" where there is no finite value)."""
    return fmt_num(x) if np.isfinite(x) else "-"


def write_latex(df: pd.DataFrame, caption: str) -> str:
    return df.to_latex(index=False, escape=True, caption=caption, label="tab:frbench", na_rep="-",
                       float_format=fmt_ratio)
