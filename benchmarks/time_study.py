"""Time a whole study end to end and print wall seconds per rule.

    python benchmarks/time_study.py                      # the default study, fresh, in a temporary directory
    python benchmarks/time_study.py --config config/tiny.yaml --cores 2 --keep results-tiny

Runs `snakemake --cores N all` from scratch, then reads the `benchmark:` file every
rule writes (Snakemake measures each job's wall seconds and peak memory) and prints,
per rule: jobs, total and largest seconds, largest max RSS; then the end-to-end wall
time. These are pipeline costs; phone and host latencies come from frbench.bench.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from _study import ROOT, add_study_arguments, number, result_rows, run_study


def rule_of(tsv: Path, bench_root: Path) -> str:
    """results/benchmarks/<rule folder>/... -> the rule; models/<method>/... -> the method's rule."""
    parts = tsv.relative_to(bench_root).parts
    if parts[0] == "models":
        return parts[1]
    return {"data": "dataset"}.get(parts[0], parts[0].removesuffix(".tsv"))


def per_rule(bench_root: Path) -> dict:
    rows = defaultdict(lambda: {"jobs": 0, "seconds": 0.0, "max_seconds": 0.0, "max_rss_mb": 0.0})
    for tsv in sorted(bench_root.rglob("*.tsv")):
        with tsv.open() as f:
            rec = next(csv.DictReader(f, delimiter="\t"))
        r = rows[rule_of(tsv, bench_root)]
        s = float(rec["s"])
        rss = float(rec["max_rss"]) if rec["max_rss"] not in ("", "NA", "-") else 0.0
        r["jobs"] += 1
        r["seconds"] += s
        r["max_seconds"] = max(r["max_seconds"], s)
        r["max_rss_mb"] = max(r["max_rss_mb"], rss)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_study_arguments(ap)
    ap.add_argument("--keep", help="run in this directory and keep it (default: a temporary one, removed)")
    args = ap.parse_args()

    workdir = Path(args.keep).resolve() if args.keep else Path(tempfile.mkdtemp(prefix="frbench-study-"))
    workdir.mkdir(parents=True, exist_ok=True)
    proc, wall = run_study(workdir, ROOT / args.config, args.cores)
    if proc.returncode != 0:
        return proc.returncode

    rows = per_rule(workdir / "results" / "benchmarks")
    print(f"\n{'rule':<14}{'jobs':>6}{'total s':>10}{'max s':>9}{'max RSS MB':>12}")
    for rule, r in sorted(rows.items(), key=lambda kv: -kv[1]["seconds"]):
        print(f"{rule:<14}{r['jobs']:>6}{r['seconds']:>10.1f}{r['max_seconds']:>9.1f}{r['max_rss_mb']:>12.0f}")
    print(f"{'sum of jobs':<14}{sum(r['jobs'] for r in rows.values()):>6}{sum(r['seconds'] for r in rows.values()):>10.1f}")
    print(f"\nend to end: {wall:.1f} s wall with --cores {args.cores} ({args.config})")
    for row in result_rows(workdir):
        print(f"  {row['method']}/{row['level']}/seed{row['seed']}/{row['fmt']}/{row['device']}: "
              f"test Dice {number(row['dice']):.3f}, p50 {number(row['p50_ms']):.2f} ms, "
              f"{row['file_bytes']} bytes{'  ERROR: ' + row['error'] if row['error'] else ''}")
    if not args.keep:
        shutil.rmtree(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
