import pytest
import torch
import yaml

from frbench.errors import ConfigError
from frbench.models import MILESIAL, UNet, UNetConfig

from conftest import ROOT


def milesial_param_count(n_channels=3, n_classes=2, widths=(64, 128, 256, 512, 1024)):
    """milesial/Pytorch-UNet UNet(3, 2, bilinear=False) counted by hand: DoubleConv(i, o) has two bias-free
    3x3 convs (9*i*o + 9*o*o) and two affine BatchNorms (2*o each); Up has ConvTranspose2d(i, i//2, 2)
    with bias (4*i*(i//2) + i//2); OutConv is a 1x1 conv with bias."""
    def double(i, o):
        return 9 * i * o + 9 * o * o + 4 * o

    total = double(n_channels, widths[0])
    total += sum(double(widths[k - 1], widths[k]) for k in range(1, 5))
    for k in range(4, 0, -1):
        i = widths[k]
        total += 4 * i * (i // 2) + i // 2 + double(i, widths[k - 1])
    return total + widths[0] * n_classes + n_classes


def test_milesial_configuration_has_31_037_698_parameters():
    model = UNet(UNetConfig.from_dict(dict(width=64, depth=4, bias=False, norm="batch", bilinear=False)))
    assert milesial_param_count() == 31_037_698
    assert model.num_params() == 31_037_698


def test_milesial_state_dict_names():
    keys = set(UNet(MILESIAL).state_dict())
    for key in ["inc.double_conv.0.weight", "down1.maxpool_conv.1.double_conv.3.weight", "up1.up.weight",
                "up1.conv.double_conv.0.weight", "up4.conv.double_conv.4.running_mean", "outc.conv.weight",
                "outc.conv.bias"]:
        assert key in keys
    convs = [k for k, v in UNet(MILESIAL).state_dict().items() if k.endswith("weight") and v.dim() == 4]
    assert len(convs) == 23  # the 23 tensors of the FR paper's released model


@pytest.mark.parametrize("cfg", [
    UNetConfig.from_dict(dict(width=4, depth=2)),
    UNetConfig.from_dict(dict(width=4, depth=3, bilinear=True)),
    UNetConfig.from_dict(dict(width=2, depth=1, norm="none", bias=True)),
    UNetConfig.from_dict(dict(width=4, depth=2, norm_affine=False, norm_running_stats=False, classes=1)),
])
@pytest.mark.parametrize("hw", [(32, 32), (37, 45)])
def test_output_shape(cfg, hw):
    model = UNet(cfg).eval()
    assert model(torch.rand(2, 3, *hw)).shape == (2, cfg.classes, *hw)


def test_options_change_the_network():
    base = UNet(UNetConfig.from_dict(dict(width=4, depth=2))).num_params()
    assert UNet(UNetConfig.from_dict(dict(width=4, depth=2, bias=True))).num_params() > base
    assert UNet(UNetConfig.from_dict(dict(width=4, depth=2, norm="none"))).num_params() < base
    no_stats = UNet(UNetConfig.from_dict(dict(width=4, depth=2, norm_running_stats=False)))
    assert not any(k.endswith("running_mean") for k in no_stats.state_dict())


def test_config_round_trip_and_unknown_key():
    cfg = UNetConfig.from_dict(dict(width=4, depth=2, bilinear=True))
    assert UNetConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="model: unknown UNet keys.*widht"):
        UNetConfig.from_dict({"widht": 4})


def test_a_partial_block_takes_the_studys_defaults_from_the_schema():
    """One home for every default: the config schema's `model` block, which snakemake fills in too."""
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    model = {k: v["default"] for k, v in schema["properties"]["model"]["properties"].items()}
    assert UNetConfig.from_dict({}).to_dict() == model
    assert UNetConfig.from_dict({"width": 5}).width == 5
    with pytest.raises(ConfigError, match="model.norm"):
        UNetConfig.from_dict({"norm": "layer"})
