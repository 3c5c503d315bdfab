"""`snakemake reference` on the FR paper's model, timed step by step (issue #16).

    python benchmarks/reference_time.py                     # default config, full resolution (about 12 minutes)
    python benchmarks/reference_time.py --size 160 240      # a quick look
    python benchmarks/reference_time.py --formats ptl pte   # also ExecuTorch (its memory planned ahead of time)

Runs the default config (config/config.yaml) plus `reference: {dir, size}` in a fresh work folder through
`snakemake --cores 2 reference`, then prints each step's wall time and peak RSS (Snakemake's
`benchmark:` files), the whole target's time against the 15-minute target, what the benchmark plan's
bounds let run, and the model's peak memory beside what the authors of its code reported on their phone.
Run it alone on a quiet machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from frbench.report.phone_memory import PHONE_REPORTED  # noqa: E402

TARGET_S = 15 * 60


def steps(results: Path) -> list[tuple[str, float, float]]:
    """(step, seconds, max RSS MB) from every benchmark file of the reference's jobs, in the order they ran."""
    out = []
    for tsv in sorted((results / "benchmarks").rglob("*.tsv"), key=lambda p: p.stat().st_mtime):
        if "fr_reference" not in str(tsv):
            continue
        with tsv.open() as f:
            row = next(csv.DictReader(f, delimiter="\t"))
        name = str(tsv.relative_to(results / "benchmarks").with_suffix(""))
        rss = row.get("max_rss")
        out.append((name, float(row["s"]), float(rss) if rss not in (None, "NA") else float("nan")))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "fr_reference")
    p.add_argument("--size", type=int, nargs=2, default=[640, 959], metavar=("H", "W"))
    p.add_argument("--formats", nargs="+", default=None, help="formats to export (default: the config's)")
    p.add_argument("--workdir", type=Path, help="keep the run here (default: a temporary folder)")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="frbench-reference-") as tmp:
        workdir = a.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
        config["reference"] = {"dir": str(a.reference.resolve()), "size": a.size}
        if a.formats:
            config["formats"] = a.formats
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
        cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "workflow" / "Snakefile"), "--directory",
               str(workdir), "--cores", "2", "reference", "--configfile", str(workdir / "config.yaml")]
        print("running:", " ".join(cmd), flush=True)
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        total = time.monotonic() - t0
        if proc.returncode != 0:
            print(proc.stderr[-4000:], file=sys.stderr)
            return proc.returncode
        results = workdir / "results"
        print(f"`snakemake reference` at {a.size[0]}x{a.size[1]}, formats {config['formats']}: {total:.0f} s "
              f"(target {TARGET_S} s: {'met' if total <= TARGET_S else 'MISSED'})")
        for name, seconds, rss in steps(results):
            print(f"   {name:58} {seconds:>8.1f} s {rss:>9.0f} MB")
        for bench in sorted((results / "bench").rglob("fr_reference/*/seed0/*.json")):
            r = json.loads(bench.read_text())
            if r["error"]:
                print(f"   {bench.name}: error: {r['error'].splitlines()[0]}")
                continue
            pair = r.get("weights_update") or {}
            print(f"   {bench.stem}: p50 {r['stats']['p50'] / 1e3:.1f} s, first {r['first_inference_ms'] / 1e3:.1f} s, "
                  f"ran {r['ran']}, Dice {r['accuracy']['dice']:.4f} on {r['accuracy']['images']} images, peak RSS "
                  f"{r['memory']['peak_rss'] / 1024**2:.2f} GB ({r['metadata']['allocator']['name']}); as program + "
                  f"weights file: Dice {((pair.get('accuracy') or {}).get('dice') or float('nan')):.4f}")
        print("   the authors of FR's code, on their Android phone (as reported, not measured here): "
              + "; ".join(f"{gb} GB for {what}" for what, gb in PHONE_REPORTED))
    return 0


if __name__ == "__main__":
    sys.exit(main())
