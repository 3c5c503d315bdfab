"""PyTorch Lite (`.ptl`): TorchScript saved for the lite interpreter, as a phone downloads it.

The file holds what the lite interpreter reads and nothing else (`phone_file`): its bytecode,
the module objects' pickle and the tensor records. TorchScript's source (`code/`) and its debug
tables (`*.debug_pkl`, which name absolute source paths, so that two checkouts at different
places wrote different bytes) and the traced inputs are left out; the lite interpreter never
reads them, and a stripped file gives bit-identical outputs (tests/test_export.py). The pickles
(bytecode, module objects) are deflated, the tensor records stored (`phone_file`).

`optimize_for_mobile` (conv/BN folding, XNNPACK prepacking) runs only when this
torch build has XNNPACK (`torch.backends.xnnpack.enabled`); builds without it
raise inside that pass, so it is skipped and the export says so
(`mobile_optimized: false`). It never runs on a form that brings its own
TorchScript program (`ExportForm.program`: FR's compact module).

Every `.ptl` is a `frbench.weights_file.WeightsFromFile`: a traced network is wrapped
(`TracedWithWeights`), FR's compact module is one. So the file a phone holds takes a weights file
(`set_weights(path)`), and the export writes, beside it, that weights file and the program with
every weight zero (what a phone downloads when it gets the two apart): a weights-only update.
"""

import copy
import io
import zipfile
from pathlib import Path

import torch
import torch.backends.xnnpack
import torch.nn as nn
from torch import Tensor

from ...contract import ExportForm
from ...errors import ExportError
from ...weights_file import WeightsFromFile, gather_by_dtype, weights_file_bytes
from .. import UpdateFiles
from ..graph import graph_record
from . import reader as ptl_reader

#: the archives the lite interpreter reads (`torch/csrc/jit/mobile/import.cpp`): each a pickle `NAME.pkl`
#: and the tensor records it points to, `NAME/` (`constants/` holds the tensors a traced program keeps
#: as constants, such as the padding of an odd-sized UNet's up-sampling; `bytecode.pkl` shares them)
LITE_ARCHIVES = ("bytecode", "data", "constants")
#: the records the lite interpreter reads; the rest is left out
LITE_RECORDS = (*(f"{a}.pkl" for a in LITE_ARCHIVES), *(f"{a}/" for a in LITE_ARCHIVES), "version", "byteorder", "extra/")


class TracedWithWeights(WeightsFromFile):
    """A network traced at the benchmark's input shape, whose weights a file replaces: its
    floating-point parameters and buffers gathered into one slot per dtype (`gather_by_dtype`)."""

    def __init__(self, model: nn.Module, example: Tensor):
        super().__init__()
        model = copy.deepcopy(model).eval()
        slots = gather_by_dtype(model)
        # No check_trace: it traces again and runs the model the time of 3 to 4 more forwards (a width-4 UNet
        # at 640x959: 2.4-4.0 s against 0.6 s), where the export's fidelity check runs the file itself
        # against the eager model on every test image.
        with torch.no_grad():
            self.network = torch.jit.trace(model, example, check_trace=False)
        self.hold_weights(slots)

    def forward(self, x: Tensor) -> Tensor:
        return self.network(x)


def _program(form: ExportForm, example) -> torch.jit.ScriptModule:
    """The form's own program (FR's compact module), or its model traced at the benchmark's input
    shape, compiled with TorchScript."""
    if form.program is None:
        return torch.jit.script(TracedWithWeights(form.model, example))
    if not isinstance(form.program, nn.Module):
        raise ExportError(f".ptl: the method's form is a {type(form.program).__name__}, not a TorchScript-able module")
    return torch.jit.script(form.program)


def _holds_weights(t: Tensor) -> bool:
    """A float or quantized tensor with a number that is not zero (integer tensors are counters)."""
    if t.is_quantized:
        return bool(torch.count_nonzero(t.int_repr()))
    return t.is_floating_point() and bool(torch.count_nonzero(t))


def _weights_update(form: ExportForm, program: torch.jit.ScriptModule, files: UpdateFiles) -> dict:
    """Write `program` as a phone that gets its weights apart downloads it (every weight zero, so its
    tensor records deflate to nearly nothing) and its weights file; both files empty and an `error`
    when the program's weights are not all in its slots (prepacked int8 weights)."""
    files.program.write_bytes(b"")
    files.weights.write_bytes(b"")
    if form.program is not None and not isinstance(form.program, WeightsFromFile):
        return {"error": "the method's own program takes no weights file (it is not a frbench.weights_file.WeightsFromFile)"}
    weights = weights_file_bytes(program)
    kept = [t.clone() for t in program.slots]
    with torch.no_grad():
        for t in program.slots:
            t.zero_()
        empty = phone_file(program._save_to_buffer_for_lite_interpreter(), store_tensors=False)
        for t, k in zip(program.slots, kept):
            t.copy_(k)
    left = [name for name, t in ptl_reader.stored_tensors(empty, files.program).items() if _holds_weights(t)]
    if left:
        return {"error": f"{len(left)} weight tensors stay in the program, out of a weights file's reach "
                         f"(prepacked int8 weights, e.g. {left[0]})"}
    files.program.write_bytes(empty)
    files.weights.write_bytes(weights)
    return {"program_bytes": len(empty), "data_bytes": len(weights),
            "slots": [[str(t.dtype).removeprefix("torch."), t.numel()] for t in program.slots]}


class LiteExporter:
    """The `.ptl` side of `frbench.formats.ptl.LiteFormat`: write, and read back."""

    @staticmethod
    def write(form: ExportForm, example, path, update: UpdateFiles | None = None) -> dict:
        program = _program(form, example)
        # A form's own program (FR's compact module) is kept as written: freezing and prepacking
        # it would fix the weights it rebuilds at its first call into the file. Freezing would also
        # fold the weights that `set_weights` replaces, so the update keeps the program unoptimized.
        optimized = bool(torch.backends.xnnpack.enabled) and form.program is None
        whole = program
        if optimized:
            from torch.utils.mobile_optimizer import optimize_for_mobile

            whole = optimize_for_mobile(program)
        Path(path).write_bytes(phone_file(whole._save_to_buffer_for_lite_interpreter()))
        facts = {"mobile_optimized": optimized, "xnnpack_enabled": bool(torch.backends.xnnpack.enabled),
                 "torch": torch.__version__, "records": "lite interpreter's only (no code/, no debug tables)"}
        if update is not None:
            facts["weights_update"] = _weights_update(form, program, update)
        return facts

    @staticmethod
    def graph(path) -> dict:
        """The graph the file runs, read back from it: every instruction of its bytecode, operators
        by name, method by method, and the dtype and shape of every stored tensor, hashed into
        `signature` (equal signatures: the same computation on the same shapes, whatever the values)."""
        data = Path(path).read_bytes()
        tensors = [[str(t.dtype), list(t.shape)] for t in ptl_reader.module_tensors(data, path).values()]
        return graph_record(ptl_reader.bytecode_ops(data, path), tensors, plumbing=("bc:",))

    @staticmethod
    def stored_tensors(path) -> dict:
        return ptl_reader.stored_tensors(Path(path).read_bytes(), path)

    @staticmethod
    def split(path) -> dict:
        return ptl_reader.split(Path(path).read_bytes(), path)


def phone_file(archive: bytes, store_tensors: bool = True) -> bytes:
    """The records of a lite-interpreter archive that the lite interpreter reads (`LITE_RECORDS`),
    in a zip of their own with fixed timestamps, so that the same model gives the same bytes
    wherever the checkout lives. The pickles (bytecode, module objects) are deflated: the paper
    model's file halves and its load time does not move (benchmarks/phone_bytes.py). The tensor
    records stay stored, so that the file's bytes are the weights' storage (the gzip column shows
    what compresses), and unaligned: the lite interpreter copies each record out of the zip
    (PyTorch aligns them to 64 bytes for `torch.load(mmap=True)`, which a `.ptl` never goes through),
    and the padding cost 2 kB in a 66-tensor file. A program whose weights come in a file of their own
    has all-zero tensors: those are deflated (`store_tensors=False`)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in ptl_reader.records(archive, "the exported archive").items():
            if name.startswith(LITE_RECORDS):
                info = zipfile.ZipInfo(f"archive/{name}", date_time=(1980, 1, 1, 0, 0, 0))
                stored = store_tensors and name.startswith("data/")
                info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                z.writestr(info, data, compresslevel=9)
    return out.getvalue()
