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

`.pte` (ExecuTorch) cannot take the FX-converted modules; it gets the int8 a mobile
engineer would make with ExecuTorch's own tools, the XNNPACK quantizer (PT2E static:
int8 activations per tensor, int8 weights symmetric per output channel), applied at
export (`frbench.export.pte.quantize_for_xnnpack`) to the float weights the FX flow
quantized, calibrated on the same first `calibration_images` training images, one at
a time in order (so reruns give the same bytes). The saved model is `Int8GraphModule`:
the converted graph (what runs; its state-dict keys as before) carrying those float
weights as a float UNet outside its module tree, saved under `pte_float.*` in the
state dict; neither `torch.jit.trace` (the `.ptl`) nor `parameters()` (`params_eager`)
sees it, so the `.ptl` holds what it held without it. For int8 the twin is the
fine-tuned float UNet; for int8_qat the QAT-trained float weights (each conv's weight
and its fused BatchNorm, read from the prepared model before convert): PT2E
post-training quantization of those is the `.pte` counterpart of the QAT graph (the
fake-quantized ranges do not carry over). The flow is recorded as `pte_flow`, in the
arch and in the `.pte`'s export record. `keep_float` applies to the `.ptl` only.
"""

from __future__ import annotations

import copy
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.ao.quantization import get_default_qat_qconfig_mapping, get_default_qconfig_mapping
from torch.ao.quantization.backend_config import get_fbgemm_backend_config, get_qnnpack_backend_config
from torch.ao.quantization.backend_config.x86 import get_x86_backend_config
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx, prepare_qat_fx

from ..errors import ConfigError, ExportError
from ..models import UNet
from ..models.unet import Up
from ._common import (
    _FACTS,
    CONV_TYPES,
    baseline_copy,
    conv_layers,
    example_input,
    facts,
    level_error,
    remember,
    replace_module,
    unet_config,
)
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


# ---- the float twin, for .pte --------------------------------------------------------------------

def pte_flow(info: dict) -> str:
    """How the .pte of an int8 scheme is made, in words (the arch's and export record's `pte_flow`)."""
    source = "the QAT-trained float weights" if info["scheme"] == "int8_qat" else "the fine-tuned float weights"
    flow = (f"pt2e xnnpack static (XNNPACKQuantizer, symmetric int8 weights per channel, int8 activations per "
            f"tensor) of {source}, calibrated on the first {info['calibration_images']} training images in order")
    if info["keep_float"]:
        flow += f"; keep_float {info['keep_float']} applies to .ptl only: the .pte quantizes every layer"
    return flow


def qat_float_weights(prepared: nn.Module, cfg) -> UNet:
    """The float UNet inside a QAT-prepared graph: each conv's trained weight (and bias) is
    at the conv's own name; a BatchNorm fused into the conv before it (ConvBn(ReLU)2d) is
    that conv's `.bn`, one left alone is at its own name."""
    unet = UNet(cfg)
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


class Int8GraphModule(torch.fx.GraphModule):
    """The FX-converted int8 UNet (what runs, and all that `.ptl` holds), carrying the float
    UNet it was quantized from (`float_twin`), from which the `.pte` is quantized by the
    XNNPACK quantizer at export. The UNet config and calibration count come from the model's
    facts (the arch).

    The twin is held in a plain attribute, not registered as a submodule: `torch.jit.trace`
    copies every registered submodule into the `.ptl`, and `parameters()` (the export
    record's `params_eager`) would count it. It enters the state dict, and leaves it, under
    `pte_float.` through `_save_to_state_dict` / `_load_from_state_dict`, the hooks nn.Module
    gives a module for state it keeps its own way. So the `.ptl` exporter traces this module
    exactly as it traced the plain converted graph (the traced type keeps the name
    GraphModule; `optimize_for_mobile` still runs, which a `to_torchscript` of its own would
    stop), and the file holds the same code and tensors as before the twin existed."""

    PREFIX = "pte_float."

    @classmethod
    def of(cls, converted: torch.fx.GraphModule, float_twin: UNet) -> "Int8GraphModule":
        gm = cls(converted, converted.graph)
        gm.__dict__["float_twin"] = float_twin.eval()  # bypasses Module.__setattr__: not a submodule
        return gm

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        if self.float_twin is not None:
            for key, value in self.float_twin.state_dict(keep_vars=keep_vars).items():
                destination[prefix + self.PREFIX + key] = value

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        mine = prefix + self.PREFIX
        twin = {k.removeprefix(mine): state_dict.pop(k) for k in [k for k in state_dict if k.startswith(mine)]}
        if not twin:  # a checkpoint written before the twin existed: .ptl as before, .pte says what to do
            self.__dict__["float_twin"] = None
        else:
            result = self.float_twin.load_state_dict(twin, strict=strict)
            missing_keys.extend(mine + k for k in result.missing_keys)
            unexpected_keys.extend(mine + k for k in result.unexpected_keys)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def __deepcopy__(self, memo):
        copied = super().__deepcopy__(memo)
        for name in ("float_twin", _FACTS):
            if name in self.__dict__:
                copied.__dict__[name] = copy.deepcopy(self.__dict__[name], memo)
        return copied

    def float_model(self) -> UNet:
        """The float UNet the int8 model was quantized from, in eval mode."""
        return self.float_twin.eval()

    def to_exported_program(self, example: torch.Tensor, calibration):
        """`.pte`: the float weights through the XNNPACK quantizer, calibrated one image at a
        time (the program's static shape) on the first `calibration_images` training images."""
        from ..export.pte import quantize_for_xnnpack  # late: executorch is loaded only for .pte

        info = facts(self)
        if self.float_twin is None:
            raise ExportError(
                f"quantize/{info['scheme']}: this checkpoint predates the float weights that the int8 .pte is "
                "quantized from (no `pte_float.` entries); rebuild it (`snakemake --forcerun quantize`) and export again")
        if calibration is None:
            raise ExportError(
                f"quantize/{info['scheme']}: the int8 .pte is quantized at export by the XNNPACK quantizer, which "
                f"calibrates on {info['calibration_images']} training images; pass `calibration` (the export job, "
                "frbench.export.export_model, passes the dataset's training images)")
        images = calibration(info["calibration_images"]).float()
        if len(images) == 0:
            raise ExportError(f"quantize/{info['scheme']}: the dataset has no training images to calibrate the int8 .pte")
        batches = [images[i : i + 1] for i in range(len(images))]
        return quantize_for_xnnpack(self.float_model(), example, batches, per_channel=True)

    def export_facts(self, fmt: str, example: torch.Tensor) -> dict:
        return {"pte_flow": facts(self).get("pte_flow")} if fmt == "pte" else {}


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
                    qconfig=describe_qconfig(qconfig_mapping(opts["engine"], qat, opts["keep_float"])),
                    calibration_images=min(opts["calibration_images"], len(ctx.calibration)))
        info["pte_flow"] = pte_flow(info)
        if qat:
            model = fx_prepare(with_static_ups(model, info["up_pad"]), info)
        else:
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
            twin = copy.deepcopy(model)
            twin.__dict__.pop(_FACTS, None)
            model = fx_prepare(with_static_ups(model, info["up_pad"]), info)
            calibrate(model, images, info["calibration_images"])
        else:  # the QAT-trained float weights, before convert folds them away
            twin = qat_float_weights(model, unet_config(info))
        converted = fx_convert(model, info)
        info.update(layer_record(converted))
        return remember(Int8GraphModule.of(converted, twin), **info)

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
            converted = fx_convert(prepared, arch)
        return remember(Int8GraphModule.of(converted, UNet(unet_config(arch))), **arch)
