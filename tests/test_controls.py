"""The equal-budget controls: which row each method is compared with, the baseline fine-tuned with
the `finetune` budget, and the small dense UNet whose stored numbers match an FR level."""

import json
import math
import subprocess
import sys
import warnings

import pytest
import torch

from frbench.build import build_model
from frbench.errors import ConfigError
from frbench.export import export_model
from frbench.methods import control_of, get_method, load_model, with_controls
from frbench.methods.small_dense import TOLERANCE, matched_config, parse_level, stored_numbers
from frbench.models import UNet, UNetConfig

from conftest import ROOT, TINY_UNET

DEFAULT_UNET = {"width": 8, "depth": 3}


def test_every_row_names_its_control():
    unet, fr = DEFAULT_UNET, {"min_kept_conv": 32}
    assert control_of("baseline", "dense", unet, {}) is None
    assert control_of("baseline_ft", "dense", unet, {}) == ("baseline", "dense")
    for method, level in (("prune_structured", "0.5"), ("prune_unstructured", "0.8"), ("quantize", "int8"),
                          ("tucker", "0.5")):
        assert control_of(method, level, unet, {}) == ("baseline_ft", "dense")
    # FR at r0.01 stores 2,865 numbers at this UNet (1,399 kept coefficients + 1,466 BatchNorm and biases)
    assert control_of("fr", "r0.01", unet, fr) == ("small_dense", "n2865")
    assert control_of("small_dense", "n2865", unet, {}) == ("baseline", "dense")


def test_the_study_trains_every_control_once():
    methods = {"fr": {"levels": ["r0.01", "k8"], "min_kept_conv": 32}, "tucker": {"levels": ["0.5", "0.1"]},
               "quantize": {"levels": ["int8"]}}
    models = with_controls(methods, DEFAULT_UNET)
    assert models == {"fr": ["r0.01", "k8"], "tucker": ["0.5", "0.1"], "quantize": ["int8"],
                      "small_dense": ["n2865", "n1610"], "baseline": ["dense"], "baseline_ft": ["dense"]}


@pytest.mark.parametrize("target", [200, 1624, 2879, 13547, 60000])
def test_small_dense_matches_the_count_keeping_the_depth_where_a_width_can(target):
    cfg = matched_config(DEFAULT_UNET, target)
    count = stored_numbers(cfg)
    same_depth = [stored_numbers(UNetConfig.from_dict(dict(width=w, depth=3))) for w in range(1, 17)]
    if any(abs(n / target - 1) <= TOLERANCE for n in same_depth):
        assert cfg.depth == 3 and abs(count / target - 1) <= TOLERANCE
    else:  # no width at the study's depth comes close: the nearest over every depth
        nearest = min(abs(math.log(stored_numbers(UNetConfig.from_dict(dict(width=w, depth=d))) / target))
                      for d in (1, 2, 3) for w in range(1, 17))
        assert abs(math.log(count / target)) == pytest.approx(nearest)
    assert count == sum(t.numel() for t in UNet(cfg).state_dict().values())


def test_small_dense_levels_are_checked():
    assert parse_level("n2865") == 2865
    for bad in ("2865", "n0", "n", "n12.5", "k33"):
        with pytest.raises(ConfigError, match="methods.small_dense.levels"):
            parse_level(bad)


def test_fr_control_count_is_what_the_exported_file_stores(tmp_path, tiny_dataset):
    """The count a small_dense control is matched to (computed before training, on meta tensors) is
    the count the FR level's exported .ptl stores."""
    params = {"schedule": "step", "gamma": 0.95, "min_kept_conv": 8}
    config = {"unet": TINY_UNET, "train": {"epochs": 2, "batch_size": 8}, "options": params}
    out, record = tmp_path / "fr.pt", tmp_path / "fr.json"
    build_model(method="fr", level="r0.05", seed=0, data=str(tiny_dataset), config=config, out=out,
                record_out=record, threads=1, progress=False)
    train = json.loads(record.read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exported = export_model(key={"method": "fr", "level": "r0.05", "seed": 0, "fmt": "ptl"}, checkpoint=str(out),
                                data=str(tiny_dataset), out=str(tmp_path / "fr.ptl"), record_out=str(tmp_path / "e.json"))
    assert train["role"] == "method" and train["control"] == f"small_dense/n{exported['stored_numbers']}"


def test_a_studys_checks_build_fr_on_meta_tensors_without_torchs_python_references():
    """Every snakemake start validates the study, which builds each FR level's network on the meta device
    (its control's count, its schedule's reach). Built with `*_like` factories or a random draw, those go
    through torch's Python references, which import sympy and torch._dynamo: about a second of CPU a start.
    Checked in a fresh process, where nothing else has imported them."""
    code = ("import sys, yaml; from frbench.config import validate_study; "
            "validate_study(yaml.safe_load(open('config/config.yaml'))); "
            "print(sorted(m for m in ('sympy', 'torch._dynamo') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]", proc.stdout


def test_baseline_ft_fine_tunes_the_baseline_with_the_finetune_budget(tmp_path, tiny_dataset, tiny_checkpoint):
    config = {"unet": TINY_UNET, "finetune": {"epochs": 1, "batch_size": 8}, "options": {}}
    out, record = tmp_path / "ft.pt", tmp_path / "ft.json"
    build_model(method="baseline_ft", level="dense", seed=0, data=str(tiny_dataset), config=config, out=out,
                record_out=record, inputs={"start": str(tiny_checkpoint)}, threads=1, progress=False)
    rec = json.loads(record.read_text())
    assert rec["budget"] == "finetune" and rec["role"] == "control" and rec["control"] == "baseline/dense"
    model, _ = load_model(out)
    base, _ = load_model(tiny_checkpoint)
    assert type(model) is UNet and model.cfg == base.cfg  # the same network, trained further
    assert any(not torch.equal(a, b) for a, b in zip(model.state_dict().values(), base.state_dict().values()))
    assert get_method("baseline_ft").budget == "finetune" and get_method("baseline_ft").role == "control"
