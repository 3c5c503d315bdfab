"""Every row against its control: `comparisons.csv`.

A row is one model (method, level) on one format and device, over its seeds. Its control is
the model with the same training budget and no compression (`Method.control`, recorded in
train.json): `baseline_ft` for a post-training method, `small_dense` of the same stored-number
count for an FR level, the baseline for the controls themselves. Per row: the mean test Dice
of the exported model with its 95 % interval over seeds and test images, the paired difference
from the control (same seed, same image) with its interval, and the verdict: "worse", "better" or
"no measurable difference" (frbench.report.significance). A row whose control is missing or failed
reads "unknown"; the reason is in `note`.

The verdict is a directional claim (`significance.directional_test`): worse or better by the
random-effects interval over seeds and images, or in every seed, each seed's model tested over its
test images (`every_seed` says which the verdict rests on); `p` is the row's, its tests' smallest
times their number. The verdicts of one format and device are one family, corrected by Holm's method
(`p_holm`): a difference is measurable when its Holm-adjusted p-value is under 5 %, so that a study of
thirty rows does not find a difference by chance. Intervals are each row's own 95 % intervals, inside
the metric's range (Dice in [0, 1], a difference in [-1, 1]).
"""

from __future__ import annotations

import math

import pandas as pd

from .significance import (
    ABOVE,
    BELOW,
    BETTER,
    DICE_RANGE,
    DIFFERENCE_RANGE,
    LEVEL,
    NO_DIFFERENCE,
    UNKNOWN,
    WORSE,
    crossed_mean,
    dice_table,
    directional_test,
    holm,
    paired_table,
)

GROUP = ["method", "level", "fmt", "device"]  # one row of the report: a model on one format and device, over seeds
COLUMNS = [*GROUP, "role", "control", "seeds", "images", "dice", "dice_low", "dice_high", "delta", "delta_low",
           "delta_high", "p", "p_holm", "side", "every_seed", "df", "paired_seeds", "verdict", "note", "test"]
TEST_NAME = ("paired by seed and test image: worse or better by the t-interval over seeds x images (two-way random "
             "effects, Satterthwaite df) or in every seed (each seed's paired t-test over its images), "
             "Holm-corrected per format and device")


def per_image_dice(bench_records: list[dict]) -> pd.DataFrame:
    """Long table of every exported model's per-image test Dice: method, level, seed, fmt, device, image, dice."""
    rows = [{**r["key"], "image": i, "dice": d}
            for r in bench_records if not r.get("error")
            for i, d in enumerate((r.get("accuracy") or {}).get("dice_per_image") or [])]
    return pd.DataFrame(rows, columns=["method", "level", "seed", "fmt", "device", "image", "dice"])


def _first(values: pd.Series):
    values = values.dropna()
    return values.iloc[0] if len(values) else None


def compare(summary: pd.DataFrame, dice: pd.DataFrame) -> pd.DataFrame:
    """One row per (method, level, fmt, device) with a successful seed: see the module docstring."""
    ok = summary[summary["error"].isna()]
    by_model = {key: group for key, group in dice.groupby(GROUP)}
    rows = []
    for key, group in ok.groupby(GROUP, sort=True):
        method, level, fmt, device = key
        role = _first(group["role"]) if "role" in group else None
        control = _first(group["control"]) if "control" in group else None
        row = dict(zip(GROUP, key), role=role, control=control, test=TEST_NAME)
        mine = by_model.get(key)
        if mine is None or mine.empty:
            rows.append({**row, "verdict": UNKNOWN if control else None,
                         "note": "no per-image Dice in the benchmark results"})
            continue
        own = crossed_mean(dice_table(mine).dropna(axis=1).to_numpy()).within(DICE_RANGE)
        row.update(seeds=own.seeds, images=own.images, dice=own.mean, dice_low=own.low, dice_high=own.high,
                   note="one seed: the intervals cover test images, not training seeds" if own.seeds == 1 else None)
        if not control:
            rows.append({**row, "verdict": None})  # the baseline, and models compared with their own dense network
            continue
        theirs = by_model.get((*control.split("/", 1), fmt, device))
        if theirs is None or theirs.empty:
            rows.append({**row, "verdict": UNKNOWN,
                         "note": f"its control {control} has no successful run on {fmt}/{device}"})
            continue
        table = paired_table(mine, theirs)
        diff = crossed_mean(table)
        test = directional_test(table, 0.0, interval=diff)
        diff = diff.within(DIFFERENCE_RANGE)
        rows.append({**row, "delta": diff.mean, "delta_low": diff.low, "delta_high": diff.high, "p": test.p,
                     "side": test.side, "every_seed": test.every_seed, "df": diff.df, "paired_seeds": diff.seeds,
                     "verdict": UNKNOWN,
                     "note": row["note"] if math.isfinite(diff.low) else "one seed and one image: no interval"})
    return holm_verdicts(pd.DataFrame(rows, columns=COLUMNS))


def holm_verdicts(table: pd.DataFrame) -> pd.DataFrame:
    """`p_holm` and the verdict of every row with a test, one family per format and device."""
    table = table.copy()
    table["p_holm"] = pd.Series(dtype=float)
    for _, family in table.groupby(["fmt", "device"]):
        table.loc[family.index, "p_holm"] = holm(family["p"].astype(float))
    tested = table["p_holm"].notna()
    measurable = tested & (table["p_holm"] < 1 - LEVEL)
    table.loc[tested, "verdict"] = NO_DIFFERENCE
    table.loc[measurable & table["side"].eq(BELOW), "verdict"] = WORSE
    table.loc[measurable & table["side"].eq(ABOVE), "verdict"] = BETTER
    return table


def control_descriptions(given: dict[str, str] | None = None) -> dict[str, str]:
    """Every registered control method and what it is: `given` (the workflow passes the registry's
    `frbench.methods.describe_controls()`, so that a report job imports no method, and with them no
    torch), else read from the registry here."""
    if given is not None:
        return given
    from ..methods import describe_controls

    return describe_controls()
