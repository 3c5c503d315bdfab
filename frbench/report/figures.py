"""The paper's figures, drawn from the aggregated tables only (never from models).

Each figure is a function registered by name in FIGURES (frbench.report.figure_base, which also
holds the style), taking `Tables` and returning a matplotlib Figure; the trade-off figures are in
frbench.report.pareto. Which figures a study gets follows from its config (`figure_names`), so
that Snakemake can declare them as outputs: FR's curve only with the `fr` method,
host-against-device only with two devices, ptl-against-pte only with both formats.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from . import (
    heap,  # noqa: F401  (registers heap_memory: the bytes each model holds)
    pareto,  # noqa: F401  (registers the trade-off figures)
    runtimes,  # noqa: F401  (registers runtime_latency: every format side by side)
)
from .figure_base import DOUBLE_COLUMN, FIGURES, SINGLE_COLUMN, Tables, apply_style, model_label, no_data, per_model
from .figure_names import figure_names  # noqa: F401  (re-exported: which figures a config draws)
from .pareto import pareto_front  # noqa: F401  (re-exported)


@FIGURES.register("latency_distributions")
def latency_distributions(t: Tables):
    s = t.samples
    if s.empty:
        return no_data("Latency distributions", "no latency samples")
    s = s.assign(model=model_label(s), where=s["fmt"] + " @ " + s["device"])
    order = sorted(s["model"].unique())
    g = sns.catplot(data=s, x="ms", y="model", hue="method", col="where", kind="box", order=order,
                    palette=t.palette(), fliersize=1, linewidth=0.6, height=max(1.8, 0.22 * len(order)),
                    aspect=1.3, sharex=False, legend=False)
    g.set_axis_labels("latency per inference (ms, raw samples)", "")
    g.set_titles("{col_name}")
    return g.figure


@FIGURES.register("peak_memory")
def peak_memory(t: Tables):
    ok = t.ok.dropna(subset=["peak_rss_kb"])
    if ok.empty:
        return no_data("Peak memory", "no successful runs")
    pts = per_model(ok, ["peak_rss_kb"]).assign(peak_mb=lambda d: d["peak_rss_kb"] / 1024)
    pts = pts.assign(model=model_label(pts), where=pts["fmt"] + " @ " + pts["device"])
    g = sns.catplot(data=pts, x="peak_mb", y="model", hue="method", col="where", kind="bar", palette=t.palette(),
                    height=max(1.8, 0.22 * pts["model"].nunique()), aspect=1.3, sharex=False, legend=False)
    g.set_axis_labels("peak RSS of the benchmark process (MB)", "")
    g.set_titles("{col_name}")
    return g.figure


@FIGURES.register("training_curves")
def training_curves(t: Tables):
    c = t.curves
    if c.empty or "val_dice" not in c:
        return no_data("Training curves", "no training records")
    c = c.assign(model=model_label(c))
    fig, axes = plt.subplots(1, 2, figsize=DOUBLE_COLUMN)
    for ax, y, label in ((axes[0], "loss", "training loss"), (axes[1], "val_dice", "validation Dice")):
        sns.lineplot(data=c, x="epoch", y=y, hue="method", units="model", estimator=None, palette=t.palette(),
                     lw=0.8, ax=ax, legend=ax is axes[1])
        ax.set(ylabel=label)
    axes[1].legend(fontsize=6, frameon=False)
    return fig


def _against(t: Tables, pairs: pd.DataFrame, xlabel: str, ylabel: str, title: str):
    """Scatter p50 of the same models measured two ways (columns x, y), with the diagonal."""
    if pairs.empty:
        return no_data(title, "no model was measured both ways")
    fig, ax = plt.subplots(figsize=SINGLE_COLUMN)
    sns.scatterplot(data=pairs, x="x", y="y", hue="method", palette=t.palette(), s=25, ax=ax)
    top = float(np.nanmax(pairs[["x", "y"]].to_numpy())) * 1.05
    ax.plot([0, top], [0, top], ls=":", color="0.5", lw=0.8)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    return fig


@FIGURES.register("host_vs_device")
def host_vs_device(t: Tables):
    wide = t.ok.pivot_table(index=["method", "level", "seed", "fmt"], columns="device", values="p50_ms")
    others = [d for d in wide.columns if d != "host"]
    pairs = pd.DataFrame(columns=["method", "x", "y"])
    if "host" in wide and others:
        pairs = (wide.reset_index().melt(id_vars=["method", "level", "seed", "fmt", "host"], value_vars=others,
                                         value_name="y").rename(columns={"host": "x"}).dropna(subset=["x", "y"]))
    return _against(t, pairs, "p50 on the host (ms)", "p50 on the device (ms)", "Host against device latency")


def draw(name: str, tables: Tables):
    apply_style()
    return FIGURES.get(name)(tables)


def write_figures(summary_csv, samples_csv, curves_csv, comparisons_csv, answers_csv, names: list[str], outdir,
                  report_cfg: dict) -> None:
    """Every figure as PNG and PDF, and the tables as CSV and LaTeX (text, one precision per
    column, mean and 95 % interval), into `outdir`."""
    from pathlib import Path

    from ..io import atomic_path, atomic_write_text
    from .tables import ANSWERS, COMPARISON, PAPER, comparison, paper_table, printed, read_optional_csv, write_latex

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    tables = Tables(pd.read_csv(summary_csv), pd.read_csv(samples_csv), read_optional_csv(curves_csv),
                    pd.read_csv(comparisons_csv))
    for name in names:
        fig = draw(name, tables)
        for ext in ("png", "pdf"):
            with atomic_path(outdir / f"{name}.{ext}") as tmp:
                fig.savefig(tmp, format=ext)
        plt.close(fig)
    table = comparison(tables.summary, tables.comparisons, report_cfg["fidelity_tolerance"])
    for stem, df, caption in (
        ("comparison", printed(table, COMPARISON),
         "Every method and operating point: mean and 95 % interval (Dice: [low, high] over seeds and test images, "
         "inside [0, 1]; the rest: ± half-width over seeds); Δ Dice: paired difference from the row's equal-budget "
         "control, Holm-corrected."),
        ("answers", printed(pd.read_csv(answers_csv), ANSWERS),
         f"Every model against the baseline: Dice loss (paired by seed and test image) with its 95 % interval; keeps, "
         f"loses or undecided quality at a margin of {report_cfg['dice_budget']} (Holm-corrected); the picks; "
         "ratios to the baseline."),
        ("paper_table", printed(paper_table(table), PAPER),
         "Model, Dice, compression rate and parameters (after Table 3 of Zhao et al. 2023)."),
    ):
        atomic_write_text(outdir / f"{stem}.csv", df.to_csv(index=False))
        atomic_write_text(outdir / f"{stem}.tex", write_latex(df, caption))
