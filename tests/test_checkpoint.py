import os
import pickle
import subprocess
import zipfile

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


class _Calls:
    """Pickles as a call of `function(*args)`: what a crafted checkpoint asks the loader to run."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def _payloads(marker):
    """(global torch names, object whose unpickling would create `marker`) for each way to run code."""
    shell = f"touch {marker}"
    script = f"open({str(marker)!r}, 'w').write('x')"
    return {
        "os.system": ("posix.system", _Calls(os.system, shell)),
        "exec": ("builtins.exec", _Calls(exec, script)),
        "eval": ("builtins.eval", _Calls(eval, script)),
        "subprocess": ("subprocess.check_call", _Calls(subprocess.check_call, ["touch", str(marker)])),
    }


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch's note on a protocol-5 file
@pytest.mark.parametrize("kind", ["os.system", "exec", "eval", "subprocess"])
@pytest.mark.parametrize("container", ["torch.save", "pickle protocol 2", "pickle protocol 5"])
def test_checkpoint_that_runs_code_on_unpickling_is_refused_naming_what_it_runs(tmp_path, kind, container):
    """Whatever torch's wording for the refusal (it differs between GLOBAL and STACK_GLOBAL opcodes,
    blocked modules and merely unlisted globals), the error says the file asks to run code, and what."""
    marker = tmp_path / "pwned"
    name, payload = _payloads(marker)[kind]
    path = tmp_path / "evil.pt"
    if container == "torch.save":
        torch.save({"format": 1, "method": "baseline", "level": "dense", "arch": {}, "state_dict": payload}, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=int(container[-1])))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"{path}: refused: the file asks to run code ({name})"), message
    assert f"--forcerun {path}" in message
    assert not marker.exists()


def test_a_damaged_pickle_is_called_corrupt_not_crafted(tiny_checkpoint, tmp_path):
    """A checkpoint whose object pickle is cut short: an UnpicklingError, as a crafted file gives,
    but no global the file asks for is refused, so it is damage."""
    damaged = tmp_path / "damaged.pt"
    with zipfile.ZipFile(tiny_checkpoint) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, data[: len(data) // 2] if item.filename.endswith("data.pkl") else data)
    with pytest.raises(CheckpointError, match=r"damaged\.pt: truncated or corrupt checkpoint"):
        load_checkpoint(damaged)


def test_weights_that_do_not_fit_the_arch(tiny_checkpoint):
    ckpt = torch.load(tiny_checkpoint, weights_only=True)
    ckpt["arch"]["unet"]["width"] = 8
    torch.save(ckpt, tiny_checkpoint)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_model(tiny_checkpoint)
