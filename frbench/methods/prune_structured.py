"""Structured channel pruning: whole channels leave the network, which really shrinks.

Torch-Pruning's dependency graph (Fang et al., "DepGraph", CVPR 2023) finds the
layers coupled to each channel (the BatchNorm after a conv, the next conv's input,
and in a UNet the concatenation that feeds a skip into the decoder), so that a
channel is removed from all of them at once. Each group's channels are ranked by
their L1 magnitude (Li et al., "Pruning Filters for Efficient ConvNets", ICLR
2017; `MagnitudeImportance(p=1)`, summed over the group) and the weakest removed.

Level: the fraction of each layer's channels removed, as a decimal ('0.5'). Each
group keeps round(n * (1 - ratio)) channels rounded to the nearest multiple of
`round_to` (the method's config key, default 4: phone SIMD kernels work on 4 or
8 channels at a time), and at least `round_to`; a group of `round_to` channels or
fewer is left whole. The output conv keeps its classes. The pruned model is then
fine-tuned with the shared `finetune` budget. (A model pruned before, in a chain,
is pruned again by the same rule: every group keeps that fraction of what it has.)

The checkpoint's arch holds every conv's [in, out] and every BatchNorm's channel
count, from which `rebuild` makes the pruned UNet without pickled code.
"""

from __future__ import annotations

import torch.nn as nn
import torch_pruning as tp

from ..errors import ConfigError
from ._common import FractionLevel, example_input, layer_shapes, resize_layers
from ._registry import register_method

IMPORTANCE = "L1 channel magnitude, group mean (torch_pruning.importance.MagnitudeImportance(p=1))"


def kept_channels(n: int, ratio: float, round_to: int) -> int:
    """Channels a group of n keeps at this pruning ratio (see the module docstring)."""
    if n <= round_to:
        return n
    keep = round(n * (1 - ratio) / round_to) * round_to
    return min(n, max(round_to, keep))


def round_to_of(params: dict) -> int:
    value = params["round_to"]
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"methods.prune_structured.round_to: a positive integer (4 or 8 for phones), not {value!r}")
    return value


def prune_channels(model: nn.Module, example, ratio: float, round_to: int, ignored: list[nn.Module]) -> dict:
    """Prune every channel group of `model` in place; return {root layer: [before, after]}."""
    graph = tp.DependencyGraph().build_dependency(model, example_inputs=example)
    importance = tp.importance.MagnitudeImportance(p=1)
    names = {m: n for n, m in model.named_modules()}
    changed = {}
    groups = graph.get_all_groups(ignored_layers=ignored, root_module_types=[nn.Conv2d, nn.ConvTranspose2d])
    for group in groups:
        root, handler = group[0].dep.target.module, group[0].dep.handler
        n = graph.get_out_channels(root)
        keep = kept_channels(n, ratio, round_to)
        if keep == n:
            continue
        scores = importance(group)
        weakest = scores.argsort()[: n - keep].tolist()
        group = graph.get_pruning_group(root, handler, idxs=weakest)
        if not graph.check_pruning_group(group):
            continue
        group.prune()
        changed[names[root]] = [n, keep]
    return changed


@register_method
class PruneStructured(FractionLevel):
    name = "prune_structured"
    meaning = "the fraction of each layer's channels removed"
    option_schema = {"round_to": {"type": "integer", "minimum": 1, "default": 4,
                                  "description": "kept channels are a multiple of this (4 or 8 suit phone SIMD)"}}

    def build(self):
        ratio, round_to = self.setting, round_to_of(self.params)
        model = self.start_model().eval()
        x = example_input(self.ctx)
        macs_before, params_before = tp.utils.count_ops_and_params(model, x)
        pruned = prune_channels(model, x, ratio, round_to, ignored=[model.outc])
        macs_after, params_after = tp.utils.count_ops_and_params(model, x)
        self.facts.update(ratio=ratio, round_to=round_to, importance=IMPORTANCE, pruned_groups=pruned,
                          macs={"baseline": int(macs_before), "pruned": int(macs_after), "input_shape": list(x.shape)},
                          params={"baseline": int(params_before), "pruned": int(params_after)})
        return model.train()

    def arch(self, model):
        return {**super().arch(model), "shapes": layer_shapes(model)}

    def rebuild(self, arch):
        return resize_layers(super().rebuild(arch), arch["shapes"])
