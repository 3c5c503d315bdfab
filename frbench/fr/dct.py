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
them once. And a truncated FR weight is zero outside a small leading block, where
products with the first rows of each matrix do the whole inverse (`head_inverse`:
three matrix products for a conv weight, the kernel dims taken together; two with a
joint basis for the small blocks of a small UNet, `joint_basis`). Unpacking the
paper's UNet-31M from its 759 coefficients this way takes about 30 ms on 2 cores,
twice the time of writing its 124 MB of weights (benchmarks/fr_speed.py); only the
rows needed are ever computed (`dct_rows`).
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
    return dct_rows(n, n, dtype, device)


def dct_rows(n: int, rows: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """The first `rows` rows of `dct_matrix(n)` (rows >= 1), computed alone: the
    inverse of a truncated tensor needs only those, and a full 1024 x 1024 matrix
    costs ~15 ms of cosines where the 4 rows FR keeps cost microseconds. Scriptable."""
    k = torch.arange(rows, dtype=torch.float64).unsqueeze(1)
    i = torch.arange(n, dtype=torch.float64).unsqueeze(0)
    c = torch.cos(math.pi * (2.0 * i + 1.0) * k / (2.0 * n)) * math.sqrt(2.0 / n)
    c[0] = c[0] / math.sqrt(2.0)
    return c.to(dtype=dtype, device=device)


@functools.lru_cache(maxsize=None)
def _cached_matrix(n: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    with torch.inference_mode(False):  # filled under inference_mode (scoring), it must still serve training
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


def head_rows(shape: Sequence[int], block: Sequence[int], dtype: torch.dtype, device: torch.device) -> List[Tensor]:
    """For each dim d, the first block[d] rows of the DCT matrix of size shape[d] (cached)."""
    return [_cached_matrix(int(n), dtype, device)[: int(b)] for n, b in zip(shape, block)]


def head_inverse(head: Tensor, shape: List[int], rows: List[Tensor], kernel: Optional[Tensor] = None) -> Tensor:
    """idctn over all dims of a tensor of `shape` that is zero outside its leading block
    `head`, given `rows[d]`, the first head.shape[d] rows of the DCT matrix of size
    shape[d]. Scriptable (the compact model unpacks with it on the phone).

    A 4-D weight (O, I, kh, kw) with a block (a, b, c, d) takes three matrix products,
    smallest first, so that only the last one, which writes the weight, is large:

        v = head as (a c d, b) @ C_I[:b]                        # (a c d, I)
        u = v as (a I, c d) @ kron(C_kh[:c], C_kw[:d])          # (a I, kh kw)
        w = C_O[:a]^T @ u as (a, I kh kw)                       # (O, I kh kw)

    (the two reshapes between them are small copies). Plain matrix products, no
    batched or per-dim tensordot, so autograd's backward is matrix products too:
    training pays about 0.1 ms per layer and step for it on one core. The last
    product has an inner dimension of a (4 for the paper's 33 coefficients per
    layer). A 2-D weight is C_O[:a]^T @ head @ C_I[:b]. Other ranks go through
    `apply_dct`, one dim at a time. `kernel`, if given, is kron(rows[2], rows[3])
    computed beforehand (training reuses it every step).
    """
    if len(shape) == 4:
        a, b, c, d = head.shape[0], head.shape[1], head.shape[2], head.shape[3]
        i, k = shape[1], shape[2] * shape[3]
        if kernel is None:
            kernel = torch.kron(rows[2], rows[3])
        v = head.reshape(a, b, c * d).transpose(1, 2).reshape(a * c * d, b).mm(rows[1])
        u = v.view(a, c * d, i).transpose(1, 2).reshape(a * i, c * d).mm(kernel)
        return rows[0].t().mm(u.view(a, i * k)).view(shape)
    if len(shape) == 2:
        return rows[0].t().mm(head).mm(rows[1])
    dims = head_dims(len(shape))
    return apply_dct(head, dims, [rows[d] for d in dims], True)


def joint_basis(shape: Sequence[int], rows: List[Tensor], max_macs: int = 1 << 20) -> Optional[tuple[Tensor, Tensor]]:
    """For a 4-D weight whose leading block is small: (C_O[:a]^T, kron(C_I[:b], C_kh[:c], C_kw[:d])),
    so that `head_inverse_joint` rebuilds it in two matrix products instead of three; None when
    the joint matrix would cost more than `max_macs` multiply-adds per call and more than twice
    the three products' (a large block: early in training, or the 31M UNet's big layers).

    Why: a training step of a small UNet spends more on the number of autograd ops than on
    their arithmetic, and two products save a third of FR's ops per layer and step.
    """
    if len(shape) != 4:
        return None
    a, b, cd = rows[0].shape[0], rows[1].shape[0], rows[2].shape[0] * rows[3].shape[0]
    n_in, k = rows[1].shape[1], rows[2].shape[1] * rows[3].shape[1]
    joint_macs = a * b * cd * n_in * k
    three_macs = a * cd * b * n_in + a * n_in * cd * k
    if joint_macs > max(max_macs, 2 * three_macs):
        return None
    return rows[0].t().contiguous(), torch.kron(rows[1], torch.kron(rows[2], rows[3])).contiguous()


def head_inverse_joint(head: Tensor, shape: List[int], joint: tuple[Tensor, Tensor]) -> Tensor:
    """`head_inverse` of a 4-D weight with the bases of `joint_basis`:
    C_O[:a]^T @ (head as (a, b c d) @ kron(C_I[:b], C_kh[:c], C_kw[:d]))."""
    left, right = joint
    return left.mm(head.reshape(head.shape[0], right.shape[0]).mm(right)).view(shape)


def head_dims(ndim: int) -> List[int]:
    """Order in which to expand a leading block: last dim first. A weight's trailing
    (kernel) dims are short and its first is long, so the tensor stays small until
    the last product."""
    return list(range(ndim - 1, -1, -1))
