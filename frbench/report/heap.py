"""Memory that tells models apart: the heap each model holds (frbench.bench.heap, memray), per model and
format, in the report's table and the `heap_memory` figure; and the FR paper's released model's heap
beside what the authors of the code it comes from reported on their phone (frbench.report.phone_memory).

Peak RSS stays as context: on the host it is the torch runtime's ~240 MB plus noise whatever the
model (issue #26), while the heap after the first inference holds FR's unpacked dense weights."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from .figure_base import DOUBLE_COLUMN, FIGURES, Tables, no_data
from .phone_memory import GB_IN_KB

STAGES = {"heap_after_load_bytes": "held after load", "heap_after_first_bytes": "held after the first inference",
          "heap_peak_bytes": "peak during an inference"}
GROUP = ["method", "level", "fmt", "device"]
CONTEXT = ["peak_rss_kb", "pss_after_runs_kb"]


def heap_table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per model, format and device with a heap figure: the means over seeds of the three heap
    stages, peak RSS and PSS (context), and the tool that measured them."""
    cols = [c for c in [*STAGES, *CONTEXT] if c in summary]
    if "heap_peak_bytes" not in cols:
        return pd.DataFrame(columns=[*GROUP, *STAGES, *CONTEXT, "heap_tool"])
    ok = summary[summary["error"].isna()].dropna(subset=["heap_peak_bytes"])
    out = ok.groupby(GROUP, as_index=False)[cols].mean()
    tools = ok.groupby(GROUP)["heap_tool"].first().rename("heap_tool").reset_index() if "heap_tool" in ok else None
    out = out.merge(tools, on=GROUP, how="left") if tools is not None else out.assign(heap_tool=None)
    for c in CONTEXT:
        if c not in out:
            out[c] = None
    return out.sort_values(GROUP).reset_index(drop=True)


def reference_heap(summary: pd.DataFrame, method: str = "fr_reference") -> list[dict]:
    """The released FR model's heap per format and device, in GB: after load, after the first inference
    (its dense weights rebuilt), and the peak during an inference."""
    table = heap_table(summary)
    rows = table[table["method"] == method]
    return [{"fmt": r["fmt"], "device": r["device"], "tool": r["heap_tool"],
             **{k: float(r[k]) / (GB_IN_KB * 1024) for k in STAGES}} for _, r in rows.iterrows()]


@FIGURES.register("heap_memory")
def heap_memory(t: Tables):
    """Each model's heap at the three stages (bars: means over seeds), one panel per format and device."""
    title = "Heap held by each model"
    table = heap_table(t.summary)
    if table.empty:
        return no_data(title, "no heap measured (bench.heap: false, or results written before it)")
    panels = table.groupby(["fmt", "device"], sort=True)
    height = max(1.8, 0.25 * len(table) / len(panels) + 1.0)  # inches per panel: a quarter inch a model
    fig, axes = plt.subplots(len(panels), 1, squeeze=False, figsize=(DOUBLE_COLUMN[0], height * len(panels)),
                             layout="constrained")
    for ax, ((fmt, device), rows) in zip(axes[:, 0], panels):
        labels = (rows["method"] + "/" + rows["level"].astype(str)).tolist()
        y = range(len(rows))
        for i, (col, name) in enumerate(STAGES.items()):
            ax.barh([v + (i - 1) * 0.27 for v in y], rows[col] / 1e6, height=0.27, label=name)
        ax.set_yticks(list(y), labels)
        ax.set(xlabel="native heap (MB; memray: bytes the runtime asked for)", title=f"{fmt} @ {device}")
        ax.invert_yaxis()
    axes[0, 0].legend(fontsize=6, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle(title)
    return fig
