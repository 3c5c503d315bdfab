"""FX graph mode quantization (torch.ao.quantization.quantize_fx): prepare, calibrate, convert,
and the record of what ran int8 and what ran float in the converted graph."""

from __future__ import annotations

import warnings

import torch
import torch.nn as nn
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx, prepare_qat_fx

from ...models import UNet
from .._common import CONV_TYPES
from .options import BACKENDS, qconfig_mapping


def fx_prepare(model: nn.Module, info: dict) -> nn.Module:
    """Insert observers (static) or fake quantizers (QAT), as the arch describes."""
    qat = info["scheme"] == "int8_qat"
    device = next(model.parameters()).device  # a build job's model is on the training device
    example = (torch.zeros(info["input_shape"], device=device),)
    mapping = qconfig_mapping(info["engine"], qat, info["keep_float"])
    backend = BACKENDS[info["engine"]]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if qat:
            return prepare_qat_fx(model.train(), mapping, example, backend_config=backend)
        return prepare_fx(model.eval(), mapping, example, backend_config=backend)


def fx_convert(prepared: nn.Module, info: dict) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return convert_fx(prepared.eval(), backend_config=BACKENDS[info["engine"]]())


@torch.no_grad()
def calibrate(prepared: nn.Module, images: torch.Tensor, n: int, batch: int = 16) -> int:
    prepared.eval()
    images = images[:n]
    for i in range(0, len(images), batch):
        prepared(images[i : i + batch])
    return len(images)


_QUANTIZED_PACKAGES = ("torch.ao.nn.quantized", "torch.ao.nn.intrinsic.quantized")


def layer_record(gm: torch.fx.GraphModule) -> dict:
    """What ran int8 and what ran float in a converted graph, node by node.

    A node runs int8 if it is a quantized module, or if every tensor it reads is
    quantized (max-pool, cat, padding on quint8 tensors); quantize_per_tensor makes
    a tensor quantized and dequantize makes it float again."""
    modules = dict(gm.named_modules())
    quantized, layers = set(), {}
    counts = {"quantize": 0, "dequantize": 0}
    for node in gm.graph.nodes:
        if node.op in ("placeholder", "get_attr", "output"):
            continue
        if node.op == "call_function" and node.target in (torch.quantize_per_tensor, torch.quantize_per_channel):
            quantized.add(node)
            counts["quantize"] += 1
            continue
        if node.op == "call_method" and node.target == "dequantize":
            counts["dequantize"] += 1
            continue
        reads = [a for a in node.all_input_nodes if a.op != "get_attr"]
        if node.op == "call_module":
            module = modules[node.target]
            is_quantized = type(module).__module__.startswith(_QUANTIZED_PACKAGES)
            name, op = node.target, ("quantized." if is_quantized else "") + type(module).__name__
            runs_int8 = is_quantized or (
                bool(reads) and all(a in quantized for a in reads) and not list(module.parameters()))
        else:
            name, op = node.name, getattr(node.target, "__name__", str(node.target))
            runs_int8 = bool(reads) and all(a in quantized for a in reads)
        if runs_int8:
            quantized.add(node)
        layers[name] = {"op": op, "runs": "int8" if runs_int8 else "float"}
    summary = {"int8": sum(v["runs"] == "int8" for v in layers.values()),
               "float": sorted(k for k, v in layers.items() if v["runs"] == "float"),
               "quantize_ops": counts["quantize"], "dequantize_ops": counts["dequantize"]}
    return {"layers": layers, "summary": summary}


def qat_float_weights(prepared: nn.Module, unet: UNet) -> UNet:
    """The float UNet inside a QAT-prepared graph, loaded into `unet` (empty, of the shape that was
    prepared): each conv's trained weight (and bias) is at the conv's own name; a BatchNorm fused
    into the conv before it (ConvBn(ReLU)2d) is that conv's `.bn`, one left alone is at its own name."""
    src = prepared.state_dict()
    home, last_conv = {}, None
    for name, m in unet.named_modules():
        if isinstance(m, CONV_TYPES):
            last_conv = name
        elif isinstance(m, nn.BatchNorm2d) and last_conv is not None:
            home[name] = f"{last_conv}.bn"
    weights = {}
    for key in unet.state_dict():
        module, _, attr = key.rpartition(".")
        fused = f"{home[module]}.{attr}" if module in home else None
        if key in src:
            weights[key] = src[key]
        elif fused in src:
            weights[key] = src[fused]
        else:
            raise KeyError(f"quantize/int8_qat: no trained value for {key!r} in the prepared model")
    unet.load_state_dict(weights)
    return unet
