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
export (`Quantize.export_form`, `xnnpack.quantize_for_xnnpack`) to the float weights the
FX flow quantized, calibrated on the same first `calibration_images` training images,
one at a time in order (so reruns give the same bytes). The saved model is the converted
graph (what runs, and all the `.ptl` holds); the float weights are the method's
`extra_state`, saved in the checkpoint's `extra` under `float_weights.*`. For int8 they
are the fine-tuned float UNet's; for int8_qat the QAT-trained float weights (each conv's
weight and its fused BatchNorm, read from the prepared model before convert): PT2E
post-training quantization of those is the `.pte` counterpart of the QAT graph (the
fake-quantized ranges do not carry over). The flow is recorded as `pte_flow`, in the
arch and in the `.pte`'s export record. `keep_float` applies to the `.ptl` only. The int8 `.onnx`
is made the same way with ONNX Runtime's own static quantization (QDQ; `onnx_qdq`, `onnx_flow`).

Modules: `options` (schemes, engine, qconfig), `traceable` (the UNet FX can trace), `fx`
(prepare, calibrate, convert, what ran int8), `weight_only`, `xnnpack` (the `.pte`'s int8), `onnx_qdq`
(the `.onnx`'s int8).
"""

from __future__ import annotations

import copy
import warnings

import torch

from ...advice import rebuild_advice, snakemake_command
from ...contract import ExportForm
from ...errors import ConfigError, ExportError
from ...models import UNet, UNetConfig
from .._common import PostTraining, example_input, rebuild_start
from .._registry import register_method
from .fx import calibrate, fx_convert, fx_prepare, layer_record, qat_float_weights
from .onnx_qdq import onnx_flow, quantize_for_onnxruntime
from .options import (
    FX_SCHEMES,
    OPTIONS,
    WEIGHT_ONLY,
    describe_qconfig,
    options,
    parse_scheme,
    qconfig_mapping,
    use_engine,
)
from .traceable import up_padding, with_static_ups
from .weight_only import weight_only
from .xnnpack import pte_flow, quantize_for_xnnpack

#: formats whose int8 file is made at export by the runtime's own quantizer: (quantize, flow in words)
RUNTIME_INT8 = {"pte": (quantize_for_xnnpack, pte_flow), "onnx": (quantize_for_onnxruntime, onnx_flow)}
FLOAT_WEIGHTS = "float_weights."  # the checkpoint's `extra` entries: the float UNet the int8 .pte is quantized from


@register_method
class Quantize(PostTraining):
    name = "quantize"
    option_schema = OPTIONS

    def __init__(self, level, ctx=None):
        super().__init__(level, ctx)
        self.scheme = self.setting
        self.float_weights: UNet | None = None  # int8 schemes: what the .pte is quantized from

    def parse_level(self, level):
        return parse_scheme(level)

    def check_study(self, study):
        """The engine must be usable here, and every `keep_float` name a module of the study's UNet
        (a name of another depth would be ignored without a word)."""
        keep = options(self.params)["keep_float"]
        cfg = UNetConfig.from_dict(self.ctx.unet)
        with torch.device("meta"):  # shapes only
            modules = [name for name, _ in UNet(cfg).named_modules() if name]
        unknown = [name for name in keep if name not in modules]
        if unknown:
            top = [name for name in modules if "." not in name]
            raise ConfigError(
                f"methods.quantize.keep_float {unknown} and model.depth {cfg.depth} cannot go together: no module of "
                f"the UNet has that name (its top-level modules: {', '.join(top)}; e.g. up1.up); fix the names")

    def build(self):
        opts = options(self.params)
        model = self.start_model()
        x = example_input(self.ctx)
        info = self.facts
        info.update(unet=model.cfg.to_dict(), scheme=self.scheme, engine=opts["engine"], keep_float=opts["keep_float"],
                    input_shape=list(x.shape))
        if self.scheme in WEIGHT_ONLY:
            info["flow"] = "weight-only storage, float32 compute"
            return model
        use_engine(opts["engine"])
        qat = self.scheme == "int8_qat"
        info.update(flow=FX_SCHEMES[self.scheme], up_pad=up_padding(model, x),
                    qconfig=describe_qconfig(qconfig_mapping(opts["engine"], qat, opts["keep_float"])),
                    calibration_images=min(opts["calibration_images"], len(self.ctx.calibration)))
        info["pte_flow"] = pte_flow(info)
        return fx_prepare(with_static_ups(model, info["up_pad"]), info) if qat else model

    def finalize(self, model):
        info = self.facts
        if self.scheme in WEIGHT_ONLY:
            info["layers"] = weight_only(model, WEIGHT_ONLY[self.scheme], info["keep_float"], fill=True)
            return model
        use_engine(info["engine"])
        if self.scheme == "int8":  # observe the fine-tuned float model on training images
            self.float_weights = copy.deepcopy(model).eval()
            model = fx_prepare(with_static_ups(model, info["up_pad"]), info)
            calibrate(model, self.ctx.calibration, info["calibration_images"])
        else:  # the QAT-trained float weights, before convert folds them away
            self.float_weights = qat_float_weights(model, rebuild_start(info)).eval()
        converted = fx_convert(model, info)
        info.update(layer_record(converted))
        return converted

    def arch(self, model):
        return dict(self.facts)  # the converted graph has no UNet config of its own: the facts carry it

    def extra_state(self):
        if self.float_weights is None:
            return {}
        return {FLOAT_WEIGHTS + k: v for k, v in self.float_weights.state_dict().items()}

    def rebuild(self, arch):
        self.facts = dict(arch)
        model = rebuild_start(arch)
        if arch["scheme"] in WEIGHT_ONLY:
            weight_only(model, WEIGHT_ONLY[arch["scheme"]], arch["keep_float"], fill=False)
            return model
        use_engine(arch["engine"])
        prepared = fx_prepare(with_static_ups(model, arch["up_pad"]), arch)
        with warnings.catch_warnings():  # observers that never saw data: the state dict brings the qparams
            warnings.simplefilter("ignore", UserWarning)
            return fx_convert(prepared, arch)

    def set_extra_state(self, state):
        weights = {k.removeprefix(FLOAT_WEIGHTS): v for k, v in state.items() if k.startswith(FLOAT_WEIGHTS)}
        if weights:
            self.float_weights = rebuild_start(self.facts)
            self.float_weights.load_state_dict(weights)
            self.float_weights.eval()

    def export_form(self, fmt, model, example, calibration=None):
        """`.ptl`: the FX-converted model; `.pte` and `.onnx` of an int8 scheme: the float weights quantized by
        that runtime's own tool (the XNNPACK quantizer; ONNX Runtime's static quantization)."""
        if fmt not in RUNTIME_INT8 or self.scheme in WEIGHT_ONLY:
            return ExportForm(model)
        quantize, flow = RUNTIME_INT8[fmt]
        return ExportForm(model, program=self._int8_program(fmt, quantize, example, calibration),
                          facts={f"{fmt}_flow": self.facts.get(f"{fmt}_flow") or flow(self.facts)})

    def _int8_program(self, fmt, quantize, example, calibration):
        """The float weights through the runtime's quantizer, calibrated one image at a time (the
        program's static shape) on the first `calibration_images` training images."""
        where, n = f"quantize/{self.scheme}", self.facts["calibration_images"]
        if self.float_weights is None:
            fix = rebuild_advice(self.checkpoint) if self.checkpoint else f"rebuild it: {snakemake_command()}"
            raise ExportError(f"{where}: this checkpoint lacks the float weights that the int8 .{fmt} is quantized from "
                              f"(no `{FLOAT_WEIGHTS}` entries in its `extra`); {fix}")
        if calibration is None:
            raise ExportError(f"{where}: the int8 .{fmt} is quantized at export by its runtime's quantizer, which "
                              f"calibrates on {n} training images; pass `calibration` (the export job, "
                              "frbench.export.export_model, passes the dataset's training images)")
        images = calibration(n).float()
        if len(images) == 0:
            raise ExportError(f"{where}: the dataset has no training images to calibrate the int8 .{fmt}")
        return quantize(self.float_weights, example, [images[i : i + 1] for i in range(len(images))])
