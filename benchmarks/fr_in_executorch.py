"""Can FR's compact form run in ExecuTorch at XNNPACK speed? (issue #13, item 5) Measured and printed.

    python benchmarks/fr_in_executorch.py [--channels 64] [--size 64] [--threads 2]

FR's `.ptl` stores the kept coefficients and rebuilds each dense weight once, at the first call.
An ExecuTorch program has no such step: its graph runs whole at every call, and the XNNPACK
partitioner takes a convolution only when its weight is a constant of the program (it packs the
weight ahead of time). This script lowers the same 3x3 convolution twice through frbench's `.pte`
path (torch.export -> to_edge_transform_and_lower(XnnpackPartitioner) -> to_executorch):

- weight computed in the graph from a small block of coefficients and two DCT-row matrices (FR's
  unpack, as a graph: an einsum, which the partitioner lowers to batched matrix products);
- weight a constant (what frbench's FR `.pte` stores today: the dense weights, `compact: false`).

It prints each program's bytes, which ops XNNPACK took and which fell back to the portable
kernels, and the latency of one call (min of `--samples`, after a warm-up).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from frbench.formats import get_format  # noqa: E402
from frbench.formats.pte.export import delegation  # noqa: E402


class ComputedWeight(torch.nn.Module):
    """A 3x3 conv whose weight is rebuilt in the graph at every call from a (4, 4, 3, 3) block."""

    def __init__(self, channels: int):
        super().__init__()
        self.head = torch.nn.Parameter(torch.randn(4, 4, 3, 3))
        self.rows_out = torch.nn.Parameter(torch.randn(4, channels))
        self.rows_in = torch.nn.Parameter(torch.randn(4, channels))

    def weight(self) -> torch.Tensor:
        return torch.einsum("abhw,ao,bi->oihw", self.head, self.rows_out, self.rows_in)

    def forward(self, x):
        return torch.nn.functional.conv2d(x, self.weight(), padding=1)


class ConstantWeight(torch.nn.Module):
    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.weight = torch.nn.Parameter(weight.contiguous())

    def forward(self, x):
        return torch.nn.functional.conv2d(x, self.weight, padding=1)


def lower(module: torch.nn.Module, x: torch.Tensor, path: Path) -> dict:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    with torch.no_grad():
        program = torch.export.export(module.eval(), (x,))
    edge = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
    ops = delegation(edge.exported_program().graph_module)
    path.write_bytes(edge.to_executorch().buffer)
    return ops


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--channels", type=int, default=64)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--samples", type=int, default=5)
    a = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    x = torch.rand(1, a.channels, a.size, a.size)
    computed = ComputedWeight(a.channels)
    with torch.no_grad():
        constant = ConstantWeight(computed.weight())
    print(f"one {a.channels}->{a.channels} 3x3 conv at {a.size}x{a.size}, {a.threads} thread(s), executorch "
          f"{get_format('pte').runtime_version()}")
    with tempfile.TemporaryDirectory() as d:
        for name, module in (("weight computed in the graph", computed), ("weight a constant", constant)):
            path = Path(d) / "m.pte"
            ops = lower(module, x, path)
            loaded = get_format("pte").load(path)
            get_format("pte").run(loaded, x)
            times = []
            for _ in range(a.samples):
                t0 = time.perf_counter()
                get_format("pte").run(loaded, x)
                times.append((time.perf_counter() - t0) * 1e3)
            print(f"  {name}: {path.stat().st_size:,} B; XNNPACK took {ops['delegated_by_op'] or 'nothing'}; "
                  f"portable kernels ran {ops['non_delegated_by_op'] or 'nothing'}; {min(times):.2f} ms a call")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
