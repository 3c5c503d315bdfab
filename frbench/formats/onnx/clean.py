"""The exporter's graph as a phone's file: what ONNX Runtime reads, and nothing that would fix weights
into the file.

`torch.onnx.export(..., dynamo=True)` is run with `optimize=False`: its optimizer folds constants,
which writes a weight that a program computes from stored numbers (FR's inverse DCT) into the file
as a tensor of its own, undoing the compression. These passes (onnx_ir's, ONNX's own IR library)
leave every computation in the graph and remove what the runtime does not read:

- `CastLike` becomes `Cast` to the type its second input has (the same op; ONNX Runtime has no CPU
  kernel for `CastLike`, so its constant folding stops at one and would leave FR's unpack to run
  at every call);
- metadata and doc strings go (the exporter's stack traces name absolute source paths, so two
  checkouts wrote different bytes, and made up most of the file), and so does `value_info` (shape
  annotations the runtime infers again);
- identities, common subexpressions and unused nodes are removed.

ONNX Runtime then folds what is constant when it creates a session (`ORT_ENABLE_BASIC` and above):
FR's unpack becomes plain `Conv` weights once per load (frbench.formats.onnx.runtime).
"""

from __future__ import annotations

import onnx
import onnx_ir as ir
from onnx_ir.passes import common

PASSES = ("CastLike -> Cast", "ClearMetadataAndDocStringPass", "IdentityEliminationPass",
          "CommonSubexpressionEliminationPass", "RemoveUnusedNodesPass", "value_info dropped")


def _castlike_to_cast(model: ir.Model) -> int:
    """Replace every `CastLike(x, like)` whose `like` has a known type by `Cast(x, to=that type)`, or by `x`
    where the types already agree; returns how many were replaced."""
    replaced = 0
    for node in list(model.graph):
        if node.op_type != "CastLike" or node.domain not in ("", "ai.onnx") or node.inputs[1].dtype is None:
            continue
        source, to, out = node.inputs[0], node.inputs[1].dtype, node.outputs[0]
        if out.is_graph_output():
            continue
        if source.dtype == to:
            out.replace_all_uses_with(source)
        else:
            cast = ir.node("Cast", [source], attributes={"to": to})
            cast.outputs[0].dtype, cast.outputs[0].shape = to, out.shape
            model.graph.insert_before(node, cast)
            out.replace_all_uses_with(cast.outputs[0])
        replaced += 1
    return replaced


def phone_graph(proto: onnx.ModelProto) -> onnx.ModelProto:
    """`proto` with the passes above applied (a new ModelProto)."""
    model = ir.from_proto(proto)
    _castlike_to_cast(model)
    ir.passes.PassManager([common.ClearMetadataAndDocStringPass(), common.IdentityEliminationPass(),
                           common.CommonSubexpressionEliminationPass(), common.RemoveUnusedNodesPass()])(model)
    out = ir.to_proto(model)
    del out.graph.value_info[:]
    return out
