"""Reading a `.onnx` back: the tensors it stores, the operators its graph runs, and where its bytes go.

The weights are the graph's initializers, stored inline (`raw_data`) or, in a weights-only update's
program, in an external data file beside it (ONNX's external data: each initializer names the file,
offset and length). The program is the graph's nodes, `Constant` nodes included (shapes, axes and
scalars the operators take: integers of the program, as a `.ptl`'s shapes are). The rest (model
header, opset imports, the initializers' names and shapes, inputs, outputs, protobuf framing) is
container.
"""

from __future__ import annotations

from pathlib import Path

import onnx
import torch
from google.protobuf.message import DecodeError
from onnx import numpy_helper
from onnx.external_data_helper import load_external_data_for_model, uses_external_data

from ...advice import rebuild_advice
from ...errors import ExportError
from ..graph import graph_record


def read_onnx(path, external_data: bool = False) -> onnx.ModelProto:
    """The model at `path` (with `external_data`, its external initializers read in too); an ExportError
    naming the file and the command that rebuilds it when it is not a readable ONNX model."""
    path = Path(path)
    try:
        model = onnx.load(str(path), load_external_data=False)
        if not model.graph.node:  # a file of zeros, or an empty one, parses as an empty model
            raise ValueError("it holds no graph")
        if external_data:
            load_external_data_for_model(model, str(path.parent))
    except (DecodeError, ValueError, OSError, onnx.onnx_cpp2py_export.checker.ValidationError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise ExportError(f"{path}: not a readable ONNX model ({type(e).__name__}: {first}); "
                          f"{rebuild_advice(path)}") from None
    return model


def _data_bytes(t: onnx.TensorProto) -> int:
    """Bytes of an initializer's values as stored: its external data's length, its raw data, or its typed field."""
    if uses_external_data(t):
        return int({e.key: e.value for e in t.external_data}.get("length", 0))
    if t.raw_data:
        return len(t.raw_data)
    return numpy_helper.to_array(t).nbytes


def stored_tensors(path) -> dict[str, torch.Tensor]:
    """Every initializer of the file, by name, as a torch tensor of its stored dtype (int8 weights stay int8)."""
    model = read_onnx(path, external_data=True)
    return {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}


def split(path) -> dict:
    """`program` (the graph's nodes as serialized), `weights` (the initializers' values stored in this file)
    and `container` (the rest); the three add up to the file's size."""
    path = Path(path)
    model = read_onnx(path)
    nodes = onnx.GraphProto()
    nodes.node.extend(model.graph.node)
    program = nodes.ByteSize()
    weights = sum(_data_bytes(t) for t in model.graph.initializer if not uses_external_data(t))
    return {"program": program, "weights": weights, "container": path.stat().st_size - program - weights}


def external_bytes(path) -> int:
    """Bytes of the initializers the file keeps in external data (a weights-only update's program)."""
    return sum(_data_bytes(t) for t in read_onnx(path).graph.initializer if uses_external_data(t))


def read_graph(path) -> dict:
    """The graph the file runs (frbench.formats.graph): its operators in order (`domain::op` outside the
    default domain), and the dtype and shape of every initializer, input and output. `Constant` nodes
    are plumbing (shown in the signature, not in `ops`)."""
    model = read_onnx(path)
    g = model.graph
    ops = [f"{n.domain}::{n.op_type}" if n.domain not in ("", "ai.onnx") else n.op_type for n in g.node]
    tensors = [[onnx.TensorProto.DataType.Name(t.data_type), list(t.dims)] for t in g.initializer]
    for v in [*g.input, *g.output]:
        shape = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in v.type.tensor_type.shape.dim]
        tensors.append([onnx.TensorProto.DataType.Name(v.type.tensor_type.elem_type), shape])
    return graph_record(ops, tensors, plumbing=("Constant",))
