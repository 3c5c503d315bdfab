"""ONNX (`.onnx`) for ONNX Runtime: the PyTorch exporter's graph, as a phone downloads it.

The path is PyTorch's current exporter (torch.onnx, `dynamo=True`: `torch.export` then the ONNX
translation of onnxscript), at the benchmark's input shape, with its graph optimizer off and the
passes of `clean` instead, so that the file holds what the model stores and every computation the
model makes from it stays in the graph (FR's compact form: its coefficients, and the inverse DCT
that ONNX Runtime folds into the convolutions' weights when it loads the file). BatchNorm is left
to ONNX Runtime, which folds it into the convolutions at load as its exporter would have.

A form may bring its own program: an `nn.Module` exported instead of the model (FR's
`GraphCompactUNet`), or a ready `onnx.ModelProto` written as it is (quantize's int8, from ONNX
Runtime's own static quantization). Eager-mode quantized modules (what `.ptl` runs) cannot be
exported and are refused with an `ExportError` naming them.

The weights-only update is ONNX's external data: the same graph with every initializer in a file of
its own (`size_threshold=0`), which the program names (its `location`). What stays inline in the
program: its `Constant` nodes (shapes, axes, scalars: integers of the program, not weights).
"""

from __future__ import annotations

import warnings
from collections import Counter
from typing import TYPE_CHECKING

import torch
import torch.nn as nn

from ...contract import ExportForm
from ...errors import ExportError
from .. import UpdateFiles
from .runtime import OnnxRuntime

if TYPE_CHECKING:
    import onnx

# onnx, onnx_ir and this package's reader and passes are imported where a file is written or read,
# not here: the benchmark worker imports every format to run one, and they cost it about a second.
EXPORTER = "torch.onnx.export(dynamo=True, optimize=False)"


def _eager_quantized_modules(model: nn.Module) -> list[str]:
    return [name or type(m).__name__ for name, m in model.named_modules()
            if type(m).__module__.startswith(("torch.ao.nn.quantized", "torch.nn.quantized"))]


def to_onnx(model: nn.Module, example: torch.Tensor) -> onnx.ModelProto:
    """`model` as an ONNX graph at `example`'s shape, as a phone's file (`clean.phone_graph`)."""
    from .clean import phone_graph
    eager = _eager_quantized_modules(model)
    if eager:
        raise ExportError(
            f".onnx: eager-mode quantized modules ({', '.join(eager[:3])}{', ...' if len(eager) > 3 else ''}) "
            "cannot be exported to ONNX; declare the method's .onnx form as an onnx.ModelProto "
            "(`Method.export_form`, e.g. from onnxruntime.quantization) instead")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # torch.export's pytree notices and the translator's, per node
        program = torch.onnx.export(model.eval(), (example,), dynamo=True, optimize=False, verbose=False)
    return phone_graph(program.model_proto)


def _program(form: ExportForm, example) -> onnx.ModelProto:
    import onnx

    if isinstance(form.program, onnx.ModelProto):
        return form.program
    if form.program is not None and not isinstance(form.program, nn.Module):
        raise ExportError(f".onnx: the method's form is a {type(form.program).__name__}, not an nn.Module to "
                          "export or an onnx.ModelProto")
    return to_onnx(form.program if form.program is not None else form.model, example)


def _weights_update(proto: onnx.ModelProto, files: UpdateFiles) -> dict:
    """The program with every initializer in the external data file `files.weights` (beside it)."""
    import onnx
    from onnx import numpy_helper
    files.program.write_bytes(b"")
    files.weights.write_bytes(b"")
    if files.weights.resolve().parent != files.program.resolve().parent:
        return {"error": f"ONNX's external data sits beside its program: {files.weights} is not in {files.program.parent}"}
    apart = onnx.ModelProto()
    apart.CopyFrom(proto)
    for t in apart.graph.initializer:  # onnx moves `raw_data` only: typed fields (a quantizer's zero points) too
        if not t.HasField("raw_data"):
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t), t.name))
    files.weights.unlink()  # onnx appends to an existing data file
    onnx.save_model(apart, str(files.program), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=files.weights.name, size_threshold=0, convert_attribute=False)
    if not files.weights.exists():  # a graph without initializers
        files.weights.write_bytes(b"")
    inline = Counter(n.op_type for n in proto.graph.node if n.op_type == "Constant")
    return {"program_bytes": files.program.stat().st_size, "data_bytes": files.weights.stat().st_size,
            "initializers": len(proto.graph.initializer),
            "inline": f"{inline['Constant']} Constant nodes (shapes, axes, scalars: the program's integers)"}


class OnnxExporter:
    """The `.onnx` side of `frbench.formats.onnx.OnnxFormat`: write, and read back."""

    @staticmethod
    def write(form: ExportForm, example, path, update: UpdateFiles | None = None) -> dict:
        import onnx

        from .clean import PASSES

        proto = _program(form, example)
        onnx.save_model(proto, str(path))
        ops = Counter(n.op_type for n in proto.graph.node)
        facts = {"exporter": EXPORTER if not isinstance(form.program, onnx.ModelProto) else "the method's own graph",
                 "passes": list(PASSES), "onnx": onnx.__version__, "onnxruntime": OnnxRuntime.runtime_version(),
                 "torch": torch.__version__, "opset": {o.domain or "ai.onnx": o.version for o in proto.opset_import},
                 "quantized": ops["QuantizeLinear"] + ops["DequantizeLinear"] > 0}
        if update is not None:
            facts["weights_update"] = _weights_update(proto, update)
        return facts

    @staticmethod
    def graph(path) -> dict:
        from . import reader

        return reader.read_graph(path)

    @staticmethod
    def stored_tensors(path) -> dict:
        from . import reader

        return reader.stored_tensors(path)

    @staticmethod
    def split(path) -> dict:
        from . import reader

        return reader.split(path)
