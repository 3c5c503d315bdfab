"""Tucker-2 decomposition of every conv, then fine-tuning (Kim et al., "Compression of
Deep Convolutional Neural Networks for Fast and Low Power Mobile Applications",
ICLR 2016, arXiv:1511.06530: "one-shot whole network compression").

A conv kernel W (out O, in I, k, k) is approximated along its two channel modes,
W ~ core x_0 U_out x_1 U_in (tensorly's `partial_tucker`, HOOI from an SVD start),
and the conv becomes three: a 1x1 conv I -> R_in (U_in^T), the k x k core conv
R_in -> R_out with the original stride and padding, and a 1x1 conv R_out -> O
(U_out, with the original bias). A transposed conv is split the same way, its
core staying a transposed conv.

Levels:
  'vbmf'  ranks chosen per layer by EVBMF on the kernel's mode-0 and mode-1
          unfoldings, as Kim et al. do (frbench/methods/_vbmf.py);
  '0.25'  a rank ratio: R_out = round(0.25 O), R_in = round(0.25 I), at least 1.
A layer is left whole, and recorded with the reason, when the decomposition would
not save compute (a 1x1 kernel, or three convs with at least the original's
multiply-accumulates at the study's input size), or when VBMF finds no rank above
its noise estimate (rank 0: small or untrained kernels; Kim et al.'s networks
never hit it, and a rank forced to 1 would cut the network in two).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from ..errors import ConfigError
from ._common import (
    PostTraining,
    conv_layers,
    conv_macs,
    decimal_name,
    example_input,
    input_sizes,
    level_error,
    parse_fraction,
    replace_module,
)
from ._registry import register_method


def _channels(conv: nn.Module) -> tuple[int, int]:
    """(out, in) channels; a transposed conv's kernel is laid out (in, out, k, k)."""
    return conv.out_channels, conv.in_channels


def tucker2_module(conv: nn.Module, r_out: int, r_in: int) -> nn.Sequential:
    """The empty three-conv replacement of `conv` at ranks (r_out, r_in)."""
    o, i = _channels(conv)
    if isinstance(conv, nn.ConvTranspose2d):
        core = nn.ConvTranspose2d(r_in, r_out, conv.kernel_size, conv.stride, conv.padding, conv.output_padding,
                                  bias=False, dilation=conv.dilation)
    else:
        core = nn.Conv2d(r_in, r_out, conv.kernel_size, conv.stride, conv.padding, conv.dilation, bias=False)
    return nn.Sequential(nn.Conv2d(i, r_in, 1, bias=False), core, nn.Conv2d(r_out, o, 1, bias=conv.bias is not None))


@torch.no_grad()
def decompose(conv: nn.Module, r_out: int, r_in: int, seed: int = 0) -> tuple[nn.Sequential, float]:
    """Tucker-2 of one conv with tensorly; returns the replacement and the relative
    reconstruction error of the kernel."""
    from tensorly.decomposition import partial_tucker  # late: tensorly imports scipy (0.5 s per job otherwise)

    w = conv.weight.detach().cpu().double().numpy()
    transposed = isinstance(conv, nn.ConvTranspose2d)
    # kernel modes: conv (out, in, k, k); transposed conv (in, out, k, k)
    ranks, modes = ([r_in, r_out], [0, 1]) if transposed else ([r_out, r_in], [0, 1])
    (core, factors), errors = partial_tucker(w, rank=ranks, modes=modes, init="svd", random_state=seed)
    u_in, u_out = (factors[0], factors[1]) if transposed else (factors[1], factors[0])
    seq = tucker2_module(conv, r_out, r_in)
    seq[0].weight.copy_(torch.from_numpy(np.ascontiguousarray(u_in.T)).float()[:, :, None, None])
    seq[1].weight.copy_(torch.from_numpy(np.ascontiguousarray(core)).float())
    seq[2].weight.copy_(torch.from_numpy(np.ascontiguousarray(u_out)).float()[:, :, None, None])
    if conv.bias is not None:
        seq[2].bias.copy_(conv.bias.cpu())
    return seq.to(conv.weight.device), float(errors[-1]) if errors else 0.0


def vbmf_ranks(conv: nn.Module) -> tuple[int, int]:
    """Kim et al.: EVBMF on the kernel's unfoldings along the out and the in channels."""
    from ._vbmf import evbmf_rank  # late, like tensorly: scipy

    w = conv.weight.detach().cpu().double().numpy()
    if isinstance(conv, nn.ConvTranspose2d):
        w = w.transpose(1, 0, 2, 3)  # to (out, in, k, k)
    o, i = w.shape[:2]
    return evbmf_rank(w.reshape(o, -1)), evbmf_rank(w.transpose(1, 0, 2, 3).reshape(i, -1))


def ratio_ranks(conv: nn.Module, ratio: float) -> tuple[int, int]:
    o, i = _channels(conv)
    return max(1, round(ratio * o)), max(1, round(ratio * i))


def sequence_macs(seq: nn.Sequential, in_hw) -> int:
    total, hw = 0, in_hw
    for conv in seq:
        macs, hw = conv_macs(conv, hw)
        total += macs
    return total


@register_method
class Tucker(PostTraining):
    name = "tucker"

    def canonical_level(self):
        return self.level if self.level == "vbmf" else decimal_name(self.level)

    def parse_level(self, level):
        """The rule that gives a conv its ranks (out, in)."""
        if level == "vbmf":
            return vbmf_ranks
        try:
            ratio = parse_fraction(self.name, level, "the rank ratio")
        except ConfigError:
            raise level_error(self.name, level, "'vbmf', or a rank ratio in (0, 1) such as '0.5' "
                                                "(ranks = ratio x channels)") from None
        return lambda conv: ratio_ranks(conv, ratio)

    def build(self):
        model = self.start_model().eval()
        convs = conv_layers(model)
        x = example_input(self.ctx)
        sizes = input_sizes(model, x, convs)
        ranks, skipped, errors, macs = {}, {}, {}, {"baseline": 0, "decomposed": 0}
        for name, conv in convs.items():
            base_macs = conv_macs(conv, sizes[name])[0]
            macs["baseline"] += base_macs
            if conv.kernel_size == (1, 1):
                skipped[name] = "1x1 kernel: nothing to decompose"
                macs["decomposed"] += base_macs
                continue
            r_out, r_in = self.setting(conv)
            if min(r_out, r_in) < 1:
                skipped[name] = f"VBMF finds no rank above its noise estimate (ranks [{r_out}, {r_in}])"
                macs["decomposed"] += base_macs
                continue
            new_macs = sequence_macs(tucker2_module(conv, r_out, r_in), sizes[name])
            if new_macs >= base_macs:
                skipped[name] = (f"ranks [{r_out}, {r_in}] give {new_macs} MACs, not fewer than the layer's "
                                 f"{base_macs}")
                macs["decomposed"] += base_macs
                continue
            seq, errors[name] = decompose(conv, r_out, r_in, seed=self.ctx.seed)
            replace_module(model, name, seq)
            ranks[name] = [r_out, r_in]
            macs["decomposed"] += new_macs
        self.facts.update(rank_rule="vbmf" if self.level == "vbmf" else "ratio", ranks=ranks, skipped=skipped,
                          reconstruction_error={k: round(v, 6) for k, v in errors.items()},
                          conv_macs={**macs, "input_shape": list(x.shape)})
        return model.train()

    def rebuild(self, arch):
        model = super().rebuild(arch)
        convs = conv_layers(model)
        for name, (r_out, r_in) in arch["ranks"].items():
            replace_module(model, name, tucker2_module(convs[name], r_out, r_in))
        return model
