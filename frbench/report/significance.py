"""Means and paired differences of per-image Dice over seeds and test images, with 95 % intervals.

A row of the study is one model trained with several seeds and scored on the same test images,
so its Dice is a table `seeds x images`. Both are samples: another seed trains another model,
and other images would score differently. The interval of the table's mean treats both as
random, crossed factors (a two-way random-effects ANOVA without replication, as in
generalizability theory):

    x[s, i] = mu + a[s] + b[i] + e[s, i]
    Var(mean) = var_a / S + var_b / I + var_e / (S I)
              = (MS_seeds + MS_images - MS_residual) / (S I)

with each variance component kept at zero or above, and Satterthwaite's degrees of freedom
for the Student t quantile. A comparison pairs the same seed and the same image of a row
and its control (their difference is such a table too), so what both models share (a hard
image, the baseline a seed fine-tunes) cancels. With one seed the interval is the paired
t-test over images (`scipy.stats.ttest_rel`), with one image per seed the t-test over seeds:
tests/test_significance.py checks both against scipy.

Not corrected for the number of rows: at 95 %, about one row in twenty that does not differ
from its control is expected to read as a measurable difference. The report says so.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

TEST_NAME = "paired t-test over seeds x images (two-way random effects, Satterthwaite df)"
LEVEL = 0.95

NO_DIFFERENCE, WORSE, BETTER, UNKNOWN = "no measurable difference", "worse", "better", "unknown"


@dataclass(frozen=True)
class Interval:
    """A mean, its 95 % interval [low, high], the test of mean == 0 (p, df), and the table's size."""

    mean: float
    low: float
    high: float
    p: float
    df: float
    seeds: int
    images: int

    def to_dict(self) -> dict:
        return asdict(self)


def _interval(mean: float, var: float, df: float, seeds: int, images: int) -> Interval:
    if not (var > 0 and df > 0):  # one value, or no spread at all: nothing to say about the noise
        same = math.isfinite(var) and var == 0 and df > 0
        return Interval(mean, mean if same else math.nan, mean if same else math.nan,
                        (1.0 if mean == 0 else 0.0) if same else math.nan, df, seeds, images)
    se = math.sqrt(var)
    half = float(stats.t.ppf(0.5 + LEVEL / 2, df)) * se
    p = float(2 * stats.t.sf(abs(mean) / se, df))
    return Interval(mean, mean - half, mean + half, p, df, seeds, images)


def crossed_mean(table: np.ndarray) -> Interval:
    """The mean of a `seeds x images` table and its 95 % interval (see the module docstring)."""
    x = np.asarray(table, dtype=np.float64)
    if x.ndim != 2 or x.size == 0 or np.isnan(x).any():
        raise ValueError(f"need a complete seeds x images table, got shape {x.shape}")
    s, i = x.shape
    mean = float(x.mean())
    if s == 1 or i == 1:  # one factor: the one-sample t-test over the other
        values = x.ravel()
        n = len(values)
        return _interval(mean, float(values.var(ddof=1)) / n if n > 1 else math.nan, n - 1, s, i)
    seed_means, image_means = x.mean(axis=1), x.mean(axis=0)
    ms_seeds = i * float(((seed_means - mean) ** 2).sum()) / (s - 1)
    ms_images = s * float(((image_means - mean) ** 2).sum()) / (i - 1)
    residual = x - seed_means[:, None] - image_means[None, :] + mean
    ms_residual = float((residual**2).sum()) / ((s - 1) * (i - 1))
    # S*I*Var(mean) = MS_seeds + MS_images - MS_residual; a factor whose mean square is under the
    # residual's has a variance component below zero, taken as zero: its two terms drop out.
    with_seeds, with_images = ms_seeds > ms_residual, ms_images > ms_residual
    terms = [(1.0, ms_seeds, s - 1)] if with_seeds else []
    terms += [(1.0, ms_images, i - 1)] if with_images else []
    terms += [(1.0 - with_seeds - with_images, ms_residual, (s - 1) * (i - 1))]
    total = sum(c * ms for c, ms, _ in terms)
    df = total**2 / sum((c * ms) ** 2 / d for c, ms, d in terms if c) if total > 0 else s * i - 1.0
    return _interval(mean, total / (s * i), df, s, i)


def verdict(interval: Interval) -> str:
    """How a paired difference (row minus control) reads: worse, better, or no measurable difference."""
    if not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return UNKNOWN
    if interval.high < 0:
        return WORSE
    if interval.low > 0:
        return BETTER
    return NO_DIFFERENCE


def dice_table(dice: pd.DataFrame) -> pd.DataFrame:
    """Long per-image Dice (columns seed, image, dice) -> a seeds x images table."""
    return dice.pivot_table(index="seed", columns="image", values="dice", aggfunc="first")


def paired(row: pd.DataFrame, control: pd.DataFrame) -> Interval:
    """The row's Dice minus its control's, paired by seed and image (both long: seed, image, dice).
    Only seeds and images both have are paired; none in common raises ValueError."""
    a, b = dice_table(row), dice_table(control)
    seeds = a.index.intersection(b.index)
    images = a.columns.intersection(b.columns)
    if seeds.empty or images.empty:
        raise ValueError("the row and its control share no seed and image")
    diff = a.loc[seeds, images] - b.loc[seeds, images]
    return crossed_mean(diff.dropna(axis=1).to_numpy())
