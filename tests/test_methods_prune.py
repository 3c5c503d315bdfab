"""prune_structured (torch-pruning) and prune_unstructured (torch.nn.utils.prune) on the tiny UNet."""

import pytest
import torch
import torch.nn as nn
import torch_pruning as tp

from frbench.errors import ConfigError
from frbench.methods import MethodContext, get_method, load_model
from frbench.methods.prune_structured import kept_channels
from frbench.methods.prune_unstructured import sparsity

from conftest import TINY_UNET
from method_helpers import compress, export, reload


def test_kept_channels_rounds_to_the_multiple_and_never_empties_a_layer():
    assert kept_channels(64, 0.5, 4) == 32 and kept_channels(64, 0.7, 8) == 16 and kept_channels(32, 0.3, 4) == 24
    assert kept_channels(8, 0.9, 4) == 4 and kept_channels(4, 0.5, 4) == 4 and kept_channels(3, 0.5, 4) == 3


def test_structured_pruning_shrinks_channels_and_macs(tmp_path, tiny_dataset, tiny_checkpoint):
    path, record = compress(tmp_path, tiny_dataset, tiny_checkpoint, "prune_structured", "0.5", round_to=4)
    model, ckpt = reload(path)
    base, _ = load_model(tiny_checkpoint)
    arch = ckpt["arch"]
    assert arch["round_to"] == 4 and arch["ratio"] == 0.5
    # the rebuilt network really is narrower: the wide layers halved, to multiples of 4
    assert model.down2.maxpool_conv[1].double_conv[0].out_channels == 8  # 16 in the baseline
    assert model.down1.maxpool_conv[1].double_conv[3].out_channels == 4  # 8 in the baseline
    convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert all(c.out_channels % 4 == 0 for c in convs if c is not model.outc.conv)
    assert model.outc.conv.out_channels == 2
    x = torch.zeros(1, 3, 32, 32)
    macs, params = tp.utils.count_ops_and_params(model, x)
    base_macs, base_params = tp.utils.count_ops_and_params(base, x)
    assert macs < 0.7 * base_macs and params < 0.5 * base_params
    assert arch["macs"]["pruned"] == macs and arch["params"]["pruned"] == params
    assert record["budget"] == "finetune" and len(record["epochs"]) == 2
    assert model(x).shape == (1, 2, 32, 32)
    # the exported file holds fewer parameters, in another graph than the baseline's
    rec, base_rec = (export(tmp_path, path, tiny_dataset, "prune_structured", "0.5"),
                     export(tmp_path, tiny_checkpoint, tiny_dataset, "baseline", "dense"))
    assert rec["stored_numbers"] < 0.5 * base_rec["stored_numbers"]
    assert rec["graph"]["signature"] != base_rec["graph"]["signature"]
    assert rec["graph"]["ops"] == base_rec["graph"]["ops"]  # the same operators, on narrower tensors


def test_unstructured_pruning_reaches_its_sparsity_and_keeps_it(tmp_path, tiny_dataset, tiny_checkpoint):
    path, record = compress(tmp_path, tiny_dataset, tiny_checkpoint, "prune_unstructured", "0.8")
    model, ckpt = reload(path)
    # every epoch of the fine-tune held the sparsity (the mask), and the saved weights hold it
    assert all(e["sparsity"] >= 0.8 - 1e-3 for e in record["epochs"])
    measured = sparsity(model)
    assert measured["global"] == pytest.approx(0.8, abs=1e-3) and ckpt["arch"]["sparsity"] == measured
    # the mask was made permanent: a plain UNet state dict, no weight_orig / weight_mask
    assert not any(k.endswith(("_orig", "_mask")) for k in ckpt["state_dict"])
    # the exported file stores the zeros densely: non-zeros fall, stored numbers do not
    rec = export(tmp_path, path, tiny_dataset, "prune_unstructured", "0.8")
    assert rec["error"] is None
    assert rec["nonzero_numbers"] < 0.4 * rec["stored_numbers"]
    assert rec["stored_numbers"] >= sum(p.numel() for p in model.parameters())
    # ... in the baseline's very graph: same operators, same shapes, only zeros in the weights
    base_rec = export(tmp_path, tiny_checkpoint, tiny_dataset, "baseline", "dense")
    assert rec["graph"]["signature"] == base_rec["graph"]["signature"]


@pytest.mark.parametrize("method,level", [("prune_structured", "l1-0.5"), ("prune_structured", "50"),
                                          ("prune_unstructured", "1.5"), ("prune_unstructured", "0")])
def test_malformed_level_is_named(method, level, tiny_checkpoint):
    base, _ = load_model(tiny_checkpoint)
    ctx = MethodContext(unet=TINY_UNET, models={"start": base}, calibration=torch.zeros(2, 3, 32, 32))
    with pytest.raises(ConfigError, match=rf"methods\.{method}\.levels: level '{level}' is malformed"):
        get_method(method)(level, ctx).build()
