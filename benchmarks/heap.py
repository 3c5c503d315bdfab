"""The heap the FR paper's released model holds, beside what its code's authors reported (issue #26).

    python benchmarks/heap.py                     # the paper's model at 640x959, .ptl (a minute or two)
    python benchmarks/heap.py --size 320 480 --formats ptl onnx

The released UNet (759 coefficients for UNet-31M) is imported, exported as each format's file, and the
benchmark worker's heap pass (frbench/bench/heap.py: memray, a fresh load, two inferences) runs on it in a
fresh process per format: bytes held after the load, after the first inference (FR's dense weights,
rebuilt there by the `.ptl`) and the peak of a later inference, printed beside the dense weights' bytes
and the 3.27 / 1.93 GB the authors of the code FR comes from reported on their Android phone (the whole
app's memory as they measured it: cited, not measured here). Also each worker's peak RSS, as context.
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

from frbench.bench.host import HostRunner  # noqa: E402
from frbench.bench.plan import Plan  # noqa: E402
from frbench.contract import ExportForm  # noqa: E402
from frbench.formats import get_format  # noqa: E402
from frbench.fr import CompactUNet, fr_layers  # noqa: E402
from frbench.fr.compact import GraphCompactUNet  # noqa: E402
from frbench.methods import load_model  # noqa: E402
from frbench.reference_job import import_reference  # noqa: E402
from frbench.report.phone_memory import PHONE_REPORTED  # noqa: E402

warnings.filterwarnings("ignore")  # the lite interpreter and TorchScript are deprecated
FORMS = {"ptl": CompactUNet, "onnx": GraphCompactUNet}  # the compact forms; .pte stores dense weights


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "fr_reference")
    p.add_argument("--size", type=int, nargs=2, default=[640, 959], metavar=("H", "W"))
    p.add_argument("--formats", nargs="+", default=["ptl"], choices=sorted(FORMS))
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    plan = Plan(warmup=0, iters=1, min_iters=1, threads=a.threads, dice_images=1, weights_update=False,
                profile=False)
    with tempfile.TemporaryDirectory(prefix="frbench-heap-") as d:
        paths = {"out_checkpoint": Path(d) / "model.pt", "out_dataset": Path(d) / "reference.npz",
                 "out_record": Path(d) / "reference.json"}
        import_reference(folder=str(a.reference), size=tuple(a.size), threads=2, score=False,
                         **{k: str(v) for k, v in paths.items()})
        model, _ = load_model(paths["out_checkpoint"])
        dense = sum(layer.coeffs.numel() * 4 for _, layer in fr_layers(model))
        print(f"FR's released UNet at {a.size[0]}x{a.size[1]}, {a.threads} thread(s): dense float32 weights "
              f"{dense / 1e9:.3f} GB")
        for fmt in a.formats:
            path = Path(d) / f"model.{fmt}"
            get_format(fmt).write(ExportForm(model, program=FORMS[fmt](model).eval()), torch.zeros(1, 3, *a.size),
                                  path)
            r = HostRunner().run(str(path), fmt, str(paths["out_dataset"]), plan, log=io.StringIO())
            heap = r.get("heap") or {}
            if r["error"] or heap.get("error"):
                print(f"  .{fmt}: error: {(r['error'] or heap['error']).splitlines()[0]}")
                continue
            print(f"  .{fmt} ({path.stat().st_size:,} B; {heap['tool']}): heap after load "
                  f"{heap['held_after_load'] / 1e9:.3f} GB, after the first inference "
                  f"{heap['held_after_first_inference'] / 1e9:.3f} GB, peak of a later inference "
                  f"{heap['peak_inference'] / 1e9:.3f} GB; peak RSS {r['memory']['peak_rss'] / 2**20:.3f} GB")
    print("  reported on the authors' Android phone: " + "; ".join(f"{gb} GB for {what}" for what, gb in PHONE_REPORTED))
    return 0


if __name__ == "__main__":
    sys.exit(main())
