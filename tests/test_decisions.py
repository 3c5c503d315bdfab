"""The answer (frbench.report.decisions, answers.csv) on crafted per-seed, per-image Dice tables: a loss
well inside the budget keeps quality even when it is measurable, a noisy row straddling the budget is
undecided with a finite number of seeds that would decide it, a clear loss beyond the budget loses it,
Holm's correction is applied, intervals stay inside the metric's range for a row of collapsed seeds,
the answer never picks a row that does not keep quality, and a control that is as accurate and faster
is named. The power calculation agrees with statsmodels where the seeds alone vary."""

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower

from frbench.report.controls import compare
from frbench.report.decisions import COLUMNS, KEEPS, LOSES, UNDECIDED, decide
from frbench.report.power import POWER, power_at
from frbench.report.significance import MeanSquares

DESCRIBED = {"baseline_ft": "the baseline fine-tuned", "small_dense": "a dense UNet as small"}


def study(rows: dict, seeds=3, images=120, seed=0):
    """summary and per-image Dice for crafted rows: (method, level) -> dict(role, control, shift, seed_sd,
    noise, bytes, p50, eager_gap). A model's Dice on an image is the image's difficulty (shared by every
    model) + its shift + a per-seed shift (sd `seed_sd`: training noise) + per-image noise, within [0, 1]."""
    rng = np.random.default_rng(seed)
    difficulty = rng.uniform(0.85, 0.97, images)
    summary, dice = [], []
    for (method, level), r in rows.items():
        for s in range(seeds):
            values = np.clip(difficulty + r.get("shift", 0.0) + rng.normal(0, r.get("seed_sd", 0.0))
                             + rng.normal(0, r.get("noise", 0.005), images), 0, 1)
            if r.get("collapse_seed") == s:
                values = np.zeros(images)
            summary.append({"method": method, "level": level, "seed": s, "fmt": "ptl", "device": "host",
                            "error": None, "role": r["role"], "control": r.get("control"), "dice": values.mean(),
                            "dice_eager": values.mean() + r.get("eager_gap", 0.0), "file_bytes": r.get("bytes", 1000),
                            "gzip_bytes": r.get("bytes", 1000), "p50_ms": r.get("p50", 1.0), "peak_rss_kb": 1000})
            dice += [{"method": method, "level": level, "seed": s, "fmt": "ptl", "device": "host", "image": i,
                      "dice": float(v)} for i, v in enumerate(values)]
    return pd.DataFrame(summary), pd.DataFrame(dice)


def answer(rows, budget=0.01, **kw):
    summary, dice = study(rows, **kw)
    return decide(summary, dice, compare(summary, dice), budget, DESCRIBED).set_index(["method", "level"])


BASE = {("baseline", "dense"): {"role": "baseline", "bytes": 1000, "p50": 1.0},
        ("baseline_ft", "dense"): {"role": "control", "control": "baseline/dense", "bytes": 1000, "p50": 1.0}}
FT = "baseline_ft/dense"


def test_a_loss_well_inside_the_budget_keeps_quality_even_when_it_is_measurable():
    quiet = {key: {**r, "noise": 0.002} for key, r in BASE.items()}
    a = answer({**quiet, ("prune", "0.25"): {"role": "method", "control": FT, "shift": -0.003, "noise": 0.002,
                                             "bytes": 600}})
    row = a.loc[("prune", "0.25")]
    assert row["vs_control"] == "worse"  # measurably worse than its control (a test of "is there a difference")
    assert 0 < row["loss_low"] and row["loss_high"] < 0.01  # but every loss it could have is within the budget
    assert row["quality"] == KEEPS and row["picked"] and pd.isna(row["seeds_to_decide"])


def test_a_noisy_row_straddling_the_budget_is_undecided_with_the_seeds_that_would_decide_it():
    a = answer({**BASE, ("tucker", "0.5"): {"role": "method", "control": FT, "shift": -0.006, "seed_sd": 0.008,
                                            "bytes": 400}})
    row = a.loc[("tucker", "0.5")]
    assert row["loss_low"] < 0.01 < row["loss_high"]
    assert row["quality"] == UNDECIDED and not row["picked"]
    assert 3 < row["seeds_to_decide"] < 1000 and isinstance(row["seeds_to_decide"], (int, np.integer))


def test_a_loss_in_every_seed_loses_quality_where_the_seeds_disagree_on_how_much():
    """The second machine's prune_unstructured/0.99: seeds at 0.20, 0.38 and 0.00 Dice against a baseline of 0.94,
    among rows that straddle the budget (Holm's family of 14). The interval over seeds has two degrees of freedom
    and, Holm-corrected, reaches the budget; every seed's model loses far beyond it, which decides the row (as
    it does on the machine whose three seeds collapsed alike)."""
    straddling = {("m", str(k)): {"role": "method", "control": FT, "shift": -0.008, "seed_sd": 0.008}
                  for k in range(12)}
    summary, dice = study({**BASE, **straddling, ("prune", "0.99"): {"role": "method", "control": FT, "bytes": 10}},
                          seed=4)
    for seed, shift in enumerate((-0.74, -0.56, -0.94)):
        rows = (dice["method"] == "prune") & (dice["seed"] == seed)
        dice.loc[rows, "dice"] = (dice.loc[rows, "dice"] + shift).clip(0, 1)
    a = decide(summary, dice, compare(summary, dice), 0.01, DESCRIBED).set_index(["method", "level"])
    row = a.loc[("prune", "0.99")]
    assert row["loss_low"] < 0.01 * 40 and row["quality"] == LOSES and row["note"] == "loses in every seed"
    assert row["vs_control"] == "worse"
    assert a.loc["m", "quality"].eq(UNDECIDED).all()


def test_a_clear_loss_beyond_the_budget_loses_quality():
    a = answer({**BASE, ("prune", "0.9"): {"role": "method", "control": FT, "shift": -0.08, "bytes": 100}})
    row = a.loc[("prune", "0.9")]
    assert row["loss_low"] > 0.01 and row["quality"] == LOSES and not row["picked"]
    assert a.loc[("baseline", "dense"), "quality"] == KEEPS  # the reference itself, loss 0
    assert a.loc[("baseline", "dense"), "overall"] == "smallest, fastest"  # the only model that keeps


def test_holms_correction_is_applied_over_the_rows_of_a_format_and_device():
    rows = dict(BASE)
    for k in range(12):  # twelve rows a little under the budget, each decided alone at 5 %
        rows[("m", f"{k}")] = {"role": "method", "control": FT, "shift": -0.006, "noise": 0.02, "bytes": 900 - k}
    summary, dice = study(rows, seed=3)
    a = decide(summary, dice, compare(summary, dice), 0.01, DESCRIBED)
    tested = a[a["p_holm"].notna()]
    assert len(tested) == 13  # every row but the baseline
    # p_holm is statsmodels' Holm adjustment of the rows' own p-values
    from frbench.report.decisions import _loss  # the row's own test, before the correction

    own = [_loss(r, dice, ("baseline", "dense"), 0.01)["p"] for r in tested.to_dict("records")]
    assert tested["p_holm"].to_numpy() == pytest.approx(multipletests(own, method="holm")[1])
    alone = sum(p < 0.05 for p in own)
    assert alone > tested["quality"].eq(KEEPS).sum()  # some rows decided alone are undecided together
    assert (tested.loc[tested["quality"].eq(KEEPS), "p_holm"] < 0.05).all()


def test_intervals_stay_inside_the_metrics_range_for_a_row_of_collapsed_seeds():
    rows = {**BASE, ("prune", "0.99"): {"role": "method", "control": FT, "shift": -0.7, "seed_sd": 0.3,
                                        "collapse_seed": 2, "bytes": 10}}
    summary, dice = study(rows, seed=1)
    comparisons = compare(summary, dice).set_index(["method", "level"])
    a = decide(summary, dice, comparisons.reset_index(), 0.01, DESCRIBED).set_index(["method", "level"])
    for table in (comparisons, a):
        r = table.loc[("prune", "0.99")]
        assert 0 <= r["dice_low"] <= r["dice"] <= r["dice_high"] <= 1
    assert -1 <= comparisons.loc[("prune", "0.99"), "delta_low"] <= comparisons.loc[("prune", "0.99"), "delta"]
    r = a.loc[("prune", "0.99")]
    assert r["loss_low"] <= r["loss_vs_baseline"] <= r["loss_high"] <= 1
    assert comparisons.loc[("prune", "0.99"), "dice_low"] == 0  # the t-interval reached below zero: cut at zero


@pytest.mark.parametrize("case", range(8))
def test_the_answer_never_picks_a_row_that_does_not_keep_quality(case):
    rng = np.random.default_rng(200 + case)
    rows = dict(BASE)
    for level in range(5):
        rows[("m", str(level))] = {"role": "method", "control": FT, "shift": float(rng.normal(-0.01, 0.01)),
                                   "seed_sd": float(rng.uniform(0, 0.01)), "bytes": int(rng.integers(10, 999)),
                                   "p50": float(rng.uniform(0.5, 2)), "eager_gap": float(rng.choice([0, 0, 0.3]))}
    budget = float(rng.uniform(0.002, 0.03))
    a = answer(rows, budget=budget, seeds=int(rng.integers(1, 5)), images=int(rng.integers(5, 80)), seed=case)
    picked = a[a["picked"] | a["picked_fastest"] | a["overall"].ne("")]
    assert (picked["quality"] == KEEPS).all() and not picked["export_broken"].any()
    keeps = a[a["quality"].eq(KEEPS) & ~a["export_broken"] & a["role"].eq("method")]
    assert a.loc["m", "picked"].sum() == (1 if len(keeps) else 0)  # one pick per method
    if len(keeps):
        mine = a.loc["m"]
        assert mine.loc[mine["picked"], "file_bytes"].iloc[0] == keeps["file_bytes"].min()
        assert mine.loc[mine["picked_fastest"], "p50_ms"].iloc[0] == keeps["p50_ms"].min()


def test_an_export_that_broke_the_model_is_flagged_and_never_picked():
    a = answer({**BASE, ("quantize", "int8"): {"role": "method", "control": FT, "bytes": 250, "eager_gap": 0.9}})
    row = a.loc[("quantize", "int8")]
    assert row["quality"] == KEEPS and row["export_broken"] and not row["picked"] and row["overall"] == ""


def test_a_control_that_is_as_accurate_and_faster_is_named_as_the_simpler_alternative():
    rows = {("baseline", "dense"): {"role": "baseline", "bytes": 500_000, "p50": 0.55},
            ("small_dense", "n2865"): {"role": "control", "control": "baseline/dense", "shift": -0.012,
                                       "bytes": 15_500, "p50": 0.15},
            ("fr", "r0.01"): {"role": "method", "control": "small_dense/n2865", "shift": -0.012, "bytes": 14_000,
                              "p50": 0.58}}
    a = answer(rows)
    fr = a.loc[("fr", "r0.01")]
    assert fr["vs_control"] == "same"
    assert fr["simpler"] == ("small_dense/n2865 (a dense UNet as small) is as accurate and 3.9x faster, "
                             "though 1.1x larger")
    assert pd.isna(a.loc[("small_dense", "n2865"), "simpler"])  # a control names no alternative to itself
    faster_fr = answer({**rows, ("fr", "r0.01"): {**rows[("fr", "r0.01")], "p50": 0.15}})
    assert pd.isna(faster_fr.loc[("fr", "r0.01"), "simpler"])  # neither smaller nor faster: nothing to say


def test_answers_csv_has_the_promised_columns_and_survives_a_study_with_no_result():
    summary, dice = study(BASE)
    a = decide(summary, dice, compare(summary, dice), 0.01, DESCRIBED)
    assert list(a.columns) == COLUMNS
    for column in ("method", "level", "fmt", "device", "role", "dice", "dice_low", "dice_high", "loss_vs_baseline",
                   "loss_low", "loss_high", "quality", "vs_control", "picked", "seeds_to_decide"):
        assert column in a
    assert set(a["quality"]) <= {KEEPS, LOSES, UNDECIDED}
    failed = summary.assign(error="DataError: results/data/dataset.npz: truncated")
    empty = decide(failed, dice[:0], compare(failed, dice[:0]), 0.01, DESCRIBED)
    assert empty.empty and list(empty.columns) == COLUMNS


@pytest.mark.parametrize("seeds", [3, 5, 10])
def test_power_agrees_with_statsmodels_where_the_seeds_alone_vary(seeds):
    var_a, images = 0.0004, 50  # seeds shift every image together; no image or residual spread
    spread = MeanSquares(images * var_a, 0.0, 0.0, seeds, images)
    ours = power_at(spread, 0.02, 0.05, seeds)
    theirs = TTestPower().power(effect_size=0.02 / math.sqrt(var_a), nobs=seeds, alpha=0.05)
    assert ours == pytest.approx(theirs, abs=2e-3)
    assert POWER == 0.8
