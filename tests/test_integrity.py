"""Files checked against the sha256 their record holds before they are used (issue #23): a checkpoint
against its training record, an exported file and its weights-only update against the export record.
A changed file is refused naming the file, the record and the command that rebuilds them, and is never
exported or benchmarked as if it were the model its record describes."""

import json
import shutil

import pytest
import torch

from frbench.bench.job import bench_model
from frbench.checkpoint import SHA256_KEY, load_checkpoint, save_checkpoint
from frbench.errors import CheckpointError
from frbench.export import UpdateFiles, export_model
from frbench.integrity import sha256_of
from frbench.methods import get_method
from frbench.models import UNet, UNetConfig

KEY = {"method": "baseline", "level": "dense", "seed": 0, "fmt": "ptl"}
PLAN = {"warmup": 1, "iters": 3, "threads": 1, "timeout_s": 120, "dice_images": 0}


def _save(path, seed: int) -> dict:
    torch.manual_seed(seed)
    model = UNet(UNetConfig.from_dict(dict(width=4, depth=2)))
    return save_checkpoint(path, method="baseline", level="dense", arch=get_method("baseline")("dense").arch(model),
                           model=model, meta={"seed": 0})


@pytest.mark.parametrize("record_name", ["train.json", "reference.json"])
def test_a_checkpoint_changed_after_its_record_was_written_is_refused_naming_both(tmp_path, monkeypatch, record_name):
    monkeypatch.chdir(tmp_path)
    ckpt = tmp_path / "results/models/baseline/dense/seed0/model.pt"
    ckpt.parent.mkdir(parents=True)
    saved = _save(ckpt, seed=0)
    assert saved == {SHA256_KEY: sha256_of(ckpt)}
    record = ckpt.with_name(record_name)
    record.write_text(json.dumps({"error": None, **saved}))
    load_checkpoint(ckpt)  # the file its record describes
    _save(ckpt, seed=1)  # another model, a sound checkpoint: only its record tells it from the trained one
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(ckpt)
    message = str(info.value)
    assert message.startswith(f"{ckpt}: its sha256") and str(record) in message
    assert "`snakemake --cores 1 all --forcerun results/models/baseline/dense/seed0/model.pt`" in message
    # the export job catches it as every other bad checkpoint: an error record naming the file
    out = export_model(key=KEY, checkpoint=ckpt, data=tmp_path / "unused.npz", out=tmp_path / "model.ptl",
                       record_out=tmp_path / "export_ptl.json")
    assert out["error"].startswith("CheckpointError: ") and "its sha256" in out["error"]
    record.write_text(json.dumps({"error": None}))  # a record from before frbench kept the sha256: nothing to check
    load_checkpoint(ckpt)


def test_an_exported_file_and_its_update_changed_after_export_are_refused_before_their_benchmark(
        tiny_checkpoint, tiny_dataset, tmp_path):
    """The issue's case, in .ptl: the exported file replaced by a sound program whose weights are all zero (its
    own update's program: it loads, runs, and scores a Dice at chance), and the update's weights file with one
    byte changed. Both are refused naming the file, the record and the command; no worker starts."""
    update = UpdateFiles(tmp_path / "update" / "program.ptl", tmp_path / "update" / "weights_ptl.bin")
    update.program.parent.mkdir()
    model, record = tmp_path / "model.ptl", tmp_path / "export_ptl.json"
    written = export_model(key=KEY, checkpoint=tiny_checkpoint, data=tiny_dataset, out=model, record_out=record,
                           update=update)
    facts = written["exporter"]["weights_update"]
    assert facts["program_sha256"] == sha256_of(update.program) and facts["data_sha256"] == sha256_of(update.weights)
    shutil.copyfile(update.program, model)
    weights = bytearray(update.weights.read_bytes())
    weights[-1] ^= 0xFF
    update.weights.write_bytes(bytes(weights))
    result = bench_model(key=KEY, device="host", model=str(model), export_record=str(record), data=str(tiny_dataset),
                         plan=PLAN, out=str(tmp_path / "bench.json"), update=(str(update.program), str(update.weights)))
    for row, path in ((result, model), (result["weights_update"], update.weights)):
        assert row["error"].startswith(f"BenchError: {path}: its sha256") and str(record) in row["error"], row["error"]
        assert f"--forcerun {path}`" in row["error"] and row["values"] is None and row["load_ms"] is None
    assert json.loads((tmp_path / "bench.json").read_text())["error"] == result["error"]
