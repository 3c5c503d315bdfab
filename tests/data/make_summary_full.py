"""Writes tests/data/summary_full.csv, comparisons_full.csv, answers_full.csv and curves_full.csv: a realistic
study for the report's tests (the width of its tables, its flags, verdicts and answer), from a real run of the
default config.

    .venv/bin/python benchmarks/time_study.py --cores 2 --keep /tmp/default    # or any finished default study
    .venv/bin/python tests/data/make_summary_full.py /tmp/default/results [--out tests/data]

The host rows are that run's (every method, level and control of config/config.yaml, three seeds). Added:
the same models on an emulator (latencies 3.7x, the same Dice), the FR paper's released model
(`fr_reference`, scored on its own 16 images) on both, one failed run, and pyperf's short-sample warning.
The comparisons and the answer are computed from the run's per-image Dice (results/dice.csv), as `frbench
summarize` and `frbench answers` do (margin 0.02, the report tests' budget); curves_full.csv is the baseline's
training curves (results/curves.csv). The fixtures in the repository were made from the default study at
commit 13017fe as run on a second machine (../shared/studies/default-13017fe-second-machine).
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from frbench.report.controls import compare
from frbench.report.decisions import decide
from frbench.report.summary import add_baseline_ratios

HERE = Path(__file__).parent
BUDGET = 0.02  # report.dice_budget in the tests that read these
EMULATOR, SLOWER = "emulator-5554", 3.7
LATENCY = ["mean_ms", "std_ms", "min_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms", "trimmed_mean_ms", "load_ms",
           "first_inference_ms"]
# the paper's released UNet-31M as 759 coefficients, on its own 16 Carvana images (no per-image Dice here)
REFERENCE = {"method": "fr_reference", "level": "k33", "seed": 0, "fmt": "ptl", "error": None, "dice": 0.9718,
             "dice_images": 16, "file_bytes": 212_345.0, "gzip_bytes": 190_000.0, "stored_numbers": 759.0,
             "nonzero_numbers": 759.0, "params_eager": 31_037_698.0, "dense_params": 31_037_698.0,
             "dense_file_bytes": 124_180_000.0, "p50_ms": 905.3, "p90_ms": 960.0, "load_ms": 41.0,
             "peak_rss_kb": 1_254_000, "samples": 50, "warmup": 10, "threads": 1, "runtime": "pytorch-lite",
             "graph_differs": True}


def main(results: Path, out: Path = HERE) -> None:
    summary = pd.read_csv(results / "summary.csv")
    dice = pd.read_csv(results / "dice.csv")
    host = pd.concat([summary, pd.DataFrame([{**REFERENCE, "device": "host"}])], ignore_index=True)
    emulator = host.assign(device=EMULATOR, device_name="sdk_gphone64_x86_64 (emulator)", warnings="")
    rng = np.random.default_rng(0)
    emulator[LATENCY] = emulator[LATENCY] * SLOWER * rng.normal(1, 0.02, (len(emulator), 1))
    short = emulator["min_ms"] < 1
    emulator.loc[short, "warnings"] = "shortest sample is under 1 ms: timer resolution and overhead weigh on it"
    failed = emulator["method"].eq("tucker") & emulator["level"].eq("0.1") & emulator["seed"].eq(2)
    emulator.loc[failed, "error"] = "TimeoutError: adb shell benchmark exceeded 300 s"
    df = pd.concat([host, emulator], ignore_index=True)
    differs = df.pop("graph_differs")
    df = add_baseline_ratios(df).join(differs)
    dice = pd.concat([dice, dice.assign(device=EMULATOR)], ignore_index=True)
    ok = df[df["error"].isna()][["method", "level", "seed", "fmt", "device"]]
    dice = dice.merge(ok, on=["method", "level", "seed", "fmt", "device"])  # the failed run scored nothing
    df.to_csv(out / "summary_full.csv", index=False)
    comparisons = compare(df, dice)
    comparisons.to_csv(out / "comparisons_full.csv", index=False)
    decide(df, dice, comparisons, BUDGET).to_csv(out / "answers_full.csv", index=False)
    curves = pd.read_csv(results / "curves.csv")
    curves[curves["method"].eq("baseline")].to_csv(out / "curves_full.csv", index=False)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path, help="a finished study's results/ folder")
    ap.add_argument("--out", type=Path, default=HERE, help="where the CSV files go (default: %(default)s)")
    args = ap.parse_args()
    main(args.results, args.out)
