"""Reading a `.pte` back: every tensor it stores, and the graph it runs.

`read_pte` reads the tensors back from the file itself: the program's constant buffer
(weights of ops that fell back) and, for the XNNPACK delegate, its serialized graph (the
delegate blob holds a flatbuffer, `XNNGraph`, whose constant values name their bytes either by
a key into the program's named data or by an offset into the blob). Each stored byte range is
counted once, as stored: XNNPACK keeps conv weights in OHWI order, batch norm folded into the
convolutions, and identical constants deduplicated. A delegate this module cannot decode is
returned as raw bytes (`uint8`, key `...:opaque`) and the exporter says so (`storage.opaque_bytes`):
bytes, never a guessed number of weights. The readers use ExecuTorch's serialization modules
(`executorch.exir._serialize`, private API pinned with executorch 1.4.1): a version bump that
changes them fails tests/test_pte.py, not silently.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ...advice import rebuild_advice
from ...errors import ExportError
from ..graph import graph_record

BACKEND = "XnnpackBackend"
_XNN_MAGIC = b"XH00"  # at bytes 4..8 of an XNNPACK delegate blob (XNNHeader)


# ExecuTorch ScalarType (exir/scalar_type.py) -> torch dtype; quantized types as their storage.
_SCALAR_DTYPES = {0: torch.uint8, 1: torch.int8, 2: torch.int16, 3: torch.int32, 4: torch.int64, 5: torch.float16,
                  6: torch.float32, 7: torch.float64, 11: torch.bool, 12: torch.int8, 13: torch.uint8, 14: torch.int32,
                  15: torch.bfloat16, 27: torch.uint16, 28: torch.uint32, 29: torch.uint64}
# XNNPACK value datatypes (backends/xnnpack/serialization/schema.fbs) -> storage dtype.
_XNN_DTYPES = {"xnn_datatype_fp32": torch.float32, "xnn_datatype_fp16": torch.float16,
               "xnn_datatype_qint8": torch.int8, "xnn_datatype_quint8": torch.uint8,
               "xnn_datatype_qint32": torch.int32, "xnn_datatype_qcint8": torch.int8,
               "xnn_datatype_qcint32": torch.int32, "xnn_datatype_qdint8": torch.int8,
               "xnn_datatype_qpint8": torch.int8, "xnn_datatype_int32": torch.int32,
               "xnn_datatype_pfp32": torch.float32, "xnn_datatype_bf16": torch.bfloat16}
_XNN_4BIT = {"xnn_datatype_qcint4", "xnn_datatype_qbint4"}


@dataclass
class PteContents:
    tensors: dict = field(default_factory=dict)  # name -> tensor, each stored byte range once
    storage: dict = field(default_factory=dict)  # bytes by where they sit in the file
    split: dict = field(default_factory=dict)  # program / weights / container bytes, adding up to the file


def _raw_bytes(data: bytes) -> torch.Tensor:
    """Bytes this reader cannot type, as they are stored (`uint8`, a private copy)."""
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def _tensor(data: bytes, dtype: torch.dtype, shape: list[int], where: str) -> torch.Tensor:
    nbytes = math.prod(int(d) for d in shape) * torch.empty((), dtype=dtype).element_size()
    if len(data) < nbytes:
        raise ExportError(f"{where}: {len(data)} bytes stored for a {dtype} tensor of shape {shape} "
                          f"({nbytes} bytes); the .pte is truncated or corrupt")
    return torch.frombuffer(bytearray(data[:nbytes]), dtype=dtype).reshape([int(d) for d in shape]).clone()


def _int4(data: bytes, shape: list[int]) -> torch.Tensor:
    """4-bit weights, two per byte (low nibble first), as int8 values."""
    numel = math.prod(int(d) for d in shape)
    raw = torch.frombuffer(bytearray(data[: (numel + 1) // 2]), dtype=torch.uint8)
    nibbles = torch.stack([raw & 0xF, raw >> 4], dim=1).reshape(-1)[:numel].to(torch.int8)
    return nibbles.reshape([int(d) for d in shape])


def _xnn_graph_json(flatbuffer: bytes) -> dict:
    """The XNNGraph flatbuffer of an XNNPACK delegate as JSON, with ExecuTorch's own flatc and
    the schema it ships."""
    import importlib.resources

    import executorch.backends.xnnpack.serialization as xnn_serialization
    from executorch.exir._serialize._flatbuffer import _flatc_decompile

    with tempfile.TemporaryDirectory(prefix="frbench-xnn-") as d:
        schema = os.path.join(d, "schema.fbs")
        Path(schema).write_bytes(importlib.resources.files(xnn_serialization).joinpath("schema.fbs").read_bytes())
        blob = os.path.join(d, "graph.bin")
        Path(blob).write_bytes(flatbuffer)
        _flatc_decompile(d, schema, blob, ["--raw-binary"])
        text = Path(d, "graph.json").read_text()
    # flatc writes non-finite floats (a ReLU's clamp bound) as inf / nan, which JSON lacks.
    text = re.sub(r"(?<=[\s:\[,])(-?)inf\b", r"\1Infinity", text)
    text = re.sub(r"(?<=[\s:\[,])-?nan\b", "NaN", text)
    return json.loads(text)


@functools.lru_cache(maxsize=8)
def _xnn_delegate(blob: bytes):
    """An XNNPACK delegate blob's header and its graph (as JSON; read-only). Cached: the export
    job reads the same delegates for the file's facts, its tensors and its graph, and each
    decoding runs flatc."""
    from executorch.backends.xnnpack.serialization.xnnpack_graph_serialize import XNNHeader

    header = XNNHeader.from_bytes(blob[: XNNHeader.EXPECTED_LENGTH])
    return header, _xnn_graph_json(blob[header.flatbuffer_offset: header.flatbuffer_offset + header.flatbuffer_size])


def _xnnpack_constants(blob: bytes, named: dict, where: str) -> dict:
    """Constant tensors of one XNNPACK delegate blob: name -> tensor. `named` maps named-data
    keys to their bytes (program-level storage shared between delegates)."""
    header, graph = _xnn_delegate(blob)
    constants = graph.get("constant_data") or []
    base = header.constant_data_offset

    def data_of(idx: int) -> tuple[str, bytes]:
        entry = constants[idx]
        key = entry.get("named_key") or ""
        if key:
            if key not in named:
                raise ExportError(f"{where}: constant {idx} names data {key!r} that the .pte does not hold")
            return f"named/{key}", named[key]
        start = base + int(entry["offset"])
        return f"{where}/offset{entry['offset']}", blob[start: start + int(entry["size"])]

    out: dict = {}
    for value in graph.get("xvalues") or []:
        kind, body = value.get("xvalue_union_type"), value.get("xvalue_union") or {}
        tensor_value = body.get("tensor_value", body) if kind == "XNNQuantizedTensorValue" else body
        idx = int(tensor_value.get("constant_buffer_idx") or 0)
        if idx:
            name, data = data_of(idx)
            if name not in out:
                dt, dims = tensor_value["datatype"], tensor_value.get("dims") or []
                if dt in _XNN_4BIT:
                    out[name] = _int4(data, dims)
                elif dt in _XNN_DTYPES:
                    out[name] = _tensor(data, _XNN_DTYPES[dt], dims, f"{where} constant {idx}")
                else:
                    out[name + ":opaque"] = _raw_bytes(data)
        # Per-channel scales: inline in the graph (older exports) or a constant of their own.
        quant = body.get("quant_params") or {}
        if kind == "XNNQuantizedTensorValue" and quant:
            sidx = int(quant.get("scale_buffer_idx") or 0)
            if sidx:
                name, data = data_of(sidx)
                n = int(quant.get("num_scales") or len(data) // 4)
                out.setdefault(name, _tensor(data, torch.float32, [n], f"{where} scales {sidx}"))
            elif quant.get("scale") is not None and isinstance(quant["scale"], list):
                out[f"{where}/value{tensor_value.get('id_out')}/scale"] = torch.tensor(quant["scale"],
                                                                                        dtype=torch.float32)
    return out


def _deserialize(path: Path):
    from executorch.exir._serialize._program import deserialize_pte_binary

    try:
        pte = deserialize_pte_binary(path.read_bytes())
    except Exception as e:  # noqa: BLE001 - flatc or the header parser: the file is damaged
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise ExportError(f"{path}: not a readable ExecuTorch program ({type(e).__name__}: {first}); "
                          f"{rebuild_advice(path)}") from None
    if not pte.program.execution_plan:  # a file of zeros parses into an empty program
        raise ExportError(f"{path}: not a readable ExecuTorch program (it holds no method); {rebuild_advice(path)}")
    return pte




def _delegate_blob(program, delegate) -> tuple[bytes, bool]:
    """A delegate's serialized blob, and whether it is an XNNPACK graph this module decodes."""
    blob = bytes(program.backend_delegate_data[delegate.processed.index].data)
    return blob, delegate.id == BACKEND and blob[4:8] == _XNN_MAGIC


def read_pte_graph(path) -> dict:
    """The graph a .pte runs (see frbench.formats.graph): the execution plan's instructions in
    order (kernel calls by operator name, delegate calls by backend), then inside each XNNPACK
    delegate its nodes in order; tensors: the plan's tensor values and the delegate's values,
    by dtype and shape. A delegate this module cannot decode contributes its blob's hash."""
    from executorch.exir.schema import DelegateCall, KernelCall
    from executorch.exir.schema import Tensor as PteTensor

    path = Path(path)
    program = _deserialize(path).program
    ops: list[str] = []
    tensors: list[list] = []
    for plan in program.execution_plan:
        tensors += [[f"scalar_type{int(v.val.scalar_type)}", list(v.val.sizes)]
                    for v in plan.values if isinstance(v.val, PteTensor)]
        for chain in plan.chains:
            for instruction in chain.instructions:
                args = instruction.instr_args
                if isinstance(args, KernelCall):
                    op = plan.operators[args.op_index]
                    ops.append(f"{op.name}.{op.overload}" if op.overload else op.name)
                elif isinstance(args, DelegateCall):
                    delegate = plan.delegates[args.delegate_index]
                    blob, is_xnnpack = _delegate_blob(program, delegate)
                    ops.append(f"delegate:{delegate.id}")
                    if is_xnnpack:
                        _, xnn = _xnn_delegate(blob)
                        ops += [f"xnnpack:{node['xnode_union_type']}" for node in xnn.get("xnodes") or []]
                        for value in xnn.get("xvalues") or []:
                            body = value.get("xvalue_union") or {}
                            body = body.get("tensor_value", body)
                            tensors.append([body.get("datatype"), body.get("dims") or []])
                    else:
                        ops.append(f"opaque:{hashlib.sha256(blob).hexdigest()}")
                else:
                    ops.append(type(args).__name__)
    return graph_record(ops, tensors, plumbing=("opaque:",))


def read_pte(path) -> PteContents:
    """Every tensor a .pte stores, read from the file: the program's constants and each
    delegate's weights. Raises ExportError naming the file when it is not a readable .pte."""
    from executorch.exir.schema import Tensor as PteTensor

    path = Path(path)
    pte = _deserialize(path)
    program = pte.program
    named: dict[str, bytes] = {}
    if pte.named_data is not None:
        for key, entry in pte.named_data.pte_data.items():
            named[key] = bytes(pte.named_data.buffers[entry.buffer_index])

    contents = PteContents()
    used_named: set[str] = set()
    constant_bytes, seen = 0, set()
    # Constants of the ops that run outside any delegate.
    for plan in program.execution_plan:
        for value in plan.values:
            t = value.val
            if isinstance(t, PteTensor) and t.data_buffer_idx > 0 and t.allocation_info is None:
                if t.data_buffer_idx in seen:
                    continue
                seen.add(t.data_buffer_idx)
                storage = program.constant_buffer[t.data_buffer_idx].storage
                dtype = _SCALAR_DTYPES.get(int(t.scalar_type))
                if dtype is None:
                    tensor = _raw_bytes(storage)
                    contents.tensors[f"constant/{t.data_buffer_idx}:opaque"] = tensor
                else:
                    tensor = _tensor(storage, dtype, list(t.sizes), f"{path} constant {t.data_buffer_idx}")
                    contents.tensors[f"constant/{t.data_buffer_idx}"] = tensor
                constant_bytes += tensor.nbytes

    delegates, opaque, delegate_graphs = [], 0, 0
    for plan in program.execution_plan:
        for i, delegate in enumerate(plan.delegates):
            blob, decoded = _delegate_blob(program, delegate)
            where = f"{plan.name}/delegate{i}"
            if decoded:
                delegate_graphs += _xnn_delegate(blob)[0].flatbuffer_size
                tensors = _xnnpack_constants(blob, named, f"{path} {where}")
                used_named.update(k.removeprefix("named/") for k in tensors if k.startswith("named/"))
                contents.tensors.update(tensors)
            else:
                contents.tensors[f"{where}:{delegate.id}:opaque"] = _raw_bytes(blob)
                opaque += len(blob)
            delegates.append({"backend": delegate.id, "blob_bytes": len(blob), "weights_decoded": decoded})
    # Named data no delegate claimed (another backend's, or a format this reader does not know).
    for key, blob in named.items():
        if key not in used_named:
            contents.tensors[f"named/{key}:opaque"] = _raw_bytes(blob)
            opaque += len(blob)
    file_bytes = path.stat().st_size
    contents.storage = {"file_bytes": file_bytes, "constant_buffer_bytes": constant_bytes,
                        "named_data_bytes": sum(len(b) for b in named.values()), "delegates": delegates,
                        "opaque_bytes": opaque}
    # program: the program's flatbuffer (less the constants it holds inline, when no constant segment
    # holds them) and each delegate's graph; weights: every tensor's stored bytes (an undecoded
    # delegate's whole blob among them); container: headers, segment alignment, the rest
    inline = constant_bytes if not program.constant_segment.offsets else 0
    weights = sum(t.nbytes for t in contents.tensors.values())
    program_bytes = _program_size(path) - inline + delegate_graphs
    contents.split = {"program": program_bytes, "weights": weights, "container": file_bytes - program_bytes - weights}
    return contents


def _program_size(path: Path) -> int:
    """Bytes of the program's flatbuffer: from the file's extended header (at byte 8), or the whole
    file where it has none (no segments)."""
    from executorch.exir._serialize._program import _ExtendedHeader

    with open(path, "rb") as f:
        head = f.read(_ExtendedHeader.NUM_HEAD_BYTES)
    header = _ExtendedHeader.from_bytes(head[8:])
    return header.program_size if header.is_valid() else path.stat().st_size
