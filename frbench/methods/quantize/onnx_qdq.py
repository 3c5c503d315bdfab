"""The int8 `.onnx`: what a mobile engineer makes with ONNX Runtime's own tools, its static quantization
(`onnxruntime.quantization.quantize_static`, QDQ format: QuantizeLinear/DequantizeLinear pairs around
each quantized op, which ONNX Runtime fuses into int8 kernels when it loads the file), applied at
export to the float weights the FX flow quantized, calibrated on the first `calibration_images`
training images one at a time in order (MinMax, so reruns give the same bytes). As the XNNPACK
quantizer does for `.pte`: int8 weights, symmetric per output channel; int8 activations per tensor.

The float graph is the `.onnx` exporter's (frbench.formats.onnx.export.to_onnx), pre-processed as
ONNX Runtime's documentation asks before quantizing (`quant_pre_process`: ONNX shape inference and its
basic graph optimizations, which fold BatchNorm into the convolutions)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
import torch.nn as nn


def quantize_for_onnxruntime(model: nn.Module, example: torch.Tensor, calibration):
    """Int8 QDQ of `model` by ONNX Runtime's static quantization, calibrated on `calibration` (an iterable of
    input batches). Returns the `onnx.ModelProto` the `.onnx` format writes as it is."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from ...formats.onnx.clean import phone_graph
    from ...formats.onnx.export import to_onnx

    graph = to_onnx(model, example)
    name = graph.graph.input[0].name

    class Images(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(list(calibration))

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {name: batch.contiguous().numpy()}

    with tempfile.TemporaryDirectory(prefix="frbench-qdq-") as d:
        float_path, pre_path, int8_path = (Path(d) / f for f in ("float.onnx", "pre.onnx", "int8.onnx"))
        onnx.save_model(graph, str(float_path))
        quant_pre_process(str(float_path), str(pre_path), skip_symbolic_shape=True)  # it reads no Constant of ints
        quantize_static(str(pre_path), str(int8_path), Images(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
        return phone_graph(onnx.load(str(int8_path)))


def onnx_flow(info: dict) -> str:
    """How the .onnx of an int8 scheme is made, in words (the export record's `onnx_flow`)."""
    source = "the QAT-trained float weights" if info["scheme"] == "int8_qat" else "the fine-tuned float weights"
    flow = (f"onnxruntime.quantization.quantize_static, QDQ (symmetric int8 weights per channel, int8 activations per "
            f"tensor, MinMax) of {source}, calibrated on the first {info['calibration_images']} training images in order")
    if info["keep_float"]:
        flow += f"; keep_float {info['keep_float']} applies to .ptl only: the .onnx quantizes every layer"
    return flow
