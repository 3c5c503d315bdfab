import json
import os
import struct

import numpy as np
import pytest
import torch
from torch.jit.mobile import _load_for_lite_interpreter

from frbench.bench.job import bench_model
from frbench.contract import ExportForm
from frbench.data import load_split
from frbench.export import UpdateFiles, export_model
from frbench.formats import get_format, list_formats
from frbench.methods import load_model
from frbench.models import UNet, UNetConfig
from frbench.weights_file import MAGIC

KEY = {"method": "baseline", "level": "dense", "seed": 0, "fmt": "ptl"}


def test_ptl_round_trip_equals_eager(tiny_checkpoint, tiny_dataset, tmp_path):
    record = export_model(key=KEY, checkpoint=tiny_checkpoint, data=tiny_dataset, out=tmp_path / "model.ptl",
                          record_out=tmp_path / "export_ptl.json")
    assert record["error"] is None
    model, _ = load_model(tiny_checkpoint)
    lite = _load_for_lite_interpreter(str(tmp_path / "model.ptl"))
    images, _ = load_split(tiny_dataset, "test")
    for i in range(len(images)):
        torch.testing.assert_close(lite(images[i : i + 1]), model(images[i : i + 1]))


def test_export_record_measures_the_file(tiny_checkpoint, tiny_dataset, tmp_path):
    export_model(key=KEY, checkpoint=tiny_checkpoint, data=tiny_dataset, out=tmp_path / "model.ptl",
                 record_out=tmp_path / "export_ptl.json")
    rec = json.loads((tmp_path / "export_ptl.json").read_text())
    assert rec["key"] == KEY
    assert rec["bytes"] == (tmp_path / "model.ptl").stat().st_size
    assert 0 < rec["gzip_bytes"] < rec["bytes"]
    model, _ = load_model(tiny_checkpoint)
    state_numbers = sum(v.numel() for v in model.state_dict().values())
    assert rec["stored_numbers"] == state_numbers  # parameters + BN statistics, read back from the file
    assert rec["params_eager"] == sum(p.numel() for p in model.parameters())
    assert rec["fidelity"]["max_abs_diff"] < 1e-5
    assert rec["fidelity"]["dice_eager"] == rec["fidelity"]["dice_exported"]
    assert rec["exporter"]["mobile_optimized"] == torch.backends.xnnpack.enabled
    assert rec["provenance"]["git"]["commit"] and rec["provenance"]["packages"]["executorch"] == "1.4.1"


def test_corrupt_checkpoint_gives_error_record_not_crash(tiny_checkpoint, tiny_dataset, tmp_path):
    tiny_checkpoint.write_bytes(b"not a checkpoint")
    record = export_model(key=KEY, checkpoint=tiny_checkpoint, data=tiny_dataset, out=tmp_path / "model.ptl",
                          record_out=tmp_path / "export_ptl.json")
    assert "truncated or corrupt" in record["error"] and str(tiny_checkpoint) in record["error"]
    assert (tmp_path / "model.ptl").stat().st_size == 0
    assert json.loads((tmp_path / "export_ptl.json").read_text())["error"] == record["error"]


def test_format_registry_lists_formats():
    assert {"ptl", "pte"} <= set(list_formats())


@pytest.mark.parametrize("fmt", ["ptl", "pte"])
def test_graph_signature_sees_operators_and_shapes_not_values(fmt, tmp_path):
    """Zeroing weights (what unstructured pruning does) keeps the graph; narrower layers
    (structured pruning) or another operator change it. Read back from each file."""
    exporter, x = get_format(fmt), torch.rand(1, 3, 32, 32)

    def graph_of(model, name):
        exporter.write(ExportForm(model.eval()), x, tmp_path / f"{name}.{fmt}")
        return exporter.graph(tmp_path / f"{name}.{fmt}")

    torch.manual_seed(0)
    model = UNet(UNetConfig.from_dict(dict(width=4, depth=2)))
    base = graph_of(model, "base")
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(torch.rand_like(p) > 0.8)
    assert graph_of(model, "zeroed")["signature"] == base["signature"]
    assert graph_of(UNet(UNetConfig.from_dict(dict(width=8, depth=2))), "wider")["signature"] != base["signature"]
    model.outc.conv = torch.nn.Sequential(model.outc.conv, torch.nn.Sigmoid())
    other_op = graph_of(model, "other_op")
    assert other_op["signature"] != base["signature"]
    assert sum(base["ops"].values()) > 0 and base["ops"] != other_op["ops"]


def test_export_record_holds_the_graph(tiny_checkpoint, tiny_dataset, tmp_path):
    record = export_model(key=KEY, checkpoint=tiny_checkpoint, data=tiny_dataset, out=tmp_path / "model.ptl",
                          record_out=tmp_path / "export_ptl.json")
    assert record["graph"] == get_format("ptl").graph(tmp_path / "model.ptl")
    assert record["graph"]["ops"]["aten::_convolution"] == sum(
        isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) for m in load_model(tiny_checkpoint)[0].modules())


# ---- what a phone downloads: the file's bytes, where they go, nothing the runtime does not read ------------


@pytest.mark.parametrize("fmt", ["ptl", "pte"])
def test_bytes_split_into_program_weights_and_container_add_up_to_the_file(fmt, tiny_checkpoint, tiny_dataset,
                                                                          tmp_path):
    record = export_model(key={**KEY, "fmt": fmt}, checkpoint=tiny_checkpoint, data=tiny_dataset,
                          out=tmp_path / f"model.{fmt}", record_out=tmp_path / f"export_{fmt}.json")
    split = record["bytes_split"]
    assert set(split) == {"program", "weights", "container"} and min(split.values()) > 0
    assert sum(split.values()) == record["bytes"] == (tmp_path / f"model.{fmt}").stat().st_size
    stored = get_format(fmt).stored_tensors(tmp_path / f"model.{fmt}")
    if fmt == "ptl":  # the tensor records are the weights, byte for byte
        assert split["weights"] == sum(t.untyped_storage().nbytes() for t in stored.values())
    else:  # XNNPACK folds BatchNorm into the convs: the weights are what the file holds, at most the state dict's
        assert split["weights"] == sum(t.nbytes for t in stored.values())


def test_the_ptl_holds_only_what_the_lite_interpreter_reads(tiny_checkpoint, tiny_dataset, tmp_path):
    """No TorchScript source, no debug tables (absolute source paths), no traced inputs: the lite
    interpreter does not read them, and a fresh process loads the file and gives the eager outputs."""
    import subprocess
    import sys
    import zipfile

    export_model(key=KEY, checkpoint=tiny_checkpoint, data=tiny_dataset, out=tmp_path / "model.ptl",
                 record_out=tmp_path / "export_ptl.json")
    with zipfile.ZipFile(tmp_path / "model.ptl") as z:
        names = [n.split("/", 1)[1] for n in z.namelist()]
    assert not [n for n in names if n.startswith(("code/", "traced_inputs")) or n.endswith(".debug_pkl")]
    assert {"bytecode.pkl", "data.pkl", "constants.pkl", "version"} <= set(names)
    images, _ = load_split(tiny_dataset, "test")
    torch.save(images[:4], tmp_path / "x.pt")
    script = ("import sys, torch\nfrom torch.jit.mobile import _load_for_lite_interpreter\n"
              "m = _load_for_lite_interpreter(sys.argv[1])\n"
              "torch.save(m(torch.load(sys.argv[2])), sys.argv[3])\n")
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "model.ptl"), str(tmp_path / "x.pt"),
                    str(tmp_path / "y.pt")], check=True, capture_output=True)
    model, _ = load_model(tiny_checkpoint)
    with torch.no_grad():
        torch.testing.assert_close(torch.load(tmp_path / "y.pt"), model(images[:4]), rtol=0, atol=1e-6)


def test_two_checkouts_at_different_paths_write_the_same_bytes(tiny_checkpoint, tiny_dataset, tmp_path):
    """The debug tables named absolute source paths; the phone's file holds none, so the same model
    exported from checkouts at different places gives the same bytes."""
    import shutil
    import subprocess
    import sys

    from conftest import ROOT

    files = []
    for place in ("a", "a/much/longer/place/for/the/second/checkout"):
        repo = tmp_path / place / "frbench-checkout"
        shutil.copytree(ROOT / "frbench", repo / "frbench", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(ROOT / "workflow" / "schemas", repo / "workflow" / "schemas")
        out = tmp_path / f"{len(files)}.ptl"
        subprocess.run([sys.executable, "-m", "frbench", "export", "--method", "baseline", "--level", "dense", "--seed",
                        "0", "--fmt", "ptl", "--checkpoint", str(tiny_checkpoint), "--data", str(tiny_dataset),
                        "--out", str(out), "--record", str(out.with_suffix(".json"))],
                       check=True, capture_output=True, cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)})
        files.append(out.read_bytes())
    assert files[0] == files[1]


@pytest.fixture(scope="module")
def ptl_update(tmp_path_factory, tiny_dataset):
    """An untrained tiny baseline exported once for this module as a whole file and as its weights-only update
    (program and weights file): the folder, the checkpoint, the update's files and the export record."""
    from conftest import save_tiny_checkpoint

    d = tmp_path_factory.mktemp("ptl_update")
    ckpt = save_tiny_checkpoint(d / "model.pt")
    update = UpdateFiles(d / "update" / "program.ptl", d / "update" / "weights_ptl.bin")
    update.program.parent.mkdir()
    record = export_model(key=KEY, checkpoint=ckpt, data=tiny_dataset, out=d / "model.ptl",
                          record_out=d / "export_ptl.json", update=update)
    return d, ckpt, update, record


def test_a_ptl_update_is_the_program_plus_a_weights_file_with_identical_outputs(ptl_update, tiny_dataset, tmp_path):
    """The weights-only update of a traced model: the program with every weight zero (deflated to a few kB),
    and a weights file of every float it stores (one float32 slot and an 8-byte header); run together in the
    lite interpreter they give the whole file's outputs bit for bit, and the benchmark runs the pair too."""
    d, ckpt, update, record = ptl_update
    facts = record["exporter"]["weights_update"]
    model, _ = load_model(ckpt)
    floats = sum(t.numel() for t in model.state_dict().values() if t.is_floating_point())
    assert facts["slots"] == [["float32", floats]]
    assert facts["data_bytes"] == update.weights.stat().st_size == 8 + 4 * floats
    assert facts["program_bytes"] == update.program.stat().st_size < 0.25 * record["bytes"]
    assert facts["max_abs_diff_vs_file"] == 0.0

    lite = get_format("ptl")
    images, _ = load_split(tiny_dataset, "test")
    whole, empty = lite.load(d / "model.ptl"), lite.load(update.program)
    pair = lite.load(update.program, update.weights)
    for i in range(len(images)):
        x = images[i : i + 1]
        assert torch.equal(pair(x), whole(x)) and not torch.equal(empty(x), whole(x))

    plan = {"warmup": 1, "iters": 3, "threads": 1, "timeout_s": 120, "dice_images": 0}
    files = dict(model=str(d / "model.ptl"), export_record=str(d / "export_ptl.json"), data=str(tiny_dataset),
                 out=str(tmp_path / "bench.json"), update=(str(update.program), str(update.weights)))
    bench_model(key=KEY, device="host", plan=plan, **files)
    result = json.loads((tmp_path / "bench.json").read_text())
    assert result["weights_update"]["error"] is None and len(result["weights_update"]["values"]) == 3
    assert result["weights_update"]["accuracy"]["dice_per_image"] == result["accuracy"]["dice_per_image"]
    assert result["weights_update"]["model"]["weights"] == {"path": str(update.weights), "bytes": facts["data_bytes"]}

    plan["weights_update"] = False  # the plan can leave the pair out
    bench_model(key=KEY, device="host", plan=plan, **files)
    assert "weights_update" not in json.loads((tmp_path / "bench.json").read_text())


def test_set_weights_refuses_another_programs_weights_naming_the_file(ptl_update, tmp_path):
    _, _, update, _ = ptl_update
    lite, weights = get_format("ptl"), update.weights.read_bytes()
    (tmp_path / "other.bin").write_bytes(struct.pack("<ii", MAGIC, len(weights) - 8) + weights[8:-8])
    with pytest.raises(RuntimeError, match="refused .*other.bin.*not this program's weights"):
        lite.load(update.program, tmp_path / "other.bin")
    (tmp_path / "cut.bin").write_bytes(weights[:-8])
    with pytest.raises(RuntimeError, match="refused .*cut.bin.*smaller than"):
        lite.load(update.program, tmp_path / "cut.bin")
    with pytest.raises(RuntimeError, match="missing.bin"):
        get_format("ptl").load(update.program, tmp_path / "missing.bin")


def test_an_exported_file_and_its_update_changed_after_export_are_refused_before_their_benchmark(
        ptl_update, tiny_dataset, tmp_path):
    """Issue #23's case, in .ptl: the exported file replaced by a sound program whose weights are all zero (its
    own update's program: it loads, runs, and scores a Dice at chance), and the update's weights file with one
    byte changed. Both are refused naming the file, the export record and the command; no worker starts."""
    import shutil

    from frbench.integrity import sha256_of

    d, _, update, written = ptl_update
    facts = written["exporter"]["weights_update"]
    assert facts["program_sha256"] == sha256_of(update.program) and facts["data_sha256"] == sha256_of(update.weights)
    model, program, weights = tmp_path / "model.ptl", tmp_path / "program.ptl", tmp_path / "weights_ptl.bin"
    shutil.copyfile(update.program, model)
    shutil.copyfile(update.program, program)
    changed = bytearray(update.weights.read_bytes())
    changed[-1] ^= 0xFF
    weights.write_bytes(bytes(changed))
    record = d / "export_ptl.json"
    result = bench_model(key=KEY, device="host", model=str(model), export_record=str(record), data=str(tiny_dataset),
                         plan={"warmup": 1, "iters": 3, "threads": 1, "timeout_s": 120, "dice_images": 0},
                         out=str(tmp_path / "bench.json"),
                         update=(str(program), str(weights)))
    for row, path in ((result, model), (result["weights_update"], weights)):
        assert row["error"].startswith(f"BenchError: {path}: its sha256") and str(record) in row["error"], row["error"]
        assert f"--forcerun {path}`" in row["error"] and row["values"] is None and row["load_ms"] is None
    assert json.loads((tmp_path / "bench.json").read_text())["error"] == result["error"]


# ---- every image size the config accepts exports and runs (issue #23) ----------------------------------------


def _odd_study(tmp_path, size, depth, images=2):
    """An untrained baseline of width 4 and `depth`, and a dataset of `images` random test images at `size`."""
    from frbench.checkpoint import save_checkpoint
    from frbench.data import write_arrays
    from frbench.methods import get_method

    torch.manual_seed(0)
    model = UNet(UNetConfig.from_dict(dict(width=4, depth=depth))).eval()
    ckpt = tmp_path / "model.pt"
    save_checkpoint(ckpt, method="baseline", level="dense", arch=get_method("baseline")("dense").arch(model), model=model,
                    meta={"seed": 0})
    rng = np.random.default_rng(0)
    empty = {f"{s}_{k}": np.zeros((0, *size, 3) if k == "images" else (0, *size), np.uint8)
             for s in ("train", "val") for k in ("images", "masks")}
    write_arrays({**empty, "test_images": rng.integers(0, 256, (images, *size, 3), dtype=np.uint8),
                  "test_masks": rng.integers(0, 2, (images, *size), dtype=np.uint8)}, tmp_path / "data.npz")
    return ckpt, tmp_path / "data.npz"


@pytest.mark.parametrize("fmt, size, depth", [("ptl", (32, 33), 1), ("ptl", (32, 44), 3), ("pte", (32, 33), 1)])
def test_the_traced_baseline_exports_and_runs_at_sizes_not_multiples_of_2_to_the_depth(tmp_path, fmt, size, depth):
    """Two of the issue's sizes: the UNet pads its up-sampling to the skip's size, which the trace keeps as a
    constant tensor (`constants/` in a .ptl, which the phone file used to drop). The file, and (.ptl) its
    program with its weights file, load and give the eager model's outputs."""
    ckpt, data = _odd_study(tmp_path, size, depth)
    update = UpdateFiles(tmp_path / "program.ptl", tmp_path / "weights.bin") if fmt == "ptl" else None
    record = export_model(key={**KEY, "fmt": fmt}, checkpoint=ckpt, data=data, out=tmp_path / f"model.{fmt}",
                          record_out=tmp_path / "export.json", update=update)
    assert record["error"] is None, record["error"]
    assert record["fidelity"]["max_abs_diff"] < 1e-4 and record["fidelity"]["images"] == 2
    assert sum(record["bytes_split"].values()) == record["bytes"]
    if update:
        assert record["exporter"]["weights_update"]["max_abs_diff_vs_file"] == 0.0


def test_the_paper_configs_shapes_export_and_run(tmp_path):
    """config/paper.yaml: 640x959 at depth 4 (959 is no multiple of 16), here on a UNet of width 4."""
    import yaml

    from conftest import ROOT

    paper = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    ckpt, data = _odd_study(tmp_path, tuple(paper["data"]["size"]), paper["model"]["depth"], images=1)
    for fmt in paper["formats"]:
        record = export_model(key={**KEY, "fmt": fmt}, checkpoint=ckpt, data=data, out=tmp_path / f"model.{fmt}",
                              record_out=tmp_path / f"export_{fmt}.json")
        assert record["error"] is None, record["error"]
        assert record["input_shape"] == [1, 3, 640, 959] and record["fidelity"]["max_abs_diff"] < 1e-4
