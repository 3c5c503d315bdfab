"""Zigzag order of an N-D tensor: which frequency coefficients FR keeps.

FR's dynamic tail truncation (Zhao et al., IEEE Access 2023) keeps the
low-frequency head of each coefficient tensor and drops the high-frequency tail.
"Low" is the N-D zigzag order: every index (i0, i1, ..., i_{N-1}) is ranked by the
sum of its coordinates, ties broken lexicographically on (i0, i1, ...); rank 0 is
the DC coefficient. On a (8, 4, 3, 3) tensor: (0,0,0,0) -> 0, (0,0,0,1) -> 1,
(0,0,1,0) -> 2, (0,1,0,0) -> 3, (1,0,0,0) -> 4. The paper's released model keeps
exactly ranks 0..32 of each layer under this order.

Since a C-order flat index already orders indices lexicographically, the zigzag
order is the order of the unique integer key `coordinate_sum * numel + flat_index`:
one vectorised top-k / sort, no Python loop over elements (about 0.5 s for all
9.4M ranks of a (1024, 1024, 3, 3) tensor on 2 cores, twice as fast as `np.lexsort`
on the five keys). The first k ranks all have a coordinate sum of at most some s,
so they lie in the leading block of side s + 1; `zigzag_order` ranks only that block,
which makes the 33 lowest ranks of a 9.4M-element tensor cost microseconds. The
code is scriptable, so training and the phone share it (compact.py recomputes the
order at unpack time instead of storing any index).
"""

import bisect
import functools
import math
from typing import List, Sequence

import numpy as np
import torch
from torch import Tensor


def coordinate_sums(shape: List[int]) -> Tensor:
    """Flat (C-order) int64 tensor of the coordinate sum of every index of `shape`."""
    sums = torch.zeros([1], dtype=torch.long)
    for n in shape:
        sums = (sums.unsqueeze(1) + torch.arange(n, dtype=torch.long).unsqueeze(0)).reshape(-1)
    return sums


def unravel(flat: Tensor, shape: List[int]) -> List[Tensor]:
    """Coordinates (one tensor per dimension) of C-order flat indices into `shape`."""
    coords: List[Tensor] = []
    rest = flat
    for d in range(len(shape) - 1, -1, -1):
        coords.insert(0, rest % shape[d])
        rest = rest // shape[d]
    return coords


def ravel(coords: List[Tensor], shape: List[int]) -> Tensor:
    """C-order flat indices into `shape` of the given coordinates."""
    flat = torch.zeros_like(coords[0])
    for d in range(len(shape)):
        flat = flat * shape[d] + coords[d]
    return flat


def leading_block(shape: List[int], k: int) -> List[int]:
    """A leading block of `shape` that holds zigzag ranks 0..k-1.

    Every index with coordinate sum <= s lies in the block min(n, s + 1) per dim;
    once that block holds k such indices, it holds the k lowest ranks.
    """
    s = 0
    block = [min(n, 1) for n in shape]
    while block != shape and int((coordinate_sums(block) <= s).sum()) < k:
        s = 2 * s + 1
        block = [min(n, s + 1) for n in shape]
    return block


@functools.lru_cache(maxsize=256)
def _at_most(shape: tuple[int, ...]) -> tuple[int, ...]:
    """c[s] = how many indices of `shape` have a coordinate sum of at most s: the
    cumulative sum of the convolution of one all-ones vector per dim (the histogram
    of coordinate sums), without a tensor of numel elements."""
    counts = np.ones(1, dtype=np.int64)
    for n in shape:
        counts = np.convolve(counts, np.ones(n, dtype=np.int64))
    return tuple(np.cumsum(counts).tolist())


def head_block(shape: Sequence[int], k: int) -> List[int]:
    """The smallest leading block of the form min(n, s + 1) per dim that holds zigzag
    ranks 0..k-1: s is the coordinate sum of rank k - 1.

    What training uses (FR layers, after every change of the kept count): cached per
    shape, so a schedule that moves every step pays microseconds for it. Not
    scriptable; the phone uses `leading_block`, which may give a larger block.
    """
    shape = [int(n) for n in shape]
    s = bisect.bisect_left(_at_most(tuple(shape)), k)
    return [min(n, s + 1) for n in shape]


def block_order(block: List[int], k: int) -> Tensor:
    """Flat indices into `block` of its k lowest zigzag ranks, in rank order.

    Ranks within a leading block follow the same order as in the whole tensor
    (same coordinate sums, same lexicographic ties)."""
    sums = coordinate_sums(block)
    numel = sums.numel()
    key = sums * numel + torch.arange(numel, dtype=torch.long)  # C order = lexicographic order
    return torch.topk(key, k, largest=False, sorted=True).indices


def zigzag_order(shape: List[int], k: int) -> Tensor:
    """Flat indices of zigzag ranks 0..k-1 of a tensor of `shape`, in rank order.

    Scriptable. `k` may be anything from 0 to the number of elements.
    """
    block = leading_block(shape, k)
    order = block_order(block, k)
    if block == shape:
        return order
    return ravel(unravel(order, block), shape)


@functools.lru_cache(maxsize=64)
def _ranks(shape: tuple[int, ...]) -> Tensor:
    with torch.inference_mode(False):  # a cache: never an inference tensor
        numel = math.prod(shape)
        order = zigzag_order(list(shape), numel)
        ranks = torch.empty(numel, dtype=torch.long)
        ranks[order] = torch.arange(numel, dtype=torch.long)
        return ranks.reshape(shape)


def zigzag_ranks(shape: Sequence[int]) -> Tensor:
    """LongTensor of `shape` holding each index's zigzag rank (cached per shape; do not modify)."""
    return _ranks(tuple(int(n) for n in shape))


def keep_mask(shape: Sequence[int], k: int) -> Tensor:
    """BoolTensor of `shape`, True on the k lowest zigzag ranks.

    A small k (a trained FR layer: 33 of 9.4M) is set from `zigzag_order` without
    ranking, or caching, the whole tensor; a large k (early in training, when the
    schedule moves every step) compares against the cached ranks.
    """
    shape = [int(n) for n in shape]
    numel = math.prod(shape)
    if k * 64 > numel:
        return zigzag_ranks(shape) < k
    mask = torch.zeros(numel, dtype=torch.bool)
    mask[zigzag_order(shape, k)] = True
    return mask.reshape(shape)
