"""The statistics the report's verdicts rest on, on crafted per-seed, per-image Dice tables:
the interval agrees with scipy where the design is one factor, a real difference is detected,
a null one is not (also when seeds shift every image together, which a test over all pairs
would mistake for a difference), a bounded interval keeps its coverage, and the verdicts are
Holm-corrected. Why
not a bootstrap or a logit transform for the bounds: measured here too."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from frbench.report.controls import compare
from frbench.report.significance import (
    BETTER,
    DICE_RANGE,
    NO_DIFFERENCE,
    UNKNOWN,
    WORSE,
    crossed_mean,
    holm,
    paired,
    verdict,
)
from frbench.report.tables import COMPARISON_COLUMNS


def crossed(rng, seeds=3, images=200, mean=0.0, seed_sd=0.0, image_sd=0.0, noise_sd=0.03):
    """A seeds x images table: mean + seed effect + image effect + noise."""
    return (mean + rng.normal(0, seed_sd, (seeds, 1)) + rng.normal(0, image_sd, (1, images))
            + rng.normal(0, noise_sd, (seeds, images)))


def test_one_seed_is_scipys_paired_t_test_over_images():
    rng = np.random.default_rng(0)
    row, control = rng.uniform(0.8, 1.0, 200), rng.uniform(0.8, 1.0, 200)
    iv = crossed_mean((row - control)[None, :])
    ref = stats.ttest_rel(row, control)
    low, high = ref.confidence_interval(0.95)
    assert iv.p == pytest.approx(ref.pvalue, rel=1e-9) and iv.df == ref.df
    assert (iv.low, iv.high) == (pytest.approx(low, rel=1e-9), pytest.approx(high, rel=1e-9))


def test_one_image_per_seed_is_scipys_t_test_over_seeds():
    values = np.array([[0.91], [0.93], [0.95], [0.90]])
    iv = crossed_mean(values)
    ref = stats.ttest_1samp(values.ravel(), 0)
    assert iv.p == pytest.approx(ref.pvalue) and iv.seeds == 4 and iv.images == 1
    assert iv.low == pytest.approx(ref.confidence_interval(0.95).low)


def test_a_real_difference_is_detected_in_both_directions():
    rng = np.random.default_rng(1)
    worse = crossed(rng, mean=-0.02, seed_sd=0.003, image_sd=0.02, noise_sd=0.03)
    assert verdict(crossed_mean(worse)) == WORSE
    better = crossed(rng, mean=0.02, seed_sd=0.003, image_sd=0.02, noise_sd=0.03)
    assert verdict(crossed_mean(better)) == BETTER


def test_a_null_difference_is_not_detected_even_when_seeds_shift_every_image():
    """2000 null tables whose seeds each shift all 200 images together (one model better on every
    image by chance): the verdict reads a difference in about 5 % of them, as a 95 % interval
    should; a t-test over the 600 pairs as if independent reads one in most of them."""
    rng = np.random.default_rng(2)
    tables = [crossed(rng, seed_sd=0.02, image_sd=0.01, noise_sd=0.05) for _ in range(2000)]
    rate = np.mean([verdict(crossed_mean(t)) != NO_DIFFERENCE for t in tables])
    naive = np.mean([stats.ttest_1samp(t.ravel(), 0).pvalue < 0.05 for t in tables])
    assert 0.02 < rate < 0.09
    assert naive > 0.5


def test_intervals_cover_the_true_mean_at_about_95_percent():
    rng = np.random.default_rng(3)
    hits = [crossed_mean(crossed(rng, mean=0.9, seed_sd=0.01, image_sd=0.05, noise_sd=0.03)) for _ in range(1000)]
    coverage = np.mean([iv.low <= 0.9 <= iv.high for iv in hits])
    assert 0.91 < coverage < 0.99


def test_no_spread_and_no_interval():
    assert verdict(crossed_mean(np.zeros((3, 20)))) == NO_DIFFERENCE  # identical models: no difference at all
    assert verdict(crossed_mean(np.array([[0.1]]))) == UNKNOWN  # one seed, one image: nothing to test
    with pytest.raises(ValueError):
        crossed_mean(np.array([[0.1, np.nan]]))


def long(table: np.ndarray, seeds=None) -> pd.DataFrame:
    seeds = seeds if seeds is not None else range(table.shape[0])
    return pd.DataFrame([{"seed": s, "image": i, "dice": float(v)}
                         for s, row in zip(seeds, table) for i, v in enumerate(row)])


def test_paired_uses_the_seeds_and_images_both_have():
    rng = np.random.default_rng(4)
    control = rng.uniform(0.8, 1.0, (3, 50))
    row = control - 0.01
    diff = paired(long(row[:2], seeds=[0, 1]), long(control))  # seed 2 of the row failed
    assert diff.seeds == 2 and diff.images == 50 and diff.mean == pytest.approx(-0.01)
    with pytest.raises(ValueError):
        paired(long(row, seeds=[7, 8, 9]), long(control))


# ---- the rows of a study: compare() and the answer -----------------------------------------------

def study(rng, rows: dict[tuple[str, str], tuple[str, str | None, float, int]], seeds=3, images=60):
    """summary and per-image Dice for crafted rows: (method, level) -> (role, control, mean shift from the
    baseline, file bytes). A model's Dice on an image is the image's difficulty (shared by every model) +
    the model's shift + a shift of each seed's model (training noise) + noise."""
    difficulty = rng.uniform(0.75, 0.95, images)
    summary, dice = [], []
    for (method, level), (role, control, shift, size) in rows.items():
        for seed in range(seeds):
            values = np.clip(difficulty + shift + rng.normal(0, 0.003) + rng.normal(0, 0.01, images), 0, 1)
            summary.append({"method": method, "level": level, "seed": seed, "fmt": "ptl", "device": "host",
                            "error": None, "role": role, "control": control, "dice": values.mean(),
                            "file_bytes": size, "gzip_bytes": size, "p50_ms": 1.0, "peak_rss_kb": 1000,
                            "only_on_paper": False})
            dice += [{"method": method, "level": level, "seed": seed, "fmt": "ptl", "device": "host", "image": i,
                      "dice": float(v)} for i, v in enumerate(values)]
    summary = pd.DataFrame(summary)
    for column in COMPARISON_COLUMNS:  # what the summary has that these tests do not look at
        if column not in summary:
            summary[column] = np.nan
    return summary, pd.DataFrame(dice)


ROWS = {
    ("baseline", "dense"): ("baseline", None, 0.0, 1000),
    ("baseline_ft", "dense"): ("control", "baseline/dense", 0.03, 1000),
    ("prune", "0.5"): ("method", "baseline_ft/dense", 0.03, 500),  # as good as its control
    ("prune", "0.9"): ("method", "baseline_ft/dense", 0.0, 100),  # measurably worse than it, better than the baseline
    ("prune", "0.99"): ("method", "baseline_ft/dense", -0.2, 10),  # collapsed
    ("tucker", "0.1"): ("method", "baseline_ft/dense", -0.05, 50),  # no level is good enough
}


def test_compare_reads_each_row_against_its_control():
    summary, dice = study(np.random.default_rng(5), ROWS)
    c = compare(summary, dice).set_index(["method", "level"])
    assert pd.isna(c.loc[("baseline", "dense"), "verdict"]) and np.isnan(c.loc[("baseline", "dense"), "delta"])
    assert c.loc[("prune", "0.5"), "verdict"] == NO_DIFFERENCE
    assert c.loc[("prune", "0.9"), "verdict"] == WORSE and c.loc[("prune", "0.99"), "verdict"] == WORSE
    assert c.loc[("baseline_ft", "dense"), "verdict"] == BETTER  # the extra budget helped: not a gain of any method
    assert c.loc[("prune", "0.99"), "delta"] == pytest.approx(-0.23, abs=0.008)
    assert (c["images"] == 60).all() and c.loc[("prune", "0.5"), "paired_seeds"] == 3
    # Holm-corrected over the five rows with a control: the verdicts read p_holm, not p
    tested = c[c["p"].notna()]
    assert tested["p_holm"].to_numpy() == pytest.approx(holm(tested["p"]).to_numpy())
    assert (tested["p_holm"] >= tested["p"]).all()
    assert (tested.loc[tested["verdict"].isin([WORSE, BETTER]), "p_holm"] < 0.05).all()


def test_a_difference_measurable_alone_is_not_among_many():
    """A row with p = 0.01 reads worse alone; in a family with twenty rows that do not differ,
    Holm's correction leaves it unmeasured. Families are per format and device."""
    from frbench.report.controls import holm_verdicts

    def family(n_null, device="host"):
        rows = [{"fmt": "ptl", "device": device, "delta": -0.02, "p": 0.01, "side": "below", "verdict": UNKNOWN}]
        rows += [{"fmt": "ptl", "device": device, "delta": 0.001, "p": 0.5, "side": "above", "verdict": UNKNOWN}] * n_null
        return pd.DataFrame(rows)

    assert holm_verdicts(family(0))["verdict"].iloc[0] == WORSE
    together = holm_verdicts(family(20))
    assert together["p_holm"].iloc[0] == pytest.approx(0.21) and together["verdict"].iloc[0] == NO_DIFFERENCE
    apart = holm_verdicts(pd.concat([family(0), family(20, device="emulator-5554")], ignore_index=True))
    assert apart["verdict"].iloc[0] == WORSE  # another device's rows are another family


def test_an_interval_cut_to_the_metrics_range_keeps_its_coverage():
    """Dice near 1 with seeds that disagree: the t-interval often reaches past 1; cut to [0, 1] it
    covers the true mean as often as before, and never leaves the range."""
    rng = np.random.default_rng(11)
    true, hits, inside = 0.97, [], []
    for _ in range(600):
        x = np.clip(crossed(rng, mean=true, seed_sd=0.02, image_sd=0.01, noise_sd=0.01), 0, 1)
        truth = float(np.clip(true + 0 * x, 0, 1).mean())  # the clip barely moves the mean here
        raw = crossed_mean(x)
        cut = raw.within(DICE_RANGE)
        hits.append((raw.low <= truth <= raw.high, cut.low <= truth <= cut.high))
        inside.append(0 <= cut.low <= cut.mean <= cut.high <= 1)
    raw_cover, cut_cover = np.mean(hits, axis=0)
    assert all(inside) and raw_cover == cut_cover and cut_cover > 0.9


def test_why_not_a_bootstrap_or_a_logit_transform():
    """At three seeds, a percentile bootstrap over seeds and images (scipy.stats.bootstrap, the two
    factors resampled independently) covers the true mean far less often than 95 % when seeds
    disagree; a logit-transformed interval (delta method) puts a collapse (loss 0.56-0.94 per seed)
    within reach of no loss at all."""
    rng = np.random.default_rng(12)
    covered = []
    for _ in range(60):
        x = crossed(rng, seeds=3, images=40, mean=0.9, seed_sd=0.03, image_sd=0.02, noise_sd=0.02)
        res = stats.bootstrap((np.arange(3), np.arange(40)), lambda s, i, axis=-1: x[np.ix_(s, i)].mean(),
                              paired=False, vectorized=False, n_resamples=300, method="percentile",
                              random_state=rng)
        covered.append(res.confidence_interval.low <= 0.9 <= res.confidence_interval.high)
    assert np.mean(covered) < 0.85
    losses = np.array([[0.74], [0.56], [0.94]]) + rng.normal(0, 0.01, (3, 50))
    iv = crossed_mean(losses)
    z, dz = np.arctanh(iv.mean), 1 / (1 - iv.mean**2)  # the logit of (1 + loss) / 2, up to a factor
    half = stats.t.ppf(0.975, iv.df) * iv.se * dz
    assert np.tanh(z - half) < 0.01 < iv.low  # transformed: no loss within reach; cut: a clear loss


def test_a_row_whose_control_failed_is_unknown():
    summary, dice = study(np.random.default_rng(6), ROWS)
    failed = summary["method"].eq("baseline_ft")
    summary.loc[failed, "error"] = "CheckpointError: truncated"
    dice = dice[~dice["method"].eq("baseline_ft")]
    c = compare(summary, dice).set_index(["method", "level"])
    assert c.loc[("prune", "0.5"), "verdict"] == UNKNOWN and "baseline_ft/dense" in c.loc[("prune", "0.5"), "note"]
    assert np.isnan(c.loc[("prune", "0.5"), "delta"])
