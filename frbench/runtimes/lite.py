"""PyTorch Lite: the mobile (lite) interpreter that runs `.ptl` files."""

import torch
from torch.jit.mobile import _load_for_lite_interpreter

from . import RUNTIMES


@RUNTIMES.register("ptl")
class LiteRuntime:
    name = "pytorch-lite"

    @staticmethod
    def version() -> str:
        return torch.__version__

    @staticmethod
    def prepare() -> None:
        """The lite interpreter is part of torch, imported already. Int8 models run on
        qnnpack, the engine phones use and the one they were calibrated for: x86's
        kernels (the host's default) saturate differently and change their Dice."""
        if "qnnpack" in torch.backends.quantized.supported_engines:
            torch.backends.quantized.engine = "qnnpack"

    @staticmethod
    def load(path):
        try:
            return _load_for_lite_interpreter(str(path))
        except RuntimeError as e:
            raise RuntimeError(f"{path}: the lite interpreter could not load it ({str(e).splitlines()[0]}): a truncated "
                               "or corrupt .ptl; delete it and rerun its export") from None

    @staticmethod
    def run(module, x: torch.Tensor) -> torch.Tensor:
        return module(x)
