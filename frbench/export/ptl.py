"""PyTorch Lite (`.ptl`): TorchScript saved for the lite interpreter.

`optimize_for_mobile` (conv/BN folding, XNNPACK prepacking) runs only when this
torch build has XNNPACK (`torch.backends.xnnpack.enabled`); builds without it
raise inside that pass, so it is skipped and the export says so
(`mobile_optimized: false`).
"""

import torch
import torch.backends.xnnpack

from . import EXPORTERS


def _script(model, example):
    """A model may provide its own TorchScript form (e.g. FR's compact module);
    otherwise trace it at the benchmark's input shape."""
    if hasattr(model, "to_torchscript"):
        return model.to_torchscript(example)
    with torch.no_grad():
        return torch.jit.trace(model, example, check_trace=True)


@EXPORTERS.register("ptl")
class LiteExporter:
    @staticmethod
    def write(model, example, path) -> dict:
        scripted = _script(model.eval(), example)
        optimized = bool(torch.backends.xnnpack.enabled)
        if optimized:
            from torch.utils.mobile_optimizer import optimize_for_mobile

            scripted = optimize_for_mobile(scripted)
        scripted._save_for_lite_interpreter(str(path))
        return {"mobile_optimized": optimized, "xnnpack_enabled": optimized, "torch": torch.__version__}

    @staticmethod
    def stored_tensors(path) -> dict:
        # A .ptl also carries the full TorchScript module, which torch.jit.load reads.
        return dict(torch.jit.load(str(path), map_location="cpu").state_dict())
