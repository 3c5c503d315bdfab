"""Config mistakes (issue #7), tried one by one: each is refused before any job runs, by the
schema or by frbench.config.check_study (the two checks workflow/rules/common.smk makes),
with a message that names the key or the file."""

import copy
import subprocess
import sys

import numpy as np
import pytest
import yaml
from PIL import Image
from snakemake.utils import validate

from frbench.config import check_study

from conftest import ROOT

SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")
TINY = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())


def folder_data(tmp_path, n_images=4, n_masks=4, mask_values=(0, 255), sizes=None):
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    rng = np.random.default_rng(0)
    for i in range(max(n_images, n_masks)):
        h, w = (sizes[i] if sizes else (24, 32))
        if i < n_images:
            Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(images / f"im{i}.png")
        if i < n_masks:
            Image.fromarray(rng.choice(np.array(mask_values, dtype=np.uint8), (h, w))).save(masks / f"im{i}.png")
    return {"source": "folder", "folder": {"images": str(images), "masks": str(masks)}}


def _set(config, dotted, value):
    *parents, last = dotted.split(".")
    for p in parents:
        config = config.setdefault(p, {})
    config[last] = value


CASES = {
    # name: (change to the tiny config, text the error must contain)
    "unknown key": ({"epochz": 2}, "epochz"),
    "unknown nested key": ({"train.lerning_rate": 0.1}, "lerning_rate"),
    "wrong type": ({"train.epochs": "ten"}, "ten"),
    "empty method list": ({"methods": {}}, "methods"),
    "unknown method": ({"methods.clustering": {"levels": ["k16"]}}, "methods.clustering"),
    "negative level": ({"methods.baseline.levels": ["-1"]}, "-1"),
    "no levels": ({"methods.baseline.levels": []}, "levels"),
    "duplicate seeds": ({"seeds": [0, 1, 0]}, "seeds"),
    "negative seed": ({"seeds": [-1]}, "-1"),
    "unknown format": ({"formats": ["tflite"]}, "tflite"),
    "zero iterations": ({"bench.iters": 0}, "iters"),
    "no training split": ({"data.val_fraction": 0.5, "data.test_fraction": 0.5}, "val_fraction"),
    "folder without paths": ({"data.source": "folder"}, "data.folder.images"),
}


@pytest.mark.parametrize("name", CASES)
def test_config_mistake_is_refused_naming_the_key(name):
    changes, expected = CASES[name]
    config = copy.deepcopy(TINY)
    for dotted, value in changes.items():
        _set(config, dotted, value)
    with pytest.raises(Exception) as err:
        validate(config, SCHEMA, set_default=True)
        check_study(config)
    assert expected in str(err.value), str(err.value)


FOLDER_CASES = {
    "dataset path that does not exist": (dict(), "does-not-exist"),
    "image and mask counts differ": (dict(n_images=4, n_masks=3), "im3"),
    "masks that are not binary": (dict(mask_values=(0, 100, 255)), "binary"),
    "images of mixed sizes": (dict(sizes=[(24, 32), (24, 32), (30, 40), (24, 32)]), "size"),
}


@pytest.mark.parametrize("name", FOLDER_CASES)
def test_bad_dataset_folder_is_refused_naming_the_file(name, tmp_path):
    kwargs, expected = FOLDER_CASES[name]
    config = copy.deepcopy(TINY)
    data = folder_data(tmp_path, **kwargs)
    if name == "dataset path that does not exist":
        data["folder"]["images"] = str(tmp_path / "does-not-exist")
    config["data"].update(data)
    validate(config, SCHEMA, set_default=True)
    with pytest.raises(Exception) as err:
        check_study(config)
    assert expected in str(err.value), str(err.value)


def test_a_good_dataset_folder_passes(tmp_path):
    config = copy.deepcopy(TINY)
    config["data"].update(folder_data(tmp_path, n_images=16, n_masks=16))  # 9 training images: FR's 4 steps
    validate(config, SCHEMA, set_default=True)
    check_study(config)


def test_bad_folder_fails_snakemake_before_any_job(tmp_path):
    config = copy.deepcopy(TINY)
    config["data"].update(folder_data(tmp_path, mask_values=(0, 100, 255)))
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "workflow/Snakefile"),
                           "--directory", str(tmp_path / "run"), "--configfile", str(path), "--cores", "1", "all"],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "binary" in proc.stdout + proc.stderr
    assert not (tmp_path / "run" / "results").exists()
