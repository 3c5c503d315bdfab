"""quantize: int8 (FX, qnnpack) runs in the lite interpreter and records what ran int8; its .pte
is the XNNPACK quantizer's (PT2E) int8 of the float weights the checkpoint keeps."""


import pytest
import torch
from torch.jit.mobile import _load_for_lite_interpreter

from frbench.build import build_model
from frbench.data import load_split
from frbench.errors import ConfigError, ExportError
from frbench.formats import get_format
from frbench.methods import MethodContext, get_method, load_model, load_trained
from frbench.metrics import dice_per_image, predict_mask

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
    assert sum(t.numel() for t in get_format("ptl").stored_tensors(tmp_path / "quantize-int8.ptl").values()
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
    ctx = MethodContext(unet=TINY_UNET, models={"start": base}, calibration=torch.zeros(2, 3, 32, 32))
    with pytest.raises(ConfigError, match=r"methods\.quantize\.levels: level 'int4' is malformed"):
        get_method("quantize")("int4", ctx).build()
    ctx.params = {"engine": "tensorrt"}
    with pytest.raises(ConfigError, match=r"methods\.quantize\.engine: 'tensorrt'"):
        get_method("quantize")("int8", ctx).build()


@QNNPACK
def test_odd_input_sizes_pad_in_float_and_say_so(tiny_checkpoint):
    """milesial's UNet pads the up-sampled map when a size is odd: FX cannot trace that branch, so the
    padding is fixed from the study's size (`up_pad`); it runs in float between a dequantize and a quantize."""
    base, _ = load_model(tiny_checkpoint)
    images = torch.rand(4, 3, 30, 30)  # 30 -> 15 -> 7: up1 pads 14 to 15
    ctx = MethodContext(unet=TINY_UNET, models={"start": base}, calibration=images)
    quantize = get_method("quantize")("int8", ctx)
    model = quantize.finalize(quantize.build())
    arch = quantize.arch(model)
    assert arch["up_pad"] == {"up1": [0, 1, 0, 1], "up2": [0, 0, 0, 0]}
    assert arch["summary"]["float"] == ["up1.pad"] and arch["summary"]["quantize_ops"] == 2
    assert (model(images) - base(images)).abs().max() < 0.05


# ---- int8 .pte: the XNNPACK quantizer (PT2E) on the float weights the checkpoint keeps ----------

BASELINE_TRAIN = {"epochs": 80, "batch_size": 2, "lr": 0.002}  # ~3 s: a baseline that segments (test Dice ~0.4)


@pytest.fixture(scope="module")
def int8_models(tmp_path_factory, tiny_dataset):
    """A briefly trained baseline (an untrained one predicts one class everywhere, and Dice then
    says nothing), compressed to int8 and int8_qat by the train job, each exported to .ptl and
    .pte by the export job."""
    d = tmp_path_factory.mktemp("int8-pte")
    build_model(method="baseline", level="dense", seed=0, data=str(tiny_dataset),
                config={"unet": TINY_UNET, "train": BASELINE_TRAIN, "options": {}},
                out=d / "baseline.pt", record_out=d / "baseline.json", threads=1, progress=False)
    models = {}
    for level in ("int8", "int8_qat"):
        path, _ = compress(d, tiny_dataset, d / "baseline.pt", "quantize", level, calibration_images=8)
        models[level] = {"checkpoint": path, "dir": d,
                         **{fmt: export(d, path, tiny_dataset, "quantize", level, fmt) for fmt in ("ptl", "pte")}}
    return models


def _dice(pred_logits, masks) -> float:
    return float(dice_per_image(predict_mask(pred_logits), masks).mean())


@QNNPACK
@pytest.mark.parametrize("level", ["int8", "int8_qat"])
def test_int8_pte_is_quantized_by_the_xnnpack_quantizer_and_segments_like_the_float_model(int8_models, tiny_dataset,
                                                                                           level):
    m = int8_models[level]
    rec = m["pte"]
    assert rec["error"] is None, rec["error"]
    model, ckpt = reload(m["checkpoint"])
    arch = ckpt["arch"]
    assert arch["calibration_images"] == 8 and "calibrated on the first 8 training images" in arch["pte_flow"]
    assert ("QAT-trained" in arch["pte_flow"]) == (level == "int8_qat")
    assert rec["pte_flow"] == arch["pte_flow"]  # the export record says which flow made the file
    # the float weights ride in the checkpoint's `extra`, beside the state dict of the int8 model, which they are
    # no part of
    assert any(k.startswith("float_weights.") for k in ckpt["extra"]) and not any(
        k.startswith("float_weights.") for k in ckpt["state_dict"])
    assert rec["params_eager"] == m["ptl"]["params_eager"] == 0
    ex = rec["exporter"]
    assert ex["quantized"] is True and ex["delegation"]["non_delegated_ops"] == 0
    # int8 weights read back from the file: one per conv weight of the float model (BatchNorm folded in)
    stored = get_format("pte").stored_tensors(m["dir"] / f"quantize-{level}.pte")
    int8 = sum(t.numel() for t in stored.values() if t.dtype == torch.int8)
    float_model = load_trained(m["checkpoint"]).method.float_weights
    conv_weights = sum(c.weight.numel() for c in float_model.modules() if isinstance(c, (torch.nn.Conv2d,
                                                                                           torch.nn.ConvTranspose2d)))
    assert 0.99 * conv_weights <= int8 <= conv_weights and rec["stored_by_dtype"]["int8"] == int8
    # ExecuTorch runs it; its Dice on the test images is the float model's, within what int8 costs
    images, masks = load_split(tiny_dataset, "test")
    rt = get_format("pte")
    program = rt.load(m["dir"] / f"quantize-{level}.pte")
    outs = torch.cat([rt.run(program, images[i : i + 1]) for i in range(len(images))])
    assert outs.shape == (len(images), 2, 32, 32)
    with torch.no_grad():
        ref = float_model(images)
    # What int8 changes is the logits, a little: measured against their own spread, not against a Dice
    # one CPU's training happened to reach (the tiny UNet's Dice differs in the last digits between CPUs,
    # and by several hundredths after a short fine-tune). The ratio is about 0.02 here; 0.25 is far
    # from both that and the 1.0 of a quantization gone wrong (weights or scales lost).
    error = float((outs - ref).abs().mean() / ref.std())
    print(f"{level}: mean |int8 - float| logit error = {error:.3f} of the logits' spread")
    assert error < 0.25
    assert float(rec["fidelity"]["dice_exported"]) == pytest.approx(_dice(outs, masks))


@QNNPACK
def test_the_int8_ptl_holds_the_converted_graph_alone(int8_models):
    """The float weights the .pte is quantized from are the method's extra state, not the model's: the
    .ptl holds the int8 graph's tensors only, with no float32 conv weights, and no parameters are counted."""
    m = int8_models["int8"]
    stored = get_format("ptl").stored_tensors(m["dir"] / "quantize-int8.ptl")
    assert not any(t.dtype == torch.float32 and t.dim() == 4 for t in stored.values())
    assert m["ptl"]["stored_by_dtype"] == {"float32": 95, "int64": 1, "qint8": 7380}  # float32: biases, qparams
    model, _ = load_model(m["checkpoint"])
    assert m["ptl"]["params_eager"] == sum(p.numel() for p in model.parameters()) == 0


@QNNPACK
def test_int8_pte_bytes_are_the_same_on_a_second_export(int8_models, tiny_dataset, tmp_path):
    m = int8_models["int8"]
    again = export(tmp_path, m["checkpoint"], tiny_dataset, "quantize", "int8", "pte")
    assert again["error"] is None
    assert (tmp_path / "quantize-int8.pte").read_bytes() == (m["dir"] / "quantize-int8.pte").read_bytes()


@QNNPACK
def test_int8_pte_without_training_images_or_float_weights_is_a_clear_export_error(int8_models, tmp_path):
    m = int8_models["int8"]
    method, model, _ = load_trained(m["checkpoint"])
    x = torch.zeros(1, 3, 32, 32)
    with pytest.raises(ExportError, match=r"int8 \.pte .* calibrates on 8 training images"):
        method.export_form("pte", model, x)  # calibration=None: outside the export job
    # a checkpoint without the float weights: .ptl as before, .pte names the fix
    raw = torch.load(m["checkpoint"], map_location="cpu", weights_only=True)
    raw["extra"] = {}
    torch.save(raw, tmp_path / "old.pt")
    old_method, old, _ = load_trained(tmp_path / "old.pt")
    assert torch.equal(old(x), model(x))
    with pytest.raises(ExportError, match=r"lacks the float weights .*--forcerun \S*old.pt"):
        old_method.export_form("pte", old, x, lambda n: torch.zeros(n, 3, 32, 32))
