"""Every row against the network it compresses: compression ratios, `only_on_paper` and `graph_differs`.

Ratios compare each row with the baseline's mean over seeds on the same format and device: by count
of stored numbers and by file bytes, kept apart so that storing fp16 or int8 is counted once, in
bytes. `graph_differs` says whether the exported graph (operators and shapes) is another than the
baseline's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


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
