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
"""

import io
import zipfile
from pathlib import Path

import torch
import torch.backends.xnnpack

from ..contract import ExportForm
from ..errors import ExportError
from . import EXPORTERS, ptl_reader
from .graph import graph_record

#: the records the lite interpreter reads (`torch/csrc/jit/mobile/import.cpp`); the rest is left out
LITE_RECORDS = ("bytecode.pkl", "data.pkl", "constants.pkl", "version", "byteorder", "data/", "extra/")


def _script(form: ExportForm, example):
    """The form's own TorchScript program, or its model traced at the benchmark's input shape."""
    if form.program is not None:
        if not isinstance(form.program, torch.jit.ScriptModule):
            raise ExportError(f".ptl: the method's form is a {type(form.program).__name__}, not a TorchScript module")
        return form.program
    with torch.no_grad():
        return torch.jit.trace(form.model.eval(), example, check_trace=True)


@EXPORTERS.register("ptl")
class LiteExporter:
    @staticmethod
    def write(form: ExportForm, example, path) -> dict:
        scripted = _script(form, example)
        # A form's own program (FR's compact module) is kept as written: freezing and prepacking
        # it would fix the weights it rebuilds at its first call into the file.
        optimized = bool(torch.backends.xnnpack.enabled) and form.program is None
        if optimized:
            from torch.utils.mobile_optimizer import optimize_for_mobile

            scripted = optimize_for_mobile(scripted)
        Path(path).write_bytes(phone_file(scripted._save_to_buffer_for_lite_interpreter()))
        return {"mobile_optimized": optimized, "xnnpack_enabled": bool(torch.backends.xnnpack.enabled),
                "torch": torch.__version__, "records": "lite interpreter's only (no code/, no debug tables)"}

    @staticmethod
    def graph(path) -> dict:
        """The graph the file runs, read back from it: every instruction of its bytecode, operators
        by name, method by method, and the dtype and shape of every stored tensor, hashed into
        `signature` (equal signatures: the same computation on the same shapes, whatever the values)."""
        data = Path(path).read_bytes()
        tensors = [[str(t.dtype), list(t.shape)] for t in ptl_reader.stored_tensors(data, path).values()]
        return graph_record(ptl_reader.bytecode_ops(data, path), tensors, plumbing=("bc:",))

    @staticmethod
    def stored_tensors(path) -> dict:
        return ptl_reader.stored_tensors(Path(path).read_bytes(), path)

    @staticmethod
    def split(path) -> dict:
        return ptl_reader.split(Path(path).read_bytes(), path)


def phone_file(archive: bytes) -> bytes:
    """The records of a lite-interpreter archive that the lite interpreter reads (`LITE_RECORDS`),
    in a zip of their own with fixed timestamps, so that the same model gives the same bytes
    wherever the checkout lives. The pickles (bytecode, module objects) are deflated: the paper
    model's file halves and its load time does not move (benchmarks/phone_bytes.py). The tensor
    records stay stored, so that the file's bytes are the weights' storage (the gzip column shows
    what compresses), and unaligned: the lite interpreter copies each record out of the zip
    (PyTorch aligns them to 64 bytes for `torch.load(mmap=True)`, which a `.ptl` never goes through),
    and the padding cost 2 kB in a 66-tensor file."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in ptl_reader.records(archive, "the exported archive").items():
            if name.startswith(LITE_RECORDS):
                info = zipfile.ZipInfo(f"archive/{name}", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_STORED if name.startswith("data/") else zipfile.ZIP_DEFLATED
                z.writestr(info, data, compresslevel=9)
    return out.getvalue()
