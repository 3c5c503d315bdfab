"""quantize: int8 (FX, qnnpack) runs in the lite interpreter and records what ran int8."""

import pytest
import torch
from torch.jit.mobile import _load_for_lite_interpreter

from frbench.checkpoint import load_model
from frbench.errors import ConfigError
from frbench.export.ptl import LiteExporter
from frbench.methods import MethodContext, get_method

from conftest import TINY_UNET
from method_helpers import compress, export, reload

QNNPACK = pytest.mark.skipif("qnnpack" not in torch.backends.quantized.supported_engines,
                             reason="this torch build has no qnnpack engine")


@QNNPACK
def test_static_int8_runs_in_the_lite_interpreter_and_records_its_layers(tmp_path, tiny_dataset, tiny_checkpoint):
    path, record = compress(tmp_path, tiny_dataset, tiny_checkpoint, "quantize", "int8", calibration_images=8)
    model, ckpt = reload(path)
    arch = ckpt["arch"]
    assert arch["engine"] == "qnnpack" and arch["calibration_images"] == 8
    assert arch["qconfig"]["weight"]["dtype"] == "qint8" and arch["qconfig"]["activation"]["dtype"] == "quint8"
    layers = arch["layers"]
    # every conv, both transposed convs and both skip concatenations ran int8; one quantize at the input,
    # one dequantize at the output, no round trips between
    assert layers["up1.up"] == {"op": "quantized.ConvTranspose2d", "runs": "int8"}
    assert layers["cat"]["runs"] == layers["cat_1"]["runs"] == "int8"
    assert arch["summary"]["float"] == [] and arch["summary"]["int8"] == len(layers)
    assert arch["summary"]["quantize_ops"] == 1 and arch["summary"]["dequantize_ops"] == 1
    assert record["budget"] == "finetune"

    rec = export(tmp_path, path, tiny_dataset, "quantize", "int8")
    assert rec["error"] is None
    assert rec["fidelity"]["max_abs_diff"] < 1e-4  # the lite interpreter runs the same int8 kernels
    # the int8 weights are counted from the file, by dtype
    assert rec["stored_by_dtype"]["qint8"] >= 7000
    base = export(tmp_path, tiny_checkpoint, tiny_dataset, "baseline", "dense")
    assert rec["bytes"] < base["bytes"] and rec["stored_numbers"] < base["stored_numbers"]
    float_model, _ = load_model(tiny_checkpoint)
    lite = _load_for_lite_interpreter(str(tmp_path / "quantize-int8.ptl"))
    x = torch.rand(1, 3, 32, 32)
    assert torch.allclose(lite(x), model(x), atol=1e-4)
    assert sum(t.numel() for t in LiteExporter.stored_tensors(tmp_path / "quantize-int8.ptl").values()
               if t.dtype == torch.qint8) == sum(p.numel() for n, p in float_model.state_dict().items()
                                                   if n.endswith("weight") and p.dim() == 4)


@QNNPACK
def test_layers_kept_float_are_recorded_with_their_round_trips(tmp_path, tiny_dataset, tiny_checkpoint):
    path, _ = compress(tmp_path, tiny_dataset, tiny_checkpoint, "quantize", "int8", keep_float=["up1.up"],
                       calibration_images=4)
    model, ckpt = reload(path)
    summary = ckpt["arch"]["summary"]
    assert ckpt["arch"]["layers"]["up1.up"]["runs"] == "float" and summary["float"] == ["up1.up"]
    assert summary["quantize_ops"] == 2 and summary["dequantize_ops"] == 2
    assert model(torch.rand(1, 3, 32, 32)).shape == (1, 2, 32, 32)


@QNNPACK
def test_quantization_aware_fine_tune_converts_to_int8(tmp_path, tiny_dataset, tiny_checkpoint):
    path, record = compress(tmp_path, tiny_dataset, tiny_checkpoint, "quantize", "int8_qat")
    model, ckpt = reload(path)
    assert ckpt["arch"]["flow"] == "fx quantization-aware training" and ckpt["arch"]["summary"]["float"] == []
    assert ckpt["arch"]["qconfig"]["weight"]["class"].endswith("FakeQuantize")
    assert len(record["epochs"]) == 2


@pytest.mark.parametrize("level,dtype", [("fp16_weights", "float16"), ("int8_weights", "int8")])
def test_weight_only_storage_halves_or_quarters_the_file(tmp_path, tiny_dataset, tiny_checkpoint, level, dtype):
    path, _ = compress(tmp_path, tiny_dataset, tiny_checkpoint, "quantize", level)
    model, ckpt = reload(path)
    assert {v["weights"] for v in ckpt["arch"]["layers"].values()} == {dtype}
    rec = export(tmp_path, path, tiny_dataset, "quantize", level)
    assert rec["error"] is None and rec["stored_by_dtype"][dtype] >= 7000
    assert rec["fidelity"]["max_abs_diff"] < 1e-4


def test_unknown_scheme_and_engine_are_named(tiny_checkpoint):
    base, _ = load_model(tiny_checkpoint)
    ctx = MethodContext(unet=TINY_UNET, baseline=base, calibration=torch.zeros(2, 3, 32, 32))
    with pytest.raises(ConfigError, match=r"methods\.quantize\.levels: level 'int4' is malformed"):
        get_method("quantize").build("int4", ctx)
    ctx.params = {"engine": "tensorrt"}
    with pytest.raises(ConfigError, match=r"methods\.quantize\.engine: 'tensorrt'"):
        get_method("quantize").build("int8", ctx)


@QNNPACK
def test_odd_input_sizes_pad_in_float_and_say_so(tiny_checkpoint):
    """milesial's UNet pads the up-sampled map when a size is odd: FX cannot trace that branch, so the
    padding is fixed from the study's size (`up_pad`); it runs in float between a dequantize and a quantize."""
    base, _ = load_model(tiny_checkpoint)
    images = torch.rand(4, 3, 30, 30)  # 30 -> 15 -> 7: up1 pads 14 to 15
    ctx = MethodContext(unet=TINY_UNET, baseline=base, calibration=images)
    quantize = get_method("quantize")
    model = quantize.finalize(quantize.build("int8", ctx))
    arch = quantize.arch(model)
    assert arch["up_pad"] == {"up1": [0, 1, 0, 1], "up2": [0, 0, 0, 0]}
    assert arch["summary"]["float"] == ["up1.pad"] and arch["summary"]["quantize_ops"] == 2
    assert (model(images) - base(images)).abs().max() < 0.05
