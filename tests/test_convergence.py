"""The baseline's convergence verdict (frbench.report.convergence) on crafted training curves: a flat,
noisy curve passes, a rising one fails, and the verdict does not rest on one lucky epoch the way the best
validation Dice so far does."""

import numpy as np
import pandas as pd
import pytest

from frbench.report.convergence import convergence
from frbench.report.records import last_quarter_gain

TOLERANCE = 0.01


def curves(final_slope: float, noise: float, seeds=3, epochs=64, seed=0) -> pd.DataFrame:
    """Validation Dice per epoch: a rise that levels off at 0.94 by mid-training, then `final_slope` per
    epoch over the second half, plus noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(seeds):
        for e in range(1, epochs + 1):
            level = 0.94 - 0.4 * np.exp(-e / 6) + final_slope * max(0, e - epochs / 2)
            rows.append({"method": "baseline", "level": "dense", "seed": s, "epoch": e,
                         "val_dice": level + rng.normal(0, noise)})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("seed", range(5))
def test_a_flat_noisy_curve_passes(seed):
    verdict = convergence(curves(0.0, noise=0.004, seed=seed), "baseline", "dense", TOLERANCE)
    assert verdict.converged and verdict.low < 0 < verdict.high
    assert verdict.quarter == 16 and verdict.seeds == 3 and len(verdict.per_seed) == 3


@pytest.mark.parametrize("seed", range(5))
def test_a_rising_curve_fails(seed):
    verdict = convergence(curves(0.0015, noise=0.004, seed=seed), "baseline", "dense", TOLERANCE)  # +0.024 a quarter
    assert not verdict.converged and verdict.low > 0 and verdict.margin < 0


def test_a_curve_too_noisy_to_tell_fails():
    verdict = convergence(curves(0.0, noise=0.08), "baseline", "dense", TOLERANCE)
    assert not verdict.converged and verdict.high - verdict.low > 2 * TOLERANCE


def test_one_lucky_epoch_moves_the_best_so_far_but_not_the_verdict():
    flat = curves(0.0, noise=0.002)
    lucky = flat.copy()
    last = lucky["seed"].eq(0) & lucky["epoch"].eq(60)
    lucky.loc[last, "val_dice"] += 0.012  # one good validation pass near the end
    epochs = lambda df: [{"val_dice": v} for v in df[df["seed"].eq(0)]["val_dice"]]  # noqa: E731
    assert last_quarter_gain(epochs(flat)) < 0.005 < last_quarter_gain(epochs(lucky))  # the old rule flips
    before, after = (convergence(c, "baseline", "dense", TOLERANCE) for c in (flat, lucky))
    assert before.converged and after.converged and abs(after.rise - before.rise) < 0.003


def test_no_curves_no_verdict():
    assert convergence(pd.DataFrame(), "baseline", "dense", TOLERANCE) is None
    short = curves(0.0, noise=0.004, epochs=3)
    assert convergence(short, "baseline", "dense", TOLERANCE) is None
    assert convergence(curves(0.0, 0.004), "fr", "r0.01", TOLERANCE) is None  # no such rows
