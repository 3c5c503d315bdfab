"""The FR paper's released UNet in the pipeline: `frbench reference` (import, test set, Dice in
process), then the Snakemake target `reference` (export, benchmark) at reduced resolution (160x240;
the full-resolution Dice, 0.9718, is checked by tests/test_fr_reference.py), and its summary row.
Needs ../shared/fr_reference beside the repository; a clone without it skips these tests."""

import json
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.fft
import torch
import yaml

from frbench.checkpoint import load_model
from frbench.data import load_split
from frbench.fr import kept_counts
from frbench.fr.reference import load_reference_coefficients, score_reference
from frbench.methods.fr import FRUNet, import_reference
from frbench.models import UNet, UNetConfig
from frbench.report.summary import gather

from conftest import ROOT

REFERENCE = ROOT.parent / "shared" / "fr_reference"
SIZE = (160, 240)
UNET_31M = 31_037_698  # milesial's UNet(3, 2): the network the paper states its compression rate against

pytestmark = pytest.mark.skipif(not (REFERENCE / "unet_fr.tar.xz").is_file(),
                                reason=f"the FR paper's released model is not at {REFERENCE} (a clone has no ../shared)")


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    d = tmp_path_factory.mktemp("reference")
    paths = {"out_checkpoint": d / "model.pt", "out_dataset": d / "reference.npz", "out_record": d / "reference.json"}
    record = import_reference(folder=str(REFERENCE), size=SIZE, threads=2, **{k: str(v) for k, v in paths.items()})
    return paths, record


def test_import_writes_an_fr_checkpoint_a_test_set_and_its_dice(imported):
    paths, record = imported
    model, ckpt = load_model(paths["out_checkpoint"])
    assert isinstance(model, FRUNet) and (ckpt["method"], ckpt["level"]) == ("fr", "k33")
    assert set(kept_counts(model).values()) == {33} and sum(kept_counts(model).values()) == 759
    assert ckpt["arch"]["dense_params"] == UNET_31M == UNet(UNetConfig(width=64, depth=4)).num_params()
    assert all(layer_bias is False for layer_bias in ckpt["arch"]["bias"].values())

    images, masks = load_split(paths["out_dataset"], "test")
    assert images.shape == (16, 3, *SIZE) and masks.shape == (16, *SIZE)
    for split in ("train", "val"):
        assert len(load_split(paths["out_dataset"], split)[0]) == 0
    assert record["dataset"]["size"] == list(SIZE) and not record["full_resolution"]
    assert record["coefficients"] == 759 and record["dense_params"] == UNET_31M
    # the Dice recorded is the checkpoint's on the stored test set, as the export and benchmark will see it
    again = score_reference(model, images[:4], masks[:4])
    assert again["dice_per_image"] == pytest.approx(record["dice_per_image"][:4], abs=1e-6)
    assert 0.5 < record["dice"] < 1


def test_imported_model_equals_weights_rebuilt_with_scipy_idctn(imported):
    """The imported checkpoint computes the same function as the released coefficients turned into
    spatial weights by scipy's orthonormal N-D inverse DCT (the paper's definition)."""
    paths, _ = imported
    model, _ = load_model(paths["out_checkpoint"])
    coeffs, _ = load_reference_coefficients(REFERENCE / "unet_fr.tar.xz")
    net = UNet(model.cfg)
    state = {k: torch.zeros_like(v) for k, v in net.state_dict().items()}  # no biases: zeros
    for key, c in coeffs.items():
        state[key] = torch.from_numpy(scipy.fft.idctn(c.double().numpy(), type=2, norm="ortho")).float()
    net.load_state_dict(state)
    x = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), net.eval()(x), atol=1e-4, rtol=1e-4)


def snakemake(workdir, config, *args):
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "workflow" / "Snakefile"), "--directory",
           str(workdir), "--configfile", str(config), "--cores", "2", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        pytest.fail(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The tiny study's config with the reference at 160x240 and a short plan for it."""
    d = tmp_path_factory.mktemp("reference_study")
    config = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())
    config["reference"] = {"dir": str(REFERENCE), "size": list(SIZE), "bench": {"warmup": 1, "iters": 3}}
    path = d / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return d, path


def test_all_includes_the_reference_when_configured(study):
    workdir, config = study
    plan = snakemake(workdir, config, "all", "--dry-run").stdout
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", plan, flags=re.M))
    assert jobs["import_reference"] == "1"
    assert "results/bench/host/fr_reference/k33/seed0/ptl.json" in plan


@pytest.mark.slow  # UNet-31M: import, compact and dense export, 16-image fidelity and Dice passes (about a minute)
def test_reference_target_exports_benchmarks_and_reports_it(study):
    workdir, config = study
    snakemake(workdir, config, "reference")
    results = workdir / "results"
    reference = json.loads((results / "models/fr_reference/k33/seed0/reference.json").read_text())
    export = json.loads((results / "export/fr_reference/k33/seed0/export_ptl.json").read_text())
    bench = json.loads((results / "bench/host/fr_reference/k33/seed0/ptl.json").read_text())
    assert export["error"] is None and bench["error"] is None

    # the compact file: 759 float16 coefficients and nothing else; the dense export of the same weights
    assert export["compact"] and export["stored_numbers"] == 759 and export["stored_by_dtype"]["float16"] == 759
    assert export["floor_bytes"] == 759 * 2 + 23 * 4 * 4
    assert export["dense_export"]["stored_numbers"] > 31_000_000 and export["dense_params"] == UNET_31M
    assert export["dense_export"]["bytes"] > 500 * export["bytes"]  # 124 MB against a few hundred kB of code
    assert export["fidelity"]["max_abs_diff"] < 1e-3

    # the exported model scores the Dice measured at import (float16 coefficients: the same numbers)
    assert bench["accuracy"]["images"] == 16
    assert bench["accuracy"]["dice"] == pytest.approx(reference["dice"], abs=1e-3)
    assert len(bench["values"]) == 3 and bench["plan"]["warmup"] == 1  # the reference's own plan

    # its summary row: compression against UNet-31M, not against a baseline
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = gather([results / "bench/host/fr_reference/k33/seed0/ptl.json"],
                         [results / "export/fr_reference/k33/seed0/export_ptl.json"], []).summary
    row = summary.iloc[0]
    assert (row["method"], row["level"], row["ratio_against"]) == ("fr_reference", "k33", "own dense")
    assert row["compression_by_count"] == pytest.approx(UNET_31M / 759)  # 40,893x, the paper's Table 3
    assert row["compression_by_bytes"] == pytest.approx(export["dense_export"]["bytes"] / export["bytes"])
    assert row["dense_file_bytes"] == export["dense_export"]["bytes"] and row["floor_bytes"] == 1886
    assert np.isnan(row["speedup_p50"])
