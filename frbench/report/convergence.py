"""Had the baseline converged? A verdict with its own uncertainty, from the training curves (curves.csv).

A compressed model compared with an undertrained baseline measures training time, not compression.
The question is whether the baseline's validation Dice was still rising at the end of its training,
by an amount that matters against the answer's Dice budget. Over the last quarter of the epochs,
each seed's validation Dice is regressed on the epoch (least squares, one intercept per seed, one
slope shared by the seeds); the *rise* is that slope times the quarter's length: what the curve
gained over the last quarter by its trend. Its 95 % interval is Student's t on the regression's
residual degrees of freedom (points minus seeds minus one). The baseline had converged when the
upper end of that interval is under `report.convergence_tolerance`: a flat, noisy curve passes (its
slope is near zero, and its noise only widens the interval), a rising one fails, and a curve too
noisy to tell fails too rather than passing by luck.

The best validation Dice so far (`last_quarter_gain` in summary.csv) is a record, not a trend: it
can only rise, and whether one lucky epoch lands in the last quarter decides it. It flipped between
two machines of the same kind on the same config (0.0049 here, 0.0054 there), which this verdict
does not do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .significance import LEVEL


@dataclass(frozen=True)
class Convergence:
    method: str
    level: str
    seeds: int
    epochs: int  # per seed (the fewest, where they differ)
    quarter: int  # epochs in the last quarter
    per_seed: tuple[float, ...]  # each seed's own slope x quarter
    rise: float  # the shared slope x quarter
    low: float
    high: float
    tolerance: float

    @property
    def converged(self) -> bool:
        return bool(self.high < self.tolerance)

    @property
    def margin(self) -> float:
        """How far under the tolerance the interval's upper end is (negative: it is not)."""
        return self.tolerance - self.high


def rise_per_seed(epochs: np.ndarray, values: np.ndarray) -> float:
    """One seed's least-squares slope over its last quarter, times the quarter's length."""
    slope = np.polyfit(epochs.astype(float), values.astype(float), 1)[0]
    return float(slope * len(epochs))


def convergence(curves: pd.DataFrame, method: str, level: str, tolerance: float) -> Convergence | None:
    """The verdict for the training of `method` at `level` (see the module docstring); None where
    fewer than four epochs per seed, or no validation Dice, were recorded."""
    if curves.empty or not {"method", "level", "seed", "epoch", "val_dice"} <= set(curves):
        return None
    chosen = curves["method"].eq(method) & curves["level"].astype(str).eq(str(level))
    rows = curves[chosen].dropna(subset=["val_dice"])
    seeds = [g.sort_values("epoch") for _, g in rows.groupby("seed")]
    epochs = min((len(g) for g in seeds), default=0)
    if epochs < 4:
        return None
    quarter = epochs // 4
    tails = [g.iloc[epochs - quarter:epochs] for g in seeds]
    xs = [t["epoch"].to_numpy(float) - t["epoch"].mean() for t in tails]  # centred per seed: one intercept each
    ys = [t["val_dice"].to_numpy(float) - t["val_dice"].mean() for t in tails]
    sxx = sum(float((x**2).sum()) for x in xs)
    slope = sum(float((x * y).sum()) for x, y in zip(xs, ys)) / sxx
    residual = sum(float(((y - slope * x) ** 2).sum()) for x, y in zip(xs, ys))
    df = len(seeds) * quarter - len(seeds) - 1
    half = float(stats.t.ppf(0.5 + LEVEL / 2, df)) * np.sqrt(residual / df / sxx) * quarter if df > 0 else np.inf
    per_seed = tuple(rise_per_seed(t["epoch"].to_numpy(), t["val_dice"].to_numpy()) for t in tails)
    rise = slope * quarter
    return Convergence(method, str(level), len(seeds), epochs, quarter, per_seed, rise, rise - half, rise + half, tolerance)
