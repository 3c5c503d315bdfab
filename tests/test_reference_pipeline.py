"""The FR paper's released UNet in the pipeline: `frbench reference` (import, test set, Dice in
process), then the Snakemake target `reference` (export, benchmark) at reduced resolution (64x96;
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
from PIL import Image

from frbench.data import load_split
from frbench.fr import kept_counts
from frbench.fr.reference import REFERENCE_UNET, load_reference_coefficients, reference_pairs, score_reference
from frbench.methods import load_model
from frbench.metrics import dice_per_image
from frbench.models import MILESIAL, UNet
from frbench.reference_job import import_reference
from frbench.report.summary import gather

from conftest import ROOT

REFERENCE = ROOT.parent / "shared" / "fr_reference"
SIZE = (64, 96)  # UNet-31M's forward at this size is a sixth of 160x240's: the suite's time
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
    assert type(model) is UNet and (ckpt["method"], ckpt["level"]) == ("fr_reference", "k33")
    assert set(kept_counts(model).values()) == {33} and sum(kept_counts(model).values()) == 759
    assert ckpt["arch"]["dense_params"] == UNET_31M == UNet(MILESIAL).num_params()
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
    # the recorded Dice is the mean over the 16 images; each is scored another way in the next test
    assert len(record["dice_per_image"]) == 16
    assert record["dice"] == pytest.approx(np.mean(record["dice_per_image"]), abs=1e-12)


# A pixel is "undecided" when two float32 routes through the same network could label it differently:
# its logit margin (foreground minus background) is under UNDECIDED, or both its logits are exactly 0
# (every feature entering the bias-free output conv is zeroed by the last ReLU; argmax then takes the
# first, background) but its largest feature before that ReLU is within UNDECIDED of 0. The two routes
# below compute the same weights, rounded differently (scipy's idctn in float64 here, our FR layers'
# float32 inverse DCT there), and run them through the same kernels (both in this process, on this CPU),
# so their logits differ by rounding alone: 5e-5 at most on these 16 images on the development machine
# (test_imported_model_equals_weights_rebuilt_with_scipy_idctn allows 1e-4 + 1e-4 relative on a random
# input). A margin moves by at most twice that, 1e-4; UNDECIDED = 1e-3 leaves a factor of 10 for other
# CPUs' kernels and rounding. Every other pixel gets the same label from both routes. Nothing here is
# fitted to this machine's Dice: the tolerance is computed from each image's own pixels.
UNDECIDED = 1e-3


def _released_images_resized() -> tuple[torch.Tensor, np.ndarray]:
    """The 16 released images (float RGB / 255, as the paper scales them) and masks ({0, 1}) resized to SIZE
    here with Pillow (bilinear, nearest), not through frbench.data."""
    images, masks = [], []
    for image_path, mask_path in reference_pairs(REFERENCE):
        with Image.open(image_path) as image, Image.open(mask_path) as mask:
            images.append(np.asarray(image.convert("RGB").resize(SIZE[::-1], Image.Resampling.BILINEAR)))
            masks.append(np.asarray(mask.convert("L").resize(SIZE[::-1], Image.Resampling.NEAREST)) == 255)
    return torch.from_numpy(np.stack(images).astype(np.float32) / 255).permute(0, 3, 1, 2), np.stack(masks)


def test_recorded_dice_is_the_released_models_dice_scored_another_way(imported):
    """The per-image Dice `frbench reference` records at 64x96 is the paper's model's on these images,
    scored here by another route: the dense UNet of scipy's idctn of the released coefficients (not our FR
    layers), the released PNGs resized here (not by frbench.data), each image run alone (the paper's
    BatchNorm normalises each by its own statistics), foreground where its logit beats the background's,
    Dice by frbench.metrics. (At this size the mean is well below the 0.9718 of full resolution, about
    0.6 on the development machine: the cars are a tenth of the width and height the paper measured
    them at. No band around a number is asserted; tests/test_fr_reference.py checks the paper's number.)

    Tolerance: none beyond what the routes' rounding allows. An image with k undecided pixels (UNDECIDED)
    may differ in at most those k labels; each changes the intersection I by at most 1 and the sum
    S = |prediction| + |mask| by 1, so 2I/S moves by at most 2k / (S - k). Where k = 0 the Dice must match
    exactly."""
    paths, record = imported
    images, masks = _released_images_resized()
    stored_images, stored_masks = load_split(paths["out_dataset"], "test")
    assert torch.equal(images, stored_images) and np.array_equal(masks, stored_masks.numpy())  # the same inputs

    coeffs, _ = load_reference_coefficients(REFERENCE / "unet_fr.tar.xz")
    net = UNet(REFERENCE_UNET)
    state = {k: torch.zeros_like(v) for k, v in net.state_dict().items()}  # the paper's up and output convs: no bias
    for key, c in coeffs.items():
        state[key] = torch.from_numpy(scipy.fft.idctn(c.double().numpy(), type=2, norm="ortho")).float()
    net.load_state_dict(state)
    net.eval()
    last_norm = net.up4.conv.double_conv[4]  # then a ReLU, then the output conv
    assert isinstance(last_norm, torch.nn.BatchNorm2d)
    features = {}
    last_norm.register_forward_hook(lambda module, inputs, out: features.update(before_relu=out.clone()))

    preds, undecided = [], []
    with torch.inference_mode():
        for image in images:
            logits = net(image.unsqueeze(0))[0]
            margin = (logits[1] - logits[0]).abs()
            settled_tie = (margin == 0) & (features["before_relu"][0].amax(dim=0) <= -UNDECIDED)
            undecided.append(int(((margin < UNDECIDED) & ~settled_tie).sum()))
            preds.append((logits[1] > logits[0]).numpy())
    preds = np.stack(preds)
    mine = dice_per_image(preds, masks)
    k = np.array(undecided)
    s = preds.reshape(16, -1).sum(axis=1) + masks.reshape(16, -1).sum(axis=1)
    bound = 2 * k / (s - k)
    recorded = np.array(record["dice_per_image"])
    assert (np.abs(recorded - mine) <= bound + 1e-12).all(), [
        f"recorded {r:.5f}, here {m:.5f}, {n} undecided pixels: within {b:.5f}"
        for r, m, n, b in zip(recorded, mine, k, bound)]
    assert abs(record["dice"] - mine.mean()) <= bound.mean() + 1e-12


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
    """The tiny study's config with the reference at 64x96 and a short plan for it, on .ptl alone (FR's
    compact .onnx is tests/test_onnx.py's and benchmarks/phone_bytes.py's)."""
    d = tmp_path_factory.mktemp("reference_study")
    config = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())
    config["formats"] = ["ptl"]
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
    assert export["dense_export"]["bytes"] > 5000 * export["bytes"]  # 124 MB against at most 16 kB
    assert export["bytes"] == sum(export["bytes_split"].values()) <= 16_000
    assert export["fidelity"]["max_abs_diff"] < 1e-3

    # each forward once where once is enough: the import leaves the 16 images to the export's fidelity check,
    # which scores them with the same eager model; the benchmarked file scores the same Dice
    assert reference["dice"] is None and "fidelity" in reference["scored_by"]
    assert export["fidelity"]["images"] == 16
    assert bench["accuracy"]["images"] == 16 and bench["ran"]["dice_stopped_by"] == "count"
    assert bench["accuracy"]["dice"] == pytest.approx(export["fidelity"]["dice_eager"], abs=1e-3)
    assert len(bench["values"]) == 3 and bench["plan"]["warmup"] == 1  # the reference's own plan
    # run as program plus weights file (its weights-only update: the 759 coefficients) it scores the same
    assert bench["weights_update"]["accuracy"]["dice_per_image"] == bench["accuracy"]["dice_per_image"]
    assert export["exporter"]["weights_update"]["data_bytes"] <= 1.1 * export["floor_bytes"]

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
