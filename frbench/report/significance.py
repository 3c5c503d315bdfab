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
for the Student t quantile. A comparison pairs the same seed
and the same image of two models (their difference is such a table too), so what both share (a
hard image, the baseline a seed fine-tunes) cancels. With one seed the interval is the paired
t-test over images (`scipy.stats.ttest_rel`), with one image per seed the t-test over seeds:
tests/test_significance.py checks both against scipy.

Bounded metrics: Dice lies in [0, 1], a difference of two Dice in [-1, 1]. A t-interval over
three seeds of which one collapsed reaches past those ends; `Interval.within` intersects it with
the metric's range. The true mean always lies in the range, so the intersection covers it exactly
as often as the interval does (a confidence set cut to the parameter space keeps its level), and
the mean itself is always inside. (A bootstrap over three seeds covers far less than 95 %, and a
logit transform by the delta method turns a clear collapse into an interval reaching zero loss:
tests/test_significance.py measures both.)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

TEST_NAME = "paired t-test over seeds x images (two-way random effects, Satterthwaite df)"
LEVEL = 0.95
DICE_RANGE, DIFFERENCE_RANGE = (0.0, 1.0), (-1.0, 1.0)

NO_DIFFERENCE, WORSE, BETTER, UNKNOWN = "no measurable difference", "worse", "better", "unknown"


@dataclass(frozen=True)
class MeanSquares:
    """The three mean squares of a seeds x images table and its shape: what its interval, and the
    interval of a larger study with the same spread (frbench.report.power), are made from."""

    seeds_ms: float
    images_ms: float
    residual_ms: float
    seeds: int
    images: int

    def variance_components(self) -> tuple[float, float, float]:
        """(var_a, var_b, var_e): seeds, images, residual; each at zero or above."""
        s, i = self.seeds, self.images
        return (max(0.0, (self.seeds_ms - self.residual_ms) / i), max(0.0, (self.images_ms - self.residual_ms) / s),
                self.residual_ms)

    def variance_of_mean(self) -> tuple[float, float]:
        """Var(mean) and its Satterthwaite degrees of freedom (see the module docstring)."""
        s, i = self.seeds, self.images
        # S*I*Var(mean) = MS_seeds + MS_images - MS_residual; a factor whose mean square is under the
        # residual's has a variance component below zero, taken as zero: its two terms drop out.
        with_seeds, with_images = self.seeds_ms > self.residual_ms, self.images_ms > self.residual_ms
        terms = [(1.0, self.seeds_ms, s - 1)] if with_seeds else []
        terms += [(1.0, self.images_ms, i - 1)] if with_images else []
        terms += [(1.0 - with_seeds - with_images, self.residual_ms, (s - 1) * (i - 1))]
        total = sum(c * ms for c, ms, _ in terms)
        df = total**2 / sum((c * ms) ** 2 / d for c, ms, d in terms if c) if total > 0 else s * i - 1.0
        return total / (s * i), df


@dataclass(frozen=True)
class Interval:
    """A mean, its 95 % interval [low, high], the test of mean == 0 (p, df), its standard error and
    the table's size (`spread`: its mean squares, None with one seed or one image)."""

    mean: float
    low: float
    high: float
    p: float
    df: float
    seeds: int
    images: int
    se: float = math.nan
    spread: MeanSquares | None = None

    def to_dict(self) -> dict:
        out = asdict(self)
        out.pop("spread")
        return out

    def within(self, bounds: tuple[float, float]) -> Interval:
        """The interval intersected with the metric's range `bounds` (see the module docstring)."""
        lo, hi = bounds
        return replace(self, low=min(max(self.low, lo), hi), high=max(min(self.high, hi), lo))

    def p_against(self, value: float) -> float:
        """Two-sided p-value of the test that the mean equals `value` (a non-inferiority margin)."""
        if not (self.df > 0) or math.isnan(self.se):
            return math.nan
        if self.se == 0:
            return 1.0 if self.mean == value else 0.0
        return float(2 * stats.t.sf(abs(self.mean - value) / self.se, self.df))


def _interval(mean: float, var: float, df: float, seeds: int, images: int, spread=None) -> Interval:
    if not (var > 0 and df > 0):  # one value, or no spread at all: nothing to say about the noise
        same = math.isfinite(var) and var == 0 and df > 0
        return Interval(mean, mean if same else math.nan, mean if same else math.nan,
                        (1.0 if mean == 0 else 0.0) if same else math.nan, df, seeds, images,
                        0.0 if same else math.nan, spread)
    se = math.sqrt(var)
    half = float(stats.t.ppf(0.5 + LEVEL / 2, df)) * se
    p = float(2 * stats.t.sf(abs(mean) / se, df))
    return Interval(mean, mean - half, mean + half, p, df, seeds, images, se, spread)


def mean_squares(x: np.ndarray) -> MeanSquares:
    """The mean squares of a complete seeds x images table with at least two of each."""
    s, i = x.shape
    mean = float(x.mean())
    seed_means, image_means = x.mean(axis=1), x.mean(axis=0)
    residual = x - seed_means[:, None] - image_means[None, :] + mean
    return MeanSquares(i * float(((seed_means - mean) ** 2).sum()) / (s - 1),
                       s * float(((image_means - mean) ** 2).sum()) / (i - 1),
                       float((residual**2).sum()) / ((s - 1) * (i - 1)), s, i)


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
    spread = mean_squares(x)
    var, df = spread.variance_of_mean()
    return _interval(mean, var, df, s, i, spread)


def verdict(interval: Interval) -> str:
    """How a paired difference (row minus control) reads at its own 95 % interval: worse, better, or
    no measurable difference. (The study's verdicts are Holm-corrected: frbench.report.controls.)"""
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


def holm(p: pd.Series) -> pd.Series:
    """Holm-adjusted p-values of a family of tests (statsmodels' `multipletests`, method "holm"), in
    the same order; a NaN (no test) stays NaN and is not counted in the family."""
    from statsmodels.stats.multitest import multipletests

    out = pd.Series(np.nan, index=p.index, dtype=float)
    tested = p.notna()
    if tested.any():
        out[tested] = multipletests(p[tested].to_numpy(dtype=float), alpha=1 - LEVEL, method="holm")[1]
    return out
