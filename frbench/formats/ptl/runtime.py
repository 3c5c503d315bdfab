"""PyTorch Lite: the mobile (lite) interpreter that runs `.ptl` files."""

import torch
from torch.jit.mobile import _load_for_lite_interpreter

from ...advice import rebuild_advice
from ..profiling import torch_profile


class LiteRuntime:
    """The host runtime side of `frbench.formats.ptl.LiteFormat`."""

    @staticmethod
    def runtime_version() -> str:
        return torch.__version__

    @staticmethod
    def prepare() -> None:
        """The lite interpreter is part of torch, imported already. Int8 models run on
        qnnpack, the engine phones use and the one they were calibrated for: x86's
        kernels (the host's default) saturate differently and change their Dice."""
        if "qnnpack" in torch.backends.quantized.supported_engines:
            torch.backends.quantized.engine = "qnnpack"

    @staticmethod
    def load(path, weights=None):
        """The program at `path`; with `weights`, its weights replaced by that file's
        (`frbench.weights_file`: the program's `set_weights`), as part of the load."""
        try:
            module = _load_for_lite_interpreter(str(path))
        except RuntimeError as e:
            raise RuntimeError(f"{path}: the lite interpreter could not load it ({str(e).splitlines()[0]}): a truncated "
                               f"or corrupt .ptl; {rebuild_advice(path)}") from None
        if weights is not None:
            try:
                module.run_method("set_weights", str(weights))
            except (RuntimeError, torch.jit.Error) as e:  # a file it cannot read; one it refuses (jit.Error)
                raise RuntimeError(f"{path}: its set_weights refused {weights} ({str(e).splitlines()[0]})") from None
        return module

    @staticmethod
    def run(module, x: torch.Tensor) -> torch.Tensor:
        return module(x)

    @classmethod
    def profile(cls, path, weights, x: torch.Tensor, runs: int) -> dict:
        """torch.profiler around the lite interpreter: it runs every operator through ATen's dispatcher,
        which the profiler observes (PyTorch Mobile's own profiler on Android is the same machinery)."""
        return {"source": "torch.profiler on the lite interpreter's ATen operators",
                **torch_profile(lambda: cls.load(path, weights), cls.run, x, runs)}
