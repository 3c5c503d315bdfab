"""The export job: checkpoint -> model.{fmt} + export_{fmt}.json.

The JSON measures the file a phone would download (bytes, gzip bytes, sha256,
numbers stored, non-zero numbers), the graph it runs (operators and shapes, whose
signature the summary compares with the baseline's) and its fidelity: the largest absolute
difference between the eager model's logits and the exported model's, run by the
format's own runtime over the test images, with both Dice scores. What is written is the
method's declared form (`Method.export_form`), whose `facts` join the record (FR: its floor)
and whose `also` forms are written and measured beside it (FR: the plain dense export of the
same weights, `dense_export`). With `UpdateFiles`, the job also writes the model as a program plus
a weights file (a weights-only update: `exporter.weights_update` has their bytes) and runs that pair
against the whole file (`max_abs_diff_vs_file`).

A model the exporter cannot handle, or a checkpoint that cannot be read, does not
fail the job: the JSON gets an `error` naming the cause and the model file is left
empty, so the benchmark and the summary show an error row and every other model
goes on. (`snakemake --forcerun` redoes a failed export once its cause is fixed.)
"""

from __future__ import annotations

import gzip
import tempfile
import time
import traceback
from pathlib import Path

import torch

from ..contract import ExportForm
from ..data import load_split, to_float
from ..formats import Format, UpdateFiles, get_format
from ..hostinfo import capped_threads
from ..integrity import sha256_of
from ..io import atomic_path, atomic_write_json
from ..methods import load_trained
from ..metrics import dice_per_image, predict_mask
from ..provenance import stamp

FORMAT = 1


def file_facts(path) -> dict:
    data = Path(path).read_bytes()
    return {"bytes": len(data), "gzip_bytes": len(gzip.compress(data, compresslevel=9, mtime=0)),
            "sha256": sha256_of(path)}  # checked before every benchmark (frbench.bench.verify)


def count_numbers(tensors: dict) -> dict:
    """Numbers stored in the file and how many are non-zero; by dtype, so fp16 or int8
    storage is visible and never counted twice."""
    by_dtype: dict[str, int] = {}
    stored = nonzero = 0
    for t in tensors.values():
        if not isinstance(t, torch.Tensor):
            continue
        dtype = str(t.dtype).removeprefix("torch.")
        by_dtype[dtype] = by_dtype.get(dtype, 0) + t.numel()
        stored += t.numel()
        nonzero += int(torch.count_nonzero(t.dequantize() if t.is_quantized else t))
    return {"stored_numbers": stored, "nonzero_numbers": nonzero, "stored_by_dtype": by_dtype}


@torch.no_grad()
def fidelity(model, exported, fmt: Format, images, masks) -> dict:
    """Run eager and exported models image by image (batch 1, as benchmarked)."""
    max_abs, eager_pred, export_pred = 0.0, [], []
    for i in range(len(images)):
        x = images[i : i + 1]
        ref = model(x)
        out = fmt.run(exported, x)
        max_abs = max(max_abs, float((ref - out).abs().max()))
        eager_pred.append(predict_mask(ref))
        export_pred.append(predict_mask(out))
    eager_pred, export_pred = torch.cat(eager_pred), torch.cat(export_pred)
    return {"max_abs_diff": max_abs, "images": len(images),
            "dice_eager": float(dice_per_image(eager_pred, masks).mean()),
            "dice_exported": float(dice_per_image(export_pred, masks).mean()),
            "pixels_disagreeing": int((eager_pred != export_pred).sum())}


def measure(fmt: Format, path) -> dict:
    """What a phone downloads: the file's bytes, where they go, and the numbers it stores, read back from it."""
    return {**file_facts(path), **count_numbers(fmt.stored_tensors(path)), "bytes_split": fmt.split(path)}


def also_exported(fmt: Format, form, example) -> dict:
    """Each of the form's other forms (`ExportForm.also`), written to a temporary file and measured:
    `{name}_export` -> bytes, gzip bytes, stored numbers, and how it was exported."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="frbench-also-") as d:
        for name, model in form.also.items():
            path = Path(d) / f"{name}.{fmt.name}"
            how = fmt.write(ExportForm(model), example, path)
            out[f"{name}_export"] = {**measure(fmt, path), "exporter": how}
    return out


class TrainingImages:
    """The first `n` training images, `(n, 3, H, W)`, read when first asked for: what an
    exporter whose quantizer calibrates (the `.pte` int8 path) observes. Most exports never
    ask, so most never read the training split."""

    def __init__(self, data):
        self.data = data

    def __call__(self, n: int) -> torch.Tensor:
        return to_float(load_split(self.data, "train", uint8=True)[0][:n])  # no float copy of the whole split


@torch.no_grad()
def update_check(fmt: Format, whole: str, files: UpdateFiles, example) -> float:
    """The largest difference between the whole file's outputs and those of its program run with its
    weights file, on the benchmark input (0.0: the update reproduces the model)."""
    return float((fmt.run(fmt.load(files.program, files.weights), example)
                  - fmt.run(fmt.load(whole), example)).abs().max())


def export_model(*, key: dict, checkpoint: str, data: str, out: str, record_out: str, threads: int | None = None,
                 update: UpdateFiles | None = None) -> dict:
    """Export one model. `key` names it in every later table: method, level, seed, fmt. With `update`,
    also the same model as program plus weights file (a weights-only update), run against the whole file."""
    if threads:
        torch.set_num_threads(capped_threads(threads))
    record = {"format": FORMAT, "key": key, "checkpoint": str(checkpoint), "file": str(out), "error": None}
    try:
        method, model, _ = load_trained(checkpoint)
        fmt = get_format(key["fmt"])
        fmt.prepare()  # the same engine settings as the benchmark, for the fidelity check
        images, masks = load_split(data, "test")
        example = images[:1]
        t0 = time.monotonic()
        form = method.export_form(fmt.name, model, example, calibration=TrainingImages(data))
        with atomic_path(out) as tmp:
            record["exporter"] = fmt.write(form, example, tmp, update)
        record["export_seconds"] = time.monotonic() - t0
        weights_update = record["exporter"].get("weights_update") or {}
        if update is not None and not weights_update.get("error"):
            weights_update["max_abs_diff_vs_file"] = update_check(fmt, out, update, example)
            # what the benchmark checks the pair against (frbench.bench.verify), as `sha256` for the file
            weights_update.update(program_sha256=sha256_of(update.program), data_sha256=sha256_of(update.weights))
        record["input_shape"] = list(example.shape)
        record.update(measure(fmt, out))
        record["graph"] = fmt.graph(out)  # compared with the baseline's in the summary
        record["params_eager"] = sum(p.numel() for p in model.parameters())
        record.update(form.facts, method_facts=sorted(form.facts))  # what the method says of its file (FR: the floor)
        record.update(also_exported(fmt, form, example))  # FR: the plain dense file of the same weights
        record["runtime"] = {"name": fmt.runtime, "version": fmt.runtime_version()}
        record["fidelity"] = fidelity(model, fmt.load(out), fmt, images, masks)
    except Exception as e:  # noqa: BLE001 - any failure becomes an error row; the traceback goes to the log
        traceback.print_exc()
        record["error"] = f"{type(e).__name__}: {e}"
        for path in [out, *([update.program, update.weights] if update else [])]:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_bytes(b"")  # the declared outputs exist; their emptiness and `error` say why
    record["provenance"] = stamp({"key": key}, threads=torch.get_num_threads())
    atomic_write_json(record_out, record)
    return record
