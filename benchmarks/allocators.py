"""The host's allocator side by side: the FR paper's model and the default study's baseline (issue #16).

    python benchmarks/allocators.py                          # the paper's model at 640x959 (minutes)
    python benchmarks/allocators.py --size 320 480 --results results   # and the study's baseline .ptl

Each allocator of `bench.allocator` (frbench/bench/allocator.py: glibc as is, glibc with raised
thresholds, Debian's jemalloc and tcmalloc) runs the same `.ptl` through the host runner, a fresh worker
per run under the same plan: p50 and first inference, peak RSS, and the minor page faults per timed
run (pages given back to the system after one forward and faulted in again by the next). Run it alone
on a quiet machine.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from frbench.bench.allocator import ALLOCATORS, DEBIAN_PACKAGES, installed  # noqa: E402
from frbench.bench.host import HostRunner  # noqa: E402
from frbench.bench.plan import Plan  # noqa: E402
from frbench.bench.result import with_stats  # noqa: E402
from frbench.contract import ExportForm  # noqa: E402
from frbench.formats import get_format  # noqa: E402
from frbench.fr import CompactUNet  # noqa: E402
from frbench.methods import load_model  # noqa: E402
from frbench.reference_job import import_reference  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)  # the lite interpreter is deprecated


def paper_model(folder: Path, size: tuple[int, int], workdir: Path) -> tuple[Path, Path]:
    """The paper's model as its compact .ptl, and its 16 images at `size` as a dataset (not scored)."""
    paths = {"out_checkpoint": workdir / "model.pt", "out_dataset": workdir / "reference.npz",
             "out_record": workdir / "reference.json"}
    import_reference(folder=str(folder), size=size, threads=2, score=False, **{k: str(v) for k, v in paths.items()})
    model, _ = load_model(paths["out_checkpoint"])
    ptl = workdir / "fr_reference.ptl"
    get_format("ptl").write(ExportForm(model, program=CompactUNet(model).eval()), torch.zeros(1, 3, *size), ptl)
    return ptl, paths["out_dataset"]


def compare(title: str, model: Path, data: Path, plan: Plan) -> None:
    print(f"{title}: {model}")
    print(f"   {'allocator':12} {'p50 ms':>10} {'first ms':>10} {'runs':>5} {'faults/run':>11} {'peak MB':>8}")
    for name in filter(installed, ALLOCATORS):
        r = with_stats(HostRunner().run(str(model), "ptl", str(data), Plan(**{**plan.to_dict(), "allocator": name}),
                                        log=io.StringIO()))
        if r["error"]:
            print(f"   {name:12} error: {r['error'].splitlines()[0]}")
            continue
        mem = r["memory"]
        print(f"   {name:12} {r['stats']['p50']:>10.1f} {r['first_inference_ms']:>10.1f} {len(r['values']):>5} "
              f"{mem['minor_faults_per_run']:>11,.0f} {mem['peak_rss'] / 1024:>8.0f}")
    missing = [name for name in ALLOCATORS if not installed(name)]
    if missing:
        print(f"   not installed here: {', '.join(missing)} (Debian: {', '.join(DEBIAN_PACKAGES[m] for m in missing)})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "fr_reference")
    p.add_argument("--size", type=int, nargs=2, default=[640, 959], metavar=("H", "W"))
    p.add_argument("--results", type=Path, help="a finished default study: also its baseline's seed-0 .ptl")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    plan = Plan(warmup=2, warmup_s=30, iters=10, min_iters=3, max_s=60, threads=a.threads, dice_images=1,
                weights_update=False, heap=False, profile=False)  # timing and peak RSS only
    print(f"torch {torch.__version__}, {a.threads} thread(s); plan: at most 2 warm-up and 10 timed runs, "
          f"at least 3 timed, within 30 s and 60 s")
    with tempfile.TemporaryDirectory(prefix="frbench-allocators-") as d:
        model, data = paper_model(a.reference, tuple(a.size), Path(d))
        compare(f"1. The FR paper's released UNet at {a.size[0]}x{a.size[1]}", model, data, plan)
    if a.results:
        baseline = a.results / "export" / "baseline" / "dense" / "seed0" / "model.ptl"
        compare("2. The default study's baseline", baseline, a.results / "data" / "dataset.npz",
                Plan(**{**plan.to_dict(), "warmup": 10, "iters": 50, "max_s": 30}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
