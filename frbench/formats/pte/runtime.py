"""ExecuTorch: runs `.pte` files on the host with ExecuTorch's C++ runtime (its Python
extension, built with the XNNPACK delegate and the portable kernels), the runtime the Android
app uses through `executorch-android`.

The calls are those of `executorch.runtime` (`Runtime.get().load_program(path)`,
`Program.load_method("forward")`, `Method.execute([x])`), made on the extension module that
`executorch.runtime` wraps, `executorch.extension.pybindings._portable_lib`, which those
methods call one to one. The wrapper is skipped on purpose: importing it imports ExecuTorch's
compiler (`executorch.exir`, torchao), 5.6 s and 133 MB of resident memory on the reference
machine, none of which a phone carries; in the benchmark worker it would sit in `peak_rss`
and, on first use, in `load_ms`. The extension alone loads in milliseconds.
tests/test_pte.py checks that both give the same outputs.

`load` is what the Android app times as load too: the program and its `forward` method
(ExecuTorch loads methods lazily, so without it the first inference would pay for it). A program
whose weights are in a data file of their own (`.ptd`, a weights-only update) loads through
`_load_for_executorch(program, data)`, the one call of the extension that takes a data file.

Threads: ExecuTorch has its own thread pool (XNNPACK's), which `torch.set_num_threads` does
not touch; `load` sets it to `torch.get_num_threads()`, which the benchmark worker has already
fixed to the plan's `threads`, so both runtimes run with the same thread count and the result's
`metadata.threads` holds for `.pte` too.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch  # before the extension: it links against libtorch

from ...advice import rebuild_advice, stderr_log
from ..profiling import ProfileUnavailable, etdump_phases


def _lib():
    import executorch.extension.pybindings._portable_lib as lib

    return lib


@dataclass
class LoadedProgram:
    program: object  # ExecuTorchProgram; kept so that the method's program stays alive
    method: object  # ExecuTorchMethod ("forward")


def set_threads(n: int) -> int:
    """Size ExecuTorch's thread pool; returns the count it reports afterwards."""
    lib = _lib()
    if lib._threadpool_get_thread_count() != n:
        lib._unsafe_reset_threadpool(n)
    return lib._threadpool_get_thread_count()


class ExecuTorchRuntime:
    """The host runtime side of `frbench.formats.pte.ExecuTorchFormat`."""

    @staticmethod
    def runtime_version() -> str:
        from executorch.version import __version__

        return __version__

    @staticmethod
    def prepare() -> None:
        """Load the runtime library (milliseconds), so that, like torch for `.ptl`, it is in
        memory before `rss_before_load` and outside `load_ms`."""
        _lib()

    @staticmethod
    def load(path, weights=None):
        """The program at `path`, its weights from its own file when `weights` (a `.ptd`) is given."""
        lib = _lib()
        set_threads(torch.get_num_threads())
        try:
            if weights is not None:  # only the Module API takes a data file; it loads every method
                module = lib._load_for_executorch(str(path), str(weights))
                return LoadedProgram(program=module, method=module.forward)
            program = lib._load_program(str(path), enable_etdump=False, debug_buffer_size=0,
                                        program_verification=lib.Verification.InternalConsistency)
            method = program.load_method("forward")
        except RuntimeError as e:  # ExecuTorch says only "Failed to load program, error: 0x:23"
            what = f"{path} with the data file {weights}" if weights is not None else str(path)
            raise RuntimeError(f"{what}: ExecuTorch could not load it ({e}; it logged its reason to "
                               f"{stderr_log() or 'stderr'}): a truncated or corrupt .pte, or one written by another "
                               f"executorch version; {rebuild_advice(path)}") from None
        return LoadedProgram(program=program, method=method)

    @staticmethod
    def run(module: LoadedProgram, x: torch.Tensor) -> torch.Tensor:
        return module.method([x.contiguous()])[0]

    @classmethod
    def profile(cls, path, weights, x: torch.Tensor, runs: int) -> dict:
        """ETDump, ExecuTorch's event tracer, read with `executorch.devtools.Inspector`: the program
        loaded with `enable_etdump`, run, its ETDump written. The `executorch` wheel is built without
        the tracer (EXECUTORCH_ENABLE_EVENT_TRACER): it then writes none, and this says so."""
        import tempfile
        import time
        from pathlib import Path

        if weights is not None:
            raise ProfileUnavailable("ExecuTorch's ETDump is taken through _load_program, which takes no data file")
        lib = _lib()
        set_threads(torch.get_num_threads())
        t0 = time.perf_counter_ns()
        program = lib._load_program(str(path), enable_etdump=True, debug_buffer_size=0)
        method = program.load_method("forward")
        load_ms = (time.perf_counter_ns() - t0) / 1e6
        for _ in range(1 + runs):
            method([x.contiguous()])
        with tempfile.TemporaryDirectory(prefix="frbench-etdump-") as tmp:
            etdump = Path(tmp) / "model.etdp"
            if program.has_etdump():
                program.write_etdump_result_to_file(str(etdump))
            if not etdump.is_file():
                raise ProfileUnavailable(f"executorch {cls.runtime_version()}'s runtime here was built without its "
                                         "event tracer (EXECUTORCH_ENABLE_EVENT_TRACER): it writes no ETDump")
            phases = etdump_phases(str(etdump), load_ms)
        return {"source": "ExecuTorch ETDump, read by executorch.devtools.Inspector", **phases}
