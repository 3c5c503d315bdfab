"""ExecuTorch (`.pte`): the successor of PyTorch Lite, and what a mobile engineer picks today.

The path is ExecuTorch's documented one for CPU (executorch 1.4.1 pinned with torch 2.13.0)::

    torch.export.export(model, (example,))                      # ATen graph at the benchmark's shape
    -> to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()])
    -> .to_executorch().buffer                                 # the .pte a phone loads

The partitioner hands every op XNNPACK supports to the XNNPACK delegate; the rest runs on
ExecuTorch's portable kernels. `write` records which ops went where, counted from the lowered
graph (`delegation`: per op, delegated or not; `operator.getitem`, the tuple unpacking that
follows a delegate call, is not an op and is not counted, unlike in
`executorch.devtools.backend_debug.get_delegation_info`).

`write` takes the method's declared form (`frbench.contract.ExportForm`): a form that brings its
own `torch.export.ExportedProgram` (quantize's int8, from the XNNPACK quantizer, PT2E) is lowered
as given, and the lowering fuses its quantize/dequantize pairs into XNNPACK's int8 operators.
Eager-mode quantized modules (`torch.ao.nn.quantized`, what `.ptl` runs) cannot be exported this
way and are refused with an `ExportError` naming them: the export record gets the error, the
other formats go on.

`stored_tensors` and `graph` read the file back (`frbench.formats.pte.reader`).
"""

from __future__ import annotations

import operator
import warnings
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn as nn

from ...contract import ExportForm
from ...errors import ExportError
from .. import UpdateFiles
from .reader import BACKEND, read_pte, read_pte_graph
from .runtime import ExecuTorchRuntime
from .update import weights_update


@contextmanager
def _quiet():
    """torch.export and the lowering warn (FutureWarning, per node) about pytree internals
    that are not ours to fix; keep the job's log readable."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yield


def _eager_quantized_modules(model: nn.Module) -> list[str]:
    return [name or type(m).__name__ for name, m in model.named_modules()
            if type(m).__module__.startswith(("torch.ao.nn.quantized", "torch.nn.quantized"))]


def _exported_program(form: ExportForm, example: torch.Tensor):
    """The form's own program, or its model exported at the benchmark's input shape."""
    if form.program is not None:
        return form.program
    eager = _eager_quantized_modules(form.model)
    if eager:
        raise ExportError(
            f".pte: eager-mode quantized modules ({', '.join(eager[:3])}{', ...' if len(eager) > 3 else ''}) "
            "cannot be lowered to ExecuTorch; declare the method's .pte form as an ExportedProgram "
            "(`Method.export_form`, e.g. from the XNNPACK quantizer) instead")
    with torch.no_grad():
        return torch.export.export(form.model.eval(), (example,))


def _op_name(target) -> str:
    """`aten.convolution.default` for an edge or ATen operator; the name otherwise."""
    op = getattr(target, "_op", target)
    return str(op) if isinstance(op, torch._ops.OpOverload) else getattr(op, "__name__", str(op))


def delegation(graph_module) -> dict:
    """Which ops of the lowered graph run inside a delegate and which fell back to ExecuTorch's
    portable kernels, counted per op type from the graph (`executorch_call_delegate` and
    `getitem` are plumbing, not ops)."""
    delegated: Counter = Counter()
    fallback: Counter = Counter()
    backends: Counter = Counter()
    for node in graph_module.graph.nodes:
        if node.op == "get_attr" and node.name.startswith("lowered_module_"):
            lowered = getattr(graph_module, node.target)
            backends[lowered.backend_id] += 1
            for inner in lowered.original_module.graph.nodes:
                if inner.op == "call_function" and inner.target is not operator.getitem:
                    delegated[_op_name(inner.target)] += 1
        elif node.op == "call_function" and node.target is not operator.getitem \
                and _op_name(node.target) != "executorch_call_delegate":
            fallback[_op_name(node.target)] += 1
    return {"delegated_subgraphs": dict(backends), "delegated_ops": sum(delegated.values()),
            "non_delegated_ops": sum(fallback.values()), "delegated_by_op": dict(sorted(delegated.items())),
            "non_delegated_by_op": dict(sorted(fallback.items()))}


def _is_quantized(by_op: dict) -> bool:
    return any("quantize_per_" in op for op in by_op)


class ExecuTorchExporter:
    """The `.pte` side of `frbench.formats.pte.ExecuTorchFormat`: write, and read back."""

    @staticmethod
    def write(form: ExportForm, example, path, update: UpdateFiles | None = None) -> dict:
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        from executorch.exir import to_edge_transform_and_lower

        with _quiet():
            program = _exported_program(form, example)
            edge = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
            ops = delegation(edge.exported_program().graph_module)
            buffer = edge.to_executorch().buffer
            # the same model with its weights in a data file of their own
            update = None if update is None else weights_update(form, example, update)
        Path(path).write_bytes(buffer)
        contents = read_pte(path)
        return {"executorch": ExecuTorchRuntime.runtime_version(), "torch": torch.__version__,
                "partitioner": "XnnpackPartitioner", "backend": BACKEND,
                "quantized": _is_quantized(ops["delegated_by_op"]) or _is_quantized(ops["non_delegated_by_op"]),
                "delegation": ops, "storage": contents.storage,
                **({} if update is None else {"weights_update": update})}

    @staticmethod
    def graph(path) -> dict:
        return read_pte_graph(path)

    @staticmethod
    def stored_tensors(path) -> dict:
        return read_pte(path).tensors

    @staticmethod
    def split(path) -> dict:
        return read_pte(path).split
