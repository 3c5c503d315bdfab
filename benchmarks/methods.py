"""Every method against the baseline, in one run: test Dice, file bytes and host latency.

    python benchmarks/methods.py                                   # the default study, in benchmarks/out/methods
    python benchmarks/methods.py --config config/tiny.yaml --cores 2 --workdir benchmarks/out/methods-tiny

Runs the study (`snakemake all`, the config as given) in a working directory of its own, then
prints from `results/summary.csv`, per format and device, one line per method and level: the
test Dice of the exported model and its difference from the baseline's, the file's bytes and
the compression by bytes and by count of stored numbers, the host p50 latency and the speed-up,
and the two verdicts the summary draws: whether the exported graph differs from the baseline's
and whether the compression is only on paper (no smaller file, no faster p50). Means over seeds.

The directory is kept: a second run redoes only what is missing or out of date, so it is quick;
`--fresh` removes its results first (Snakemake does not rerun a job because the code changed).
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from collections import defaultdict
from pathlib import Path

from _study import ROOT, add_study_arguments, number, run_study, summary_rows

COLUMNS = ["dice", "file_bytes", "compression_by_bytes", "compression_by_count", "p50_ms", "speedup_p50"]


def mean(values: list[float]) -> float:
    values = [v for v in values if not math.isnan(v)]
    return sum(values) / len(values) if values else float("nan")


def verdict(values: list[str]) -> str:
    """A boolean summary column over seeds: yes, no, or mixed."""
    seen = {v for v in values if v not in ("", None)}
    return {frozenset({"True"}): "yes", frozenset({"False"}): "no"}.get(frozenset(seen), "mixed" if seen else "–")


def table(rows: list[dict]) -> dict:
    """(fmt, device) -> (method, level) -> means over seeds, and the errors."""
    groups: dict = defaultdict(lambda: defaultdict(list))
    for row in rows:
        groups[(row["fmt"], row["device"])][(row["method"], row["level"])].append(row)
    out = {}
    for where, models in sorted(groups.items()):
        out[where] = {}
        for model, seeds in sorted(models.items(), key=lambda kv: (kv[0][0] != "baseline", kv[0])):
            ok = [r for r in seeds if not r["error"]]
            entry = {c: mean([number(r.get(c)) for r in ok]) for c in COLUMNS}
            entry.update(seeds=len(ok), errors=[r["error"] for r in seeds if r["error"]],
                         graph_differs=verdict([r.get("graph_differs") for r in ok]),
                         only_on_paper=verdict([r.get("only_on_paper") for r in ok]))
            out[where][model] = entry
    return out


def print_table(by_where: dict) -> None:
    for (fmt, device), models in by_where.items():
        base = models.get(("baseline", "dense"), {}).get("dice", float("nan"))
        print(f"\n.{fmt} on {device}")
        print(f"{'method/level':<26}{'seeds':>6}{'Dice':>8}{'ΔDice':>8}{'file KB':>10}{'x bytes':>9}{'x count':>10}"
              f"{'p50 ms':>9}{'speed-up':>9}  {'graph':<7}{'on paper only'}")
        print("-" * 118)
        for (method, level), e in models.items():
            label = f"{method}/{level}"
            if not e["seeds"]:
                print(f"{label:<26}{0:>6}  error: {e['errors'][0]}")
                continue
            graph = "-" if method == "baseline" else ("other" if e["graph_differs"] == "yes" else
                                                     "same" if e["graph_differs"] == "no" else e["graph_differs"])
            print(f"{label:<26}{e['seeds']:>6}{e['dice']:>8.3f}{e['dice'] - base:>+8.3f}{e['file_bytes'] / 1e3:>10.1f}"
                  f"{e['compression_by_bytes']:>9.2f}{e['compression_by_count']:>10.2f}{e['p50_ms']:>9.2f}"
                  f"{e['speedup_p50']:>9.2f}  {graph:<7}{'-' if method == 'baseline' else e['only_on_paper']}")
            for error in e["errors"]:
                print(f"{'':<26}  a seed failed: {error}")
    print("\nx bytes / x count: the baseline's file bytes / stored numbers over the model's (FR's released model:"
          " against its own dense network); speed-up: baseline p50 / model p50; graph: the exported graph's"
          " operators and shapes against the baseline's.")


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
    print_table(table(summary_rows(workdir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
