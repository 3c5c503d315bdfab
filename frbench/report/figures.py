"""The paper's figures, drawn from the aggregated tables only (never from models).

Each figure is a function registered by name in FIGURES, taking `Tables` and
returning a matplotlib Figure. Which figures a study gets follows from its config
(`figure_names`), so that Snakemake can declare them as outputs: FR's curve only
with the `fr` method, host-against-device only with two devices, ptl-against-pte
only with both formats. A figure whose data is all missing says so on its canvas.

Style: seaborn's "paper" context, 8-9 pt text, TrueType fonts in PDFs (editable),
one colour per method from the colour-blind-safe palette, the same in every figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from ..registry import Registry  # noqa: E402
from .controls import GROUP  # noqa: E402
from .figure_names import figure_names  # noqa: E402,F401  (re-exported: which figures a config draws)
from .summary import against_own_dense, seed_table  # noqa: E402

FIGURES = Registry("figure")
SINGLE_COLUMN = (3.5, 2.6)  # inches: one column of a two-column paper
DOUBLE_COLUMN = (7.0, 2.8)


@dataclass
class Tables:
    summary: pd.DataFrame  # summary.csv
    samples: pd.DataFrame  # samples.csv
    curves: pd.DataFrame  # curves.csv
    comparisons: pd.DataFrame  # comparisons.csv: Dice with its interval over seeds and images, per model

    @property
    def ok(self) -> pd.DataFrame:
        return self.summary[self.summary["error"].isna()]

    def palette(self) -> dict:
        methods = sorted(self.summary["method"].unique())
        return dict(zip(methods, sns.color_palette("colorblind", max(len(methods), 3))))


def apply_style() -> None:
    sns.set_theme(context="paper", style="whitegrid", rc={
        "font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "legend.fontsize": 7, "xtick.labelsize": 7,
        "ytick.labelsize": 7, "pdf.fonttype": 42, "ps.fonttype": 42, "savefig.dpi": 300, "figure.dpi": 110,
        "savefig.bbox": "tight"})


def _no_data(title: str, why: str):
    fig, ax = plt.subplots(figsize=SINGLE_COLUMN)
    ax.text(0.5, 0.5, why, ha="center", va="center", wrap=True)
    ax.set(title=title, xticks=[], yticks=[])
    return fig


def _per_model(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Mean over seeds of each (method, level, fmt, device)."""
    return df.groupby(GROUP, as_index=False)[cols].mean()


def _dice_bounds(p) -> tuple[float, float]:
    """A Dice interval as drawn: within [0, 1], where Dice lives (a t-interval over three seeds of which
    one collapsed reaches past both ends; the tables print it whole)."""
    return np.clip(p["dice_low"], 0, None), np.clip(p["dice_high"], None, 1)


def _with_intervals(t: Tables, pts: pd.DataFrame, x: str) -> pd.DataFrame:
    """`pts` (per model) with the 95 % intervals the figures draw: Dice over seeds and test images
    (comparisons.csv: dice_low, dice_high) and `x` over seeds (x_low, x_high: a t-interval), and
    whether the model is a control."""
    spread = seed_table(t.ok, [x])[[*GROUP, f"{x}_ci95"]]
    dice = t.comparisons[[*GROUP, "dice_low", "dice_high", "role"]]
    out = pts.merge(spread, on=GROUP, how="left").merge(dice, on=GROUP, how="left")
    half = out[f"{x}_ci95"].fillna(0)
    return out.assign(x_low=out[x] - half, x_high=out[x] + half, is_control=out["role"].eq("control"))


def pareto_front(points: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """The points no other point beats on both axes (smaller x, larger y)."""
    front, best = [], -np.inf
    for _, row in points.sort_values([x, y], ascending=[True, False]).iterrows():
        if row[y] > best:
            front.append(row)
            best = row[y]
    return pd.DataFrame(front)


def _trade_off(t: Tables, x: str, xlabel: str, title: str, bytes_axis: bool = False):
    """Dice against `x`, with each (format, device)'s Pareto front. The x axis is logarithmic where the
    values span more than a factor of 10 (a wide range of sizes, or one slow model among fast ones)."""
    ok = t.ok.dropna(subset=[x, "dice"])
    if ok.empty:
        return _no_data(title, "no successful runs")
    own = against_own_dense(ok)  # the FR paper's released model: scored on its own test images
    pts = _with_intervals(t, _per_model(ok[~own], [x, "dice"]), x)
    ref = _per_model(ok[own], [x, "dice"])
    fig, ax = plt.subplots(figsize=SINGLE_COLUMN)
    if not pts.empty:
        # 95 % intervals first, under the markers: Dice over seeds and test images, x over seeds
        for _, p in pts.iterrows():
            low, high = _dice_bounds(p)
            yerr = [[p["dice"] - low], [high - p["dice"]]] if low == low else None
            ax.errorbar(p[x], p["dice"], yerr=yerr, xerr=[[p[x] - p["x_low"]], [p["x_high"] - p[x]]],
                        fmt="none", ecolor=t.palette().get(p["method"], "0.5"), elinewidth=0.7, capsize=1.5, zorder=1)
        methods, controls = pts[~pts["is_control"]], pts[pts["is_control"]]
        sns.scatterplot(data=methods, x=x, y="dice", hue="method", style="fmt", palette=t.palette(), s=30, ax=ax,
                        zorder=2)
        for method, group in controls.groupby("method"):  # controls: hollow markers, labelled as such
            ax.scatter(group[x], group["dice"], s=30, facecolors="white", linewidths=1.0, zorder=2,
                       edgecolors=[t.palette().get(method, "0.3")], label=f"{method} (control)")
    # Pareto fronts of the compressed models over this study's test images only: the reference
    # model's Dice is on other images, and a control is a yardstick, not a candidate
    for (fmt, device), group in pts[~pts["is_control"]].groupby(["fmt", "device"]):
        front = pareto_front(group, x, "dice")
        ax.plot(front[x], front["dice"], ls="--", lw=0.8, color="0.4", drawstyle="steps-post", zorder=0)
    for method, group in ref.groupby("method"):
        images = ok.loc[own & (ok["method"] == method), "dice_images"].dropna() if "dice_images" in ok else []
        on = f"its own {int(images.iloc[0])} test images" if len(images) else "its own test images"
        ax.scatter(group[x], group["dice"], marker="*", s=90, color=t.palette().get(method, "0.2"),
                   edgecolor="black", linewidth=0.5, zorder=3, label=f"{method}\n(Dice on {on})")
    ax.set(xlabel=xlabel, ylabel="test Dice (exported model)", title=title)
    _log_x_if_wide(ax, pd.concat([pts[x], ref[x]]))
    if bytes_axis:
        ax.xaxis.set_major_formatter(mticker.EngFormatter(unit="B", sep=" "))
    ax.legend(fontsize=6, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))  # beside, not over, the points
    return fig


def _log_x_if_wide(ax, values: pd.Series) -> None:
    """A logarithmic x axis where the values span more than a factor of 10 (a wide range of sizes, or
    one slow model among fast ones), said in the axis label."""
    if values.min() > 0 and values.max() / values.min() > 10:
        ax.set_xscale("log")
        ax.set_xlabel(ax.get_xlabel().removesuffix(")") + (", log scale)" if ax.get_xlabel().endswith(")")
                                                           else " (log scale)"))
        ax.xaxis.set_major_locator(mticker.LogLocator(subs=(1.0, 2.0, 5.0)))  # 1-2-5 ticks: a decade has labels
        ax.xaxis.set_minor_formatter(mticker.NullFormatter())  # minor labels overlap on a short log axis
        ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))


@FIGURES.register("dice_vs_size")
def dice_vs_size(t: Tables):
    return _trade_off(t, "file_bytes", "exported file (bytes)", "Dice against stored size", bytes_axis=True)


@FIGURES.register("dice_vs_latency")
def dice_vs_latency(t: Tables):
    return _trade_off(t, "p50_ms", "p50 latency (ms)", "Dice against latency")


def _label(df: pd.DataFrame) -> pd.Series:
    return df["method"] + ":" + df["level"].astype(str)


@FIGURES.register("latency_distributions")
def latency_distributions(t: Tables):
    s = t.samples
    if s.empty:
        return _no_data("Latency distributions", "no latency samples")
    s = s.assign(model=_label(s), where=s["fmt"] + " @ " + s["device"])
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
        return _no_data("Peak memory", "no successful runs")
    pts = _per_model(ok, ["peak_rss_kb"]).assign(peak_mb=lambda d: d["peak_rss_kb"] / 1024)
    pts = pts.assign(model=_label(pts), where=pts["fmt"] + " @ " + pts["device"])
    g = sns.catplot(data=pts, x="peak_mb", y="model", hue="method", col="where", kind="bar", palette=t.palette(),
                    height=max(1.8, 0.22 * pts["model"].nunique()), aspect=1.3, sharex=False, legend=False)
    g.set_axis_labels("peak RSS of the benchmark process (MB)", "")
    g.set_titles("{col_name}")
    return g.figure


@FIGURES.register("training_curves")
def training_curves(t: Tables):
    c = t.curves
    if c.empty or "val_dice" not in c:
        return _no_data("Training curves", "no training records")
    c = c.assign(model=_label(c))
    fig, axes = plt.subplots(1, 2, figsize=DOUBLE_COLUMN)
    for ax, y, label in ((axes[0], "loss", "training loss"), (axes[1], "val_dice", "validation Dice")):
        sns.lineplot(data=c, x="epoch", y=y, hue="method", units="model", estimator=None, palette=t.palette(),
                     lw=0.8, ax=ax, legend=ax is axes[1])
        ax.set(ylabel=label)
    axes[1].legend(fontsize=6, frameon=False)
    return fig


@FIGURES.register("fr_kept_vs_dice")
def fr_kept_vs_dice(t: Tables):
    """FR's levels and their controls, dense UNets as small (small_dense), on one axis of stored
    numbers: does FR beat simply training a smaller network? 95 % intervals over seeds and images."""
    models = t.ok[t.ok["method"].isin(["fr", "small_dense"])].dropna(subset=["stored_numbers", "dice"])
    if models[models["method"] == "fr"].empty:
        return _no_data("FR: coefficients kept against Dice", "no successful FR runs")
    pts = _with_intervals(t, _per_model(models, ["stored_numbers", "dice"]), "stored_numbers")
    fig, ax = plt.subplots(figsize=SINGLE_COLUMN)
    for method, group in pts.groupby("method"):
        colour = t.palette().get(method, "0.3")
        control = method != "fr"
        low, high = _dice_bounds(group)
        ax.errorbar(group["stored_numbers"], group["dice"], yerr=[group["dice"] - low, high - group["dice"]], fmt="o",
                    ms=4, color=colour, mfc="white" if control else colour, elinewidth=0.7, capsize=1.5,
                    label=f"{method} (control)" if control else method)
    for _, r in pts[pts["method"] == "fr"].iterrows():
        ax.annotate(str(r["level"]), (r["stored_numbers"], r["dice"]), fontsize=6, xytext=(3, 2),
                    textcoords="offset points")
    base = t.ok[t.ok["method"] == "baseline"]["dice"].mean()
    if base == base:
        ax.axhline(base, ls=":", color=t.palette().get("baseline", "0.3"), lw=0.8, label="baseline")
    ax.set(xlabel="numbers stored in the file", ylabel="test Dice", title="FR against dense UNets of the same size")
    _log_x_if_wide(ax, pts["stored_numbers"])
    ax.legend(fontsize=6, frameon=False)
    return fig


def _against(t: Tables, pairs: pd.DataFrame, xlabel: str, ylabel: str, title: str):
    """Scatter p50 of the same models measured two ways (columns x, y), with the diagonal."""
    if pairs.empty:
        return _no_data(title, "no model was measured both ways")
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


@FIGURES.register("ptl_vs_pte")
def ptl_vs_pte(t: Tables):
    wide = t.ok.pivot_table(index=["method", "level", "seed", "device"], columns="fmt", values="p50_ms")
    pairs = pd.DataFrame(columns=["method", "x", "y"])
    if {"ptl", "pte"} <= set(wide.columns):
        pairs = wide.reset_index().rename(columns={"ptl": "x", "pte": "y"}).dropna(subset=["x", "y"])
    return _against(t, pairs, "p50, PyTorch Lite (ms)", "p50, ExecuTorch (ms)", "PyTorch Lite against ExecuTorch")


from . import heap, runtimes  # noqa: E402,F401  (register heap_memory and runtime_latency)


def draw(name: str, tables: Tables):
    apply_style()
    return FIGURES.get(name)(tables)


def write_figures(summary_csv, samples_csv, curves_csv, comparisons_csv, names: list[str], outdir,
                  report_cfg: dict) -> None:
    """Every figure as PNG and PDF, and the tables as CSV and LaTeX (text, one precision per
    column, mean ± 95 % interval), into `outdir`."""
    from pathlib import Path

    from ..io import atomic_path, atomic_write_text
    from .tables import ANSWERS, COMPARISON, PAPER, answers, comparison, paper_table, printed, write_latex

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    tables = Tables(pd.read_csv(summary_csv), pd.read_csv(samples_csv), _read_optional_csv(curves_csv),
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
         "Every method and operating point: mean ± 95 % interval half-width (Dice: over seeds and test images; "
         "the rest: over seeds); Δ Dice: paired difference from the row's equal-budget control."),
        ("answers", printed(answers(table, report_cfg["dice_budget"]), ANSWERS),
         "Per method, the smallest file not measurably worse than its control, with a loss within the Dice budget; "
         "ratios to the baseline."),
        ("paper_table", printed(paper_table(table), PAPER),
         "Model, Dice, compression rate and parameters (after Table 3 of Zhao et al. 2023)."),
    ):
        atomic_write_text(outdir / f"{stem}.csv", df.to_csv(index=False))
        atomic_write_text(outdir / f"{stem}.tex", write_latex(df, caption))


def _read_optional_csv(path) -> pd.DataFrame:
    """curves.csv is empty (no header) when no model recorded epochs."""
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
