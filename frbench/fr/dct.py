"""Orthonormal N-D DCT-II and its inverse (DCT-III), differentiable and scriptable.

FR (Zhao et al., IEEE Access 2023) learns every weight tensor in the
frequency domain and rebuilds the spatial weight with the orthonormal N-D inverse
DCT over all of its dimensions. `dctn` / `idctn` equal
`scipy.fft.dctn(x, type=2, norm="ortho")` / `scipy.fft.idctn(x, type=2, norm="ortho")`.

Why matrices rather than an FFT: a separable DCT is one matrix product per
dimension with the n x n orthonormal DCT matrix C (DCT-II is C x, its inverse C^T y,
since C is orthogonal). The reference code builds the DCT from complex FFTs with
reordering and twiddle factors; here the same result is one `tensordot` per
dimension, which
- is exact to float32 rounding with no special cases for odd sizes or size-1 dims,
- differentiates through autograd with no custom backward (the transpose of a
  matmul is a matmul),
- uses only real tensor ops, so the same code compiles with TorchScript and runs in
  PyTorch's mobile lite interpreter, which the compact model (compact.py) needs to
  rebuild its weights on the phone (no complex dtypes, no FFT kernels),
- is fast for conv weights: their dims are either tiny (kernel 1-3, where an FFT
  is all overhead) or at most ~1000 channels, where a GEMM runs at full BLAS speed
  (about 0.1 s for a (1024, 512, 3, 3) weight on 2 CPU cores).
The matrices are cached per (size, dtype, device), so the training loop pays for
them once. And a truncated FR weight is zero outside a small leading block, where a
product with the first rows of each matrix does the whole inverse (`idctn_head`).
"""

import functools
import math
from typing import List, Optional, Sequence

import torch
from torch import Tensor


def dct_matrix(n: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """The n x n orthonormal DCT-II matrix C: C[k, i] = s_k cos(pi (2i + 1) k / 2n).

    s_0 = sqrt(1/n), s_k = sqrt(2/n) otherwise. Computed in float64, then cast.
    Scriptable (the compact model calls it on the phone).
    """
    k = torch.arange(n, dtype=torch.float64).unsqueeze(1)
    i = torch.arange(n, dtype=torch.float64).unsqueeze(0)
    c = torch.cos(math.pi * (2.0 * i + 1.0) * k / (2.0 * n)) * math.sqrt(2.0 / n)
    c[0] = c[0] / math.sqrt(2.0)
    return c.to(dtype=dtype, device=device)


@functools.lru_cache(maxsize=None)
def _cached_matrix(n: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    return dct_matrix(n, dtype, device)


def apply_dct(x: Tensor, dims: List[int], mats: List[Tensor], inverse: bool) -> Tensor:
    """Apply DCT matrix `mats[j]` along `dims[j]` (its transpose if `inverse`).

    The scriptable core of `dctn` / `idctn`; `dims` must be non-negative. With
    `inverse`, `mats[j]` may be the first b rows of the matrix only, and x then has
    size b along `dims[j]`: the inverse of a tensor that is zero beyond index b there.
    """
    contract = 0 if inverse else 1  # C^T y contracts C's rows, C x its columns
    for d, m in zip(dims, mats):
        if d == 0:  # matrix first: the result comes out contiguous, no copy
            x = torch.ops.aten.tensordot(m, x, [contract], [0])
        else:
            x = torch.ops.aten.tensordot(x, m, [d], [contract]).movedim(-1, d)
    return x


def _dims(x: Tensor, dims: Optional[Sequence[int]]) -> List[int]:
    if dims is None:
        return list(range(x.dim()))
    return [d % x.dim() for d in dims]


def _transform(x: Tensor, dims: Optional[Sequence[int]], inverse: bool) -> Tensor:
    ds = _dims(x, dims)
    mats = [_cached_matrix(x.shape[d], x.dtype, x.device) for d in ds]
    return apply_dct(x, ds, mats, inverse)


def dctn(x: Tensor, dims: Optional[Sequence[int]] = None) -> Tensor:
    """Orthonormal DCT-II over `dims` (default: all), as scipy.fft.dctn(norm='ortho')."""
    return _transform(x, dims, inverse=False)


def idctn(x: Tensor, dims: Optional[Sequence[int]] = None) -> Tensor:
    """Orthonormal DCT-III over `dims` (default: all), the inverse of `dctn`."""
    return _transform(x, dims, inverse=True)


def idctn_head(head: Tensor, shape: Sequence[int]) -> Tensor:
    """idctn over all dims of a tensor of `shape` that is zero outside its leading
    block, given that block (`head`, with head.shape[d] <= shape[d]).

    FR keeps only the lowest zigzag ranks, which sit in a small leading block (33
    coefficients of a (1024, 1024, 3, 3) weight lie in a 4x3x3x3 block), so this
    costs about numel * (block side) instead of numel * (1024 + 1024 + 3 + 3).
    """
    dims = head_dims(head.dim())
    mats = [_cached_matrix(shape[d], head.dtype, head.device)[: head.shape[d]] for d in dims]
    return apply_dct(head, dims, mats, inverse=True)


def head_dims(ndim: int) -> List[int]:
    """Order in which to expand a leading block: last dim first. A weight's trailing
    (kernel) dims are short and its first is long, so the tensor stays small until
    the last product."""
    return list(range(ndim - 1, -1, -1))
