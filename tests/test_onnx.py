"""ONNX Runtime (`.onnx`): the tiny UNet exported, read back and run on the host; its weights-only
update (external data); FR's compact graph and ONNX Runtime's folding of its unpack at load; int8 by
ONNX Runtime's static quantization; damaged files as error rows; and every model of the tiny study."""

import json
import shutil
from collections import Counter

import onnx
import pytest
import torch

from frbench.bench.job import bench_model
from frbench.build import build_model
from frbench.checkpoint import save_checkpoint
from frbench.data import load_split
from frbench.export import UpdateFiles, export_model
from frbench.formats import get_format
from frbench.formats.onnx.reader import external_bytes
from frbench.fr import fr_layers, kept_counts
from frbench.methods import get_method, load_model
from frbench.models import UNet, UNetConfig

from conftest import TINY_UNET

KEY = {"method": "baseline", "level": "dense", "seed": 0, "fmt": "onnx"}
PLAN = {"warmup": 1, "iters": 3, "threads": 1, "timeout_s": 120, "dice_images": 0}


@pytest.fixture(scope="module")
def onnx_export(tmp_path_factory, tiny_dataset):
    """The tiny baseline (BatchNorm, no conv bias) exported once to .onnx, with its weights-only update."""
    d = tmp_path_factory.mktemp("onnx")
    torch.manual_seed(0)
    model = UNet(UNetConfig.from_dict(TINY_UNET)).eval()
    save_checkpoint(d / "model.pt", method="baseline", level="dense", arch=get_method("baseline")("dense").arch(model),
                    model=model, meta={"seed": 0})
    (d / "update").mkdir()
    update = UpdateFiles(d / "update" / "program.onnx", d / "update" / "weights_onnx.bin")
    record = export_model(key=KEY, checkpoint=d / "model.pt", data=tiny_dataset, out=d / "model.onnx",
                          record_out=d / "export_onnx.json", update=update)
    return d, record, update


def test_onnx_export_record_reads_the_file_back(onnx_export):
    d, record, _ = onnx_export
    assert record["error"] is None, record["error"]
    assert record["runtime"] == {"name": "onnxruntime", "version": record["exporter"]["onnxruntime"]}
    assert record["exporter"]["exporter"] == "torch.onnx.export(dynamo=True, optimize=False)"
    split = record["bytes_split"]
    assert sum(split.values()) == record["bytes"] == (d / "model.onnx").stat().st_size and min(split.values()) > 0
    stored = get_format("onnx").stored_tensors(d / "model.onnx")
    assert split["weights"] == sum(t.nbytes for t in stored.values())
    model, _ = load_model(d / "model.pt")
    floats = {k: v for k, v in model.state_dict().items() if v.is_floating_point()}
    # every weight and BatchNorm tensor, as stored: ONNX Runtime folds BatchNorm at load, not the file
    assert record["stored_numbers"] == sum(v.numel() for v in floats.values())
    assert record["graph"]["ops"]["Conv"] == 11 and record["graph"]["ops"]["ConvTranspose"] == 2
    assert record["fidelity"]["max_abs_diff"] < 1e-5 and record["fidelity"]["pixels_disagreeing"] == 0
    # the phone's file carries no exporter metadata (stack traces named absolute source paths)
    proto = onnx.load(str(d / "model.onnx"))
    assert not any(n.metadata_props or n.doc_string for n in proto.graph.node) and not proto.graph.value_info


def test_the_weights_only_update_gives_the_whole_files_outputs(onnx_export, tiny_dataset):
    """The program keeps no weight inline; with its external data file it gives the whole file's outputs, in
    the export's check, in the runtime and in the benchmark, where it runs as a pair under the same plan."""
    d, record, update = onnx_export
    facts = record["exporter"]["weights_update"]
    assert facts["max_abs_diff_vs_file"] == 0.0
    assert facts["data_bytes"] == update.weights.stat().st_size == record["bytes_split"]["weights"]
    assert get_format("onnx").split(update.program)["weights"] == 0
    assert external_bytes(update.program) == facts["data_bytes"]
    assert facts["program_bytes"] == update.program.stat().st_size < 0.5 * record["bytes"]
    fmt = get_format("onnx")
    whole, pair = fmt.load(d / "model.onnx"), fmt.load(update.program, update.weights)
    images, _ = load_split(tiny_dataset, "test")
    for i in range(len(images)):
        assert torch.equal(fmt.run(pair, images[i : i + 1]), fmt.run(whole, images[i : i + 1]))

    out = d / "bench.json"
    bench_model(key=KEY, device="host", model=str(d / "model.onnx"), export_record=str(d / "export_onnx.json"),
                data=str(tiny_dataset), plan=PLAN, out=str(out), update=(str(update.program), str(update.weights)))
    result = json.loads(out.read_text())
    assert result["error"] is None and len(result["values"]) == 3 and result["runtime"]["name"] == "onnxruntime"
    session = result["metadata"]["session"]
    assert session["graph_optimization_level"] == "ORT_ENABLE_ALL" and session["intra_op_num_threads"] == 1
    assert result["weights_update"]["error"] is None
    assert result["weights_update"]["accuracy"]["dice_per_image"] == result["accuracy"]["dice_per_image"]


def test_a_weights_file_away_from_its_program_is_refused_naming_both(onnx_export, tmp_path):
    _, _, update = onnx_export
    away = tmp_path / update.weights.name
    shutil.copyfile(update.weights, away)
    with pytest.raises(RuntimeError, match=f"external data from the program's folder.*put {away} beside it"):
        get_format("onnx").load(update.program, away)


@pytest.mark.parametrize("damage", ["truncated", "tampered"])
def test_a_damaged_onnx_is_an_error_row_naming_the_file_and_the_command_that_rebuilds_it(damage, onnx_export,
                                                                                        tiny_dataset, tmp_path):
    d, _, _ = onnx_export
    data = (d / "model.onnx").read_bytes()
    bad = tmp_path / "model.onnx"
    bad.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"\xff" * 64 + data[64:])
    out = tmp_path / "bench.json"
    # the export record's sha256 refuses it before ONNX Runtime sees it (frbench.bench.verify) ...
    result = bench_model(key=KEY, device="host", model=str(bad), export_record=str(d / "export_onnx.json"),
                         data=str(tiny_dataset), plan=PLAN, out=str(out))
    assert result["error"].startswith(f"BenchError: {bad}: its sha256") and "--forcerun" in result["error"]
    assert json.loads(out.read_text())["load_ms"] is None
    # ... and a record that holds none (an older study's) leaves it to ONNX Runtime, which names it too
    unchecked = tmp_path / "export_onnx.json"
    unchecked.write_text(json.dumps({**json.loads((d / "export_onnx.json").read_text()), "sha256": None}))
    result = bench_model(key=KEY, device="host", model=str(bad), export_record=str(unchecked),
                         data=str(tiny_dataset), plan=PLAN, out=str(out))
    assert result["error"] and str(bad) in result["error"] and "ONNX Runtime could not load it" in result["error"]
    assert "--forcerun" in result["error"] and "snakemake" in result["error"]
    assert json.loads(out.read_text())["load_ms"] is None


# ---- FR's compact graph ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fr_onnx(tmp_path_factory, tiny_dataset):
    d = tmp_path_factory.mktemp("fr_onnx")
    config = {"unet": TINY_UNET, "train": {"epochs": 2, "batch_size": 8, "lr": 0.01},
              "options": {"layer_bias": False}}
    build_model(method="fr", level="k12", seed=0, data=str(tiny_dataset), config=config, out=d / "fr.pt",
                record_out=d / "fr.json", threads=1, progress=False)
    record = export_model(key={"method": "fr", "level": "k12", "seed": 0, "fmt": "onnx"}, checkpoint=d / "fr.pt",
                          data=tiny_dataset, out=d / "fr.onnx", record_out=d / "export_onnx.json",
                          update=UpdateFiles(d / "program.onnx", d / "weights_onnx.bin"))
    return d, record


def test_fr_compact_onnx_stores_only_its_coefficients_and_extras(fr_onnx):
    """The file's initializers are FR's float16 coefficients and the float32 extras (BatchNorm here):
    the unpack's DCT rows and zigzag order are made in the graph from integers, never stored."""
    d, record = fr_onnx
    assert record["error"] is None, record["error"]
    model, _ = load_model(d / "fr.pt")
    kept = sum(kept_counts(model).values())
    extras = sum(m.numel() for k, m in model.state_dict().items()
                 if k.split(".")[-1] in ("bias", "weight", "running_mean", "running_var") and "coeffs" not in k
                 and not any(k.startswith(f"{n}.") for n, _ in fr_layers(model)))
    proto = onnx.load(str(d / "fr.onnx"))
    assert sorted(t.name for t in proto.graph.initializer) == ["coeffs", "extras"]
    assert record["compact"] is True and record["stored_by_dtype"] == {"float16": kept, "float32": extras}
    assert record["bytes_split"]["weights"] == 2 * kept + 4 * extras
    assert record["dense_export"]["stored_numbers"] >= 5 * record["stored_numbers"]
    assert record["fidelity"]["max_abs_diff"] < 1e-4 and record["fidelity"]["pixels_disagreeing"] == 0
    assert record["exporter"]["weights_update"]["data_bytes"] == 2 * kept + 4 * extras
    assert record["exporter"]["weights_update"]["max_abs_diff_vs_file"] < 1e-6


def test_onnx_runtime_folds_frs_unpack_into_the_convolutions_when_it_loads_the_file(fr_onnx, tmp_path):
    """The stored graph unpacks (matrix products, scatter, cosines); the session ONNX Runtime makes of it
    runs plain convolutions: the unpack is a once-per-load step, inside load_ms."""
    import onnxruntime as ort

    from frbench.formats.onnx.runtime import session_options

    d, _ = fr_onnx
    stored = Counter(n.op_type for n in onnx.load(str(d / "fr.onnx")).graph.node)
    assert stored["MatMul"] > 0 and stored["Cos"] > 0 and stored["TopK"] > 0
    so, _ = session_options(1)
    so.optimized_model_filepath = str(tmp_path / "as_run.onnx")
    ort.InferenceSession(str(d / "fr.onnx"), so, providers=["CPUExecutionProvider"])
    run = Counter(n.op_type for n in onnx.load(str(tmp_path / "as_run.onnx")).graph.node)
    assert not {"MatMul", "FusedMatMul", "Cos", "TopK", "ScatterND", "ScatterElements", "Range"} & set(run), run
    assert run["Conv"] > 0


# ---- int8 ----------------------------------------------------------------------------------------------


def test_int8_onnx_is_onnx_runtimes_static_qdq_of_the_float_weights(tiny_checkpoint, tiny_dataset, tmp_path):
    from method_helpers import compress

    path, _ = compress(tmp_path, tiny_dataset, tiny_checkpoint, "quantize", "int8", calibration_images=4)
    record = export_model(key={"method": "quantize", "level": "int8", "seed": 0, "fmt": "onnx"}, checkpoint=path,
                          data=tiny_dataset, out=tmp_path / "q.onnx", record_out=tmp_path / "q.json",
                          update=UpdateFiles(tmp_path / "program.onnx", tmp_path / "weights_onnx.bin"))
    assert record["error"] is None, record["error"]
    assert record["exporter"]["quantized"] is True and "quantize_static, QDQ" in record["onnx_flow"]
    assert record["graph"]["ops"]["QuantizeLinear"] > 0 and record["graph"]["ops"]["DequantizeLinear"] > 0
    assert record["stored_by_dtype"]["int8"] > 0.9 * sum(record["stored_by_dtype"].values())
    assert record["exporter"]["weights_update"]["data_bytes"] == record["bytes_split"]["weights"]  # zero points too
    # ONNX Runtime's int8 against the FX-quantized eager model: the same masks up to a few pixels' rounding
    assert abs(record["fidelity"]["dice_exported"] - record["fidelity"]["dice_eager"]) < 0.1


# ---- every model of the tiny study ---------------------------------------------------------------------


@pytest.mark.slow
def test_every_model_of_the_tiny_study_exports_reads_back_runs_and_benchmarks_as_onnx(tiny_study):
    records = sorted(tiny_study.glob("export/*/*/seed*/export_onnx.json"))
    assert len(records) >= 8
    for path in records:
        rec = json.loads(path.read_text())
        assert rec["error"] is None, (path, rec["error"])
        assert sum(rec["bytes_split"].values()) == rec["bytes"], path
        if rec["exporter"]["quantized"]:  # int8 against the FX-quantized eager model
            assert abs(rec["fidelity"]["dice_exported"] - rec["fidelity"]["dice_eager"]) < 0.1, path
        else:
            assert rec["fidelity"]["max_abs_diff"] < 1e-3, path
        method, level, seed = path.parts[-4:-1]
        bench = json.loads((tiny_study / "bench" / "host" / method / level / seed / "onnx.json").read_text())
        assert bench["error"] is None and bench["values"] and bench["runtime"]["name"] == "onnxruntime", path
        assert bench["weights_update"]["error"] is None, path
