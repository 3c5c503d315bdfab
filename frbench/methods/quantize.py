"""Quantization, with the kernels phones run: PyTorch's QNNPACK engine.

Levels (the scheme):
  int8          post-training static quantization (FX graph mode,
                torch.ao.quantization.quantize_fx): the float baseline is fine-tuned
                with the shared budget, then observed on `calibration_images`
                training images and converted; weights qint8, activations quint8,
                qconfig and backend config of the engine (default qnnpack).
  int8_qat      quantization-aware fine-tuning: the same quantized graph with fake
                quantization during the fine-tune (prepare_qat_fx), then converted.
  fp16_weights  weights stored as float16, expanded to float32 at each call; the
                file halves, the arithmetic stays float (as TFLite's float16
                post-training quantization does on CPUs).
  int8_weights  weights stored as int8 with a float scale per output channel
                (symmetric), expanded to float32 at each call; arithmetic float.

UNet's trouble spots for int8 are handled and recorded, never hidden:
- The decoder's `Up.forward` pads only if sizes differ, a branch FX cannot trace;
  each Up is swapped for `StaticUp`, the same modules with the padding fixed from
  the study's input size (none when it divides by 2**depth), recorded as `up_pad`.
- Transposed convs (quantized ConvTranspose2d) and the skip concatenations
  (quantized cat, which requantizes its inputs to one scale) run quantized under
  qnnpack. `keep_float: [module names]` leaves layers in float (the converter adds
  the dequantize/quantize round trips around them).
- Per layer, what ran int8 and what ran float is read from the converted graph
  (`layers` in the arch), with the count of quantize/dequantize ops.

Engine: `torch.backends.quantized.engine` is set to the scheme's engine when the
model is built or rebuilt, because quantized weights are packed for the engine
current at load. A lite-interpreter runtime packs them again when it loads the
.ptl, for its own current engine (qnnpack on ARM phones).

torch.ao.quantization warns that it is deprecated in favour of torchao's PT2E flow;
PT2E produces graphs for ExecuTorch, not the quantized TorchScript ops the lite
interpreter runs, so for `.ptl` this is still the flow to use.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.ao.quantization import get_default_qat_qconfig_mapping, get_default_qconfig_mapping
from torch.ao.quantization.backend_config import get_fbgemm_backend_config, get_qnnpack_backend_config
from torch.ao.quantization.backend_config.x86 import get_x86_backend_config
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx, prepare_qat_fx

from ..errors import ConfigError
from ..models import UNet
from ..models.unet import Up
from ._common import (baseline_copy, conv_layers, example_input, facts, level_error, remember,
                      replace_module, unet_config)
from ._registry import Method, register_method

BACKENDS = {"qnnpack": get_qnnpack_backend_config, "x86": get_x86_backend_config, "fbgemm": get_fbgemm_backend_config}
FX_SCHEMES = {"int8": "fx static post-training", "int8_qat": "fx quantization-aware training"}
WEIGHT_ONLY = {"fp16_weights": torch.float16, "int8_weights": torch.int8}
SCHEMES = [*FX_SCHEMES, *WEIGHT_ONLY]
_CALIBRATION = "frbench_calibration"  # the training images, carried on the model from build to finalize


# ---- configuration -----------------------------------------------------------------------------

def options(params: dict) -> dict:
    """The method's config keys, checked: engine, calibration_images, keep_float."""
    engine = params.get("engine", "qnnpack")
    if engine not in BACKENDS or engine not in torch.backends.quantized.supported_engines:
        usable = [e for e in BACKENDS if e in torch.backends.quantized.supported_engines]
        raise ConfigError(f"methods.quantize.engine: {engine!r} is not usable here; choose one of {usable}")
    n = params.get("calibration_images", 64)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ConfigError(f"methods.quantize.calibration_images: a positive integer, not {n!r}")
    keep = params.get("keep_float", [])
    if not isinstance(keep, list) or not all(isinstance(k, str) for k in keep):
        raise ConfigError(f"methods.quantize.keep_float: a list of module names, not {keep!r}")
    return {"engine": engine, "calibration_images": n, "keep_float": keep}


def use_engine(engine: str) -> None:
    torch.backends.quantized.engine = engine


def qconfig_mapping(engine: str, qat: bool, keep_float: list[str]):
    mapping = get_default_qat_qconfig_mapping(engine) if qat else get_default_qconfig_mapping(engine)
    for name in keep_float:
        mapping.set_module_name(name, None)
    return mapping


def describe_qconfig(mapping) -> dict:
    """The global qconfig as plain data: observer (or fake-quant) class, dtype, scheme, range."""
    def one(factory):
        obs = factory()
        return {"class": type(obs).__name__, "dtype": str(obs.dtype).removeprefix("torch."),
                "qscheme": str(obs.qscheme).removeprefix("torch."), "quant_min": obs.quant_min,
                "quant_max": obs.quant_max}
    q = mapping.global_qconfig
    return {"activation": one(q.activation), "weight": one(q.weight)}


# ---- UNet made traceable ------------------------------------------------------------------------

class StaticUp(nn.Module):
    """`Up` with its padding fixed in advance: the same submodules (and state-dict
    names), no data-dependent branch, so FX can trace it."""

    def __init__(self, up: Up, pad: list[int]):
        super().__init__()
        self.up, self.conv = up.up, up.conv
        self.pad = nn.ZeroPad2d(tuple(pad)) if any(pad) else None

    def forward(self, x1, x2):
        x1 = self.up(x1)
        if self.pad is not None:
            x1 = self.pad(x1)
        return self.conv(torch.cat([x2, x1], dim=1))


@torch.no_grad()
def up_padding(model: UNet, x: torch.Tensor) -> dict[str, list[int]]:
    """[left, right, top, bottom] padding each Up applies at input x (milesial's rule)."""
    pads, handles = {}, []

    def probe(name):
        def hook(module, args):
            up_hw = module.up(args[0]).shape[-2:]
            dy, dx = args[1].shape[-2] - up_hw[0], args[1].shape[-1] - up_hw[1]
            pads[name] = [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2]
        return hook

    for name, m in model.named_children():
        if isinstance(m, Up):
            handles.append(m.register_forward_pre_hook(probe(name)))
    try:
        model.eval()(x)
    finally:
        for h in handles:
            h.remove()
    return pads


def with_static_ups(model: UNet, pads: dict[str, list[int]]) -> UNet:
    for name, pad in pads.items():
        setattr(model, name, StaticUp(getattr(model, name), pad))
    return model


# ---- FX graph mode -----------------------------------------------------------------------------

def fx_prepare(model: nn.Module, info: dict) -> nn.Module:
    """Insert observers (static) or fake quantizers (QAT), as the arch describes."""
    qat = info["scheme"] == "int8_qat"
    example = (torch.zeros(info["input_shape"]),)
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


# ---- weight-only storage ------------------------------------------------------------------------

class WeightOnlyConv(nn.Module):
    """A conv (or transposed conv) whose weight is stored in a small dtype (float16,
    or int8 with a float32 scale per output channel) and expanded to float32 at each
    call; bias and arithmetic stay float32."""

    def __init__(self, conv: nn.Module, dtype: torch.dtype):
        super().__init__()
        self.transposed = isinstance(conv, nn.ConvTranspose2d)
        self.stride, self.padding, self.dilation, self.groups = conv.stride, conv.padding, conv.dilation, conv.groups
        self.output_padding = getattr(conv, "output_padding", (0, 0))
        self.register_buffer("weight", torch.zeros(conv.weight.shape, dtype=dtype))
        out_dim = 1 if self.transposed else 0
        scale_shape = [1] * conv.weight.dim()
        scale_shape[out_dim] = conv.weight.shape[out_dim]
        self.register_buffer("scale", torch.ones(scale_shape) if dtype == torch.int8 else None)
        self.bias = None if conv.bias is None else nn.Parameter(torch.zeros_like(conv.bias))

    @torch.no_grad()
    def store(self, conv: nn.Module) -> "WeightOnlyConv":
        w = conv.weight.detach()
        if self.scale is None:
            self.weight.copy_(w.to(self.weight.dtype))
        else:  # symmetric per-output-channel int8
            dims = [d for d in range(w.dim()) if self.scale.shape[d] == 1]
            scale = w.abs().amax(dim=dims, keepdim=True).clamp_min(1e-12) / 127
            self.scale.copy_(scale)
            self.weight.copy_(torch.round(w / scale).clamp(-127, 127).to(torch.int8))
        if conv.bias is not None:
            self.bias.copy_(conv.bias)
        return self

    def forward(self, x):
        w = self.weight.float() if self.scale is None else self.weight.float() * self.scale
        if self.transposed:
            return F.conv_transpose2d(x, w, self.bias, self.stride, self.padding, self.output_padding, self.groups,
                                      self.dilation)
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


def weight_only(model: nn.Module, dtype: torch.dtype, keep_float: list[str], fill: bool) -> dict:
    """Swap every conv not in keep_float for a WeightOnlyConv (filled from it if `fill`)."""
    layers = {}
    for name, conv in conv_layers(model).items():
        if name in keep_float:
            layers[name] = {"op": type(conv).__name__, "runs": "float", "weights": "float32"}
            continue
        new = WeightOnlyConv(conv, dtype)
        replace_module(model, name, new.store(conv) if fill else new)
        layers[name] = {"op": type(conv).__name__, "runs": "float", "weights": str(dtype).removeprefix("torch.")}
    return layers


# ---- the method --------------------------------------------------------------------------------

def parse_scheme(level: str) -> str:
    if level not in SCHEMES:
        raise level_error("quantize", level, f"one of {SCHEMES}")
    return level


@register_method
class Quantize(Method):
    name = "quantize"
    from_baseline = True

    def build(self, level, ctx):
        scheme = parse_scheme(level)
        opts = options(ctx.params)
        model = baseline_copy(ctx, self.name)
        x = example_input(ctx)
        info = {"unet": model.cfg.to_dict(), "scheme": scheme, "engine": opts["engine"],
                "keep_float": opts["keep_float"], "input_shape": list(x.shape)}
        if scheme in WEIGHT_ONLY:
            info["flow"] = "weight-only storage, float32 compute"
            return remember(model, **info)
        use_engine(opts["engine"])
        qat = scheme == "int8_qat"
        info.update(flow=FX_SCHEMES[scheme], up_pad=up_padding(model, x),
                    qconfig=describe_qconfig(qconfig_mapping(opts["engine"], qat, opts["keep_float"])))
        if qat:
            model = fx_prepare(with_static_ups(model, info["up_pad"]), info)
        else:
            info["calibration_images"] = min(opts["calibration_images"], len(ctx.calibration))
            model.__dict__[_CALIBRATION] = ctx.calibration
        return remember(model, **info)

    def finalize(self, model):
        info = facts(model)
        scheme = info["scheme"]
        if scheme in WEIGHT_ONLY:
            return remember(model, layers=weight_only(model, WEIGHT_ONLY[scheme], info["keep_float"], fill=True))
        use_engine(info["engine"])
        if scheme == "int8":  # observe the fine-tuned float model on training images
            images = model.__dict__.pop(_CALIBRATION)
            model = fx_prepare(with_static_ups(model, info["up_pad"]), info)
            calibrate(model, images, info["calibration_images"])
        converted = fx_convert(model, info)
        return remember(converted, **info, **layer_record(converted))

    def arch(self, model):
        return facts(model)

    def rebuild(self, arch):
        model = UNet(unet_config(arch))
        if arch["scheme"] in WEIGHT_ONLY:
            weight_only(model, WEIGHT_ONLY[arch["scheme"]], arch["keep_float"], fill=False)
            return model
        use_engine(arch["engine"])
        prepared = fx_prepare(with_static_ups(model, arch["up_pad"]), arch)
        with warnings.catch_warnings():  # observers that never saw data: the state dict brings the qparams
            warnings.simplefilter("ignore", UserWarning)
            return fx_convert(prepared, arch)
