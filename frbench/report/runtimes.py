"""The runtimes side by side: which runtime for this model?

Every model measured on more than one format on the same device gets one row: each format's p50 and
load time, peak memory, file bytes and Dice (means over seeds), and the pick: the format with the
lowest p50 among those whose Dice is within `DICE_TOLERANCE` of the model's best on that device (a
runtime that changes the masks is no faster way to run the same model). Generic over formats: the
columns are whatever formats the study has. The figure draws each model's p50 per format.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from .figure_base import DOUBLE_COLUMN, FIGURES, Tables, no_data

MODEL = ["method", "level", "device"]
MEASURES = {"p50_ms": "p50 ms", "load_ms": "load ms", "peak_rss_kb": "peak MB", "file_bytes": "file", "dice": "Dice"}
DICE_TOLERANCE = 0.01  # Dice points: formats within this of the model's best score the same masks, for the pick


def _ok(summary: pd.DataFrame) -> pd.DataFrame:
    ok = summary[summary["error"].isna()] if "error" in summary else summary
    return ok.dropna(subset=["p50_ms"])


def runtime_table(summary: pd.DataFrame) -> tuple[list[str], pd.DataFrame]:
    """The formats compared, and one row per (method, level, device) measured on two or more of them:
    `<fmt>:<measure>` columns (means over seeds), `pick` (the fastest format with the best Dice), `speedup`
    (the slowest such format's p50 over the pick's) and `formats` (how many ran)."""
    ok = _ok(summary)
    cols = [c for c in MEASURES if c in ok]
    means = ok.groupby([*MODEL, "fmt"], as_index=False)[cols].mean()
    formats = sorted(means["fmt"].unique())
    rows = []
    for key, group in means.groupby(MODEL, sort=True):
        if group["fmt"].nunique() < 2:
            continue
        row = dict(zip(MODEL, key))
        for _, r in group.iterrows():
            row.update({f"{r['fmt']}:{c}": r[c] for c in cols})
        same = group[group["dice"] >= group["dice"].max() - DICE_TOLERANCE] if "dice" in group else group
        best = same.loc[same["p50_ms"].idxmin()]
        row.update(pick=best["fmt"], speedup=float(same["p50_ms"].max() / best["p50_ms"]), formats=len(group))
        rows.append(row)
    return formats, pd.DataFrame(rows)


@FIGURES.register("runtime_latency")
def runtime_latency(t: Tables):
    """Each model's p50 on every format (bars: the mean over seeds; lines: their 95 % interval), one panel
    per device; log scale, since runtimes differ by orders of magnitude on some models."""
    title = "Latency per runtime"
    ok = _ok(t.summary)
    if ok.empty or ok["fmt"].nunique() < 2:
        return no_data(title, "no model was measured on two formats")
    ok = ok.assign(model=ok["method"] + "/" + ok["level"].astype(str))
    devices = sorted(ok["device"].unique())
    fig, axes = plt.subplots(len(devices), 1, figsize=(DOUBLE_COLUMN[0], DOUBLE_COLUMN[1] * len(devices)),
                             squeeze=False)
    for ax, device in zip(axes[:, 0], devices):
        sns.barplot(data=ok[ok["device"] == device], x="model", y="p50_ms", hue="fmt", hue_order=sorted(ok["fmt"].unique()),
                    errorbar=("ci", 95), ax=ax)
        ax.set(yscale="log", xlabel="", ylabel="p50 (ms)", title=f"{title} ({device})")
        ax.legend(title="format", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        ax.tick_params(axis="x", labelrotation=60)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    return fig
