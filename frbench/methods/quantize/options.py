"""The quantize method's configuration: its schemes (the levels), the engine, and the qconfig."""

from __future__ import annotations

import torch
from torch.ao.quantization import get_default_qat_qconfig_mapping, get_default_qconfig_mapping
from torch.ao.quantization.backend_config import get_fbgemm_backend_config, get_qnnpack_backend_config
from torch.ao.quantization.backend_config.x86 import get_x86_backend_config

from ...errors import ConfigError
from .._common import level_error

BACKENDS = {"qnnpack": get_qnnpack_backend_config, "x86": get_x86_backend_config, "fbgemm": get_fbgemm_backend_config}
FX_SCHEMES = {"int8": "fx static post-training", "int8_qat": "fx quantization-aware training"}
WEIGHT_ONLY = {"fp16_weights": torch.float16, "int8_weights": torch.int8}
SCHEMES = [*FX_SCHEMES, *WEIGHT_ONLY]
OPTIONS = {  # the `methods.quantize` block's keys besides `levels` (Method.option_schema)
    "engine": {"enum": list(BACKENDS), "default": "qnnpack",
               "description": "quantized engine; qnnpack is what the lite interpreter runs on phones"},
    "calibration_images": {"type": "integer", "minimum": 1, "default": 64,
                           "description": "training images observed by static int8"},
    "keep_float": {"type": "array", "items": {"type": "string"}, "default": [],
                   "description": "module names left in float (e.g. up1.up); the record says what ran int8"},
}


def parse_scheme(level: str) -> str:
    if level not in SCHEMES:
        raise level_error("quantize", level, f"one of {SCHEMES}")
    return level


def options(params: dict) -> dict:
    """The method's config keys (over their defaults), checked: engine, calibration_images, keep_float."""
    engine = params["engine"]
    if engine not in BACKENDS or engine not in torch.backends.quantized.supported_engines:
        usable = [e for e in BACKENDS if e in torch.backends.quantized.supported_engines]
        raise ConfigError(f"methods.quantize.engine: {engine!r} is not usable here; choose one of {usable}")
    n = params["calibration_images"]
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ConfigError(f"methods.quantize.calibration_images: a positive integer, not {n!r}")
    keep = params["keep_float"]
    if not isinstance(keep, list) or not all(isinstance(k, str) for k in keep):
        raise ConfigError(f"methods.quantize.keep_float: a list of module names, not {keep!r}")
    return {"engine": engine, "calibration_images": n, "keep_float": keep}


def use_engine(engine: str) -> None:
    """Quantized weights are packed for the engine current at load: set it before building or rebuilding."""
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
