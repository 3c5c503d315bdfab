"""The FR core: N-D DCT, zigzag order, truncation schedule, FR layers, compact export."""

import io
import itertools
import warnings
import zipfile

import numpy as np
import pytest
import scipy.fft
import torch
import torch.nn as nn
import torch.nn.functional as F

from frbench.contract import ExportForm
from frbench.errors import ConfigError
from frbench.formats import get_format
from frbench.fr import (
    FRConv2d,
    FRConvTranspose2d,
    FRLinear,
    TruncationHook,
    TruncationSchedule,
    build_fr_unet,
    compact_coefficients,
    dctn,
    floor_bytes,
    fr_arch,
    fr_layers,
    idctn,
    keep_mask,
    kept_counts,
    next_ratio,
    script_compact,
    target_count,
    to_fr,
    zigzag_order,
    zigzag_ranks,
)
from frbench.models import UNet, UNetConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors: one thread (conftest)


PAPER_STYLE = UNetConfig.from_dict(dict(width=8, depth=3, bias=False, norm_affine=False, norm_running_stats=False))
DEFAULT_STYLE = UNetConfig.from_dict(dict(width=8, depth=3))  # biases on up-convs, BN affine + running statistics


# --- DCT -------------------------------------------------------------------------------------

SHAPES = [(8, 4, 3, 3), (5,), (7, 3), (3, 5, 2, 1), (2, 3, 4, 5), (9, 1, 7)]


@pytest.mark.parametrize("shape", SHAPES)
def test_dctn_idctn_match_scipy(shape):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    want_dct = scipy.fft.dctn(x.double().numpy(), type=2, norm="ortho")
    want_idct = scipy.fft.idctn(x.double().numpy(), type=2, norm="ortho")
    np.testing.assert_allclose(dctn(x).numpy(), want_dct, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(idctn(x).numpy(), want_idct, atol=1e-5, rtol=1e-5)


def test_dctn_over_some_dims_matches_scipy():
    x = torch.randn(4, 5, 3, 2)
    want = scipy.fft.dctn(x.double().numpy(), type=2, norm="ortho", axes=(0, 2))
    np.testing.assert_allclose(dctn(x, dims=(0, -2)).numpy(), want, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(idctn(dctn(x, dims=(0, -2)), dims=(0, 2)).numpy(), x.numpy(), atol=1e-5)


@pytest.mark.parametrize("shape", SHAPES)
def test_dct_round_trip(shape):
    x = torch.randn(shape)
    torch.testing.assert_close(idctn(dctn(x)), x, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(dctn(idctn(x)), x, atol=1e-5, rtol=1e-5)


def test_idctn_gradient_flows():
    # idctn is orthogonal, so d/dx ||idctn(x)||^2 = 2x exactly.
    x = torch.randn(6, 4, 3, 3, requires_grad=True)
    idctn(x).square().sum().backward()
    torch.testing.assert_close(x.grad, 2 * x.detach(), atol=1e-5, rtol=1e-5)


# --- zigzag ----------------------------------------------------------------------------------


def test_zigzag_first_five_of_conv_weight():
    r = zigzag_ranks((8, 4, 3, 3))
    assert r.shape == (8, 4, 3, 3) and r.dtype == torch.long
    assert [int(r[i]) for i in [(0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 1, 0), (0, 1, 0, 0), (1, 0, 0, 0)]] == [0, 1, 2, 3, 4]


def test_zigzag_3x3_table():
    # sum 0: (0,0); sum 1: (0,1) (1,0); sum 2: (0,2) (1,1) (2,0); sum 3: (1,2) (2,1); sum 4: (2,2)
    assert zigzag_ranks((3, 3)).tolist() == [[0, 1, 3], [2, 4, 6], [5, 7, 8]]


@pytest.mark.parametrize("shape", [(3, 2, 3, 2), (2, 5, 1, 3), (7,), (4, 6)])
def test_zigzag_matches_brute_force(shape):
    indices = sorted(itertools.product(*map(range, shape)), key=lambda i: (sum(i), i))
    ranks = zigzag_ranks(shape)
    assert [int(ranks[i]) for i in indices] == list(range(len(indices)))
    flat = [int(np.ravel_multi_index(i, shape)) for i in indices]
    assert zigzag_order(list(shape), 5).tolist() == flat[:5]


@pytest.mark.parametrize("k", [1, 4, 33, 287, 288])  # small k: set from zigzag_order; large k: from the ranks
def test_keep_mask_keeps_lowest_ranks(k):
    m = keep_mask((8, 4, 3, 3), k)
    assert m.dtype == torch.bool and m.shape == (8, 4, 3, 3) and int(m.sum()) == k
    assert torch.equal(m, zigzag_ranks((8, 4, 3, 3)) < k)


def test_zigzag_ranks_vectorised_on_big_weight():
    r = zigzag_ranks((1024, 512, 3, 3))  # 4.7M elements: a Python loop would take minutes
    assert int(r[0, 0, 0, 0]) == 0 and int(r[-1, -1, -1, -1]) == r.numel() - 1
    assert int(r[1, 0, 0, 0]) == 4


# --- schedule --------------------------------------------------------------------------------


def test_next_ratio_and_target_count():
    assert next_ratio(1.0, 0.1, 0.0) == pytest.approx(0.9)
    assert next_ratio(0.5, 0.5, 0.1) == pytest.approx(0.3)
    assert next_ratio(0.01, 0.1, 0.01) == pytest.approx(0.01)  # fixed point at eps
    assert target_count(0.5, 100, 10) == 50
    assert (target_count(0.26, 10, 1), target_count(0.24, 10, 1)) == (3, 2)  # rounded
    assert target_count(0.1, 100, 60) == 60  # floor
    assert target_count(0.1, 40, 60) == 40  # floor above numel: all


def _conv_and_linear():
    torch.manual_seed(0)
    return to_fr(nn.Sequential(nn.Conv2d(4, 40, 3), nn.Flatten(), nn.Linear(40, 50)))  # 1440 and 2000 coefficients


def test_step_schedule_follows_the_formula_with_floors():
    model = _conv_and_linear()
    sched = TruncationSchedule(mode="step", gamma=0.1, eps=0.0, min_kept_conv=128, min_kept_linear=256)
    hook = TruncationHook(sched, model)
    assert kept_counts(model) == {"0": 1440, "2": 2000}
    history, ratio = [], 1.0
    for step in range(60):
        hook.on_step_end(model, step)
        ratio = next_ratio(ratio, 0.1, 0.0)
        assert kept_counts(model) == {"0": max(128, round(ratio * 1440)), "2": max(256, round(ratio * 2000))}
        history.append(kept_counts(model))
    assert history[-1] == {"0": 128, "2": 256}
    for a, b in zip(history, history[1:]):
        assert all(b[k] <= a[k] for k in a)
    record = hook.on_epoch_end(model, 0)  # step mode: the epoch end only reports
    assert record["fr_kept"] == {"0": 128, "2": 256} and record["fr_kept_total"] == 384


def test_epoch_schedule_moves_only_at_epoch_end():
    model = _conv_and_linear()
    hook = TruncationHook(TruncationSchedule(mode="epoch", gamma=0.5, eps=0.2, min_kept_conv=1, min_kept_linear=1), model)
    hook.on_step_end(model, 0)
    assert kept_counts(model) == {"0": 1440, "2": 2000}
    record = hook.on_epoch_end(model, 0)  # ratio 0.6
    assert record == {"fr_ratio": pytest.approx(0.6), "fr_kept": {"0": 864, "2": 1200}, "fr_kept_total": 2064}
    for epoch in range(1, 40):
        record = hook.on_epoch_end(model, epoch)
    assert record["fr_kept"] == {"0": 288, "2": 400}  # eps = 0.2 reached


def test_counts_never_grow():
    model = _conv_and_linear()
    hook = TruncationHook(TruncationSchedule(mode="step", gamma=0.1, eps=0.0, min_kept_conv=1, min_kept_linear=1), model)
    dict(fr_layers(model))["0"].set_kept(10)  # below what the schedule would give
    hook.on_step_end(model, 0)
    assert kept_counts(model) == {"0": 10, "2": 1800}


def test_fixed_schedule_sets_counts_once():
    model = _conv_and_linear()
    hook = TruncationHook(TruncationSchedule.fixed(33), model)
    assert kept_counts(model) == {"0": 33, "2": 33}
    for step in range(5):
        hook.on_step_end(model, step)
    assert hook.on_epoch_end(model, 0)["fr_kept_total"] == 66


def test_schedule_rejects_bad_values():
    good = dict(mode="step", gamma=0.1, eps=0.0, min_kept_conv=1, min_kept_linear=1)
    with pytest.raises(ConfigError, match="mode"):
        TruncationSchedule(**{**good, "mode": "batch"})
    with pytest.raises(ConfigError, match="gamma"):
        TruncationSchedule(**{**good, "gamma": 0.0})
    with pytest.raises(ConfigError, match="at least 1"):
        TruncationSchedule.fixed(0)


# --- FR layers -------------------------------------------------------------------------------

DENSE_LAYERS = [
    (nn.Conv2d(6, 4, 3, stride=2, padding=1, dilation=1, groups=2), (2, 6, 9, 11)),
    (nn.Conv2d(3, 5, (3, 2), padding=(2, 0), dilation=2, bias=False, padding_mode="reflect"), (1, 3, 10, 8)),
    (nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1), (2, 4, 5, 7)),
    (nn.ConvTranspose2d(8, 4, 2, stride=2, bias=False), (1, 8, 5, 5)),
    (nn.Linear(7, 5), (3, 7)),
]


@pytest.mark.parametrize("dense,in_shape", DENSE_LAYERS)
def test_fr_layer_from_dct_reproduces_the_dense_layer(dense, in_shape):
    twin = to_fr(nn.Sequential(dense), init="dct")[0]
    assert type(twin) in (FRConv2d, FRConvTranspose2d, FRLinear) and "weight" not in dict(twin.named_parameters())
    x = torch.randn(in_shape)
    torch.testing.assert_close(twin(x), dense(x), atol=1e-5, rtol=1e-5)
    if dense.bias is not None:
        assert torch.equal(twin.bias, dense.bias)


def test_fr_conv_forward_is_conv_with_idctn_weight():
    layer = FRConv2d(3, 8, 3, stride=2, padding=1)
    layer.set_kept(20)
    x = torch.randn(2, 3, 16, 12)
    weight = idctn(layer.coeffs * keep_mask(layer.coeffs.shape, 20))
    torch.testing.assert_close(layer(x), F.conv2d(x, weight, layer.bias, stride=2, padding=1))


def test_random_init_is_normal_0_01():
    coeffs = FRConv2d(16, 16, 3).coeffs.detach()
    assert coeffs.mean().item() == pytest.approx(0.0, abs=0.01) and coeffs.std().item() == pytest.approx(0.1, rel=0.1)


def test_fr_transposed_conv_uses_in_out_layout():
    layer = FRConvTranspose2d(6, 4, 2, stride=2)
    assert layer.coeffs.shape == (6, 4, 2, 2)
    x = torch.randn(1, 6, 5, 5)
    torch.testing.assert_close(layer(x), F.conv_transpose2d(x, idctn(layer.coeffs), layer.bias, stride=2))


def test_masked_coefficients_get_zero_gradient_and_no_effect():
    layer = FRConv2d(4, 6, 3, padding=1)
    layer.set_kept(17)
    mask = keep_mask(layer.coeffs.shape, 17)
    x = torch.randn(2, 4, 8, 8)
    layer(x).square().sum().backward()
    assert torch.all(layer.coeffs.grad[~mask] == 0)
    assert torch.count_nonzero(layer.coeffs.grad[mask]) == 17
    before = layer(x)
    with torch.no_grad():
        layer.coeffs[~mask] = 5.0  # e.g. moved by optimiser momentum
    torch.testing.assert_close(layer(x), before)


def test_set_kept_rejects_out_of_range():
    layer = FRLinear(3, 2)
    with pytest.raises(ValueError, match="kept count"):
        layer.set_kept(7)


def test_to_fr_on_unet_keeps_output_shape_and_biases():
    torch.manual_seed(0)
    net = UNet(DEFAULT_STYLE)
    dense = {name: type(m) for name, m in net.named_modules() if type(m) in (nn.Conv2d, nn.ConvTranspose2d)}
    up_bias = net.up1.up.bias.detach().clone()
    to_fr(net)
    assert {name: type(m) for name, m in fr_layers(net)} == {
        name: FRConvTranspose2d if t is nn.ConvTranspose2d else FRConv2d for name, t in dense.items()
    }
    assert torch.equal(net.up1.up.bias, up_bias)
    assert net(torch.rand(2, 3, 50, 75)).shape == (2, 2, 50, 75)


def _trained_like_fr_unet(cfg, ratio=0.01):
    torch.manual_seed(0)
    model = to_fr(UNet(cfg))
    for _, layer in fr_layers(model):
        layer.set_kept(max(1, round(ratio * layer.coeffs.numel())))
    return model.eval()


def test_checkpoint_loads_weights_only_and_rebuilds():
    model = _trained_like_fr_unet(DEFAULT_STYLE)
    model.up2.up.bias = None  # bias-free layers survive the round trip too
    buf = io.BytesIO()
    torch.save({"arch": fr_arch(model), "unet": DEFAULT_STYLE.to_dict(), "state_dict": model.state_dict()}, buf)
    buf.seek(0)
    ckpt = torch.load(buf, weights_only=True)
    rebuilt = build_fr_unet(ckpt["unet"], ckpt["arch"])
    rebuilt.load_state_dict(ckpt["state_dict"])
    rebuilt.eval()
    assert kept_counts(rebuilt) == kept_counts(model) and rebuilt.up2.up.bias is None
    for (_, a), (_, b) in zip(fr_layers(rebuilt), fr_layers(model)):
        assert torch.equal(a.mask, b.mask)
    x = torch.rand(1, 3, 32, 48)
    torch.testing.assert_close(rebuilt(x), model(x))


def test_build_fr_unet_names_mismatched_layers():
    arch = fr_arch(_trained_like_fr_unet(PAPER_STYLE))
    del arch["kept"]["outc.conv"]
    with pytest.raises(KeyError, match="outc.conv"):
        build_fr_unet(PAPER_STYLE.to_dict(), arch)


# --- compact storage and the lite-interpreter module -----------------------------------------


def _round_to_float16(model):
    with torch.no_grad():
        for _, layer in fr_layers(model):
            layer.coeffs.copy_(layer.coeffs.half().float())


def test_compact_coefficients_are_the_zigzag_head():
    model = _trained_like_fr_unet(PAPER_STYLE)
    packed = compact_coefficients(model)
    assert set(packed) == set(kept_counts(model))
    for name, layer in fr_layers(model):
        vec, shape = packed[name]
        assert vec.dtype == torch.float16 and vec.shape == (layer.kept_count(),) and shape == tuple(layer.coeffs.shape)
        ranks = zigzag_ranks(shape)
        for r in range(min(3, vec.numel())):
            assert vec[r] == layer.coeffs.detach()[ranks == r].half()
    kept = sum(kept_counts(model).values())
    dims = 4 * 4 * len(packed)
    biases = 4 * sum(m.bias.numel() for _, m in fr_layers(model) if m.bias is not None)
    assert floor_bytes(model) == 2 * kept + dims + biases


@pytest.mark.parametrize("cfg", [PAPER_STYLE, DEFAULT_STYLE], ids=["paper", "default"])
def test_ptl_round_trip_through_lite_interpreter(cfg, tmp_path):
    from torch.jit.mobile import _load_for_lite_interpreter

    model = _trained_like_fr_unet(cfg)
    if cfg.norm_running_stats:
        model.train()(torch.rand(2, 3, 32, 32))  # give BatchNorm non-trivial running statistics
        model.eval()
    _round_to_float16(model)
    path = tmp_path / "model.ptl"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the lite interpreter is deprecated
        get_format("ptl").write(ExportForm(model, program=script_compact(model)), torch.rand(1, 3, 32, 32), path)
        lite = _load_for_lite_interpreter(str(path))
    x = torch.rand(1, 3, 50, 75)
    with torch.no_grad():
        want = model(x)
    torch.testing.assert_close(lite(x), want, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(lite(x), want, atol=1e-5, rtol=1e-5)  # second call: unpacked weights

    # what the file stores as tensors, read back from it: the kept coefficients (float16) and the other
    # tensors (float32, less BatchNorm's step counters); each layer's kept count and shape are the program's
    stored = get_format("ptl").stored_tensors(path)
    layers = len(kept_counts(model))
    assert {k: (t.dtype, t.numel()) for k, t in stored.items()} == {
        "coeffs": (torch.float16, sum(kept_counts(model).values())),
        "extras": (torch.float32, sum(t.numel() for k, t in model.state_dict().items()
                                      if not k.endswith(("coeffs", "kept", "num_batches_tracked"))))}
    stored = sum(t.numel() * t.element_size() for t in stored.values())
    assert stored == floor_bytes(model) - 4 * 4 * layers  # the floor less the shapes (the program's)

    with zipfile.ZipFile(path) as z:  # tensor records in the file: exactly those bytes
        data = sum(i.file_size for i in z.infolist() if "/data/" in i.filename and "/.data/" not in i.filename)
    assert data == stored
