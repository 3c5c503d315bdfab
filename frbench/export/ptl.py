"""PyTorch Lite (`.ptl`): TorchScript saved for the lite interpreter.

`optimize_for_mobile` (conv/BN folding, XNNPACK prepacking) runs only when this
torch build has XNNPACK (`torch.backends.xnnpack.enabled`); builds without it
raise inside that pass, so it is skipped and the export says so
(`mobile_optimized: false`). It never runs on a form that brings its own
TorchScript program (`ExportForm.program`: FR's compact module).
"""

from pathlib import Path

import torch
import torch.backends.xnnpack

from ..contract import ExportForm
from ..errors import ExportError
from . import EXPORTERS
from .graph import graph_record


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
        # Saved through a buffer: `_save_for_lite_interpreter(path)` writes the file's own name
        # into the archive, so the same model would give different bytes in different places.
        Path(path).write_bytes(scripted._save_to_buffer_for_lite_interpreter())
        return {"mobile_optimized": optimized, "xnnpack_enabled": bool(torch.backends.xnnpack.enabled),
                "torch": torch.__version__}

    @staticmethod
    def graph(path) -> dict:
        """The graph the file runs, read back from it: every node kind of the inlined forward,
        in order, and the dtype and shape of every stored tensor, hashed into `signature`
        (equal signatures: the same computation on the same shapes, whatever the values)."""
        module, stored = _read(path)
        kinds = [node.kind() for node in module.inlined_graph.nodes()]
        tensors = [[str(t.dtype), list(t.shape)] for t in stored.values() if isinstance(t, torch.Tensor)]
        return graph_record(kinds, tensors, plumbing=("prim::",))

    @staticmethod
    def stored_tensors(path) -> dict:
        return _read(path)[1]


def _read(path):
    """The file's TorchScript module (a .ptl also carries the full module, which torch.jit.load
    reads) and every tensor it stores: its state dict and the packed parameters."""
    module = torch.jit.load(str(path), map_location="cpu")
    return module, {**module.state_dict(), **_packed_tensors(module)}


def _packed_tensors(module) -> dict:
    """Tensors held inside packed-parameter objects, which state_dict() does not list:
    a quantized conv keeps its int8 weight and float bias in `_packed_params`
    (a TorchScript class), found here through the attributes each forward reads."""
    found = {}
    for name, sub in module.named_modules():
        try:
            graph = sub.graph
        except (AttributeError, RuntimeError):  # a module without a forward method
            continue
        for node in graph.findAllNodes("prim::GetAttr", recurse=False):
            attr = node.s("name")
            if not node.output().type().str().startswith("__torch__.torch.classes.") or not sub._c.hasattr(attr):
                continue
            obj = sub._c.getattr(attr)
            if "unpack" not in obj._method_names():
                continue
            for i, t in enumerate(obj.unpack()):
                if isinstance(t, torch.Tensor):
                    found[f"{name + '.' if name else ''}{attr}.{i}"] = t
    return found
