"""The int8 `.pte`: what a mobile engineer makes with ExecuTorch's own tools, the XNNPACK quantizer
(PT2E static: int8 activations per tensor, int8 weights symmetric per output channel), applied at
export to the float weights the FX flow quantized, calibrated on the first `calibration_images`
training images one at a time in order (so reruns give the same bytes)."""

from __future__ import annotations

import warnings

import torch
import torch.nn as nn


def quantize_for_xnnpack(model: nn.Module, example: torch.Tensor, calibration, *, per_channel: bool = True):
    """Int8 through the XNNPACK quantizer (PT2E static quantization, symmetric int8 weights, per
    channel by default): export, annotate, calibrate on `calibration` (an iterable of input batches),
    convert, export again. Returns the `ExportedProgram` the `.pte` exporter lowers."""
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", FutureWarning)  # torch.export's pytree notices, per node
        graph = torch.export.export(model.eval(), (example,)).module()
        quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=per_channel))
        prepared = prepare_pt2e(graph, quantizer)
        for batch in calibration:
            prepared(batch)
        return torch.export.export(convert_pt2e(prepared), (example,))


def pte_flow(info: dict) -> str:
    """How the .pte of an int8 scheme is made, in words (the arch's and export record's `pte_flow`)."""
    source = "the QAT-trained float weights" if info["scheme"] == "int8_qat" else "the fine-tuned float weights"
    flow = (f"pt2e xnnpack static (XNNPACKQuantizer, symmetric int8 weights per channel, int8 activations per "
            f"tensor) of {source}, calibrated on the first {info['calibration_images']} training images in order")
    if info["keep_float"]:
        flow += f"; keep_float {info['keep_float']} applies to .ptl only: the .pte quantizes every layer"
    return flow
