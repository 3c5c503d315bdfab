"""Global unstructured magnitude pruning (`torch.nn.utils.prune`).

The weights of every conv (plain, transposed and the output conv; not BatchNorm)
compete in one ranking, and the smallest |w| are set to zero until the level's
fraction of them is zero (Han et al., "Learning both Weights and Connections for
Efficient Neural Networks", NeurIPS 2015; `prune.global_unstructured` with
`L1Unstructured`). Level: that sparsity as a decimal ('0.8').

Fine-tuning keeps the pruned weights at zero: `torch.nn.utils.prune` computes
`weight = weight_orig * weight_mask` before every forward, so the optimizer moves
only `weight_orig` and a pruned entry never comes back. `finalize` makes the mask
permanent (`prune.remove`), leaving a plain UNet whose zeros are stored densely:
the exported file is as large as the baseline's and runs as fast, which the
report shows (non-zero count falls; bytes and latency do not), unless a runtime
with sparse kernels were used.
"""

from __future__ import annotations

import torch.nn as nn
import torch.nn.utils.prune as prune

from ..contract import Hook
from ._common import FractionLevel, conv_layers
from ._registry import register_method


def sparsity(model: nn.Module) -> dict:
    """Zero fraction of the pruned weights, overall and per layer (reads the
    effective weight, so it holds with or without the pruning re-parametrisation)."""
    layers, zeros, total = {}, 0, 0
    for name, m in conv_layers(model).items():
        w = m.weight.detach()
        z = int((w == 0).sum())
        layers[name] = round(z / w.numel(), 6)
        zeros, total = zeros + z, total + w.numel()
    return {"global": zeros / total if total else 0.0, "zero_weights": zeros, "weights": total, "layers": layers}


class SparsityLog(Hook):
    """A training-loop hook: each epoch's record states the sparsity, so train.json
    shows that fine-tuning kept it."""

    def on_epoch_end(self, model, epoch):
        return {"sparsity": sparsity(model)["global"]}


@register_method
class PruneUnstructured(FractionLevel):
    name = "prune_unstructured"
    meaning = "the fraction of conv weights set to zero, over the whole network"

    def build(self):
        model = self.start_model()
        targets = [(m, "weight") for m in conv_layers(model).values()]
        prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=self.setting)
        self.facts.update(target_sparsity=self.setting, scope="weights of every Conv2d and ConvTranspose2d",
                          criterion="global L1 magnitude (torch.nn.utils.prune.L1Unstructured)")
        return model

    def hooks(self, model):
        return [SparsityLog()]

    def finalize(self, model):
        for m in conv_layers(model).values():
            if prune.is_pruned(m):
                prune.remove(m, "weight")
        return model

    def arch(self, model):
        return {**super().arch(model), "sparsity": sparsity(model)}

