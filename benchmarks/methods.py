"""Every method against its control, in one run: test Dice, the paired difference and its verdict,
file bytes and host latency.

    python benchmarks/methods.py                                   # the default study, in benchmarks/out/methods
    python benchmarks/methods.py --config config/tiny.yaml --cores 2 --workdir benchmarks/out/methods-tiny

Runs the study (`snakemake all`, the config as given) in a working directory of its own, then
prints from `results/comparisons.csv` and `results/summary.csv`, per format and device, one line
per method and level: the test Dice of the exported model with its 95 % interval over seeds and
test images, the control it is compared with (the equal-budget model: `baseline_ft` for
post-training methods, `small_dense` for FR levels), the paired difference from it with its
interval and the verdict (worse, better, or no measurable difference), the compression by bytes
and by count of stored numbers and the speed-up against the baseline, whether the exported graph
differs from the baseline's and whether the compression is only on paper. Means over seeds.

The directory is kept: a second run redoes only what is missing or out of date, so it is quick;
`--fresh` removes its results first (Snakemake does not rerun a job because the code changed).
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from collections import defaultdict

from _study import ROOT, add_study_arguments, number, result_rows, run_study

RATIOS = ["file_bytes", "compression_by_bytes", "compression_by_count", "speedup_p50"]


def mean(values: list[float]) -> float:
    values = [v for v in values if not math.isnan(v)]
    return sum(values) / len(values) if values else float("nan")


def verdict(values: list[str]) -> str:
    """A boolean summary column over seeds: yes, no, or mixed."""
    seen = {v for v in values if v not in ("", None)}
    return {frozenset({"True"}): "yes", frozenset({"False"}): "no"}.get(frozenset(seen), "mixed" if seen else "–")


def table(rows: list[dict], comparisons: list[dict]) -> dict:
    """(fmt, device) -> (method, level) -> the comparison row, with the ratios averaged over seeds and
    the errors of failed seeds. The baseline first, then the controls, then the methods."""
    seeds: dict = defaultdict(list)
    for row in rows:
        seeds[(row["fmt"], row["device"], row["method"], row["level"])].append(row)
    out: dict = defaultdict(dict)
    keys = {k[:4] for k in seeds} | {(c["fmt"], c["device"], c["method"], c["level"]) for c in comparisons}
    by_key = {(c["fmt"], c["device"], c["method"], c["level"]): c for c in comparisons}
    order = {"baseline": 0, "control": 1, "method": 2}
    for key in sorted(keys, key=lambda k: (k[0], k[1], order.get(by_key.get(k, {}).get("role"), 3), k[2], k[3])):
        ok = [r for r in seeds.get(key, []) if not r["error"]]
        entry = {**by_key.get(key, {}), **{c: mean([number(r.get(c)) for r in ok]) for c in RATIOS}}
        entry.update(ok_seeds=len(ok), errors=[r["error"] for r in seeds.get(key, []) if r["error"]],
                     graph_differs=verdict([r.get("graph_differs") for r in ok]),
                     only_on_paper=verdict([r.get("only_on_paper") for r in ok]))
        out[key[:2]][key[2:]] = entry
    return out


def interval(low: str, high: str) -> str:
    return f"[{number(low):+.3f}, {number(high):+.3f}]" if not math.isnan(number(low)) else ""


def print_table(by_where: dict) -> None:
    for (fmt, device), models in by_where.items():
        print(f"\n.{fmt} on {device}")
        print(f"{'method/level':<30}{'seeds':>6}{'Dice':>8}{'±':>7}  {'vs control':<21}{'ΔDice':>8}{'95 % interval':>18}"
              f"  {'verdict':<25}{'x bytes':>8}{'x count':>9}{'speed-up':>9}  {'graph':<6}{'on paper only'}")
        print("-" * 166)
        for (method, level), e in models.items():
            label = f"{method}/{level}" + (" (control)" if e.get("role") == "control" else "")
            if not e["ok_seeds"]:
                print(f"{label:<30}{0:>6}  error: {e['errors'][0]}")
                continue
            half = (number(e.get("dice_high")) - number(e.get("dice_low"))) / 2
            delta = number(e.get("delta"))
            measured = e.get("verdict") in ("worse", "better")
            graph = "-" if method == "baseline" else ("other" if e["graph_differs"] == "yes" else
                                                     "same" if e["graph_differs"] == "no" else e["graph_differs"])
            print(f"{label:<30}{e['ok_seeds']:>6}{number(e.get('dice')):>8.3f}{half:>7.3f}  {e.get('control') or '-':<21}"
                  f"{(f'{delta:+.3f}' if measured else '') if not math.isnan(delta) else '':>8}"
                  f"{interval(e.get('delta_low'), e.get('delta_high')):>18}  {e.get('verdict') or '-':<25}"
                  f"{e['compression_by_bytes']:>8.2f}{e['compression_by_count']:>9.2f}{e['speedup_p50']:>9.2f}  "
                  f"{graph:<6}{'-' if method == 'baseline' else e['only_on_paper']}")
            for error in e["errors"]:
                print(f"{'':<30}  a seed failed: {error}")
    print("\nDice: mean test Dice of the exported model, ± the 95 % interval half-width over seeds and test images."
          " ΔDice: minus the control's, paired by seed and image (printed only where measurable); test:"
          " paired t-test over seeds x images, two-way random effects. x bytes / x count: the baseline's file bytes /"
          " stored numbers over the model's (FR's released model: against its own dense network); speed-up:"
          " baseline p50 / model p50; graph: the exported graph's operators and shapes against the baseline's.")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_study_arguments(ap)
    ap.add_argument("--workdir", default="benchmarks/out/methods", help="where the study runs (kept)")
    ap.add_argument("--fresh", action="store_true", help="remove the working directory's results first")
    args = ap.parse_args()

    workdir = (ROOT / args.workdir).resolve()
    if args.fresh:
        shutil.rmtree(workdir / "results", ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)
    proc, wall = run_study(workdir, (ROOT / args.config).resolve(), args.cores)
    if proc.returncode != 0:
        return proc.returncode
    print(f"study: {wall:.1f} s wall with --cores {args.cores} ({args.config}; results in {workdir})")
    print_table(table(result_rows(workdir), result_rows(workdir, "comparisons.csv")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
