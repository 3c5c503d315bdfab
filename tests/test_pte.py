"""ExecuTorch (`.pte`): export of the tiny UNet, weights read back from the file, the host
benchmark through ExecuTorch's runtime, int8 through the XNNPACK quantizer, and error rows."""

import json

import pytest
import torch

from frbench.bench.job import bench_model
from frbench.bench.result import check_result
from frbench.checkpoint import save_checkpoint
from frbench.contract import ExportForm
from frbench.data import load_split
from frbench.errors import ExportError
from frbench.export import UpdateFiles, export_model
from frbench.formats import get_format
from frbench.formats.pte.reader import read_pte
from frbench.methods import get_method
from frbench.methods.quantize.xnnpack import quantize_for_xnnpack
from frbench.models import UNet, UNetConfig
from frbench.report.summary import gather

KEY = {"method": "baseline", "level": "dense", "seed": 0, "fmt": "pte"}
PLAN = {"warmup": 2, "iters": 5, "threads": 1, "timeout_s": 120, "dice_images": 0}


@pytest.fixture(scope="module")
def pte_export(tmp_path_factory, tiny_dataset):
    """The tiny baseline (BatchNorm, no conv bias) exported once to .pte for this module."""
    d = tmp_path_factory.mktemp("pte")
    torch.manual_seed(0)
    model = UNet(UNetConfig.from_dict(dict(width=4, depth=2))).eval()
    ckpt = d / "model.pt"
    save_checkpoint(ckpt, method="baseline", level="dense", arch=get_method("baseline")("dense").arch(model), model=model,
                    meta={"seed": 0})
    record = export_model(key=KEY, checkpoint=ckpt, data=tiny_dataset, out=d / "model.pte",
                          record_out=d / "export_pte.json", update=UpdateFiles(d / "program.pte", d / "weights.bin"))
    return d / "model.pte", d / "export_pte.json", record


def test_pte_export_record(pte_export):
    path, record_path, record = pte_export
    assert record["error"] is None, record["error"]
    assert json.loads(record_path.read_text())["key"] == KEY
    ex = record["exporter"]
    assert ex["executorch"].startswith("1.4.1") and ex["torch"].startswith("2.13.0")
    ops = ex["delegation"]
    # every op of the UNet runs inside XNNPACK: 13 convolutions (10 3x3, 2 transposed, the 1x1 head)
    assert ops["delegated_subgraphs"] == {"XnnpackBackend": 1}
    assert ops["non_delegated_ops"] == 0 and ops["non_delegated_by_op"] == {}
    assert ops["delegated_by_op"]["aten.convolution.default"] == 13
    assert ops["delegated_ops"] == sum(ops["delegated_by_op"].values())
    assert ex["quantized"] is False and ex["storage"]["opaque_bytes"] == 0
    assert record["bytes"] == path.stat().st_size == ex["storage"]["file_bytes"]
    assert record["runtime"] == {"name": "executorch", "version": ex["executorch"]}
    assert record["fidelity"]["max_abs_diff"] < 1e-4
    assert record["fidelity"]["dice_eager"] == record["fidelity"]["dice_exported"]
    # XNNPACK folds BatchNorm into the convolutions: fewer numbers than the state dict, all read from the file
    assert 0 < record["stored_numbers"] < sum(
        p.numel() for p in UNet(UNetConfig.from_dict(dict(width=4, depth=2))).state_dict().values())


def test_stored_tensors_are_the_weights_in_the_file(tiny_dataset, tmp_path):
    """Without BatchNorm nothing is folded: the .pte holds exactly the model's numbers
    (XNNPACK stores conv weights as OHWI, so compare as multisets)."""
    torch.manual_seed(1)
    model = UNet(UNetConfig.from_dict(dict(width=4, depth=2, norm="none", bias=True))).eval()
    images, _ = load_split(tiny_dataset, "test")
    get_format("pte").write(ExportForm(model), images[:1], tmp_path / "m.pte")
    stored = get_format("pte").stored_tensors(tmp_path / "m.pte")
    assert len(stored) == len(model.state_dict())
    got = torch.sort(torch.cat([t.flatten() for t in stored.values()])).values
    want = torch.sort(torch.cat([t.flatten() for t in model.state_dict().values()])).values
    assert torch.equal(got, want)
    # and the bytes are the file's: damage one weight in the file, read a different number back
    data = bytearray((tmp_path / "m.pte").read_bytes())
    w = model.inc.double_conv[0].weight.detach()
    needle = w.permute(0, 2, 3, 1).contiguous().numpy().tobytes()[:16]  # OHWI, first 4 floats
    at = bytes(data).find(needle)
    assert at > 0
    data[at:at + 4] = torch.tensor([123.0]).numpy().tobytes()
    (tmp_path / "damaged.pte").write_bytes(bytes(data))
    damaged = torch.cat([t.flatten() for t in get_format("pte").stored_tensors(tmp_path / "damaged.pte").values()])
    assert (damaged == 123.0).sum() == 1


def test_host_benchmark_of_pte(pte_export, tiny_dataset, tmp_path):
    path, record_path, record = pte_export
    out = tmp_path / "bench" / "pte.json"
    bench_model(key=KEY, device="host", model=str(path), export_record=str(record_path), data=str(tiny_dataset),
                plan=PLAN, out=str(out))
    r = check_result(json.loads(out.read_text()), source=str(out))
    assert r["error"] is None and r["runner"] == "host" and r["key"] == {**KEY, "device": "host"}
    assert r["runtime"]["name"] == "executorch" and r["metadata"]["threads"] == 1
    assert len(r["warmups"]) == 2 and len(r["values"]) == 5 and r["load_ms"] > 0
    assert r["accuracy"]["dice"] == pytest.approx(record["fidelity"]["dice_exported"])


def test_runtime_equals_executorch_runtime_api(pte_export):
    """The runtime calls the extension that `executorch.runtime` wraps: same outputs."""
    from executorch.runtime import Runtime

    x = torch.rand(1, 3, 32, 32)
    ours = get_format("pte").run(get_format("pte").load(pte_export[0]), x)
    theirs = Runtime.get().load_program(str(pte_export[0])).load_method("forward").execute([x])[0]
    assert torch.equal(ours, theirs)


def test_runtime_sets_executorch_threads(pte_export):
    from frbench.formats.pte.runtime import set_threads

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        module = get_format("pte").load(pte_export[0])
        assert set_threads(1) == 1
        y = get_format("pte").run(module, torch.rand(1, 3, 32, 32))
        assert y.shape == (1, 2, 32, 32)
    finally:
        torch.set_num_threads(before)


def test_truncated_pte_is_an_error_naming_the_file(pte_export, tmp_path):
    """(The host runner turns a load error into an error row: tests/test_bench.py.)"""
    bad = tmp_path / "model.pte"
    for size in (200, pte_export[0].stat().st_size - 100):
        bad.write_bytes(pte_export[0].read_bytes()[:size])
        with pytest.raises(ExportError, match="model.pte"):
            read_pte(bad)
        with pytest.raises(RuntimeError, match="model.pte.*truncated or corrupt"):
            get_format("pte").load(bad)


def test_int8_through_the_xnnpack_quantizer(tiny_dataset, tmp_path):
    torch.manual_seed(0)
    model = UNet(UNetConfig.from_dict(dict(width=4, depth=2))).eval()
    images, _ = load_split(tiny_dataset, "test")
    program = quantize_for_xnnpack(model, images[:1], [images[i:i + 1] for i in range(len(images))])
    facts = get_format("pte").write(ExportForm(model, program=program), images[:1], tmp_path / "q.pte")
    assert facts["quantized"] is True and facts["delegation"]["non_delegated_ops"] == 0
    stored = get_format("pte").stored_tensors(tmp_path / "q.pte")
    by_dtype = {}
    for t in stored.values():
        by_dtype[t.dtype] = by_dtype.get(t.dtype, 0) + t.numel()
    convs = (torch.nn.Conv2d, torch.nn.ConvTranspose2d)
    conv_weights = sum(m.weight.numel() for m in model.modules() if isinstance(m, convs))
    assert by_dtype[torch.int8] == conv_weights  # int8 weights, read from the file
    rt = get_format("pte")
    out = rt.run(rt.load(tmp_path / "q.pte"), images[:1])
    assert (out - model(images[:1])).abs().max() < 0.05


def test_a_model_pte_cannot_take_is_an_error_row_and_ptl_goes_on(tiny_checkpoint, tiny_dataset, tmp_path, monkeypatch):
    """Eager-mode quantized modules (what .ptl runs) cannot be lowered: .pte records why."""
    import frbench.export.job as job
    from frbench.methods import Trained, load_trained

    def eager_quantized(path):
        method, model, ckpt = load_trained(path)
        model.quant = torch.ao.nn.quantized.Quantize(1.0, 0, torch.quint8)  # never called by forward
        return Trained(method, model, ckpt)

    monkeypatch.setattr(job, "load_trained", eager_quantized)
    records = {fmt: export_model(key={**KEY, "fmt": fmt}, checkpoint=tiny_checkpoint, data=tiny_dataset,
                                 out=tmp_path / f"model.{fmt}", record_out=tmp_path / f"export_{fmt}.json")
               for fmt in ("pte", "ptl")}
    assert "ExportError" in records["pte"]["error"] and "quant" in records["pte"]["error"]
    assert (tmp_path / "model.pte").stat().st_size == 0
    assert records["ptl"]["error"] is None


def test_a_weights_only_update_is_a_data_file_the_program_runs_with(pte_export, tiny_dataset, tmp_path):
    """ExecuTorch's program-data separation: the weights apart from the program (BatchNorm folded first,
    so that XNNPACK makes no constants of its own), run together on the host, and benchmarked as a pair
    under the same plan."""
    path, record_path, record = pte_export
    update = record["exporter"]["weights_update"]
    # folding BatchNorm moves the last float digits only
    assert update["batchnorm_folded"] == 10 and update["max_abs_diff_vs_file"] < 1e-4
    # the data file holds the weights (less than the state dict's BatchNorm once folded, plus alignment),
    # the program a fraction of the whole file
    assert update["data_bytes"] == (path.parent / "weights.bin").stat().st_size >= 0.9 * record["bytes_split"]["weights"]
    assert update["program_bytes"] == (path.parent / "program.pte").stat().st_size < 0.3 * record["bytes"]
    out = tmp_path / "pte.json"
    bench_model(key=KEY, device="host", model=str(path), export_record=str(record_path), data=str(tiny_dataset),
                plan=PLAN, out=str(out), update=(str(path.parent / "program.pte"), str(path.parent / "weights.bin")))
    result = json.loads(out.read_text())
    pair = result["weights_update"]
    assert pair["error"] is None and len(pair["values"]) == PLAN["iters"]
    assert pair["model"]["weights"] == {"path": str(path.parent / "weights.bin"), "bytes": update["data_bytes"]}
    assert pair["accuracy"]["dice"] == pytest.approx(result["accuracy"]["dice"], abs=0.02)
    row = gather([out], [record_path], []).summary.iloc[0]
    assert row["update_bytes"] == update["data_bytes"]


def test_a_pte_changed_after_export_is_refused_before_its_benchmark(pte_export, tiny_dataset, tmp_path):
    """The issue's case: the baseline's .pte with its weights zeroed after export was benchmarked (Dice 7.6e-9)
    and ranked. Its export record's sha256 refuses it, naming the file, the record and the command."""
    path, record_path, _ = pte_export
    changed = tmp_path / "model.pte"
    data = bytearray(path.read_bytes())
    data[len(data) // 2:] = bytes(len(data) - len(data) // 2)  # the weights, at the end of the file
    changed.write_bytes(bytes(data))
    result = bench_model(key=KEY, device="host", model=str(changed), export_record=str(record_path),
                         data=str(tiny_dataset), plan=PLAN, out=str(tmp_path / "pte.json"))
    assert result["error"].startswith(f"BenchError: {changed}: its sha256 ") and str(record_path) in result["error"]
    assert f"--forcerun {changed}`" in result["error"] and result["accuracy"] is None


def test_a_pte_executorch_cannot_load_names_the_log_that_holds_its_reason(pte_export, tiny_dataset, tmp_path):
    """ExecuTorch says only "error: 0x..", and its reason on stderr: the error row names the benchmark job's
    log, which snakemake sends the job's stderr to and the host runner relays the worker's stderr into."""
    import subprocess
    import sys

    from frbench.integrity import sha256_of

    bad = tmp_path / "model.pte"
    bad.write_bytes(pte_export[0].read_bytes()[:200])
    record = tmp_path / "export_pte.json"
    record.write_text(json.dumps({"error": None, "sha256": sha256_of(bad)}))  # as exported: only the load fails
    log, out = tmp_path / "logs" / "pte.log", tmp_path / "pte.json"
    log.parent.mkdir()
    script = ("import sys, json; from frbench.bench.job import bench_model\n"
              "bench_model(key=json.loads(sys.argv[1]), device='host', model=sys.argv[2], export_record=sys.argv[3], "
              "data=sys.argv[4], plan=json.loads(sys.argv[5]), out=sys.argv[6])\n")
    with log.open("w") as stderr:
        subprocess.run([sys.executable, "-c", script, json.dumps(KEY), str(bad), str(record), str(tiny_dataset),
                        json.dumps(PLAN), str(out)], check=True, stderr=stderr, cwd=tmp_path)
    error = json.loads(out.read_text())["error"]
    assert "ExecuTorch could not load it" in error and "it logged its reason to logs/pte.log" in error, error
    assert "[program.cpp:" in log.read_text()  # ExecuTorch's own reason is there ("File size is too small ...")
