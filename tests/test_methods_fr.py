"""fr: Frequency Regularization as a method of the pipeline: levels, the shared loop and its
selection rule, the compact export and its record, and the summary's FR columns."""

import json
import re
import warnings

import pandas as pd
import pytest
import torch

from frbench.build import build_model
from frbench.errors import ConfigError
from frbench.export import export_model
from frbench.fr import dense_unet, floor_bytes, fr_layers, kept_counts
from frbench.methods import MethodContext, get_method, load_model
from frbench.methods.fr import final_counts, parse_level, schedule_for
from frbench.models import UNet, UNetConfig
from frbench.report.summary import add_baseline_ratios

from conftest import TINY_UNET

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors: one thread (conftest)


PARAMS = {"schedule": "step", "gamma": 0.95, "min_kept_conv": 8, "min_kept_linear": 16}
TRAIN = {"epochs": 2, "batch_size": 8, "lr": 0.003}  # the tiny dataset: 12 training images, 2 steps per epoch


def train_fr(tmp_path, dataset, level, train=TRAIN, **params):
    config = {"unet": TINY_UNET, "train": train, "options": {**PARAMS, **params}}
    out, record = tmp_path / f"fr-{level}.pt", tmp_path / f"fr-{level}.json"
    build_model(method="fr", level=level, seed=0, data=str(dataset), config=config, out=out, record_out=record,
                threads=1, progress=False)
    return out, json.loads(record.read_text())


# --- levels ------------------------------------------------------------------------------------


def test_levels_parse():
    assert parse_level("r0.01").ratio == 0.01 and parse_level("r1").ratio == 1.0
    assert parse_level("k33").count == 33 and parse_level("k33").ratio is None
    s = schedule_for("r0.001", {"schedule": "epoch", "gamma": 0.5, "min_kept_conv": 4, "min_kept_linear": 9})
    assert (s.mode, s.gamma, s.eps, s.min_kept_conv, s.min_kept_linear) == ("epoch", 0.5, 0.001, 4, 9)
    assert schedule_for("k33", {}).mode == "fixed" and schedule_for("k33", {}).fixed_count == 33


@pytest.mark.parametrize("level", ["0.01", "r0", "r1.5", "r", "k0", "k", "k3.5", "ratio0.1", "r-0.1", "R0.1"])
def test_malformed_level_is_named(level):
    with pytest.raises(ConfigError, match=rf"methods\.fr\.levels: level '{re.escape(level)}' is malformed"):
        parse_level(level)


@pytest.mark.parametrize("level,canonical", [("r.5", "r0.5"), ("r1.0", "r1"), ("r0.010", "r0.01"), ("r00.1", "r0.1")])
def test_a_level_has_one_spelling(level, canonical):
    """Another spelling of a level would train the same model twice under two names: refused, naming both."""
    with pytest.raises(ConfigError, match=rf"methods\.fr\.levels: '{re.escape(level)}' is '{canonical}' written"):
        get_method("fr")(level)
    assert get_method("fr")(canonical).level == canonical


def test_bad_options_are_named():
    with pytest.raises(ConfigError, match=r"methods\.fr\.schedule"):
        schedule_for("r0.01", {"schedule": "batch"})
    with pytest.raises(ConfigError, match=r"methods\.fr\.gamma"):
        schedule_for("r0.01", {"gamma": 0})
    with pytest.raises(ConfigError, match=r"methods\.fr\.min_kept_conv"):
        schedule_for("r0.01", {"min_kept_conv": 0})


# --- the model ---------------------------------------------------------------------------------


def test_build_uses_the_model_block_with_the_methods_overrides():
    assert get_method("fr").budget == "train" and get_method("fr").start_input is None
    fr = get_method("fr")("r0.01", MethodContext(unet=TINY_UNET, params={"levels": ["r0.01"]}))
    model = fr.build()
    assert type(model) is UNet and model.cfg == UNetConfig.from_dict(TINY_UNET)
    assert fr.dense_params == UNet(UNetConfig.from_dict(TINY_UNET)).num_params()
    assert "dense_params" not in vars(model)  # the job's facts are the method's, not the model's
    assert model.up1.up.bias is not None  # the usual UNet: biased transposed convs
    fr_paper = get_method("fr")("k33", MethodContext(unet=TINY_UNET, params={
        "levels": ["k33"], "layer_bias": False, "unet": {"norm_affine": False, "norm_running_stats": False}}))
    paper = fr_paper.build()
    assert not paper.cfg.norm_affine and not paper.cfg.norm_running_stats
    assert all(layer.bias is None for _, layer in fr_layers(paper))
    assert fr_paper.dense_params == fr.dense_params  # compared with the study's baseline network all the same
    # the paper's form stores nothing but coefficients and shapes
    fr_paper.hooks(paper)
    kept = sum(kept_counts(paper).values())
    assert floor_bytes(paper) == 2 * kept + 4 * 4 * len(kept_counts(paper))


def test_hook_selects_only_epochs_at_the_target():
    fr = get_method("fr")("r0.05", MethodContext(unet=TINY_UNET, params={"levels": ["r0.05"], **PARAMS, "gamma": 0.5}))
    model = fr.build()
    (hook,) = fr.hooks(model)
    targets = final_counts(hook.schedule, model)
    assert targets["down2.maxpool_conv.1.double_conv.3"] == round(0.05 * 16 * 16 * 9)  # 115
    assert targets["outc.conv"] == 8 and targets["inc.double_conv.0"] == 8  # all of 8; the floor of 108
    assert not hook.checkpoint_ready(model)
    history = []
    for step in range(40):
        hook.on_step_end(model, step)
        history.append(kept_counts(model))
    assert all(b[k] <= a[k] for a, b in zip(history, history[1:]) for k in a)  # never grows
    assert hook.checkpoint_ready(model) and kept_counts(model) == targets
    record = hook.on_epoch_end(model, 0)
    assert record["fr_at_target"] and record["fr_target_total"] == sum(targets.values()) == record["fr_kept_total"]


def test_trained_through_the_shared_loop_at_the_levels_size(tmp_path, tiny_dataset):
    path, record = train_fr(tmp_path, tiny_dataset, "r0.05")
    assert record["budget"] == "train" and record["peak_rss_kb"] > 0
    epochs = record["epochs"]
    assert [e["fr_at_target"] for e in epochs] == [False, True]  # gamma 0.95: two steps are not enough
    assert record["best_epoch"] == 2  # the first epoch was not selectable
    assert set(epochs[0]["fr_kept"]) == {name for name, _ in fr_layers(load_model(path)[0])}
    model, ckpt = load_model(path)
    assert type(model) is UNet and ckpt["method"] == "fr" and ckpt["level"] == "r0.05"
    assert kept_counts(model) == epochs[-1]["fr_kept"] and ckpt["arch"]["schedule"]["eps"] == 0.05
    for _, layer in fr_layers(model):  # the dropped tail is exactly zero
        assert int(torch.count_nonzero(layer.coeffs)) <= layer.kept_count()


def test_a_schedule_that_never_reaches_the_target_writes_no_checkpoint(tmp_path, tiny_dataset):
    with pytest.raises(ConfigError, match=r"fr/r0\.05: the truncation schedule \(epoch, gamma 0\.1\) did not reach"):
        train_fr(tmp_path, tiny_dataset, "r0.05", schedule="epoch", gamma=0.1)
    assert not (tmp_path / "fr-r0.05.pt").exists()


def test_fixed_count_level_trains_at_its_count_from_the_start(tmp_path, tiny_dataset):
    path, record = train_fr(tmp_path, tiny_dataset, "k12")
    assert all(e["fr_at_target"] for e in record["epochs"])
    assert set(kept_counts(load_model(path)[0]).values()) == {8, 12}  # the 1x1 output conv has 8


# --- export --------------------------------------------------------------------------------------


def test_compact_ptl_export_and_its_record(tmp_path, tiny_dataset):
    path, _ = train_fr(tmp_path, tiny_dataset, "r0.05", layer_bias=False,
                       unet={"norm_affine": False, "norm_running_stats": False})
    model, _ = load_model(path)
    kept = sum(kept_counts(model).values())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = export_model(key={"method": "fr", "level": "r0.05", "seed": 0, "fmt": "ptl"}, checkpoint=str(path),
                           data=str(tiny_dataset), out=str(tmp_path / "fr.ptl"), record_out=str(tmp_path / "fr.json"))
    assert rec["error"] is None and rec["compact"] is True
    # the file stores the kept coefficients, float16, and nothing else as tensors (no biases, no BatchNorm
    # affine parameters or statistics here): its weights payload, what a weights-only update downloads, is
    # the coefficients; the layers' kept counts and shapes are the program's (the floor counts the shapes)
    assert rec["stored_by_dtype"]["float16"] == kept and rec["stored_numbers"] == kept  # (the empty extras: 0)
    assert rec["floor_bytes"] == 2 * kept + 4 * 4 * 13 == floor_bytes(model)
    assert rec["bytes_split"]["weights"] == 2 * kept <= rec["floor_bytes"]
    assert rec["kept_coefficients"] == kept and rec["dense_params"] == UNet(UNetConfig.from_dict(TINY_UNET)).num_params()
    dense = rec["dense_export"]
    # the dense file: every weight, and the zero biases of the transposed and output convs (8 + 4 + 2)
    assert dense["stored_by_dtype"]["float32"] == sum(layer.coeffs.numel() for _, layer in fr_layers(model)) + 14
    assert dense["stored_numbers"] >= 10 * rec["stored_numbers"]  # 7,000 numbers against 700
    # the checkpoint holds float16 values already: the compact module rebuilds the same weights, and
    # its logits are the eager model's up to float32 arithmetic
    assert all(torch.equal(layer.coeffs, layer.coeffs.half().float()) for _, layer in fr_layers(model))
    assert rec["fidelity"]["max_abs_diff"] < 1e-4 and rec["fidelity"]["pixels_disagreeing"] == 0


def test_pte_stores_the_dense_weights_and_says_so(tmp_path, tiny_dataset):
    path, _ = train_fr(tmp_path, tiny_dataset, "k12")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = export_model(key={"method": "fr", "level": "k12", "seed": 0, "fmt": "pte"}, checkpoint=str(path),
                           data=str(tiny_dataset), out=str(tmp_path / "fr.pte"), record_out=str(tmp_path / "fr.json"))
    assert rec["error"] is None, rec["error"]
    assert rec["compact"] is False and "dense" in rec["storage_note"] and "dense_export" not in rec
    assert rec["fidelity"]["max_abs_diff"] < 1e-3


def test_dense_unet_is_the_same_function():
    fr = get_method("fr")("k12", MethodContext(unet=TINY_UNET, params={"levels": ["k12"], "layer_bias": False}))
    model = fr.build()
    fr.hooks(model)
    model.train()(torch.rand(4, 3, 32, 32))  # BatchNorm running statistics
    model.eval()
    dense = dense_unet(model)[0].eval()
    assert type(dense) is UNet and float(dense.up1.up.bias.detach().abs().sum()) == 0.0  # dropped biases: zeros
    x = torch.rand(2, 3, 32, 48)
    with torch.no_grad():
        torch.testing.assert_close(dense(x), model(x), atol=1e-5, rtol=1e-5)


# --- summary ------------------------------------------------------------------------------------


def _rows():
    base = {"fmt": "ptl", "device": "host", "error": None, "seed": 0, "p50_ms": 2.0}
    return pd.DataFrame([
        {**base, "method": "baseline", "level": "dense", "stored_numbers": 1000, "file_bytes": 5000,
         "params_eager": 990, "dense_params": None, "dense_file_bytes": None},
        {**base, "method": "fr", "level": "k33", "stored_numbers": 100, "file_bytes": 1000, "params_eager": 990,
         "dense_params": 990, "dense_file_bytes": 5100},
        {**base, "method": "fr_reference", "level": "k33", "stored_numbers": 759, "file_bytes": 200_000,
         "params_eager": 31_000_000, "dense_params": 31_037_698, "dense_file_bytes": 124_000_000, "p50_ms": 900.0},
    ])


def test_ratios_against_the_baseline_or_the_rows_own_dense_network():
    df = add_baseline_ratios(_rows()).set_index("method")
    assert df.loc["fr", "ratio_against"] == "baseline" and df.loc["fr", "compression_by_count"] == 10
    assert df.loc["fr", "compression_by_bytes"] == 5 and df.loc["fr", "speedup_p50"] == 1
    ref = df.loc["fr_reference"]
    assert ref["ratio_against"] == "own dense" and ref["compression_by_count"] == pytest.approx(31_037_698 / 759)
    assert ref["compression_by_bytes"] == 620 and pd.isna(ref["speedup_p50"]) and not ref["only_on_paper"]
    # no baseline in the study at all: still against its own network
    alone = add_baseline_ratios(_rows().iloc[2:]).iloc[0]
    assert alone["ratio_against"] == "own dense" and alone["compression_by_count"] == pytest.approx(40892.8, rel=1e-4)


# --- the core's fast paths (frbench/fr: truncated inverse, joint basis, cached blocks) ----------


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.script: what the compact .ptl compiles with
@pytest.mark.parametrize("shape,block", [((16, 8, 3, 3), (3, 2, 2, 3)), ((6, 9, 2, 2), (6, 9, 2, 2)),
                                         ((2, 8, 1, 1), (2, 3, 1, 1)), ((7, 5), (3, 2)), ((4, 5, 6), (2, 3, 1))])
def test_head_inverse_equals_scipy_on_the_zero_padded_tensor(shape, block):
    import numpy as np
    import scipy.fft

    from frbench.fr.dct import dct_matrix, dct_rows, head_inverse, head_inverse_joint, head_rows, joint_basis

    head = torch.randn(block, generator=torch.Generator().manual_seed(0))
    full = torch.zeros(shape)
    full[tuple(slice(0, b) for b in block)] = head
    want = torch.from_numpy(scipy.fft.idctn(full.double().numpy(), type=2, norm="ortho")).float()
    rows = head_rows(shape, block, torch.float32, torch.device("cpu"))
    torch.testing.assert_close(head_inverse(head, list(shape), rows), want, atol=1e-5, rtol=1e-5)
    scripted = torch.jit.script(head_inverse)  # what the phone runs
    torch.testing.assert_close(scripted(head, list(shape), rows, None), want, atol=1e-5, rtol=1e-5)
    if len(shape) == 4:
        joint = joint_basis(shape, rows, max_macs=1 << 30)
        torch.testing.assert_close(head_inverse_joint(head, list(shape), joint), want, atol=1e-5, rtol=1e-5)
    for n, b in zip(shape, block):
        assert torch.equal(dct_rows(n, b, torch.float32, torch.device("cpu")), dct_matrix(n, torch.float32,
                                                                                         torch.device("cpu"))[:b])
    assert np.isfinite(want.numpy()).all()


def test_joint_basis_only_for_small_blocks():
    from frbench.fr.dct import head_rows, joint_basis

    small = head_rows((64, 64, 3, 3), (12, 12, 3, 3), torch.float32, torch.device("cpu"))
    full = head_rows((64, 64, 3, 3), (64, 64, 3, 3), torch.float32, torch.device("cpu"))
    assert joint_basis((64, 64, 3, 3), small) is not None and joint_basis((64, 64, 3, 3), full) is None
    assert joint_basis((7, 5), head_rows((7, 5), (2, 2), torch.float32, torch.device("cpu"))) is None


@pytest.mark.parametrize("shape", [(8, 4, 3, 3), (3, 5, 2, 1), (7,), (4, 6), (16, 16, 2, 2)])
def test_head_block_is_the_smallest_sum_bounded_block_holding_the_kept_ranks(shape):
    import itertools

    from frbench.fr.zigzag import head_block, leading_block, zigzag_ranks

    ranks = zigzag_ranks(shape)
    numel = ranks.numel()
    for k in sorted(k for k in {1, 2, 5, 33, numel // 3, numel - 1, numel} if 1 <= k <= numel):
        block = head_block(shape, k)
        inside = ranks[tuple(slice(0, b) for b in block)]
        assert int((inside < k).sum()) == k  # every kept rank lies inside
        s = max(sum(i) for i in itertools.product(*map(range, shape)) if int(ranks[i]) == k - 1)
        assert block == [min(n, s + 1) for n in shape]
        assert all(b <= lb for b, lb in zip(block, leading_block(list(shape), k)))


def test_a_layers_bases_follow_its_block_and_device():
    from frbench.fr import FRConv2d

    layer = FRConv2d(8, 16, 3, padding=1)
    x = torch.randn(1, 8, 6, 6)
    layer.set_kept(40)
    first = layer(x)
    block = layer._bases[0]
    layer.set_kept(10)  # a smaller block: new bases
    assert layer._bases[0] == block and layer(x).shape == first.shape and layer._bases[0] != block
    layer.double()
    assert layer(x.double()).dtype == torch.float64 and layer._bases[1] == torch.float64


def test_caches_filled_under_inference_mode_still_serve_training():
    """Scoring (frbench reference, score_reference) runs FR forwards under torch.inference_mode: the
    DCT bases cached then must not be inference tensors, or a later training step fails."""
    from frbench.fr import FRConv2d

    torch.manual_seed(0)
    layer = FRConv2d(5, 7, 3, padding=1)  # shapes no other test uses: the caches start empty
    layer.set_kept(30)
    x = torch.randn(1, 5, 6, 6)
    with torch.inference_mode():
        layer(x)
    layer(x).square().sum().backward()
    assert layer.coeffs.grad is not None and torch.count_nonzero(layer.coeffs.grad) == 30
