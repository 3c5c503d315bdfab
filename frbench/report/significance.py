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

Directional claims (`directional_test`). A verdict says a model lies above or below a margin: worse or
better than its control (margin 0), losing or keeping quality (margin: the Dice budget). With three
seeds the interval above has about two degrees of freedom when the seeds disagree, and its seed
variance rests on three numbers, so a claim made from it alone flips from machine to machine (one
machine's three seeds collapse alike, another's do not). A claim can therefore also rest on every seed:
each seed's model tested by itself, a one-sided paired t-test over its test images (seeds fixed;
`scipy.stats.ttest_1samp`), the claim made when every seed's test makes it. That is an
intersection-union test (Berger 1982), whose p-value is the largest of the seeds' and which keeps
its level without a correction across the seeds; it speaks of the models trained, not of seeds not
trained. Each claim a row may make is one one-sided test; the row's p-value is the smallest of them
times their number (Bonferroni within the row), and the rows of a study are one family, corrected by
Holm's method (`holm`). Which claims may rest on every seed is the caller's choice: a loss or a
difference from a control may; keeping quality, the claim a reader ships a model on, rests on the
random-effects interval alone, which speaks of seeds not trained too.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

LEVEL = 0.95
DICE_RANGE, DIFFERENCE_RANGE = (0.0, 1.0), (-1.0, 1.0)

NO_DIFFERENCE, WORSE, BETTER, UNKNOWN = "no measurable difference", "worse", "better", "unknown"
ABOVE, BELOW = "above", "below"  # the two sides of a margin a directional claim may put a mean on


def _beyond(mean: float, value: float, side: str) -> bool:
    return mean > value if side == ABOVE else mean < value


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
        return min(1.0, 2 * min(self.p_beyond(value, ABOVE), self.p_beyond(value, BELOW)))

    def p_beyond(self, value: float, side: str) -> float:
        """One-sided p-value of the test whose alternative is that the mean lies `side` (ABOVE or BELOW)
        of `value`."""
        if not (self.df > 0) or math.isnan(self.se):
            return math.nan
        if self.se == 0:
            return 0.0 if _beyond(self.mean, value, side) else 1.0
        t = (self.mean - value) / self.se
        return float(stats.t.sf(t, self.df) if side == ABOVE else stats.t.cdf(t, self.df))


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


def paired_table(row: pd.DataFrame, control: pd.DataFrame) -> np.ndarray:
    """The row's Dice minus its control's, paired by seed and image (both long: seed, image, dice), as a
    seeds x images array. Only seeds and images both have are paired; none in common raises ValueError."""
    a, b = dice_table(row), dice_table(control)
    seeds = a.index.intersection(b.index)
    images = a.columns.intersection(b.columns)
    if seeds.empty or images.empty:
        raise ValueError("the row and its control share no seed and image")
    diff = a.loc[seeds, images] - b.loc[seeds, images]
    return diff.dropna(axis=1).to_numpy()


def paired(row: pd.DataFrame, control: pd.DataFrame) -> Interval:
    """The mean of `paired_table(row, control)` and its 95 % interval."""
    return crossed_mean(paired_table(row, control))


def every_seed_p(table: np.ndarray, value: float, side: str) -> float:
    """p-value of the intersection-union test that every seed's mean (a row of the seeds x images
    `table`) lies `side` of `value`: the largest of the seeds' one-sided paired t-tests over their images
    (see the module docstring). A seed whose images all differ alike counts by its mean alone."""
    x = np.asarray(table, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 2:
        return math.nan
    alternative = "greater" if side == ABOVE else "less"
    p = stats.ttest_1samp(x, value, axis=1, alternative=alternative).pvalue
    flat = x.std(axis=1) == 0
    p = np.where(flat, np.where(_beyond(x.mean(axis=1), value, side), 0.0, 1.0), p)
    return float(np.max(p))


@dataclass(frozen=True)
class Directional:
    """The outcome of `directional_test`: the row's p-value (its tests' smallest, times their number),
    the side that smallest p-value speaks for, and whether it rests on every seed."""

    p: float
    side: str | None
    every_seed: bool
    tests: int


def directional_test(table: np.ndarray, value: float, every_seed_sides: tuple[str, ...] = (ABOVE, BELOW),
                     interval: Interval | None = None) -> Directional:
    """The claims a row may make about the mean of its paired `table` against `value`: above or below
    it by the random-effects interval (`crossed_mean`), and, on the sides in `every_seed_sides`, above
    or below it in every seed (`every_seed_p`). Bonferroni within the row (see the module docstring)."""
    interval = crossed_mean(table) if interval is None else interval
    if np.asarray(table).shape[0] == 1:  # one seed: every seed's test is the interval's own
        every_seed_sides = ()
    tests = [(interval.p_beyond(value, side), side, False) for side in (ABOVE, BELOW)]
    tests += [(every_seed_p(table, value, side), side, True) for side in every_seed_sides]
    tests = [t for t in tests if not math.isnan(t[0])]
    if not tests:
        return Directional(math.nan, None, False, 0)
    p, side, every = min(tests, key=lambda t: t[0])
    return Directional(min(1.0, p * len(tests)), side, every, len(tests))


def holm(p: pd.Series) -> pd.Series:
    """Holm-adjusted p-values of a family of tests (statsmodels' `multipletests`, method "holm"), in
    the same order; a NaN (no test) stays NaN and is not counted in the family."""
    from statsmodels.stats.multitest import multipletests

    out = pd.Series(np.nan, index=p.index, dtype=float)
    tested = p.notna()
    if tested.any():
        out[tested] = multipletests(p[tested].to_numpy(dtype=float), alpha=1 - LEVEL, method="holm")[1]
    return out
