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
        """Nothing to load: the lite interpreter is part of torch, imported already."""

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
