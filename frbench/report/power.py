"""How many seeds would decide an undecided row: a power calculation on the measured spread.

A row's paired table (seeds x test images) has three variance components (seeds, images, residual;
frbench.report.significance.MeanSquares). With S' seeds on the same images the mean's variance is
var_a / S' + var_b / I + var_e / (S' I), with Satterthwaite's degrees of freedom from the expected
mean squares, and the test of "the mean equals the margin" has the power of a two-sided t-test at
that variance: P(|T| > t_crit) for T non-central t with non-centrality (mean - margin) / se.
T = (Z + ncp) / sqrt(V / df) with V chi-squared: the power is the mean over V's quantiles of two
normal tails (SciPy's `chi2` and `norm`), which stays finite where `scipy.stats.nct` returns NaN (a
large non-centrality at two degrees of freedom). Where the seeds alone vary, this is the one-sample
t-test over seeds, whose power statsmodels' `TTestPower` gives (tests/test_decisions.py checks
they agree).

The difference measured is taken as the truth, as a power calculation does: a row whose loss sits on
the margin needs no finite number of seeds. Where even unlimited seeds leave the power short (the
image term alone is too wide), more test images are needed, and the answer is None with that reason.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .significance import Interval, MeanSquares

POWER = 0.8
MAX_SEEDS = 1000
_QUANTILES = (np.arange(4000) + 0.5) / 4000  # of the chi-squared variance estimate: power to about 1e-3


def power_at(spread: MeanSquares, effect: float, alpha: float, seeds: int) -> float:
    """Power of the two-sided test at level `alpha` of a difference `effect` from the margin, with
    `seeds` seeds on the images of `spread`, at its variance components."""
    var_a, var_b, var_e = spread.variance_components()
    future = MeanSquares(spread.images * var_a + var_e, seeds * var_b + var_e, var_e, seeds, spread.images)
    var, df = future.variance_of_mean()
    if var <= 0:
        return 1.0 if effect else 0.0
    crit, ncp = stats.t.ppf(1 - alpha / 2, df), abs(effect) / math.sqrt(var)
    scale = np.sqrt(stats.chi2.ppf(_QUANTILES, df) / df)
    return float(np.mean(stats.norm.sf(crit * scale - ncp) + stats.norm.cdf(-crit * scale - ncp)))


def seeds_to_decide(interval: Interval, margin: float, alpha: float) -> tuple[int | None, str | None]:
    """The fewest seeds (more than the row has) at which the test against `margin` at level `alpha`
    would reach POWER at the measured difference and spread; or None and why not."""
    if interval.spread is None:
        return None, ("one seed: the spread between seeds is unknown, run more seeds" if interval.seeds == 1
                      else "no spread measured")
    effect = interval.mean - margin
    if effect == 0:
        return None, "its loss sits on the budget: no number of seeds decides it"
    if power_at(interval.spread, effect, alpha, MAX_SEEDS) < POWER:
        return None, f"more seeds alone cannot decide it ({MAX_SEEDS} would not): it needs more test images"
    low, high = interval.seeds, MAX_SEEDS  # power grows with the seeds: bisect for the fewest that suffice
    while high - low > 1:
        mid = (low + high) // 2
        if power_at(interval.spread, effect, alpha, mid) >= POWER:
            high = mid
        else:
            low = mid
    return high, None
