"""The Frequency Regularization (FR) core.

FR (Zhao et al., "Frequency Regularization: Reducing Information Redundancy in
Convolutional Neural Networks", IEEE Access 2023; reference code
guanfangdong/pytorch-frequency-regularization) trains every conv / linear weight
as a tensor of DCT coefficients and drops its high-frequency tail as training
goes, so that a network is stored as a few low-frequency coefficients per layer.

- dct: orthonormal N-D DCT-II / DCT-III (`dctn`, `idctn`)
- zigzag: the N-D zigzag order that decides which coefficients are kept
- schedule: the truncation schedule and its training hook
- layers: FR layers, `to_fr`, checkpoint rebuild (`fr_arch`, `build_fr_unet`), `dense_unet`
- compact: float16 zigzag-ordered storage and the lite-interpreter module (the phone's program)
- reference: the paper's released UNet and its 16 test images
"""

from .compact import CompactUNet, compact_coefficients, floor_bytes, rebuild, script_compact, stored_numbers
from .dct import dctn, idctn
from .layers import FRConv2d, FRConvTranspose2d, FRLinear, build_fr_unet, dense_unet, fr_arch, fr_layers, kept_counts, to_fr
from .schedule import (
    TruncationHook,
    TruncationSchedule,
    final_count,
    final_counts,
    next_ratio,
    target_count,
    updates_to_reach,
)
from .zigzag import keep_mask, zigzag_order, zigzag_ranks

__all__ = [
    "CompactUNet",
    "FRConv2d",
    "FRConvTranspose2d",
    "FRLinear",
    "TruncationHook",
    "TruncationSchedule",
    "build_fr_unet",
    "compact_coefficients",
    "dctn",
    "dense_unet",
    "final_count",
    "final_counts",
    "floor_bytes",
    "fr_arch",
    "fr_layers",
    "idctn",
    "keep_mask",
    "kept_counts",
    "next_ratio",
    "rebuild",
    "script_compact",
    "stored_numbers",
    "target_count",
    "to_fr",
    "updates_to_reach",
    "zigzag_order",
    "zigzag_ranks",
]
