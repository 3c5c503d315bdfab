""".ptl (PyTorch Lite) against .pte (ExecuTorch): host latency and peak memory of every model of a study.

    python benchmarks/formats.py                                   # the default study, in benchmarks/out/formats
    python benchmarks/formats.py --config config/tiny.yaml --cores 2 --workdir benchmarks/out/formats-tiny

Runs the study (`snakemake all`) with `formats: [ptl, pte]` in a working directory of its own
(the config, with that one key changed, is written there as `config.yaml`), then prints, from
`results/summary.csv`, for the baseline and every method and level: the weights' storage type
in each file (read from the export records: fp32, fp16, int8), the host p50 latency and peak
RSS of the benchmark process for `.ptl` and `.pte`, and the ratios pte/ptl (below 1: ExecuTorch
is faster or smaller), with each format's test Dice and file size. Means over seeds; a model that
failed shows `error`, and the errors are listed under the table.

The directory is kept: a second run redoes only what is missing or out of date (Snakemake), so
it is quick; `--fresh` removes its results first (Snakemake does not rerun a job because the
code changed). The numbers are those of frbench.bench (a fresh process per model, warm-up runs
discarded, the plan's threads); on a busy machine compare them with care, p50 is the robust one.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from collections import defaultdict
from pathlib import Path

import yaml

from _study import ROOT, add_study_arguments, number, result_rows, run_study

FORMATS = ["ptl", "pte"]
_DTYPES = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16", "qint8": "int8", "int8": "int8",
           "quint8": "uint8", "uint8": "uint8"}


def study_config(config: Path, workdir: Path) -> Path:
    """The study's config with `formats: [ptl, pte]`, written into the working directory."""
    cfg = yaml.safe_load(config.read_text())
    cfg["formats"] = list(FORMATS)
    out = workdir / "config.yaml"
    text = f"# {config} with formats: {FORMATS} (written by benchmarks/formats.py)\n" + yaml.safe_dump(cfg, sort_keys=False)
    if not out.exists() or out.read_text() != text:  # unchanged: snakemake sees nothing new
        out.write_text(text)
    return out


def weights_dtype(workdir: Path, row: dict) -> str:
    """The storage type of most numbers the exported file holds (its export record's stored_by_dtype)."""
    path = (workdir / "results" / "export" / row["method"] / row["level"] / f"seed{row['seed']}"
            / f"export_{row['fmt']}.json")
    try:
        by_dtype = json.loads(path.read_text()).get("stored_by_dtype") or {}
    except (OSError, ValueError):
        return "?"
    if not by_dtype:
        return "?"
    dtype = max(by_dtype, key=by_dtype.get)
    return _DTYPES.get(dtype, dtype)


def table(workdir: Path) -> tuple[dict, list[str]]:
    """{device: {(method, level): {fmt: means}}} over seeds, and the error lines."""
    cells: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(list))))
    errors, order = [], []
    for row in result_rows(workdir):
        if row["fmt"] not in FORMATS:
            continue
        key = (row["method"], row["level"])
        if key not in order:
            order.append(key)
        c = cells[row["device"]][key][row["fmt"]]
        if row.get("error"):
            c["errors"].append(row["error"])
            errors.append(f"{row['method']}/{row['level']}/seed{row['seed']}/{row['fmt']}/{row['device']}: "
                          f"{row['error'][:300]}")
            continue
        c["p50_ms"].append(number(row["p50_ms"]))
        c["peak_rss_mb"].append(number(row["peak_rss_kb"]) / 1024)
        c["dice"].append(number(row["dice"]))
        c["file_kb"].append(number(row["file_bytes"]) / 1024)
        c["weights"].append(weights_dtype(workdir, row))
    means = {}
    for device, by_model in cells.items():
        means[device] = {}
        for key in sorted(by_model, key=order.index):
            means[device][key] = {}
            for fmt, c in by_model[key].items():
                ok = bool(c["p50_ms"])
                means[device][key][fmt] = {
                    "seeds": len(c["p50_ms"]), "failed": len(c["errors"]),
                    "weights": "/".join(sorted(set(c["weights"]))) if ok else "",
                    **{k: (sum(c[k]) / len(c[k]) if ok else math.nan) for k in ("p50_ms", "peak_rss_mb", "dice", "file_kb")}}
    return means, errors


def _fmt(value: float, spec: str) -> str:
    return "error" if math.isnan(value) else format(value, spec)


def _ratio(a: float, b: float) -> str:
    return "-" if math.isnan(a) or math.isnan(b) or b == 0 else f"{a / b:.2f}"


def print_table(means: dict, errors: list[str]) -> None:
    head = (f"{'method/level':<26}{'weights':>11}{'p50 ms':>16}{'pte/ptl':>9}{'peak RSS MB':>18}{'pte/ptl':>9}"
            f"{'test Dice':>16}{'file KB':>18}")
    sub = (f"{'':<26}{'ptl / pte':>11}{'ptl     pte':>16}{'':>9}{'ptl     pte':>18}{'':>9}{'ptl    pte':>16}"
           f"{'ptl      pte':>18}")
    for device, rows in means.items():
        print(f"\ndevice: {device}")
        print(head)
        print(sub)
        print("-" * len(head))
        nan = {"p50_ms": math.nan, "peak_rss_mb": math.nan, "dice": math.nan, "file_kb": math.nan, "weights": "",
               "seeds": 0, "failed": 0}
        for (method, level), by_fmt in rows.items():
            a, b = by_fmt.get("ptl", nan), by_fmt.get("pte", nan)
            weights = f"{a['weights'] or '-'} / {b['weights'] or '-'}"
            print(f"{method + '/' + level:<26}{weights:>11}"
                  f"{_fmt(a['p50_ms'], '.2f'):>8}{_fmt(b['p50_ms'], '.2f'):>8}{_ratio(b['p50_ms'], a['p50_ms']):>9}"
                  f"{_fmt(a['peak_rss_mb'], '.0f'):>10}{_fmt(b['peak_rss_mb'], '.0f'):>8}"
                  f"{_ratio(b['peak_rss_mb'], a['peak_rss_mb']):>9}"
                  f"{_fmt(a['dice'], '.3f'):>9}{_fmt(b['dice'], '.3f'):>7}"
                  f"{_fmt(a['file_kb'], '.1f'):>9}{_fmt(b['file_kb'], '.1f'):>9}")
        seeds = sorted({f["seeds"] + f["failed"] for by_fmt in rows.values() for f in by_fmt.values()})
        print(f"(means over {'/'.join(map(str, seeds))} seed(s); pte/ptl below 1: ExecuTorch faster or smaller)")
    if errors:
        print("\nerrors:")
        for line in errors:
            print(f"  {line}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_study_arguments(ap)
    ap.add_argument("--workdir", default="benchmarks/out/formats",
                    help="where the study runs and its results stay (default: %(default)s)")
    ap.add_argument("--fresh", action="store_true", help="remove the working directory's results first")
    args = ap.parse_args()

    workdir = (ROOT / args.workdir).resolve()  # an absolute --workdir stays as given
    workdir.mkdir(parents=True, exist_ok=True)
    if args.fresh:
        shutil.rmtree(workdir / "results", ignore_errors=True)
    configfile = study_config(ROOT / args.config, workdir)
    proc, wall = run_study(workdir, configfile, args.cores)
    if proc.returncode != 0:
        return proc.returncode
    nothing = "Nothing to be done" in proc.stderr + proc.stdout
    print(f"study: {wall:.1f} s wall with --cores {args.cores} ({args.config}, formats {FORMATS})"
          f"{'; results reused, nothing to redo' if nothing else ''}; results in {workdir / 'results'}")
    means, errors = table(workdir)
    print_table(means, errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
