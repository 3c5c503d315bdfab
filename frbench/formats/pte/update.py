"""A weights-only update of a `.pte`: ExecuTorch's program-data separation, measured and run.

A phone that holds a model's program needs only new weights to update it. ExecuTorch can put the
constants of the XNNPACK delegate in a data file of their own (`.ptd`): tag them before lowering
(`delegate_external_constants_pass_unlifted`), then `write_tensor_data_to_file`; the runtime loads
the program with that file (`_load_for_executorch(program, data)`). The XNNPACK lowering folds
BatchNorm into the convolutions as new constants, which lose the tag and stay in the program, so
BatchNorm is folded here first (`torch.nn.utils.fusion.fuse_conv_bn_eval`; where it follows a conv
in a `Sequential`, as in the UNet). The export writes both files (`UpdateFiles`: the program, and
the data file an update downloads) and records their bytes; the export job runs the pair against
the whole file.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
from pathlib import Path

import torch
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ...contract import ExportForm
from .. import UpdateFiles


def fold_batchnorm(model: nn.Module) -> int:
    """Fold every BatchNorm (with running statistics) that follows a conv in a `Sequential` into
    that conv, in place; returns how many were folded."""
    folded = 0
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            conv, norm = seq[i], seq[i + 1]
            if type(conv) is nn.Conv2d and isinstance(norm, nn.BatchNorm2d) and norm.track_running_stats:
                seq[i], seq[i + 1] = fuse_conv_bn_eval(conv, norm), nn.Identity()
                folded += 1
    return folded


def weights_update(form: ExportForm, example: torch.Tensor, files: UpdateFiles) -> dict:
    """Write the program and data file of `form`'s model with its weights apart (both files empty,
    and an `error`, when it has none)."""
    files.program.write_bytes(b"")
    files.weights.write_bytes(b"")
    if form.program is not None:
        return {"error": "the method's .pte form is a ready program; its constants cannot be tagged for a data file"}
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower
    from executorch.exir.passes.external_constants_pass import delegate_external_constants_pass_unlifted

    model = copy.deepcopy(form.model).eval()
    folded = fold_batchnorm(model)
    with torch.no_grad():
        module = torch.export.export(model, (example,)).module()
        delegate_external_constants_pass_unlifted(module, lambda node: "weights")
        program = to_edge_transform_and_lower(torch.export.export(module, (example,)),
                                              partitioner=[XnnpackPartitioner()]).to_executorch()
    with tempfile.TemporaryDirectory(prefix="frbench-ptd-") as d:
        program.write_tensor_data_to_file(d)
        written = sorted(p.name for p in Path(d).glob("*.ptd"))
        if written != ["weights.ptd"]:
            return {"error": f"the lowering wrote data files {written}, not one weights.ptd"}
        shutil.copyfile(Path(d) / "weights.ptd", files.weights)
    files.program.write_bytes(program.buffer)
    return {"program_bytes": files.program.stat().st_size, "data_bytes": files.weights.stat().st_size,
            "batchnorm_folded": folded}
