import pickle

import pytest
import torch

from frbench.checkpoint import load_checkpoint
from frbench.errors import CheckpointError
from frbench.methods import load_model


def test_round_trip(tiny_checkpoint):
    model, ckpt = load_model(tiny_checkpoint)
    assert ckpt["method"] == "baseline" and ckpt["arch"]["unet"]["width"] == 4
    assert not model.training


def test_truncated_checkpoint_names_the_file(tiny_checkpoint):
    data = tiny_checkpoint.read_bytes()
    tiny_checkpoint.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=rf"{tiny_checkpoint.name}: truncated or corrupt"):
        load_checkpoint(tiny_checkpoint)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")


class _Exploit:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path(__import__('os').environ['FRBENCH_PWNED']).write_text('x')",))


def test_checkpoint_that_runs_code_on_unpickling_is_refused(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("FRBENCH_PWNED", str(marker))
    path = tmp_path / "evil.pt"
    torch.save({"format": 1, "method": "baseline", "level": "dense", "arch": {}, "state_dict": _Exploit()}, path)
    with pytest.raises(CheckpointError, match="refused to load"):
        load_checkpoint(path)
    assert not marker.exists()
    # and the same payload as a plain pickle file is refused too
    path.write_bytes(pickle.dumps(_Exploit()))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not marker.exists()


def test_weights_that_do_not_fit_the_arch(tiny_checkpoint):
    ckpt = torch.load(tiny_checkpoint, weights_only=True)
    ckpt["arch"]["unet"]["width"] = 8
    torch.save(ckpt, tiny_checkpoint)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_model(tiny_checkpoint)
