"""The tables of the report and the paper, from summary.csv and comparisons.csv.

- `comparison`: one row per method, level, format and device; mean and 95 %
  t-interval half-width over seeds (DESIGN.md, "What the report says"), except
  Dice, whose interval covers seeds and test images (frbench.report.significance),
  beside the row's paired difference from its control and the verdict; and the
  flags: compression on paper only, export fidelity, failed seeds, ratios against
  the model's own dense network, `same_graph` (the exported graph has the
  baseline's operators and shapes: only weight values changed, e.g. unstructured
  pruning; from summary.csv's `graph_differs`, absent from older summaries) and
  `is_control`.
- the answer (per model: keeps, loses or undecided against the baseline) is
  frbench.report.decisions, written to answers.csv; `ANSWERS` prints it.
- `paper_table`: the FR paper's Table 3 layout: model, Dice, compression rate,
  parameters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .controls import GROUP
from .pooling import seed_table
from .ratios import against_own_dense, ratios_unknown

COMPARISON_COLUMNS = ["dice", "file_bytes", "weights_bytes", "update_bytes", "gzip_bytes", "stored_numbers",
                      "nonzero_numbers", "compression_by_count", "compression_by_bytes", "compression_by_weights",
                      "load_ms", "p50_ms", "p90_ms", "peak_rss_kb", "heap_peak_bytes", "train_seconds", "train_peak_rss_kb",
                      "fidelity_max_abs"]
VERDICT_COLUMNS = ["role", "control", "images", "delta", "delta_low", "delta_high", "p", "p_holm", "paired_seeds",
                   "verdict", "note", "test"]


def comparison(summary: pd.DataFrame, comparisons: pd.DataFrame, fidelity_tolerance: float,
               baseline: str = "baseline") -> pd.DataFrame:
    table = seed_table(summary, COMPARISON_COLUMNS)
    flags = summary.groupby(GROUP).agg(failed_seeds=("error", lambda s: int(s.notna().sum())))
    ok = summary[summary["error"].isna()]
    keys = [ok[c] for c in GROUP]
    flags["only_on_paper"] = ok["only_on_paper"].groupby(keys).agg(_on_paper) if "only_on_paper" in ok else None
    # compared with its own dense network (e.g. the FR paper's released model), not the baseline
    flags["own_dense"] = against_own_dense(ok).groupby(keys).any()
    # its reference (the baseline on its format and device) failed: ratios and on-paper unknown
    flags["ratios_unknown"] = ratios_unknown(ok).groupby(keys).any()
    table = table.merge(flags.reset_index(), on=GROUP, how="outer")
    table["own_dense"] = table["own_dense"].fillna(False).astype(bool)
    table["ratios_unknown"] = table["ratios_unknown"].fillna(False).astype(bool)
    table["seeds"] = table["seeds"].fillna(0).astype(int)
    table["fidelity_flag"] = table["fidelity_max_abs"] > fidelity_tolerance
    table = table.merge(_update_differs(summary), on=GROUP, how="left")
    table["update_differs"] = table["update_differs"].fillna(False).astype(bool)
    table = table.merge(_same_graph(summary), on=GROUP, how="left")
    table["same_graph"] = table["same_graph"].fillna(False).astype(bool) & (table["method"] != baseline)
    # Dice and its interval over seeds and images; the difference from the control and the verdict
    verdicts = comparisons.reindex(columns=[*GROUP, "dice", "dice_low", "dice_high", *VERDICT_COLUMNS]).rename(
        columns={"dice": "dice_paired"})
    numbers = ["dice_paired", "dice_low", "dice_high", "images", "delta", "delta_low", "delta_high", "p", "p_holm",
               "paired_seeds"]
    verdicts = verdicts.astype({c: float for c in numbers})  # also when no row succeeded (an empty CSV)
    table = table.merge(verdicts, on=GROUP, how="left")
    # Dice's interval is the bounded one over seeds and images (comparisons.csv), printed as [low, high]
    paired = table.pop("dice_paired")
    table["dice"] = paired.where(paired.notna(), table["dice"])
    table["dice_ci95"] = np.nan  # the seeds-only t-interval is not bounded: never shown for Dice
    table["is_control"] = table["role"].eq("control")
    return table.sort_values(GROUP).reset_index(drop=True)


def _on_paper(values: pd.Series):
    """A row's `only_on_paper` over its successful seeds: True if any seed's is, None (unknown) if any
    seed's is unknown (empty: its reference failed), else False."""
    known = [_as_bool(v) for v in values]
    if any(v is True for v in known):
        return True
    return None if any(v is None for v in known) else False


def _as_bool(x):
    """summary.csv's `graph_differs`: True / False, or empty (the baseline, error rows, older code)."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, str) and x.strip().lower() in ("true", "false", "1", "0"):
        return x.strip().lower() in ("true", "1")
    if isinstance(x, (int, float, np.integer, np.floating)) and x == x:
        return bool(x)
    return None


def _update_differs(summary: pd.DataFrame) -> pd.DataFrame:
    """Per group: whether any seed's program-plus-weights-file run scored differently from its whole file."""
    differs = summary["update_same_dice"].eq(False) if "update_same_dice" in summary else pd.Series(False, summary.index)
    return differs.groupby([summary[c] for c in GROUP]).any().rename("update_differs").reset_index()


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


def paper_table(table: pd.DataFrame) -> pd.DataFrame:
    """Table 3 of the FR paper: one row per model on the first format and device measured (numbers,
    which `printed(table, PAPER)` turns into text)."""
    ok = table[table["seeds"] > 0]
    if not ok.empty:
        first = ok.sort_values(["fmt", "device"]).iloc[0]
        ok = ok[(ok["fmt"] == first["fmt"]) & (ok["device"] == first["device"])]
    return ok.assign(model=ok["method"] + " (" + ok["level"].astype(str) + ")")


# ---- printed tables (CSV and LaTeX): one precision per column ------------------------------------

# (header, column, decimals, scale, unit): the value is column * scale, printed with `decimals`, then
# unit; then its interval: "[low, high]" where the table has column_low and column_high (bounded
# metrics: Dice, its differences), "± half-width" where it has column_ci95. A verdict column prints
# the verdict where there is no measurable difference.
COMPARISON = [("Method", "method"), ("Level", "level"), ("Format", "fmt"), ("Device", "device"),
              ("Role", "role"), ("Seeds", "seeds", 0), ("Dice", "dice", 3), ("Δ Dice vs control", "delta", 3),
              ("Control", "control"), ("File (kB)", "file_bytes", 1, 1e-3), ("× count", "compression_by_count", 2),
              ("× bytes", "compression_by_bytes", 2), ("p50 (ms)", "p50_ms", 2),
              ("Heap peak (MB)", "heap_peak_bytes", 2, 1e-6)]
ANSWERS = [("Method", "method"), ("Level", "level"), ("Format", "fmt"), ("Device", "device"), ("Role", "role"),
           ("Dice", "dice", 3), ("Loss vs baseline", "loss_vs_baseline", 3), ("Quality", "quality"),
           ("Seeds to decide", "seeds_to_decide", 0), ("vs control", "vs_control"), ("Picked", "picked"),
           ("Fastest", "picked_fastest"), ("Size ×", "size_ratio", 3), ("p50 ×", "p50_ratio", 3),
           ("Heap ×", "memory_ratio", 3)]
PAPER = [("Model", "model"), ("Dice (%)", "dice", 1, 100), ("Compression rate", "compression_by_count", 1, 1, "x"),
         ("Parameters", "stored_numbers", 0)]


RATIO_COLUMNS = ("compression_by_count", "compression_by_bytes", "compression_by_weights")


SIGNED = ("delta", "loss_vs_baseline")  # differences: always with their sign
BOUNDS = {"loss_vs_baseline": ("loss_low", "loss_high")}  # interval columns not named column_low, column_high


def _interval(row, column: str, scale: float, decimals: int, sign: str) -> str:
    """The value's interval as printed: " [low, high]" (bounded) or " ± half-width"; "" where none."""
    low_name, high_name = BOUNDS.get(column, (f"{column}_low", f"{column}_high"))
    low, high = row.get(low_name), row.get(high_name)
    if not is_missing(low) and not is_missing(high) and np.isfinite(low) and np.isfinite(high):
        return f" [{low * scale:{sign},.{decimals}f}, {high * scale:{sign},.{decimals}f}]"
    half = row.get(f"{column}_ci95")
    if not is_missing(half) and np.isfinite(half):
        return f" ± {half * scale:,.{decimals}f}"
    return ""


def _cell(row, column: str, decimals: int | None, scale: float, unit: str) -> str:
    value = row.get(column)
    if decimals is None:  # text
        return "–" if is_missing(value) else ("yes" if value is True else "no" if value is False else str(value))
    if column == "delta" and row.get("verdict") not in (None, "worse", "better") and not is_missing(row.get("verdict")):
        return str(row["verdict"])  # never a signed number that looks like a gain or a loss
    if is_missing(value) or not np.isfinite(value):
        # a ratio whose reference failed is unknown, not merely absent (add_baseline_ratios)
        return "unknown" if column in RATIO_COLUMNS and row.get("ratios_unknown") is True else "–"
    sign = "+" if column in SIGNED else ""
    return f"{value * scale:{sign},.{decimals}f}{unit}" + _interval(row, column, scale, decimals, sign)


def printed(table: pd.DataFrame, spec: list[tuple]) -> pd.DataFrame:
    """The table as text, one precision per column: `spec` lists (header, column[, decimals[, scale[, unit]]])."""
    out = {}
    for header, column, *rest in spec:
        decimals, scale, unit = (list(rest) + [None, 1, ""][len(rest):])[:3]
        out[header] = [_cell(row, column, decimals, scale, unit) for row in table.to_dict("records")]
    return pd.DataFrame(out, columns=[s[0] for s in spec])


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
    if "e-" in short:
        return f"{x:.{digits}f}"  # nor for tiny ones: a collapsed model's Dice of 7.9e-09 -> 0.0000
    return short


def write_latex(df: pd.DataFrame, caption: str) -> str:
    """A printed table (text cells) as a LaTeX table."""
    return df.to_latex(index=False, escape=True, caption=caption, label="tab:frbench", na_rep="-")


def read_optional_csv(path) -> pd.DataFrame:
    """A table that may be empty with no header (curves.csv, when no model recorded epochs)."""
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
