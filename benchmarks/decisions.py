"""The answer's decision rule on one or more folders of a study's tables, side by side.

    python benchmarks/decisions.py --tables results
    python benchmarks/decisions.py --tables results --tables ../shared/studies/default-13017fe-second-machine

Each folder holds a finished study's `summary.csv`, `dice.csv` (every test image's Dice) and
`curves.csv` (training epochs), as `frbench summarize` writes them, from this commit or an older one.
Everything the answer rests on is recomputed from those three with this checkout's code (its
comparisons.csv and answers.csv are not read): each model against its control (Holm-corrected), against
the baseline (keeps, loses or undecided at the margin, seeds to decide), the picks, the simpler
alternatives, and the baseline's convergence verdict. Printed per format and device: one line per model
with each folder's figures and decisions side by side, then each method's picked level (smallest and
fastest file that keeps quality) per folder, and whether the folders agree on every decision: which level
per method, and each row's quality. A row's verdict against its control is shown, and where it differs
marked, but not counted: no decision rests on *same* against *worse* (both let the answer name the
control as the simpler alternative). The fastest pick rests on latencies, which differ between machines
and under load: it is shown, and not counted either. Exits 1 where the decisions disagree.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from frbench.report.controls import GROUP, compare
from frbench.report.convergence import convergence
from frbench.report.decisions import baseline_of, decide
from frbench.report.tables import read_optional_csv

DECIDED = ["quality"]  # per row: what must agree (the verdict against the control is shown, not counted)


def decisions(folder: Path, budget: float, tolerance: float) -> tuple[pd.DataFrame, object]:
    """answers.csv and the convergence verdict, recomputed from a folder's tables."""
    summary, dice = pd.read_csv(folder / "summary.csv"), pd.read_csv(folder / "dice.csv")
    answers = decide(summary, dice, compare(summary, dice), budget)
    base = baseline_of(summary)
    curves = read_optional_csv(folder / "curves.csv") if (folder / "curves.csv").exists() else pd.DataFrame()
    return answers, (convergence(curves, *base, tolerance) if base else None)


def interval(row, column: str, low: str, high: str) -> str:
    if pd.isna(row[column]):
        return "–"
    if pd.isna(row[low]):
        return f"{row[column]:+.3f}"
    return f"{row[column]:+.3f} [{row[low]:+.3f}, {row[high]:+.3f}]"


def cell(row) -> str:
    """One model on one folder: Dice, loss against the baseline, quality (seeds to decide), vs control."""
    if row is None:
        return "(absent)"
    quality = row["quality"] + (f" ({int(row['seeds_to_decide'])} seeds)" if pd.notna(row["seeds_to_decide"]) else "")
    quality += " (in every seed)" if row["note"] == "loses in every seed" else ""
    return (f"Dice {row['dice']:.3f}  loss {interval(row, 'loss_vs_baseline', 'loss_low', 'loss_high')}  "
            f"{quality}  vs control: {row['vs_control'] if isinstance(row['vs_control'], str) else '–'}")


def picks(answers: pd.DataFrame, column: str) -> dict:
    chosen = answers[answers[column].astype(bool)]
    return {(r.method, r.fmt, r.device): r.level for r in chosen.itertuples()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", type=Path, action="append", required=True,
                    help="a folder with summary.csv, dice.csv, curves.csv (repeat for each study to compare)")
    ap.add_argument("--dice-budget", type=float, default=0.01, help="report.dice_budget (default: %(default)s)")
    ap.add_argument("--convergence-tolerance", type=float, default=0.01,
                    help="report.convergence_tolerance (default: %(default)s)")
    args = ap.parse_args()
    results = [decisions(f, args.dice_budget, args.convergence_tolerance) for f in args.tables]
    names = [str(f) for f in args.tables]
    for name, (_, trained) in zip(names, results):
        if trained is not None:
            print(f"{name}: baseline rise over the last quarter {trained.rise:+.4f} [{trained.low:+.4f}, "
                  f"{trained.high:+.4f}], per seed {', '.join(f'{r:+.4f}' for r in trained.per_seed)}: "
                  f"{'converged' if trained.converged else 'NOT converged'} (margin {trained.margin:+.4f} under "
                  f"{trained.tolerance})")
    keys = sorted(set().union(*(set(map(tuple, a[GROUP].to_numpy())) for a, _ in results)))
    disagree = 0
    for key in keys:
        rows = []
        for answers, _ in results:
            found = answers[(answers[GROUP] == pd.Series(key, index=GROUP)).all(axis=1)]
            rows.append(found.iloc[0] if len(found) else None)
        same = all(r is not None for r in rows) and len({tuple(r[c] for c in DECIDED) for r in rows}) == 1
        verdicts = len({str(r["vs_control"]) for r in rows if r is not None}) == 1
        disagree += not same
        print(f"{'/'.join(map(str, key))}{'' if same else '   <-- differs'}"
              f"{'' if verdicts else '   (verdict against the control differs: no decision rests on it)'}")
        for name, row in zip(names, rows):
            print(f"    {name}: {cell(row)}")
    for column, counted in (("picked", True), ("picked_fastest", False)):
        chosen = [picks(a, column) for a, _ in results]
        print(f"{column}{'' if counted else ' (latency: shown, not counted)'}:")
        for method in sorted(set().union(*chosen)):
            levels = [c.get(method, "none") for c in chosen]
            differs = len(set(levels)) > 1
            disagree += counted and differs
            print(f"    {'/'.join(method)}: {' | '.join(levels)}{'   <-- differs' if differs else ''}")
    print("the folders agree on every decision" if not disagree else f"{disagree} decision(s) differ")
    return 1 if disagree and len(results) > 1 else 0


if __name__ == "__main__":
    sys.exit(main())
