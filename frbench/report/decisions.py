"""The answer a reader acts on (`results/answers.csv`): does each model keep the baseline's quality?

Made the way a clinical non-inferiority trial decides, with the margin stated before the run
(`report.dice_budget`). For every model, its Dice loss against the dense baseline is paired by seed
and test image (baseline minus model: what both share, a hard image or the baseline a seed
fine-tunes, cancels), with its 95 % interval over seeds and images (frbench.report.significance).
A row may make three claims, each a one-sided test (frbench.report.significance.directional_test):

- *keeps* quality: its loss is below the budget, by the random-effects interval over seeds and
  images, which speaks of seeds not trained too (the upper end of its interval within the budget):
  the claim a reader ships a model on;
- *loses* quality: its loss is above the budget, by that interval (the lower end beyond it), or in
  every seed, each seed's model's paired loss over its test images beyond the budget (an
  intersection-union test over the models trained).

The row's p-value is the smallest of its three times three; the rows of one format and device are one
family, corrected by Holm's method. A row whose Holm-adjusted p-value is under 5 % keeps or loses
quality as its smallest test says; every other row is *undecided*, with the number of seeds at which
the random-effects test would decide it at the measured loss and spread (`seeds_to_decide`,
frbench.report.power, at the level Holm's procedure asks of a row first, 5 % / rows, within the
row's Bonferroni). Why a loss may rest on every seed and keeping may not: with three seeds the
interval has about two degrees of freedom where the seeds disagree, so a clear loss (three seeds at
0.20, 0.56 and 0.94 below the baseline) would read undecided on one machine and lost on another whose
seeds happened to agree; every seed losing is a fact about the models measured, and a model is not
shipped on it.

The picks: per method, format and device, the smallest file that keeps quality (`picked`) and the
fastest by p50 (`picked_fastest`); over every model, controls and the baseline included (a control
is a model one can ship), the smallest and the fastest that keep quality (`overall`). A model whose
exported file scores below its eager model by more than the budget (the export broke it, not the
compression: `export_broken`) and a model compared with its own dense network on other test images
(`own_dense`, the FR paper's released model) are never picked. Each method row also says how it
fares against its equal-budget control (`vs_control`, Holm-corrected: frbench.report.controls), and
where that control is as accurate and smaller or faster, names it as the simpler alternative
(`simpler`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .controls import GROUP, control_descriptions
from .pooling import seed_table
from .power import seeds_to_decide
from .ratios import against_own_dense
from .significance import (
    ABOVE,
    BELOW,
    BETTER,
    DIFFERENCE_RANGE,
    LEVEL,
    NO_DIFFERENCE,
    UNKNOWN,
    WORSE,
    crossed_mean,
    directional_test,
    holm,
    paired_table,
)

KEEPS, LOSES, UNDECIDED = "keeps", "loses", "undecided"
VS_CONTROL = {WORSE: "worse", BETTER: "better", NO_DIFFERENCE: "same", UNKNOWN: "unknown"}
TEST_NAME = ("non-inferiority against the baseline, margin report.dice_budget: the paired Dice loss (same seed, same "
             "test image); keeps by the t-interval over seeds x images (two-way random effects, Satterthwaite df), "
             "loses by it or in every seed (each seed's paired t-test over its images); Bonferroni over a row's three "
             "one-sided tests, Holm over the rows of a format and device")
CLAIMS = 3  # keeps (interval), loses (interval), loses in every seed: a row's one-sided tests
MEASURED = ["file_bytes", "gzip_bytes", "p50_ms", "heap_peak_bytes"]
SMALLER, FASTER = 1.01, 1.1  # a control is smaller / faster than a row by at least these factors (noise: 1 %, 10 %)
COLUMNS = [*GROUP, "role", "control", "seeds", "images", "dice", "dice_low", "dice_high", "loss_vs_baseline", "loss_low",
           "loss_high", "p_holm", "quality", "seeds_to_decide", "vs_control", "picked", "picked_fastest", "overall",
           "simpler", *MEASURED, "size_ratio", "p50_ratio", "memory_ratio", "export_broken", "own_dense",
           "mixed_metadata", "note"]


def baseline_of(summary: pd.DataFrame) -> tuple[str, str] | None:
    """The (method, level) whose role is "baseline" (the network every loss is measured against)."""
    rows = summary[summary["role"].eq("baseline")] if "role" in summary else summary[:0]
    return (rows["method"].iloc[0], rows["level"].iloc[0]) if len(rows) else None


def model_facts(summary: pd.DataFrame, budget: float) -> pd.DataFrame:
    """Per row: size, latency and memory means over seeds, and the flags that keep a row from a pick."""
    facts = seed_table(summary, MEASURED)[[*GROUP, "seeds", *MEASURED, "mixed_metadata"]]
    ok = summary[summary["error"].isna()]
    keys = [ok[c] for c in GROUP]
    lost = (ok["dice_eager"] - ok["dice"] > budget) if "dice_eager" in ok else pd.Series(False, ok.index)
    flags = pd.DataFrame({"export_broken": lost.groupby(keys).any(), "own_dense": against_own_dense(ok).groupby(keys).any()})
    return facts.merge(flags.reset_index(), on=GROUP, how="left")


def decide(summary: pd.DataFrame, dice: pd.DataFrame, comparisons: pd.DataFrame, budget: float,
           descriptions: dict[str, str] | None = None) -> pd.DataFrame:
    """answers.csv from the study's tables (see the module docstring)."""
    keep = [*GROUP, "role", "control", "seeds", "images", "dice", "dice_low", "dice_high", "verdict"]
    if comparisons.empty:  # no model ran: an answers.csv with its header only
        return pd.DataFrame(columns=COLUMNS)
    table = comparisons[keep].drop(columns="seeds").merge(model_facts(summary, budget), on=GROUP, how="left")
    table[["export_broken", "own_dense"]] = table[["export_broken", "own_dense"]].fillna(False).astype(bool)
    table["vs_control"] = table["verdict"].map(VS_CONTROL).where(table["control"].notna())
    rows = [_loss(r, dice, baseline_of(summary), budget) for r in table.to_dict("records")]
    table = pd.concat([table.drop(columns="verdict").reset_index(drop=True), pd.DataFrame(rows)], axis=1)
    table = _quality(table, budget)
    table = _picks(_ratios(table))
    described = control_descriptions(descriptions)
    table["simpler"] = [simpler_alternative(r, table, described) for r in table.to_dict("records")]
    return table.reindex(columns=COLUMNS).sort_values(GROUP).reset_index(drop=True)


def _loss(row: dict, dice: pd.DataFrame, baseline: tuple[str, str] | None, budget: float) -> dict:
    """The row's loss against the baseline on its format and device, its interval, and its test's p."""
    empty = {"loss_vs_baseline": math.nan, "loss_low": math.nan, "loss_high": math.nan, "p": math.nan, "side": None,
             "every_seed": False, "interval": None, "reference": False}
    if row["own_dense"]:
        return {**empty, "note": "compared with its own dense network, on its own test images"}
    if baseline is None:
        return {**empty, "note": "the study has no baseline"}
    if (row["method"], row["level"]) == baseline:
        return {**empty, "loss_vs_baseline": 0.0, "loss_low": 0.0, "loss_high": 0.0, "reference": True,
                "note": "the baseline itself"}
    where = (dice["fmt"] == row["fmt"]) & (dice["device"] == row["device"])
    base = dice[where & (dice["method"] == baseline[0]) & (dice["level"] == baseline[1])]
    mine = dice[where & (dice["method"] == row["method"]) & (dice["level"] == row["level"])]
    if base.empty or mine.empty:
        return {**empty, "note": f"no per-image Dice of {'the baseline' if base.empty else 'the model'} on "
                                 f"{row['fmt']}/{row['device']}"}
    table = paired_table(base, mine)  # the baseline's Dice minus the model's: a loss
    loss = crossed_mean(table)
    test = directional_test(table, budget, every_seed_sides=(ABOVE,), interval=loss)
    loss = loss.within(DIFFERENCE_RANGE)
    return {"loss_vs_baseline": loss.mean, "loss_low": loss.low, "loss_high": loss.high, "p": test.p, "side": test.side,
            "every_seed": test.every_seed, "interval": loss, "reference": False, "note": None}


def _quality(table: pd.DataFrame, budget: float) -> pd.DataFrame:
    """Holm per format and device; keeps / loses / undecided; seeds_to_decide for the undecided."""
    table["p_holm"] = np.nan
    for _, family in table.groupby(["fmt", "device"]):
        table.loc[family.index, "p_holm"] = holm(family["p"].astype(float))
    decided = table["p_holm"] < 1 - LEVEL
    table["quality"] = UNDECIDED
    table.loc[decided & table["side"].eq(BELOW), "quality"] = KEEPS
    table.loc[decided & table["side"].eq(ABOVE), "quality"] = LOSES
    table.loc[table["reference"], "quality"] = KEEPS  # the baseline: its loss against itself is nil
    tested = table["p"].notna().groupby([table["fmt"], table["device"]]).transform("sum")
    seeds, notes = [], []
    for r, family_size in zip(table.to_dict("records"), tested):
        if r["quality"] != UNDECIDED or r["interval"] is None:
            seeds.append(None)
            notes.append("loses in every seed" if r["quality"] == LOSES and r["every_seed"] else r["note"])
            continue
        # the interval's two one-sided tests at 5 % / rows each, within the row's Bonferroni: a two-sided test
        n, why = seeds_to_decide(r["interval"], budget, 2 * (1 - LEVEL) / (CLAIMS * max(family_size, 1)))
        seeds.append(n)
        notes.append("; ".join(x for x in (r["note"], why) if isinstance(x, str)) or None)
    table["seeds_to_decide"] = pd.array(seeds, dtype="Int64")
    table["note"] = notes
    return table.drop(columns=["p", "side", "every_seed", "interval", "reference"])


def _ratios(table: pd.DataFrame) -> pd.DataFrame:
    """Size, p50 and memory (the heap held at an inference's peak) as ratios to the baseline's on the same
    format and device."""
    measured = ["file_bytes", "p50_ms", "heap_peak_bytes"]
    base = table[table["role"].eq("baseline")].groupby(["fmt", "device"])[measured].first()
    base = base.rename(columns=lambda c: f"base_{c}").reset_index()
    table = table.merge(base, on=["fmt", "device"], how="left")
    table["size_ratio"] = table["file_bytes"] / table["base_file_bytes"]
    table["p50_ratio"] = table["p50_ms"] / table["base_p50_ms"]
    table["memory_ratio"] = table["heap_peak_bytes"] / table["base_heap_peak_bytes"]  # the heap (memray)
    return table.drop(columns=[c for c in table if c.startswith("base_")])


def _picks(table: pd.DataFrame) -> pd.DataFrame:
    """`picked` (smallest file) and `picked_fastest` per method; `overall` over every model."""
    eligible = (table["quality"].eq(KEEPS) & ~table["export_broken"] & ~table["own_dense"] & table["seeds"].gt(0)
                & table["file_bytes"].notna() & table["p50_ms"].notna())
    table["picked"] = table["picked_fastest"] = False
    table["overall"] = ""
    methods = eligible & ~table["role"].eq("baseline")
    for _, group in table[methods].groupby(["method", "fmt", "device"]):
        table.loc[group["file_bytes"].idxmin(), "picked"] = True
        table.loc[group["p50_ms"].idxmin(), "picked_fastest"] = True
    for _, group in table[eligible].groupby(["fmt", "device"]):
        smallest, fastest = group["file_bytes"].idxmin(), group["p50_ms"].idxmin()
        table.loc[smallest, "overall"] = "smallest"
        table.loc[fastest, "overall"] = "smallest, fastest" if fastest == smallest else "fastest"
    return table


def simpler_alternative(row: dict, table: pd.DataFrame, descriptions: dict[str, str]) -> str | None:
    """Where a method row's control is at least as accurate (the row is not measurably better) and
    smaller or faster, that in words: "small_dense/n2865 (a dense UNet ...) is as accurate and 3.9x
    faster". None otherwise."""
    if row["role"] != "method" or not isinstance(row["control"], str) or row["vs_control"] not in ("same", "worse"):
        return None
    method, level = row["control"].split("/", 1)
    found = table[(table["method"] == method) & (table["level"] == level) & (table["fmt"] == row["fmt"])
                  & (table["device"] == row["device"]) & ~table["export_broken"]]
    if found.empty:
        return None
    c = found.iloc[0]
    size, speed = row["file_bytes"] / c["file_bytes"], row["p50_ms"] / c["p50_ms"]
    gains = [f"{times(size)} smaller"] * bool(size >= SMALLER) + [f"{times(speed)} faster"] * bool(speed >= FASTER)
    if not gains:
        return None
    costs = ([f"{times(1 / size)} larger"] * bool(1 / size >= SMALLER)
             + [f"{times(1 / speed)} slower"] * bool(1 / speed >= FASTER))
    what = descriptions.get(method)
    accuracy = "as accurate" if row["vs_control"] == "same" else "more accurate"
    return (f"{row['control']}{f' ({what})' if what else ''} is {accuracy} and {' and '.join(gains)}"
            + (f", though {' and '.join(costs)}" if costs else ""))


def times(ratio: float) -> str:
    """A ratio as the answer words it: 3.9x, and 1.04x where one decimal would read 1.0x."""
    return f"{ratio:.2f}x" if ratio < 1.095 else f"{ratio:.1f}x"
