"""Every format side by side (.ptl PyTorch Lite, .pte ExecuTorch, .onnx ONNX Runtime): host latency, load
and peak memory of every model of a study.

    python benchmarks/formats.py                                   # the default study, in benchmarks/out/formats
    python benchmarks/formats.py --config config/tiny.yaml --cores 2 --workdir benchmarks/out/formats-tiny
    python benchmarks/formats.py --formats ptl onnx                # two of them

Runs the study (`snakemake all`) with `formats:` every registered format (frbench.formats) in a working
directory of its own (the config, with that one key changed, is written there as `config.yaml`), then
prints, from `results/summary.csv`, for the baseline and every method and level: the weights' storage
type in each file (read from the export records: fp32, fp16, int8), the host p50 latency, load time and
peak RSS of the benchmark process for each format, and each format's p50 and peak RSS as a ratio to the
first format's (below 1: faster or smaller than `.ptl`), with each format's test Dice and file size.
Means over seeds; a model that failed shows `error`, and the errors are listed under the table.

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

from frbench.formats import list_formats

from _study import ROOT, add_study_arguments, number, result_rows, run_study

FORMATS = sorted(list_formats(), key=lambda f: (f != "ptl", f))  # .ptl first: the others' ratios are against it
MEASURES = ("p50_ms", "load_ms", "peak_rss_mb", "dice", "file_kb")
_DTYPES = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16", "qint8": "int8", "int8": "int8",
           "quint8": "uint8", "uint8": "uint8"}


def study_config(config: Path, workdir: Path, formats: list[str]) -> Path:
    """The study's config with `formats`, written into the working directory."""
    cfg = yaml.safe_load(config.read_text())
    cfg["formats"] = list(formats)
    out = workdir / "config.yaml"
    text = f"# {config} with formats: {formats} (written by benchmarks/formats.py)\n" + yaml.safe_dump(cfg, sort_keys=False)
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


def table(workdir: Path, formats: list[str]) -> tuple[dict, list[str]]:
    """{device: {(method, level): {fmt: means}}} over seeds, and the error lines."""
    cells: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(list))))
    errors, order = [], []
    for row in result_rows(workdir):
        if row["fmt"] not in formats:
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
        c["load_ms"].append(number(row["load_ms"]))
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
                    **{k: (sum(c[k]) / len(c[k]) if ok else math.nan) for k in MEASURES}}
    return means, errors


def _fmt(value: float, spec: str) -> str:
    return "error" if math.isnan(value) else format(value, spec)


def _ratio(a: float, b: float) -> str:
    return "-" if math.isnan(a) or math.isnan(b) or b == 0 else f"{a / b:.2f}"


def _columns(formats: list[str], width: int) -> str:
    return "".join(f"{f:>{width}}" for f in formats)


def print_table(means: dict, errors: list[str], formats: list[str]) -> None:
    first, others = formats[0], formats[1:]
    groups = [("weights", 6, formats), ("p50 ms", 9, formats), (f"p50 /{first}", 7, others), ("load ms", 9, formats),
              ("peak RSS MB", 7, formats), (f"RSS /{first}", 7, others), ("test Dice", 7, formats),
              ("file KB", 9, formats)]
    head = f"{'method/level':<26}" + "".join(f"{name:>{width * len(fmts) + 2}}" for name, width, fmts in groups)
    sub = f"{'':<26}" + "".join("  " + _columns(fmts, width) for _, width, fmts in groups)
    nan = {"p50_ms": math.nan, "load_ms": math.nan, "peak_rss_mb": math.nan, "dice": math.nan, "file_kb": math.nan,
           "weights": "", "seeds": 0, "failed": 0}
    for device, rows in means.items():
        print(f"\ndevice: {device}")
        print(head)
        print(sub)
        print("-" * len(sub))
        for (method, level), by_fmt in rows.items():
            m = {f: by_fmt.get(f, nan) for f in formats}
            line = f"{method + '/' + level:<26}  " + "".join(f"{m[f]['weights'] or '-':>6}" for f in formats)
            line += "  " + "".join(f"{_fmt(m[f]['p50_ms'], '.2f'):>9}" for f in formats)
            line += "  " + "".join(f"{_ratio(m[f]['p50_ms'], m[first]['p50_ms']):>7}" for f in others)
            line += "  " + "".join(f"{_fmt(m[f]['load_ms'], '.1f'):>9}" for f in formats)
            line += "  " + "".join(f"{_fmt(m[f]['peak_rss_mb'], '.0f'):>7}" for f in formats)
            line += "  " + "".join(f"{_ratio(m[f]['peak_rss_mb'], m[first]['peak_rss_mb']):>7}" for f in others)
            line += "  " + "".join(f"{_fmt(m[f]['dice'], '.3f'):>7}" for f in formats)
            line += "  " + "".join(f"{_fmt(m[f]['file_kb'], '.1f'):>9}" for f in formats)
            print(line)
        seeds = sorted({f["seeds"] + f["failed"] for by_fmt in rows.values() for f in by_fmt.values()})
        print(f"(means over {'/'.join(map(str, seeds))} seed(s); ratios below 1: faster or smaller than .{first})")
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
    ap.add_argument("--formats", nargs="+", default=FORMATS, choices=FORMATS,
                    help="the formats to compare, the first the others' reference (default: %(default)s)")
    args = ap.parse_args()

    workdir = (ROOT / args.workdir).resolve()  # an absolute --workdir stays as given
    workdir.mkdir(parents=True, exist_ok=True)
    if args.fresh:
        shutil.rmtree(workdir / "results", ignore_errors=True)
    configfile = study_config(ROOT / args.config, workdir, args.formats)
    proc, wall = run_study(workdir, configfile, args.cores)
    if proc.returncode != 0:
        return proc.returncode
    nothing = "Nothing to be done" in proc.stderr + proc.stdout
    print(f"study: {wall:.1f} s wall with --cores {args.cores} ({args.config}, formats {args.formats})"
          f"{'; results reused, nothing to redo' if nothing else ''}; results in {workdir / 'results'}")
    means, errors = table(workdir, args.formats)
    print_table(means, errors, args.formats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
