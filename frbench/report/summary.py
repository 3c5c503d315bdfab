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

Seeds pooled into one report row (`seed_table`) must have run under the same conditions, as
pyperf checks a benchmark's metadata before it merges runs: the runtime (name and version),
the frbench and torch versions, the thread count and the allocator (`POOLED_METADATA`). Where they differ
the row is kept, never refused (a bad input loses no other result), but flagged: its
`mixed_metadata` names each differing field with its values ("threads: 1, 2"), the report
shows it, and `gather` warns on stderr.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..bench.result import with_stats
from ..io import read_json
from .controls import GROUP, compare, per_image_dice
from .protocol import protocol_columns

KEY = ["method", "level", "seed", "fmt", "device"]


def _bench_row(r: dict) -> dict:
    r = with_stats(r)
    stats, mem, acc = r.get("stats") or {}, r.get("memory") or {}, r.get("accuracy") or {}
    runtime, device = r.get("runtime") or {}, r.get("device") or {}
    packages = (r.get("provenance") or {}).get("packages") or {}
    row = {**r["key"], "error": r.get("error")}
    row.update({f"{k}_ms": stats.get(k) for k in ("mean", "std", "min", "p50", "p90", "p99", "max", "trimmed_mean")})
    row.update(load_ms=r.get("load_ms"), first_inference_ms=r.get("first_inference_ms"),
               samples=len(r.get("values") or []), warmup=r["plan"]["warmup"], threads=r["plan"]["threads"],
               peak_rss_kb=mem.get("peak_rss"), rss_before_load_kb=mem.get("rss_before_load"),
               rss_after_load_kb=mem.get("rss_after_load"), dice=acc.get("dice"), dice_images=acc.get("images"),
               runtime=runtime.get("name"), runtime_version=runtime.get("version"),
               frbench_version=packages.get("frbench"), torch_version=packages.get("torch"),
               device_name=device.get("cpu") or device.get("model"), emulator=device.get("emulator"),
               load_avg_1m=(device.get("load_avg") or [None])[0], warnings="; ".join(r.get("warnings") or []),
               git_commit=((r.get("provenance") or {}).get("git") or {}).get("commit"),
               git_dirty=((r.get("provenance") or {}).get("git") or {}).get("dirty"))
    ran = r.get("ran") or {}
    row.update(allocator=((r.get("metadata") or {}).get("allocator") or {}).get("name"),
               stopped_by="; ".join(f"{phase} by {ran[f'{phase}_stopped_by']}" for phase in ("warmups", "iters", "dice")
                                    if ran.get(f"{phase}_stopped_by") == "time") or None)
    row.update(_update_row(r.get("weights_update"), acc))
    row.update(protocol_columns(r))  # heap, PSS, profile, device state (issue #26)
    return row


def _update_row(u: dict | None, whole_accuracy: dict) -> dict:
    """The model run as program plus weights file (a weights-only update): its error, load, p50,
    Dice, and whether its per-image Dice equals the whole file's. Empty where the plan ran none."""
    if u is None:
        return {}
    u = with_stats(u)
    acc = u.get("accuracy") or {}
    same = (acc.get("dice_per_image") == whole_accuracy.get("dice_per_image")) if acc and whole_accuracy else None
    return {"update_error": u.get("error"), "update_load_ms": u.get("load_ms"),
            "update_p50_ms": (u.get("stats") or {}).get("p50"), "update_dice": acc.get("dice"), "update_same_dice": same}


def _export_row(e: dict) -> dict:
    fid = e.get("fidelity") or {}
    # A model that stores a compact form (FR) records the plain dense export of the same weights;
    # a file that is dense itself (`compact: false`) is its own dense export.
    dense_export = e.get("dense_export") or {}
    dense, dense_weights = dense_export.get("bytes"), (dense_export.get("bytes_split") or {}).get("weights")
    split = e.get("bytes_split") or {}
    update = (e.get("exporter") or {}).get("weights_update") or {}  # the weights-only update's files
    if dense is None and e.get("compact") is False:
        dense, dense_weights = e.get("bytes"), split.get("weights")
    return {**e["key"], "export_error": e.get("error"), "file_bytes": e.get("bytes"), "gzip_bytes": e.get("gzip_bytes"),
            "weights_bytes": split.get("weights"), "program_bytes": split.get("program"),
            "update_bytes": update.get("data_bytes"), "update_program_bytes": update.get("program_bytes"),
            "container_bytes": split.get("container"), "dense_weights_bytes": dense_weights,
            "stored_numbers": e.get("stored_numbers"), "nonzero_numbers": e.get("nonzero_numbers"),
            "params_eager": e.get("params_eager"), "fidelity_max_abs": fid.get("max_abs_diff"),
            "dice_eager": fid.get("dice_eager"), "mobile_optimized": (e.get("exporter") or {}).get("mobile_optimized"),
            "dense_file_bytes": dense, "floor_bytes": e.get("floor_bytes"), "dense_params": e.get("dense_params"),
            "graph_signature": (e.get("graph") or {}).get("signature"), "method_facts": method_facts(e),
            "input_shape": "x".join(map(str, e.get("input_shape") or [])) or None}


def method_facts(e: dict) -> str | None:
    """The facts a method declared of its export (`ExportForm.facts`, named in `method_facts`), those
    that are numbers or flags, as "name=value; ..."; None where it declared none."""
    shown = [f"{k}={e[k]}" for k in e.get("method_facts") or [] if isinstance(e.get(k), (bool, int, float))]
    return "; ".join(shown) or None


def _train_row(t: dict) -> dict:
    return {**t["key"], "train_error": t.get("error"), "train_seconds": t.get("wall_seconds"),
            "train_peak_rss_kb": t.get("peak_rss_kb"),
            "best_val_dice": t.get("best_val_dice"), "best_epoch": t.get("best_epoch"),
            "epochs": len(t.get("epochs") or []), "budget": t.get("budget"), "role": t.get("role"),
            "control": t.get("control"), "last_quarter_gain": last_quarter_gain(t.get("epochs") or [])}


def last_quarter_gain(epochs: list[dict]) -> float | None:
    """How much the best validation Dice rose in the last quarter of the epochs: under 0.005, the
    training had converged (config/README.md). None with fewer than 4 epochs."""
    values = [e["val_dice"] for e in epochs]
    if len(values) < 4:
        return None
    cut = len(values) - len(values) // 4
    return max(values[cut:]) - max(values[:cut])


def _samples(r: dict) -> list[dict]:
    return [{**r["key"], "i": i, "ms": v} for i, v in enumerate(r.get("values") or [])]


def _curve(t: dict) -> list[dict]:
    """Per-epoch records, keeping scalar fields only (hooks may add lists)."""
    return [{**t["key"], **{k: v for k, v in e.items() if isinstance(v, (int, float, str, bool))}}
            for e in t.get("epochs") or []]


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
    bench = pd.DataFrame([_bench_row(r) for r in bench_records])
    exports = pd.DataFrame([_export_row(read_json(f)) for f in export_files])
    trains = pd.DataFrame([_train_row(t) for t in train_records])
    samples = pd.DataFrame([s for r in bench_records for s in _samples(r)], columns=[*KEY, "i", "ms"])
    curves = pd.DataFrame([e for t in train_records for e in _curve(t)])
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


def add_baseline_ratios(df: pd.DataFrame, baseline: str = "baseline") -> pd.DataFrame:
    """compression_by_count / _by_bytes / speedup_p50 against the baseline, and the
    `only_on_paper` flag: no smaller file and no faster p50 than the baseline (or the baseline's
    very graph, `graph_differs` False, whose p50 can differ only by noise).

    A row whose export names the dense network it compresses (`dense_params`, e.g. the FR
    paper's released model: UNet-31M) and whose network is not the baseline's (its
    `dense_params` differ from the baseline's parameters, or the study has no baseline at all) is
    compared with that network instead: by count dense_params / stored numbers, by bytes
    its own dense export / its file; no speed-up (its dense model was not benchmarked).
    `ratio_against` says which: "baseline" or "own dense"; or "unknown" where the row's reference
    failed: the baseline has no successful run on the row's format and device, or, for a row with a
    `dense_params`, no baseline run recorded its parameters, so which network it compresses cannot be
    told. Such a row gets no ratio against anything else, and `only_on_paper` None (unknown)."""
    df = df.copy()
    for col in ("weights_bytes", "dense_weights_bytes", "dense_params", "params_eager"):  # absent from older summaries
        if col not in df:
            df[col] = np.nan
    for col in ("compression_by_count", "compression_by_bytes", "compression_by_weights", "speedup_p50"):
        df[col] = np.nan
    df["only_on_paper"] = pd.Series(None, index=df.index, dtype=object)
    df["ratio_against"] = None
    ok = df["error"].isna()
    is_baseline = df["method"] == baseline
    df.loc[ok, "only_on_paper"] = False
    # which rows compress a network other than the baseline's: known where some baseline run (failed
    # or not) recorded the baseline's parameters, or where the study has no baseline at all
    base_params = df.loc[is_baseline, "params_eager"].dropna()
    names_dense = df["dense_params"].notna()
    if not base_params.empty:
        own_dense, unsure = names_dense & (df["dense_params"] != base_params.iloc[0]), pd.Series(False, df.index)
    elif is_baseline.any():
        own_dense, unsure = pd.Series(False, df.index), names_dense
    else:
        own_dense, unsure = names_dense, pd.Series(False, df.index)
    against_baseline = ok & ~own_dense & ~unsure
    base = df[ok & is_baseline].groupby(["fmt", "device"])[
        ["stored_numbers", "file_bytes", "weights_bytes", "p50_ms"]].mean()
    for (fmt, device), b in base.iterrows():
        rows = against_baseline & (df["fmt"] == fmt) & (df["device"] == device)
        df.loc[rows, "ratio_against"] = "baseline"
        df.loc[rows, "compression_by_count"] = b["stored_numbers"] / df.loc[rows, "stored_numbers"]
        df.loc[rows, "compression_by_bytes"] = b["file_bytes"] / df.loc[rows, "file_bytes"]
        df.loc[rows, "compression_by_weights"] = b["weights_bytes"] / df.loc[rows, "weights_bytes"]
        df.loc[rows, "speedup_p50"] = b["p50_ms"] / df.loc[rows, "p50_ms"]
        # 1 % tolerance on both: a file a few bytes smaller is no compression. The baseline's own
        # graph (graph_differs False) with other weight values cannot run faster: a faster p50 is noise.
        no_faster = df["speedup_p50"] < 1.01
        if "graph_differs" in df:
            no_faster |= df["graph_differs"].eq(False)
        compressed = rows & ~is_baseline
        if "role" in df:  # a control is a yardstick, not a compression: baseline_ft is the baseline's own file
            compressed &= df["role"].ne("control")
        df.loc[compressed, "only_on_paper"] = ((df["compression_by_bytes"] < 1.01) & no_faster)[compressed]
    own = ok & own_dense
    if own.any():
        df.loc[own, "compression_by_count"] = df.loc[own, "dense_params"] / df.loc[own, "stored_numbers"]
        df.loc[own, "compression_by_bytes"] = df.loc[own, "dense_file_bytes"] / df.loc[own, "file_bytes"]
        df.loc[own, "compression_by_weights"] = df.loc[own, "dense_weights_bytes"] / df.loc[own, "weights_bytes"]
        df.loc[own, "ratio_against"] = "own dense"
    unknown = ok & df["ratio_against"].isna() & (is_baseline.any() | ~own_dense)
    df.loc[unknown, "ratio_against"] = "unknown"
    df.loc[unknown, "only_on_paper"] = None
    return df


def ratios_unknown(df: pd.DataFrame) -> pd.Series:
    """Rows whose reference failed (`ratio_against` "unknown", see add_baseline_ratios): their
    compression ratios and `only_on_paper` are unknown. False where the column is absent."""
    if "ratio_against" not in df:
        return pd.Series(False, index=df.index)
    return df["ratio_against"].eq("unknown").fillna(False).astype(bool)


def against_own_dense(df: pd.DataFrame) -> pd.Series:
    """Rows compared with their own dense network, not the baseline (`ratio_against`, see
    add_baseline_ratios): the FR paper's released model. False where the column is absent."""
    if "ratio_against" not in df:
        return pd.Series(False, index=df.index)
    return df["ratio_against"].eq("own dense").fillna(False).astype(bool)


def add_graph_differs(df: pd.DataFrame, baseline: str = "baseline") -> pd.DataFrame:
    """`graph_differs`: whether a row's exported graph (operators and shapes, see
    frbench.export.graph) differs from every baseline graph on the same format; empty for
    the baseline itself, for failed rows and where the format has no baseline."""
    df = df.copy()
    df["graph_differs"] = None
    if "graph_signature" not in df:
        return df
    ok = df["error"].isna() & df["graph_signature"].notna()
    for fmt, group in df[ok].groupby("fmt"):
        base = set(group.loc[group["method"] == baseline, "graph_signature"])
        if not base:
            continue
        rows = group.index[group["method"] != baseline]
        df.loc[rows, "graph_differs"] = [sig not in base for sig in df.loc[rows, "graph_signature"]]
    return df


def seed_table(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Mean and 95 % t-interval half-width over seeds, per (method, level, fmt, device); and
    `mixed_metadata`, what differs between the seeds pooled (`differing_metadata`), or None."""
    from scipy import stats

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
