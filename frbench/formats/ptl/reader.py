"""Reading a `.ptl` back without the TorchScript source: the tensors it stores, the operators its
bytecode calls, and where its bytes go.

The phone's file carries what the lite interpreter reads and nothing else (`ptl.phone_file`): no
`code/` (TorchScript source and its debug tables), so `torch.jit.load` cannot open it. These
readers take the archive apart as the lite interpreter does: `data.pkl` (the module objects,
whose tensors are records `data/<key>`) through a pickle reader that keeps every tensor and
stands a plain object in for every TorchScript class, and `bytecode.pkl` (each method's
instructions and the operators they call).
"""

from __future__ import annotations

import io
import pickle
import warnings
import zipfile
from collections import OrderedDict
from pathlib import Path

import torch
import torch.jit._pickle

from ...advice import rebuild_advice
from ...errors import ExportError

#: a record of the archive is program, weights or container (`split`)
PROGRAM = ("bytecode.pkl", "code/", "constants/")  # constants/: tensors the bytecode loads as constants
WEIGHTS = ("data/",)


def records(data: bytes, where) -> dict[str, bytes]:
    """Every record of a PyTorch archive, by name (without the archive's own folder)."""
    try:
        reader = torch._C.PyTorchFileReader(io.BytesIO(data))
        return {name: reader.get_record(name) for name in reader.get_all_records()}
    except RuntimeError as e:
        # `where` names the file, or an archive made in memory (no file to rebuild)
        advice = f"; {rebuild_advice(where)}" if Path(str(where)).is_file() else ""
        raise ExportError(f"{where}: not a readable PyTorch archive ({str(e).splitlines()[0]}){advice}") from None


class _Object:
    """A TorchScript object (module or class) as pickled: only its state is kept."""

    def __init__(self, *args):
        self.state = args

    def __setstate__(self, state):
        self.state = state


class _Unpickler(pickle.Unpickler):
    """A pickle of a TorchScript archive: tensors rebuilt from the archive's records under `tensors`
    (`data/` for `data.pkl`; `constants/` for `bytecode.pkl` and `constants.pkl`, as the lite
    interpreter reads them), TorchScript classes as `_Object`s; nothing else is imported."""

    def __init__(self, data: bytes, store: dict[str, bytes], tensors: str = "data/"):
        super().__init__(io.BytesIO(data))
        self.store, self.tensors = store, tensors
        self.storages: dict[str, torch.TypedStorage] = {}  # by record: tensors that share one, share it here

    def find_class(self, module, name):
        if module == "torch._utils" and name.startswith("_rebuild_"):
            return getattr(torch._utils, name)
        if module == "torch" and (name.endswith("Storage") or name.startswith("per_")):
            return getattr(torch, name)
        if module == "torch.jit._pickle":  # typed lists and dicts (build_intlist, restore_type_tag, ...)
            return getattr(torch.jit._pickle, name)
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module.startswith("__torch__"):
            return type(name, (_Object,), {})
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in a TorchScript archive")

    def persistent_load(self, pid):
        _, storage_type, key, _, numel = pid
        if key not in self.storages:
            raw = self.store[f"{self.tensors}{key}"]
            untyped = torch.UntypedStorage.from_buffer(bytearray(raw), dtype=torch.uint8) if raw else torch.UntypedStorage(0)
            self.storages[key] = torch.storage.TypedStorage(wrap_storage=untyped, dtype=storage_type.dtype, _internal=True)
        return self.storages[key]


def module_tensors(data: bytes, where) -> dict[str, torch.Tensor]:
    """Every tensor the module objects of a `.ptl` hold, by its path in the object tree (quantized
    modules keep their int8 weight in their pickled state), views of one record included: a
    program that takes a weights file holds its weights both as its network's parameters and as
    the slots they are views of (`frbench.weights_file`)."""
    store = records(data, where)
    with warnings.catch_warnings():  # _rebuild_tensor_v2 takes a TypedStorage, which torch calls deprecated
        warnings.simplefilter("ignore", UserWarning)
        root = _Unpickler(store["data.pkl"], store).load()
    found: dict[str, torch.Tensor] = {}

    def walk(obj, path):
        if isinstance(obj, torch.Tensor):
            found.setdefault(path, obj)
        elif isinstance(obj, _Object):
            walk(obj.state, path)
        elif isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(obj, (list, tuple)):
            for i, v in enumerate(obj):
                walk(v, f"{path}.{i}" if path else str(i))

    walk(root, "")
    return found


def _spans_its_storage(t: torch.Tensor) -> bool:
    return t.storage_offset() == 0 and t.numel() * t.element_size() == t.untyped_storage().nbytes()


def stored_tensors(data: bytes, where) -> dict[str, torch.Tensor]:
    """The tensors a `.ptl` stores, each stored number once: of the tensors that share one record,
    the one that spans it (a weights slot) stands for its views (`module_tensors` has them all)."""
    by_record: dict[int, list[tuple[str, torch.Tensor]]] = {}
    for path, t in module_tensors(data, where).items():
        by_record.setdefault(t.untyped_storage().data_ptr(), []).append((path, t))
    found = {}
    for tensors in by_record.values():
        whole = [(path, t) for path, t in tensors if _spans_its_storage(t)]
        found.update(whole[:1] if whole and len(tensors) > 1 else tensors)
    return found


def bytecode_ops(data: bytes, where) -> list[str]:
    """What each method of a `.ptl` runs, in order: every operator its bytecode calls
    (`aten::conv2d`, with its overload), every other instruction as `bc:<opcode>` (moves, loads,
    attribute reads: plumbing), method by method in the file's order."""
    store = records(data, where)
    bytecode = _Unpickler(store["bytecode.pkl"], store, "constants/").load()
    ops = []
    for method in bytecode[1:]:  # bytecode[0] is the bytecode version
        name, body = method[0], dict(method[1])
        operators = [f"{op[0]}.{op[1]}" if op[1] else op[0] for op in body["operators"]]
        ops.append(f"bc:method {name.rpartition('.')[2]}")
        for opcode, x, _ in body["instructions"]:
            ops.append(operators[x] if opcode in ("OP", "OPN") else f"bc:{opcode}")
    return ops


def split(data: bytes, where) -> dict:
    """Where a `.ptl`'s bytes go: `program` (bytecode, and TorchScript source where a file keeps it),
    `weights` (the tensor records) and `container` (the rest: the module objects' pickle, version
    records, zip headers and alignment), each as stored in the file (deflated where it is); the
    three add up to the file's size."""
    records(data, where)  # a readable archive, or an ExportError naming it
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        stored = {info.filename.split("/", 1)[1]: info.compress_size for info in z.infolist()}
    program = sum(n for name, n in stored.items() if name.startswith(PROGRAM))
    weights = sum(n for name, n in stored.items() if name.startswith(WEIGHTS))
    return {"program": program, "weights": weights, "container": len(data) - program - weights}
