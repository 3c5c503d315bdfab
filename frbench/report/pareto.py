"""The trade-off figures: Dice against stored size and against latency, each with its Pareto fronts,
and FR's levels beside the dense UNets as small as their files (their controls)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns

from .figure_base import FIGURES, SINGLE_COLUMN, Tables, dice_bounds, log_x_if_wide, no_data, per_model, with_intervals
from .ratios import against_own_dense


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
        return no_data(title, "no successful runs")
    own = against_own_dense(ok)  # the FR paper's released model: scored on its own test images
    pts = with_intervals(t, per_model(ok[~own], [x, "dice"]), x)
    ref = per_model(ok[own], [x, "dice"])
    fig, ax = plt.subplots(figsize=SINGLE_COLUMN)
    if not pts.empty:
        # 95 % intervals first, under the markers: Dice over seeds and test images, x over seeds
        for _, p in pts.iterrows():
            low, high = dice_bounds(p)
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
    log_x_if_wide(ax, pd.concat([pts[x], ref[x]]))
    if bytes_axis:
        ax.xaxis.set_major_formatter(mticker.EngFormatter(unit="B", sep=" "))
    ax.legend(fontsize=6, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))  # beside, not over, the points
    return fig


@FIGURES.register("dice_vs_size")
def dice_vs_size(t: Tables):
    return _trade_off(t, "file_bytes", "exported file (bytes)", "Dice against stored size", bytes_axis=True)


@FIGURES.register("dice_vs_latency")
def dice_vs_latency(t: Tables):
    return _trade_off(t, "p50_ms", "p50 latency (ms)", "Dice against latency")


FR = "fr"  # the method this figure is about (figure_names draws it only where the study has it)


@FIGURES.register("fr_kept_vs_dice")
def fr_kept_vs_dice(t: Tables):
    """FR's levels and the controls they name (dense UNets as small as their files), on one axis of
    stored numbers: does FR beat simply training a smaller network? 95 % intervals over seeds and images."""
    named = t.ok.loc[t.ok["method"].eq(FR), "control"].dropna() if "control" in t.ok else pd.Series(dtype=str)
    controls = set(named.str.split("/").str[0])
    models = t.ok[t.ok["method"].isin({FR, *controls})].dropna(subset=["stored_numbers", "dice"])
    if models[models["method"] == FR].empty:
        return no_data("FR: coefficients kept against Dice", "no successful FR runs")
    pts = with_intervals(t, per_model(models, ["stored_numbers", "dice"]), "stored_numbers")
    fig, ax = plt.subplots(figsize=SINGLE_COLUMN)
    for method, group in pts.groupby("method"):
        colour = t.palette().get(method, "0.3")
        control = method != FR
        low, high = dice_bounds(group)
        ax.errorbar(group["stored_numbers"], group["dice"], yerr=[group["dice"] - low, high - group["dice"]], fmt="o",
                    ms=4, color=colour, mfc="white" if control else colour, elinewidth=0.7, capsize=1.5,
                    label=f"{method} (control)" if control else method)
    for _, r in pts[pts["method"] == FR].iterrows():
        ax.annotate(str(r["level"]), (r["stored_numbers"], r["dice"]), fontsize=6, xytext=(3, 2),
                    textcoords="offset points")
    baseline = t.ok[t.ok["role"].eq("baseline")] if "role" in t.ok else t.ok[:0]
    if not baseline.empty:
        name = baseline["method"].iloc[0]
        ax.axhline(baseline["dice"].mean(), ls=":", color=t.palette().get(name, "0.3"), lw=0.8, label=name)
    ax.set(xlabel="numbers stored in the file", ylabel="test Dice", title="FR against dense UNets of the same size")
    log_x_if_wide(ax, pts["stored_numbers"])
    ax.legend(fontsize=6, frameon=False)
    return fig
