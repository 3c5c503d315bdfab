"""Gather every result file into tables: `summary.csv`, `samples.csv`, `curves.csv`.

summary: one row per (method, level, seed, fmt, device): the benchmark result,
joined with the export record (what the file holds) and the training record
(what it cost). A failed stage leaves its error in the `error` column, never a
missing row. Ratios compare each row with the baseline's mean over seeds on the
same format and device: by count of stored numbers and by file bytes, kept apart
so that storing fp16 or int8 is counted once, in bytes. `graph_differs` says whether the
exported graph (operators and shapes) is another than the baseline's.

samples: every raw latency sample (long format), for distributions.
curves: every training epoch record (loss, val Dice, and what hooks add, such
as FR's kept coefficients), for training curves.
dice: every exported model's Dice on every test image (long format).
comparisons: every row against its control (frbench.report.controls).

The rows come from frbench.report.records, the ratios from frbench.report.ratios, and the check
that seeds pooled into one row ran under the same conditions from frbench.report.pooling.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

import pandas as pd

from ..io import read_json
from .controls import compare, per_image_dice
from .pooling import metadata_warnings, mixed_metadata, seed_table
from .ratios import add_baseline_ratios, add_graph_differs, against_own_dense, ratios_unknown
from .records import bench_row, curve_rows, export_row, sample_rows, train_row

KEY = ["method", "level", "seed", "fmt", "device"]
__all__ = ["KEY", "Results", "add_baseline_ratios", "add_graph_differs", "against_own_dense", "gather",
           "metadata_warnings", "mixed_metadata", "ratios_unknown", "seed_table"]


class Results(NamedTuple):
    summary: pd.DataFrame
    samples: pd.DataFrame
    curves: pd.DataFrame
    dice: pd.DataFrame
    comparisons: pd.DataFrame


def gather(bench_files, export_files, train_files) -> Results:
    """Every table, from the result files."""
    bench_records = [read_json(f) for f in bench_files]
    train_records = [read_json(f) for f in train_files]
    bench = pd.DataFrame([bench_row(r) for r in bench_records])
    exports = pd.DataFrame([export_row(read_json(f)) for f in export_files])
    trains = pd.DataFrame([train_row(t) for t in train_records])
    samples = pd.DataFrame([s for r in bench_records for s in sample_rows(r)], columns=[*KEY, "i", "ms"])
    curves = pd.DataFrame([e for t in train_records for e in curve_rows(t)])
    df = bench
    if not exports.empty:
        df = df.merge(exports, on=["method", "level", "seed", "fmt"], how="left")
    if not trains.empty:
        df = df.merge(trains, on=["method", "level", "seed"], how="left")
    # The first failure explains the row: training, then export, then the benchmark.
    for stage in ("export_error", "train_error"):
        if stage in df:
            df["error"] = df[stage].where(df[stage].notna(), df["error"])
            df = df.drop(columns=stage)
    summary = add_baseline_ratios(add_graph_differs(df)).sort_values(KEY).reset_index(drop=True)
    for warning in metadata_warnings(summary):
        print(f"warning: {warning}", file=sys.stderr)
    dice = per_image_dice(bench_records)
    return Results(summary, samples, curves, dice, compare(summary, dice))
