"""Checkpoints checked against the sha256 their record holds before they are used (issue #23): a changed
checkpoint is refused naming the file, the record and the command that rebuilds them, and is never
exported as if it were the model its record describes. (The exported files' check, against the export
record before a benchmark: tests/test_export.py, tests/test_pte.py.)"""

import json

import pytest
import torch

from frbench.checkpoint import SHA256_KEY, load_checkpoint, save_checkpoint
from frbench.errors import CheckpointError
from frbench.export import export_model
from frbench.integrity import sha256_of
from frbench.methods import get_method
from frbench.models import UNet, UNetConfig

KEY = {"method": "baseline", "level": "dense", "seed": 0, "fmt": "ptl"}


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
