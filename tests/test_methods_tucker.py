"""tucker: Tucker-2 (tensorly) with ranks by rank ratio or by EVBMF (Kim et al.)."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from frbench.errors import ConfigError
from frbench.methods import MethodContext, get_method, load_model
from frbench.methods._vbmf import evbmf_rank
from frbench.methods.tucker import decompose, vbmf_ranks

from conftest import TINY_UNET
from method_helpers import compress, export, reload


def test_ratio_level_sets_the_ranks_and_records_the_skipped_layers(tmp_path, tiny_dataset, tiny_checkpoint):
    base, _ = load_model(tiny_checkpoint)
    convs = {n: m for n, m in base.named_modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))}
    path, record = compress(tmp_path, tiny_dataset, tiny_checkpoint, "tucker", "0.5")
    model, ckpt = reload(path)
    arch = ckpt["arch"]
    assert arch["rank_rule"] == "ratio"
    assert set(arch["skipped"]) == {"outc.conv"} and "1x1" in arch["skipped"]["outc.conv"]
    assert set(arch["ranks"]) == set(convs) - {"outc.conv"}
    for name, (r_out, r_in) in arch["ranks"].items():
        conv = convs[name]
        assert [r_out, r_in] == [max(1, round(0.5 * conv.out_channels)), max(1, round(0.5 * conv.in_channels))]
        first, core, last = model.get_submodule(name)
        assert (first.in_channels, first.out_channels) == (conv.in_channels, r_in)
        assert (core.in_channels, core.out_channels, core.kernel_size) == (r_in, r_out, conv.kernel_size)
        assert type(core) is type(conv) and (last.in_channels, last.out_channels) == (r_out, conv.out_channels)
    assert arch["conv_macs"]["decomposed"] < 0.5 * arch["conv_macs"]["baseline"]
    assert sum(p.numel() for p in model.parameters()) < sum(p.numel() for p in base.parameters())
    assert export(tmp_path, path, tiny_dataset, "tucker", "0.5")["error"] is None


def test_layers_that_would_not_save_compute_are_left_whole(tiny_checkpoint):
    base, _ = load_model(tiny_checkpoint)
    ctx = MethodContext(unet=TINY_UNET, models={"start": base}, calibration=torch.zeros(1, 3, 32, 32))
    tucker = get_method("tucker")("0.9", ctx)
    arch = tucker.arch(tucker.build())
    # 3 -> 4 channels at rank ratio 0.9 keeps ranks [4, 3]: three convs cost more than the one
    assert "inc.double_conv.0" not in arch["ranks"]
    assert "not fewer than the layer's" in arch["skipped"]["inc.double_conv.0"]
    rebuilt = get_method("tucker")("0.9").rebuild(arch)
    assert isinstance(rebuilt.inc.double_conv[0], nn.Conv2d)


def test_evbmf_recovers_the_rank_of_a_noisy_low_rank_matrix():
    rng = np.random.default_rng(0)
    for rank in (1, 4, 9):
        Y = rng.normal(size=(48, rank)) @ rng.normal(size=(rank, 120)) + 0.2 * rng.normal(size=(48, 120))
        assert evbmf_rank(Y) == rank and evbmf_rank(Y.T) == rank
    assert evbmf_rank(rng.normal(size=(24, 60))) == 0  # noise only


@torch.no_grad()
def test_vbmf_level_finds_the_tucker_ranks_of_a_low_rank_kernel():
    rng = torch.Generator().manual_seed(0)
    conv = nn.Conv2d(32, 48, 3, padding=1, bias=False)
    core = torch.randn(5, 3, 3, 3, generator=rng)
    u_out, u_in = torch.randn(48, 5, generator=rng), torch.randn(32, 3, generator=rng)
    conv.weight.copy_(torch.einsum("abhw,oa,ib->oihw", core, u_out, u_in)
                      + 0.01 * torch.randn(48, 32, 3, 3, generator=rng))
    assert vbmf_ranks(conv) == (5, 3)
    seq, error = decompose(conv, 5, 3)
    x = torch.randn(1, 32, 8, 8)
    assert error < 0.01 and ((seq(x) - conv(x)).norm() / conv(x).norm()) < 0.01
    # a transposed conv decomposes the same way, its core staying transposed
    up = nn.ConvTranspose2d(16, 8, 2, stride=2)
    seq, _ = decompose(up, 8, 16)  # full ranks: exact
    z = torch.randn(1, 16, 4, 4)
    assert isinstance(seq[1], nn.ConvTranspose2d) and seq(z).shape == (1, 8, 8, 8)
    assert torch.allclose(seq(z), up(z), atol=1e-5)


def test_vbmf_level_decomposes_where_vbmf_finds_a_rank_and_records_the_rest(tmp_path, tiny_dataset,
                                                                            tiny_checkpoint):
    ckpt = torch.load(tiny_checkpoint, weights_only=True)
    low_rank = ckpt["state_dict"]["down2.maxpool_conv.1.double_conv.3.weight"]  # 16 x 16 x 3 x 3, untrained
    g = torch.Generator().manual_seed(1)
    low_rank.copy_(torch.einsum("abhw,oa,ib->oihw", torch.randn(3, 2, 3, 3, generator=g),
                                torch.randn(16, 3, generator=g), torch.randn(16, 2, generator=g)))
    torch.save(ckpt, tiny_checkpoint)
    path, _ = compress(tmp_path, tiny_dataset, tiny_checkpoint, "tucker", "vbmf")
    _, ckpt = reload(path)
    arch = ckpt["arch"]
    assert arch["rank_rule"] == "vbmf" and arch["ranks"] == {"down2.maxpool_conv.1.double_conv.3": [3, 2]}
    # untrained kernels are noise to VBMF (rank 0): left whole, with the reason
    base, _ = load_model(tiny_checkpoint)
    convs = {n for n, m in base.named_modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))}
    assert set(arch["skipped"]) == convs - set(arch["ranks"])
    assert "VBMF finds no rank" in arch["skipped"]["inc.double_conv.0"]


@pytest.mark.parametrize("level", ["l1-0.5", "VBMF", "1.5", "rank4"])
def test_malformed_level_is_named(level, tiny_checkpoint):
    base, _ = load_model(tiny_checkpoint)
    ctx = MethodContext(unet=TINY_UNET, models={"start": base}, calibration=torch.zeros(1, 3, 32, 32))
    with pytest.raises(ConfigError, match=rf"methods\.tucker\.levels: level '{level}' is malformed.*'vbmf'"):
        get_method("tucker")(level, ctx).build()
