"""What a phone downloads, measured and printed (issues #13, #25).

    python benchmarks/phone_bytes.py                              # the paper's model, at 160x240
    python benchmarks/phone_bytes.py --results results            # and every .ptl/.pte of a finished study
    python benchmarks/phone_bytes.py --size 640 959               # the paper's Dice at full resolution (minutes)

1. The FR paper's released UNet (../shared/fr_reference: 759 coefficients for 31M parameters) as the
   `.ptl` frbench ships: file bytes and where they go (program, weights, container), against its
   floor, its gzip size and a copy whose pickles are stored; load time (a fresh lite-interpreter
   load, the pickles stored and deflated), unpack time (its first call less a later one) and Dice through the
   lite interpreter against the eager model's; and its weights-only update (the weights file a phone
   that holds the program downloads, against the floor; the target is 1.1x) run with its program.
   Then the same model as the `.onnx` frbench ships (FR's compact graph: the coefficients, and the unpack
   that ONNX Runtime folds into the convolutions when it creates the session): bytes and split, load
   (session creation, where the unpack runs), first and later calls, Dice through ONNX Runtime, its
   weights-only update, and the operators the session runs once folded.
2. With `--results`, every exported file of a study: bytes, split, floor (FR), gzip bytes, Dice
   (from the export record's fidelity check) and load time, the pickles stored and deflated.

Times are min and median of `--samples` values, each timed alone (pyperf's habit), threads fixed
by `--threads`; run it alone on a quiet machine.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import statistics
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from frbench.contract import ExportForm  # noqa: E402
from frbench.export import UpdateFiles  # noqa: E402
from frbench.formats import get_format  # noqa: E402
from frbench.formats.ptl.reader import records  # noqa: E402
from frbench.fr import CompactUNet, floor_bytes, script_compact  # noqa: E402
from frbench.fr.compact import GraphCompactUNet  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)  # the lite interpreter is deprecated
PAPER_FILE = 40_500  # the paper's own sparse torch.save file, bytes (issue #13)
TARGET = 16_000


def rewritten(data: bytes, deflate_pickles: bool) -> bytes:
    """The same records with the pickles deflated or stored (tensor records stored): the two choices
    for the file (frbench.formats.ptl.export.phone_file deflates them)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, record in records(data, "the .ptl").items():
            info = zipfile.ZipInfo(f"archive/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            deflate = deflate_pickles and not name.startswith("data/")
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            z.writestr(info, record, compresslevel=9)
    return out.getvalue()


def timed(fn, samples: int) -> list[float]:
    fn()  # warm-up, discarded
    values = []
    for _ in range(samples):
        t0 = time.perf_counter()
        fn()
        values.append((time.perf_counter() - t0) * 1e3)
    return values


def ms(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} ms"


def load_times(data: bytes, samples: int) -> dict[str, list[float]]:
    from torch.jit.mobile import _load_for_lite_interpreter

    out = {}
    with tempfile.TemporaryDirectory() as d:
        for name, payload in (("stored", rewritten(data, False)), ("deflated", rewritten(data, True))):
            path = Path(d) / f"{name}.ptl"
            path.write_bytes(payload)
            out[name] = timed(lambda p=path: _load_for_lite_interpreter(str(p)), samples)
    return out


def paper_model(folder: Path, size: tuple[int, int], samples: int) -> None:
    from torch.jit.mobile import _load_for_lite_interpreter

    from frbench.data import load_folder_pair, to_float
    from frbench.fr.reference import load_reference_fr, reference_pairs
    from frbench.metrics import dice_per_image, predict_mask

    model, _ = load_reference_fr(folder / "unet_fr.tar.xz", dtype=torch.float16)
    model.eval()
    pairs = [load_folder_pair(i, m, size) for i, m in reference_pairs(folder)]
    images = to_float(torch.stack([torch.from_numpy(i.transpose(2, 0, 1).copy()) for i, _ in pairs]))
    masks = torch.stack([torch.from_numpy(m.astype("int64")) for _, m in pairs])
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "unet_fr.ptl"
        update = UpdateFiles(Path(d) / "program.ptl", Path(d) / "weights.bin")
        lite_format = get_format("ptl")
        facts = lite_format.write(ExportForm(model, program=CompactUNet(model).eval()), images[:1], path, update)
        pair = lite_format.load(update.program, update.weights)
        data = path.read_bytes()
        split = lite_format.split(path)
        lite = _load_for_lite_interpreter(str(path))
        first = timed(lambda: _load_for_lite_interpreter(str(path))(images[:1]), max(3, samples // 3))
        later = timed(lambda: lite(images[:1]), max(3, samples // 3))
        with torch.no_grad():
            eager = torch.cat([predict_mask(model(images[i : i + 1])) for i in range(len(images))])
        phone = torch.cat([predict_mask(lite(images[i : i + 1])) for i in range(len(images))])
        paired = torch.cat([predict_mask(pair(images[i : i + 1])) for i in range(len(images))])
    floor = floor_bytes(model)
    print("1. The FR paper's released UNet (759 coefficients, 31,037,698 parameters) as frbench's .ptl")
    print(f"   file {len(data):,} B (target <= {TARGET:,}: {'met' if len(data) <= TARGET else 'MISSED'}; the paper's "
          f"own file {PAPER_FILE:,} B, {PAPER_FILE / len(data):.1f}x larger): program {split['program']:,}, weights "
          f"{split['weights']:,}, container {split['container']:,}")
    print(f"   floor {floor:,} B (2 per coefficient + 4 per shape dim): file {len(data) / floor:.1f}x, weights "
          f"{split['weights'] / floor:.2f}x; gzip {len(gzip.compress(data, 9, mtime=0)):,} B; with the pickles stored "
          f"{len(rewritten(data, False)):,} B")
    loads = load_times(data, samples)
    whole = script_compact(model)._save_to_buffer_for_lite_interpreter()  # as torch writes it: source, debug tables
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "whole.ptl").write_bytes(whole)
        whole_load = timed(lambda: _load_for_lite_interpreter(str(Path(d) / "whole.ptl")), samples)
    print(f"   load (min / median), pickles stored {ms(loads['stored'])}, deflated {ms(loads['deflated'])}; as torch "
          f"writes it (with code/ and debug tables, {len(whole):,} B) {ms(whole_load)}")
    unpack = statistics.median(first) - statistics.median(later)
    print(f"   first call {ms(first)}, later calls {ms(later)}: unpack about {unpack:.1f} ms (target <= 50 ms)")
    print(f"   Dice at {size[0]}x{size[1]} over {len(images)} images: lite interpreter "
          f"{float(dice_per_image(phone, masks).mean()):.4f}, eager {float(dice_per_image(eager, masks).mean()):.4f}")
    updated = facts["weights_update"]
    print(f"   weights-only update: weights file {updated['data_bytes']:,} B ({updated['data_bytes'] / floor:.2f}x the "
          f"floor; target <= 1.1x), program {updated['program_bytes']:,} B; program + weights file give the same "
          f"masks as the whole file: {bool(torch.equal(paired, phone))}")
    paper_model_onnx(model, images, masks, eager, floor, samples)


def paper_model_onnx(model, images, masks, eager, floor: int, samples: int) -> None:
    """The released model as FR's compact `.onnx`, run by ONNX Runtime (frbench.formats.onnx)."""
    from collections import Counter

    import onnx
    import onnxruntime as ort

    from frbench.formats.onnx.runtime import session_options
    from frbench.metrics import dice_per_image, predict_mask

    fmt, x = get_format("onnx"), images[:1]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "unet_fr.onnx"
        update = UpdateFiles(Path(d) / "program.onnx", Path(d) / "weights_onnx.bin")
        facts = fmt.write(ExportForm(model, program=GraphCompactUNet(model).eval()), x, path, update)
        data, split = path.read_bytes(), fmt.split(path)
        loads = timed(lambda: fmt.load(path), max(3, samples // 3))
        firsts = []
        for _ in range(max(3, samples // 3)):  # the first call of a fresh session each time
            session = fmt.load(path)
            t0 = time.perf_counter()
            fmt.run(session, x)
            firsts.append((time.perf_counter() - t0) * 1e3)
        session = fmt.load(path)
        fmt.run(session, x)
        later = timed(lambda: fmt.run(session, x), max(3, samples // 3))
        phone = torch.cat([predict_mask(fmt.run(session, images[i : i + 1])) for i in range(len(images))])
        pair = fmt.load(update.program, update.weights)
        paired = torch.cat([predict_mask(fmt.run(pair, images[i : i + 1])) for i in range(len(images))])
        so, _ = session_options(torch.get_num_threads())
        so.optimized_model_filepath = str(Path(d) / "as_run.onnx")
        ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        stored_ops = Counter(n.op_type for n in onnx.load(str(path)).graph.node)
        run_ops = Counter(n.op_type for n in onnx.load(str(Path(d) / "as_run.onnx"), load_external_data=False).graph.node)
    updated = facts["weights_update"]
    print(f"   as .onnx (ONNX Runtime {fmt.runtime_version()}, ORT_ENABLE_ALL): file {len(data):,} B: program "
          f"{split['program']:,}, weights {split['weights']:,}, container {split['container']:,}; floor {floor:,} B "
          f"(file {len(data) / floor:.1f}x, weights {split['weights'] / floor:.2f}x); gzip "
          f"{len(gzip.compress(data, 9, mtime=0)):,} B")
    print(f"   load (session creation, the unpack folded there) {ms(loads)}; first call {ms(firsts)}, later calls "
          f"{ms(later)}")
    print(f"   the stored graph: {sum(stored_ops.values())} nodes ({stored_ops['MatMul']} MatMul, {stored_ops['Cos']} Cos, "
          f"{stored_ops['TopK']} TopK); as the session runs it: {dict(sorted(run_ops.items()))}")
    print(f"   Dice: ONNX Runtime {float(dice_per_image(phone, masks).mean()):.4f}, eager "
          f"{float(dice_per_image(eager, masks).mean()):.4f}; weights-only update: external data "
          f"{updated['data_bytes']:,} B ({updated['data_bytes'] / floor:.2f}x the floor), program "
          f"{updated['program_bytes']:,} B; same masks as the whole file: {bool(torch.equal(paired, phone))}")


def study(results: Path, samples: int) -> None:
    print(f"2. Every exported file under {results}/export (bytes; .ptl load median, pickles stored / deflated, ms)")
    print(f"   {'model':34} {'fmt':4} {'file':>9} {'program':>8} {'weights':>9} {'container':>9} {'floor':>7} "
          f"{'gzip':>9} {'update':>9} {'Dice':>6}  load stored / deflated")
    for record_path in sorted((results / "export").glob("*/*/seed0/export_*.json")):
        rec = json.loads(record_path.read_text())
        if rec.get("error"):
            continue
        key, split = rec["key"], rec.get("bytes_split") or {}
        data = record_path.with_name(f"model.{key['fmt']}").read_bytes()  # the file beside its record
        loads = load_times(data, samples) if key["fmt"] == "ptl" else None
        load = f"{statistics.median(loads['stored']):.2f} / {statistics.median(loads['deflated']):.2f}" if loads else "-"
        written = (rec.get("exporter") or {}).get("weights_update") or {}
        update = f"{written['data_bytes']:,}" if "data_bytes" in written else "none"
        print(f"   {key['method'] + '/' + key['level']:34} {key['fmt']:4} {rec['bytes']:>9,} {split.get('program', 0):>8,} "
              f"{split.get('weights', 0):>9,} {split.get('container', 0):>9,} {rec.get('floor_bytes') or 0:>7,} "
              f"{rec['gzip_bytes']:>9,} {update:>9} {rec['fidelity']['dice_exported']:>6.3f}  {load}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "fr_reference")
    p.add_argument("--size", type=int, nargs=2, default=[160, 240], metavar=("H", "W"))
    p.add_argument("--results", type=Path, help="a finished study's results folder")
    p.add_argument("--samples", type=int, default=15)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {a.threads} thread(s)")
    paper_model(a.reference, tuple(a.size), a.samples)
    if a.results:
        study(a.results, a.samples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
