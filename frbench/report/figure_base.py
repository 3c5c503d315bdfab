"""What every figure shares: the tables it is drawn from, the registry it is found in, the style.

Each figure is a function registered by name in FIGURES (frbench.report.figures imports the modules
that register them), taking `Tables` and returning a matplotlib Figure. A figure whose data is all
missing says so on its canvas (`no_data`).

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
from .pooling import seed_table  # noqa: E402

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


def no_data(title: str, why: str):
    fig, ax = plt.subplots(figsize=SINGLE_COLUMN)
    ax.text(0.5, 0.5, why, ha="center", va="center", wrap=True)
    ax.set(title=title, xticks=[], yticks=[])
    return fig


def per_model(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Mean over seeds of each (method, level, fmt, device)."""
    return df.groupby(GROUP, as_index=False)[cols].mean()


def dice_bounds(p) -> tuple[float, float]:
    """A Dice interval as drawn: within [0, 1], where Dice lives (comparisons.csv's are; one written by
    frbench before they were may reach past both ends)."""
    return np.clip(p["dice_low"], 0, None), np.clip(p["dice_high"], None, 1)


def with_intervals(t: Tables, pts: pd.DataFrame, x: str) -> pd.DataFrame:
    """`pts` (per model) with the 95 % intervals the figures draw: Dice over seeds and test images
    (comparisons.csv: dice_low, dice_high) and `x` over seeds (x_low, x_high: a t-interval), and
    whether the model is a control."""
    spread = seed_table(t.ok, [x])[[*GROUP, f"{x}_ci95"]]
    dice = t.comparisons[[*GROUP, "dice_low", "dice_high", "role"]]
    out = pts.merge(spread, on=GROUP, how="left").merge(dice, on=GROUP, how="left")
    half = out[f"{x}_ci95"].fillna(0)
    return out.assign(x_low=out[x] - half, x_high=out[x] + half, is_control=out["role"].eq("control"))


def log_x_if_wide(ax, values: pd.Series) -> None:
    """A logarithmic x axis where the values span more than a factor of 10 (a wide range of sizes, or
    one slow model among fast ones), said in the axis label."""
    if values.min() > 0 and values.max() / values.min() > 10:
        ax.set_xscale("log")
        ax.set_xlabel(ax.get_xlabel().removesuffix(")") + (", log scale)" if ax.get_xlabel().endswith(")")
                                                           else " (log scale)"))
        ax.xaxis.set_major_locator(mticker.LogLocator(subs=(1.0, 2.0, 5.0)))  # 1-2-5 ticks: a decade has labels
        ax.xaxis.set_minor_formatter(mticker.NullFormatter())  # minor labels overlap on a short log axis
        ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))


def model_label(df: pd.DataFrame) -> pd.Series:
    return df["method"] + ":" + df["level"].astype(str)
