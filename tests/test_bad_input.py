"""Bad input, second round (issue #15): what a user's own data and mistakes do to a study.

Each case is refused with a message that names the file or the keys and what to do, before any job
replaces a result (the study's earlier files are all still there, unchanged); every piece of advice
an error gives is a command that works, run here as written on a copy of the tiny study; and a row
whose reference failed reads "unknown", never a ratio against something else.
"""

import copy
import csv
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image
from snakemake.utils import validate

from frbench.config import check_config_files, check_study, read_config_file
from frbench.data import DataError, check_folder, load_folder_pair
from frbench.errors import ConfigError
from frbench.integrity import sha256_of
from frbench.report.summary import add_baseline_ratios
from frbench.report.tables import COMPARISON, comparison, printed
from frbench.train import segmentation_loss

from conftest import ROOT, finished_copy, run_as_written

SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")
TINY = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())


def _set(config: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for p in parents:
        config = config.setdefault(p, {})
    config[last] = value


def tiny_with(**changes) -> dict:
    """The tiny study's config with `changes` ({"data.size": [8, 8], ...}), validated (defaults filled)."""
    config = copy.deepcopy(TINY)
    for dotted, value in changes.items():
        _set(config, dotted, value)
    validate(config, SCHEMA, set_default=True)
    return config


# --- keys whose values cannot go together ---------------------------------------------------------

# name: (changes to the tiny config, the keys its message must name). The tiny study has 24 images:
# 4 validate, 7 test, 13 train (two steps of 8 per epoch).
COMBINATIONS = {
    "image smaller than the poolings (the issue's)": ({"data.size": [8, 8], "model.depth": 4}, ["data.size", "model.depth"]),
    "one side too small": ({"data.size": [64, 12], "model.depth": 4}, ["data.size", "model.depth"]),
    "the released model's size": ({"reference": {"dir": "fr_reference", "size": [640, 8]}}, ["reference.size"]),
    "the released model's 1x1 bottleneck": ({"reference": {"dir": "fr_reference", "size": [16, 31]}},
                                            ["reference.size"]),
    "a last batch of one on a 1x1 bottleneck": ({"data.size": [8, 8], "model.depth": 3, "train.batch_size": 12},
                                               ["train.batch_size", "data.size"]),
    "batches of one on a 1x1 bottleneck": ({"data.size": [8, 8], "model.depth": 3, "finetune.batch_size": 1},
                                          ["finetune.batch_size", "data.size"]),
    "batch statistics at inference on a 1x1 bottleneck": (
        {"data.size": [8, 8], "model.depth": 3, "methods.fr.unet": {"norm_running_stats": False}},
        ["methods.fr.unet.norm_running_stats", "data.size"]),
    "a split with no image": ({"data.synthetic.n_images": 3}, ["data.val_fraction", "data.synthetic.n_images"]),
    "FR's schedule and the budget": ({"methods.fr.gamma": 0.1}, ["methods.fr.gamma", "train.epochs", "methods.fr.levels"]),
    "FR with no training": ({"train.epochs": 0}, ["methods.fr.gamma", "train.epochs"]),
    "quantize keep_float and the depth": ({"methods.quantize.keep_float": ["up3.up"]},
                                          ["methods.quantize.keep_float", "model.depth"]),
}


@pytest.mark.parametrize("name", COMBINATIONS)
def test_values_that_cannot_go_together_are_refused_naming_the_keys(name):
    changes, keys = COMBINATIONS[name]
    with pytest.raises(ConfigError) as info:
        check_study(tiny_with(**changes))
    for key in keys:
        assert key in str(info.value), (key, str(info.value))


@pytest.mark.parametrize("changes", [
    {"data.size": [16, 16], "model.depth": 4},  # a 1x1 bottleneck, batches of 8 and 5: BatchNorm trains
    {"data.size": [8, 8], "model.depth": 3, "model.norm": "none"},
    {"data.size": [8, 8], "model.depth": 3, "train.batch_size": 12, "model.norm": "none"},
    {"data.size": [12, 40], "model.depth": 3, "methods.fr.unet": {"norm_running_stats": False}},  # 1x5
    {"methods.fr.gamma": 0.1, "methods.fr.levels": ["k8"]},  # a fixed count needs no schedule
    {"methods.quantize.keep_float": ["up2.up", "outc"]},
    {"reference": {"dir": "fr_reference", "size": [16, 32]}},  # a 1x2 bottleneck: two values per channel
])
def test_values_that_go_together_pass(changes):
    check_study(tiny_with(**changes))


def test_a_single_logit_model_trains():
    """`model.classes: 1` (documented: 1 logit, foreground where > 0) trains: binary cross-entropy and
    soft Dice of the sigmoid, as milesial's n_classes=1; it used to fail with "Target 1 is out of bounds"."""
    logits = torch.randn(2, 1, 8, 8, requires_grad=True)
    masks = (torch.rand(2, 8, 8) > 0.5).long()
    loss = segmentation_loss(logits, masks, dice_weight=1.0)
    loss.backward()
    assert torch.isfinite(loss) and logits.grad.abs().sum() > 0
    perfect = segmentation_loss((masks[:, None].float() * 2 - 1) * 50, masks, dice_weight=1.0)
    assert perfect < 1e-3  # confident and right: no loss left
    check_study(tiny_with(**{"model.classes": 1}))


# --- a config file snakemake cannot take -------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("", "the config file is empty"),
    ("# only a comment\n", "the config file is empty"),
    ("- seeds\n- methods\n", "holds a list at its top level"),
    ("just words\n", "holds a str at its top level"),
    ("seeds: [0\n", "not valid YAML at line 2"),
])
def test_a_config_file_snakemake_cannot_take_is_named_by_check_config(tmp_path, text, expected):
    path = tmp_path / "study.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(f"{path}: ") + ".*" + re.escape(expected)):
        read_config_file(path)
    proc = subprocess.run([sys.executable, "-m", "frbench", "check-config", str(path)], capture_output=True, text=True)
    assert proc.returncode == 1 and str(path) in proc.stderr and expected in proc.stderr


def test_check_config_runs_the_workflows_checks(tmp_path):
    path = tmp_path / "study.yaml"
    config = copy.deepcopy(TINY)
    config["data"]["size"], config["model"]["depth"] = [8, 8], 4
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=re.escape(str(path)) + ".*data.size.*model.depth"):
        check_config_files(path)
    assert check_config_files(ROOT / "config" / "tiny.yaml")["model"]["depth"] == 2
    # several files merge in order, as with `snakemake --configfile A B`
    fix = tmp_path / "fix.yaml"
    fix.write_text("model: {depth: 3}\n")
    merged = check_config_files(path, fix)
    assert merged["model"]["depth"] == 3 and merged["model"]["width"] == 4 and merged["data"]["size"] == [8, 8]
    proc = subprocess.run([sys.executable, "-m", "frbench", "check-config", str(path), str(fix)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr


# --- a dataset folder's files -----------------------------------------------------------------------

FORMATS = {"png": "PNG", "jpg": "JPEG", "gif": "GIF", "bmp": "BMP", "tif": "TIFF"}


def pair_folder(tmp_path: Path, n: int = 4, image_ext: str = "png", mask_ext: str = "png") -> dict:
    """`n` random 24x32 images with 0/255 masks (a third foreground), as the config's `data` block."""
    rng = np.random.default_rng(0)
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir(exist_ok=True)
    masks.mkdir(exist_ok=True)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(images / f"im{i}.{image_ext}")
        mask = np.zeros((24, 32), np.uint8)
        mask[8:16, 4 + i : 12 + i] = 255
        Image.fromarray(mask).save(masks / f"im{i}.{mask_ext}")
    return {**TINY_DATA_DEFAULTS, "folder": {"images": str(images), "masks": str(masks), "mask_suffix": "", "limit": None}}


TINY_DATA_DEFAULTS = {"source": "folder", "size": [16, 16], "seed": 0, "val_fraction": 0.25, "test_fraction": 0.25}


def cut_short(path: Path, keep: float = 0.6) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


# every format the folder reader takes, for images; masks in the lossless ones (a JPEG mask is refused anyway)
CUT_SHORT = [(which, ext) for which in ("images", "masks") for ext in FORMATS if (which, ext) != ("masks", "jpg")]


@pytest.mark.parametrize("which, ext", CUT_SHORT)
def test_a_file_cut_short_is_refused_before_any_job_naming_it(tmp_path, which, ext):
    data = pair_folder(tmp_path, image_ext="jpg" if which == "masks" else ext, mask_ext=ext if which == "masks" else "png")
    bad = sorted(Path(data["folder"][which]).iterdir())[2]
    cut_short(bad)
    with pytest.raises(DataError) as info:
        check_folder(data)
    assert str(bad) in str(info.value) and "cut short or damaged" in str(info.value), str(info.value)


def decodes(monkeypatch) -> list[Path]:
    """The files decoded from now on (`frbench.data.pixels.decode`), in order."""
    from frbench.data import pixels

    decoded = []
    real = pixels.decode
    monkeypatch.setattr(pixels, "decode", lambda image, path, partner: decoded.append(path) or real(image, path, partner))
    return decoded


def test_a_file_that_passed_is_not_decoded_again_until_it_changes(tmp_path, monkeypatch):
    data = pair_folder(tmp_path)
    decoded = decodes(monkeypatch)
    assert check_folder(data) == 4 and len(decoded) == 8  # every image and mask, once
    decoded.clear()
    assert check_folder(data) == 4 and decoded == []  # remembered (frbench.data.verified)
    bad = Path(data["folder"]["images"]) / "im1.png"
    cut_short(bad)  # a changed file is decoded again, and refused
    with pytest.raises(DataError, match=re.escape(str(bad))):
        check_folder(data)


def _mask_png(path: Path, array: np.ndarray, mode: str | None = None) -> None:
    Image.fromarray(array, mode=mode).save(path) if mode else Image.fromarray(array).save(path)


def _png16(path: Path, array: np.ndarray, color_type: int) -> None:
    """A 16-bit PNG (Pillow writes none with colour): greyscale 0, RGB 2, grey+alpha 4, RGBA 6."""
    h, w = array.shape[:2]
    raw = b"".join(b"\0" + array[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


FOREGROUND = np.zeros((24, 32), bool)
FOREGROUND[4:16, 8:24] = True  # 192 pixels, as in the issue


def _coloured(colour, background=None, dtype=np.uint8) -> np.ndarray:
    """FOREGROUND in `colour` on `background` (black, alpha 0, by default)."""
    out = np.zeros((24, 32, len(colour)), dtype)
    out[:] = background if background is not None else 0
    out[FOREGROUND] = colour
    return out


def _palette_mask(path: Path, palette: list[int]) -> None:
    image = Image.fromarray(FOREGROUND.astype(np.uint8), mode="L").convert("P")
    image.putpalette(palette)
    image.save(path)


# name: writes a mask whose foreground is FOREGROUND
MASKS = {
    "RGB pure red (1, 0, 0), the issue's": lambda p: _mask_png(p, _coloured((1, 0, 0))),
    "RGB pure blue 255": lambda p: _mask_png(p, _coloured((0, 0, 255))),
    "RGBA opaque white on opaque black": lambda p: _mask_png(p, _coloured((255, 255, 255, 255), (0, 0, 0, 255))),
    "RGBA red on transparent white": lambda p: _mask_png(p, _coloured((255, 0, 0, 255), (255, 255, 255, 0))),
    "LA grey 1 on transparent": lambda p: _mask_png(p, _coloured((1, 255)), "LA"),
    "L 0/1": lambda p: _mask_png(p, FOREGROUND.astype(np.uint8)),
    "1-bit": lambda p: Image.fromarray(FOREGROUND).save(p),
    "palette black/white (Carvana's GIF)": lambda p: _palette_mask(p.with_suffix(".gif"), [0, 0, 0, 255, 255, 255]),
    "palette, index 1 a dark red": lambda p: _palette_mask(p, [0, 0, 0, 1, 0, 0]),
    "16-bit grey, value 1": lambda p: _png16(p, FOREGROUND.astype(np.uint16), 0),
    "16-bit grey, value 65535": lambda p: _png16(p, FOREGROUND.astype(np.uint16) * 65535, 0),
    "32-bit float TIFF": lambda p: Image.fromarray(FOREGROUND.astype(np.float32) * 0.5).save(p.with_suffix(".tif")),
}


def checked_and_loaded(tmp_path, which: str, write) -> tuple[np.ndarray, np.ndarray]:
    """A one-pair folder whose image or mask (`which`: "images" or "masks") `write` wrote in place of
    im0.png (under the name it chose: a .tif, say), passed through the folder check, then read as the
    dataset rule reads it: (image, mask)."""
    data = pair_folder(tmp_path, n=1)
    folder = Path(data["folder"][which])
    (folder / "im0.png").unlink()
    write(folder / "im0.png")
    pair = {kind: Path(data["folder"][kind]) / "im0.png" for kind in ("images", "masks")}
    pair[which] = next(folder.iterdir())
    check_folder(data)
    return load_folder_pair(pair["images"], pair["masks"], (24, 32))


@pytest.mark.parametrize("name", MASKS)
def test_masks_of_every_colour_and_depth_keep_their_foreground(tmp_path, name):
    _, mask = checked_and_loaded(tmp_path, "masks", MASKS[name])
    assert mask.sum() == FOREGROUND.sum() == 192 and (mask.astype(bool) == FOREGROUND).all()


def _two_colours() -> np.ndarray:
    out = _coloured((255, 0, 0))
    out[20:22, 0:4] = (0, 255, 0)
    return out


def _soft_alpha() -> np.ndarray:
    """White, with an alpha that fades across the image: an anti-aliased mask."""
    alpha = np.tile(np.arange(0, 256, 8, dtype=np.uint8), (24, 1))
    return np.dstack([np.full((24, 32, 3), 255, np.uint8), alpha])


@pytest.mark.parametrize("name, write, expected", [
    ("16-bit colour", lambda p: _png16(p, _coloured((1, 0, 0), dtype=np.uint16), 2), "16-bit colour mask"),
    ("16-bit grey+alpha", lambda p: _png16(p, _coloured((1, 65535), dtype=np.uint16), 4), "16-bit colour mask"),
    ("two colours", lambda p: _mask_png(p, _two_colours()), "not binary"),
    ("anti-aliased alpha", lambda p: _mask_png(p, _soft_alpha()), "not binary"),
])
def test_masks_that_cannot_be_read_faithfully_are_refused_naming_them(tmp_path, name, write, expected):
    data = pair_folder(tmp_path, n=1)
    mask = Path(data["folder"]["masks"]) / "im0.png"
    write(mask)
    with pytest.raises(DataError) as info:
        check_folder(data)
    assert str(mask) in str(info.value) and expected in str(info.value), str(info.value)


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A greyscale PNG that claims `width` x `height` pixels and holds a few bytes of them: what a
    decompression bomb's header says, at no cost to write."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


GREY = np.arange(24 * 32).reshape(24, 32) % 256  # every 8-bit level, and the same picture at other depths


# name: writes an image whose 8-bit grey levels are GREY
IMAGES = {
    "8-bit grey": lambda p: Image.fromarray(GREY.astype(np.uint8)).save(p),
    "16-bit grey (the issue's: it became white)": lambda p: _png16(p, GREY.astype(np.uint16) * 257, 0),
    "16-bit colour (Pillow keeps the high byte)": lambda p: _png16(p, np.dstack([GREY * 256 + 200] * 3), 2),
    "32-bit float TIFF, 0 to 1 (the issue's: it became black)":
        lambda p: Image.fromarray((GREY / 255).astype(np.float32)).save(p.with_suffix(".tif")),
}


@pytest.mark.parametrize("name", IMAGES)
def test_images_of_every_depth_are_scaled_by_their_range(tmp_path, name):
    image, _ = checked_and_loaded(tmp_path, "images", IMAGES[name])
    assert (image == GREY[..., None]).all(), np.abs(image.astype(int) - GREY[..., None]).max()


@pytest.mark.parametrize("name, write, expected", [
    ("float above 1", lambda p: Image.fromarray((GREY * 1.0).astype(np.float32)).save(p), "values from 0 to 255"),
    ("float NaN", lambda p: Image.fromarray(np.full((24, 32), np.nan, np.float32)).save(p), "not numbers"),
    ("32-bit integer", lambda p: Image.fromarray(GREY.astype(np.int32) * 1000).save(p), "32-bit integer image"),
])
def test_images_without_a_known_range_are_refused_naming_them_and_the_rule(tmp_path, name, write, expected):
    data = pair_folder(tmp_path, n=1)
    image = Path(data["folder"]["images"]) / "im0.tif"
    (image.with_suffix(".png")).unlink()
    write(image)
    with pytest.raises(DataError) as info:
        check_folder(data)
    assert str(image) in str(info.value) and expected in str(info.value), str(info.value)
    assert "config/README.md" in str(info.value)


@pytest.mark.parametrize("which, width, height", [
    ("images", 12000, 12000),  # the issue's: between Pillow's limit and twice it (Pillow only warns)
    ("masks", 20000, 10000),  # beyond twice it: Pillow raises DecompressionBombError, which is no OSError
    ("both", 64, 48),  # an image and its mask of a sound size, but not the others': refused from the headers too
])
def test_a_file_too_large_or_of_another_size_is_refused_from_its_header_before_any_decoding(tmp_path, monkeypatch,
                                                                                            which, width, height):
    data = pair_folder(tmp_path, n=3)
    bad = Path(data["folder"]["images" if which == "both" else which]) / "im2.png"
    for folder in ("images", "masks") if which == "both" else (which,):
        _png_header_only(Path(data["folder"][folder]) / "im2.png", width, height)
    decoded = decodes(monkeypatch)
    with pytest.raises(DataError) as info:
        check_folder(data)
    message = str(info.value)
    assert str(bad) in message and decoded == [], message  # not one file decoded
    if width * height > Image.MAX_IMAGE_PIXELS:
        assert "more than Pillow decodes safely" in message and "it was not decoded" in message
        with pytest.raises(ConfigError, match=re.escape(str(bad))):  # what the workflow and check-config run
            check_study(tiny_with(**{"data.source": "folder", "data.folder": data["folder"]}))
    else:
        assert "images of 2 sizes" in message and "64x48: 1 image, e.g." in message


def test_messages_count_in_the_singular_and_plural(tmp_path):
    data = pair_folder(tmp_path, n=3)
    (Path(data["folder"]["masks"]) / "im1.png").unlink()
    with pytest.raises(DataError, match="1 image has no mask: im1.png"):
        check_folder(data)
    (Path(data["folder"]["masks"]) / "im2.png").unlink()
    with pytest.raises(DataError, match="2 images have no mask: im1.png, im2.png"):
        check_folder(data)


# --- a failed reference: unknown, never a ratio against something else ---------------------------------


def _summary(baseline_error=None, baseline_params=990.0):
    base = {"fmt": "ptl", "device": "host", "error": None, "seed": 0, "p50_ms": 2.0, "graph_differs": True,
            "dense_file_bytes": None, "dense_weights_bytes": None, "weights_bytes": 900, "role": "method"}
    return pd.DataFrame([
        {**base, "method": "baseline", "level": "dense", "stored_numbers": 1000, "file_bytes": 5000,
         "params_eager": baseline_params, "dense_params": None, "error": baseline_error, "graph_differs": None,
         "role": "baseline"},
        {**base, "method": "fr", "level": "r0.05", "stored_numbers": 100, "file_bytes": 1000, "params_eager": 990,
         "dense_params": 990, "dense_file_bytes": 5100, "dense_weights_bytes": 4000, "weights_bytes": 200},
        {**base, "method": "prune_unstructured", "level": "0.8", "stored_numbers": 1000, "file_bytes": 5000,
         "params_eager": 990, "dense_params": None, "graph_differs": False},
        {**base, "method": "fr_reference", "level": "k33", "stored_numbers": 759, "file_bytes": 200_000,
         "params_eager": 31_000_000, "dense_params": 31_037_698, "dense_file_bytes": 124_000_000,
         "dense_weights_bytes": 124_000_000, "weights_bytes": 1518, "p50_ms": 900.0, "role": None},
    ])


def test_rows_whose_baseline_failed_are_unknown_not_vs_own_dense():
    ok = add_baseline_ratios(_summary()).set_index("method")
    assert ok.loc["fr", "ratio_against"] == "baseline" and ok.loc["fr", "compression_by_count"] == 10
    assert ok.loc["prune_unstructured", "only_on_paper"]  # the baseline's graph and bytes: on paper only
    # the baseline's .ptl failed in its benchmark: its export still says how many parameters it has
    failed = add_baseline_ratios(_summary(baseline_error="BenchError: model.ptl is corrupt")).set_index("method")
    for method in ("fr", "prune_unstructured"):
        row = failed.loc[method]
        assert row["ratio_against"] == "unknown", method
        assert pd.isna(row["compression_by_count"]) and pd.isna(row["compression_by_bytes"]), method
        assert pd.isna(row["speedup_p50"]) and row["only_on_paper"] is None, method
    assert failed.loc["fr_reference", "ratio_against"] == "own dense"  # its reference did not fail
    # the baseline never trained: which network a row with dense_params compresses cannot be told
    untrained = add_baseline_ratios(_summary(baseline_error="DataError: ...", baseline_params=None))
    assert set(untrained.set_index("method")["ratio_against"].dropna()) == {"unknown"}


def test_the_tables_print_unknown_and_flag_it(tmp_path):
    summary = add_baseline_ratios(_summary(baseline_error="BenchError: model.ptl is corrupt"))
    summary.to_csv(tmp_path / "summary.csv", index=False)
    summary = pd.read_csv(tmp_path / "summary.csv")  # as the report reads it
    comparisons = pd.DataFrame(columns=["method", "level", "fmt", "device", "dice", "dice_low", "dice_high", "role",
                                        "control", "images", "delta", "delta_low", "delta_high", "p",
                                        "paired_seeds", "verdict", "note", "test"])
    table = comparison(summary, comparisons, fidelity_tolerance=1e-4).set_index("method")
    assert table.loc["fr", "ratios_unknown"] and not table.loc["fr", "own_dense"]
    assert table.loc["fr", "only_on_paper"] is None
    assert table.loc["fr_reference", "own_dense"] and not table.loc["fr_reference", "ratios_unknown"]
    text = printed(table.reset_index(), COMPARISON).set_index("Method")
    assert text.loc["fr", "× count"] == "unknown" and text.loc["fr", "× bytes"] == "unknown"


# --- on a finished study: refused before any job, nothing lost; advice that works -------------------


def snapshot(work: Path) -> dict[str, tuple[str, int]]:
    """Every result file, with its sha256 and modification time."""
    return {str(p.relative_to(work)): (sha256_of(p), p.stat().st_mtime_ns)
            for p in sorted((work / "results").rglob("*")) if p.is_file()}


def changed(before: dict, after: dict) -> set[str]:
    """The result files written, added or removed between two snapshots."""
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


def run(work: Path, command: str, check: bool = True) -> subprocess.CompletedProcess:
    return run_as_written(work, command, check)


def advice(text: str) -> str:
    """The one command an error message tells the user to run."""
    commands = re.findall(r"`(snakemake [^`]+)`", text)
    assert len(commands) == 1, text
    return commands[0]


def rows(work: Path) -> dict[tuple[str, str], dict]:
    """The `.ptl` rows of summary.csv by (method, level) (the tiny study exports `.onnx` too)."""
    with (work / "results" / "summary.csv").open() as f:
        return {(r["method"], r["level"]): r for r in csv.DictReader(f) if r["fmt"] == "ptl"}


def bad_config(work: Path, **changes) -> Path:
    config = copy.deepcopy(TINY)
    for dotted, value in changes.items():
        _set(config, dotted, value)
    path = work / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("case", ["size and depth", "image cut short", "mask cut short", "red mask folder passes",
                                  "a plan that cannot fit", "a decompression bomb", "a float image past 1"])
def test_refused_before_any_job_and_nothing_lost(tiny_study, tmp_path, case):
    work = finished_copy(tiny_study, tmp_path)
    before = snapshot(work)
    if case == "size and depth":
        config, names = bad_config(work, **{"data.size": [8, 8], "model.depth": 4}), ["data.size", "model.depth"]
    elif case == "a plan that cannot fit":  # the issue's: it ran, and error rows replaced the 8 good results
        config = bad_config(work, **{"bench.warmup": 10000, "bench.timeout_s": 1})
        names = ["bench.timeout_s 1 cannot hold this plan", "bench.warmup 10000", "Set bench.timeout_s to"]
    else:
        data = pair_folder(tmp_path, n=24)
        if case == "image cut short":
            names = [str(Path(data["folder"]["images"]) / "im5.png")]
            cut_short(Path(names[0]))
        elif case == "mask cut short":
            names = [str(Path(data["folder"]["masks"]) / "im7.png")]
            cut_short(Path(names[0]))
        elif case == "a decompression bomb":  # the issue's: a raw traceback, naming no file
            names = [str(Path(data["folder"]["images"]) / "im9.png"), "more than Pillow decodes safely"]
            _png_header_only(Path(names[0]), 20000, 10000)
        elif case == "a float image past 1":  # the issue's: read as black, without a word
            names = [str(Path(data["folder"]["images"]) / "im4.tif"), "floating-point image"]
            (Path(data["folder"]["images"]) / "im4.png").unlink()
            Image.fromarray(np.full((24, 32), 200.0, np.float32)).save(names[0])
        else:  # a sound folder with a red mask: the dry run passes and plans the dataset again
            _mask_png(Path(data["folder"]["masks"]) / "im3.png", _coloured((1, 0, 0))[:24, :32])
        config = bad_config(work, **{"data.source": "folder", "data.folder": data["folder"]})
    if case == "red mask folder passes":
        proc = run(work, f"snakemake --cores 1 all --dry-run --configfile {config}")
        assert re.search(r"^dataset\s+1$", proc.stdout, flags=re.M), proc.stdout[-2000:]
    else:
        proc = run(work, f"snakemake --cores 1 all --configfile {config}", check=False)
        assert proc.returncode != 0
        for name in names:
            assert name in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-3000:]
    if case == "a decompression bomb":  # check-config gave a raw traceback too
        proc = run(work, f"python -m frbench check-config {config}", check=False)
        assert proc.returncode == 1 and names[0] in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert snapshot(work) == before  # no job ran: every earlier result is there, unchanged


@pytest.mark.slow
def test_files_changed_after_they_were_written_are_refused_and_nothing_else_changes(tiny_study, tmp_path):
    """Two cases of the issue on one copy of the study, one snakemake run: the baseline's exported file replaced
    by a sound program whose weights are all zero (its own update's program: it loads, runs and scores at chance,
    and was benchmarked and ranked), with a byte of its update's weights file changed too, and FR's checkpoint
    re-saved with its weights halved (a sound checkpoint of another model). Each becomes an error row naming
    the file, its record and the command that rebuilds them; no result file but those of the two rows and the
    summary tables made from them is written (the report is left out of the run: it only shows the rows)."""
    work = finished_copy(tiny_study, tmp_path)
    exported = work / "results/export/baseline/dense/seed0/model.ptl"
    shutil.copyfile(exported.parent / "update/program.ptl", exported)
    weights = exported.parent / "update/weights_ptl.bin"
    weights.write_bytes(weights.read_bytes()[:-1] + bytes([weights.read_bytes()[-1] ^ 0xFF]))
    checkpoint = work / "results/models/fr/r0.05/seed0/model.pt"
    ckpt = torch.load(checkpoint, weights_only=True)
    ckpt["state_dict"] = {k: v / 2 if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}
    torch.save(ckpt, checkpoint)
    before = snapshot(work)
    config = ROOT / "config" / "tiny.yaml"
    run(work, f"snakemake --cores 2 results/summary.csv --configfile {config}")
    table = rows(work)
    update_error = table[("baseline", "dense")]["update_error"]
    assert update_error.startswith(f"BenchError: {weights.relative_to(work)}: its sha256 "), update_error
    for (method, error, path, record) in (
            ("baseline", "BenchError", "results/export/baseline/dense/seed0/model.ptl", "export_ptl.json"),
            ("fr", "CheckpointError", "results/models/fr/r0.05/seed0/model.pt", "train.json")):
        message = table[(method, TINY["methods"][method]["levels"][0])]["error"]
        assert message.startswith(f"{error}: {path}: its sha256 ") and record in message, message
        assert advice(message) == f"snakemake --cores 1 all --forcerun {path} --configfile {config}"
    assert all(row["error"] == "" for key, row in table.items() if key[0] not in ("baseline", "fr")), table
    the_two = re.compile(r"results/((logs|benchmarks)/)?(bench/host|profiles/host|export)/(baseline/dense|fr/r0\.05)/seed0/")
    tables = re.compile(r"results/([^/]+\.(csv|html|json)|figures/.*|logs/[^/]+\.log|benchmarks/[^/]+\.tsv)$")
    written = {name for name in changed(before, snapshot(work)) if not the_two.match(name) and not tables.match(name)}
    assert written == set(), written


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncated", "crafted os.system"])
def test_a_damaged_checkpoints_advice_rebuilds_the_row(tiny_study, tmp_path, damage):
    """The checkpoint of FR is damaged after the study ran: the next run gives FR an error row, whose
    message names the file and a command; that command, run as written, makes the row whole again
    (deleting the file and running `all` would not: snakemake leaves a missing intermediate file
    alone while what was made from it exists). The command is the same for either damage, and is run
    for one of them. The study is the tiny one on `.ptl` alone (its config a file of the copy, which the
    command then names): how a damaged checkpoint is found and rebuilt does not depend on the format, so
    the rebuild leaves out FR's `.onnx` export and benchmark."""
    work = finished_copy(tiny_study, tmp_path)
    config = "tiny_ptl.yaml"  # in the study's folder, where the commands run
    (work / config).write_text(yaml.safe_dump({**TINY, "formats": ["ptl"]}))
    key = ("fr", "r0.05")
    before = rows(work)[key]
    ckpt = work / "results/models/fr/r0.05/seed0/model.pt"
    marker = tmp_path / "pwned"
    if damage == "truncated":
        cut_short(ckpt, keep=0.3)
    else:
        class Calls:
            def __reduce__(self):
                return os.system, (f"touch {marker}",)

        torch.save({"format": 1, "method": "fr", "level": "r0.05", "arch": {}, "state_dict": Calls()}, ckpt)
    run(work, f"snakemake --cores 2 results/summary.csv --configfile {config}")
    error = rows(work)[key]["error"]
    assert error.startswith("CheckpointError: results/models/fr/r0.05/seed0/model.pt: "), error
    if damage == "truncated":
        assert "truncated or corrupt checkpoint" in error
    else:
        assert "refused: the file asks to run code (posix.system)" in error and not marker.exists()
    command = advice(error)
    assert command == f"snakemake --cores 1 all --forcerun results/models/fr/r0.05/seed0/model.pt --configfile {config}"
    if damage != "truncated":
        return
    run(work, command)
    after = rows(work)[key]
    assert after["error"] == "" and float(after["dice"]) == pytest.approx(float(before["dice"]), abs=1e-6)
    assert not marker.exists()


@pytest.mark.slow
def test_a_failed_baseline_leaves_other_rows_unknown(tiny_study, tmp_path):
    """The baseline's .ptl damaged: its benchmark fails, and the rows compared with it say "unknown",
    never "vs own dense" (the issue: FR's rows switched to ratios against their own dense network, and
    the report called them the paper's released model)."""
    work = finished_copy(tiny_study, tmp_path)
    model = work / "results/export/baseline/dense/seed0/model.ptl"
    model.write_bytes(b"\0" * 64)
    run(work, f"snakemake --cores 2 all --configfile {ROOT / 'config' / 'tiny.yaml'}")
    table = rows(work)
    assert table[("baseline", "dense")]["error"]
    for key, row in table.items():
        if key[0] != "baseline":
            assert row["error"] == "" and row["ratio_against"] == "unknown", key
            assert row["compression_by_count"] == row["compression_by_bytes"] == row["only_on_paper"] == "", key
    html = (work / "results/report.html").read_text()
    assert "ratios unknown" in html and "vs own dense" not in html


def _load_ptl(path):
    from frbench.formats import get_format

    get_format("ptl").load(path)


def _read_ptl(path):
    from frbench.formats.ptl.reader import records

    records(path.read_bytes(), path)


def _load_pte(path):
    from frbench.formats import get_format

    get_format("pte").load(path)


def _read_pte(path):
    from frbench.formats.pte.reader import read_pte

    read_pte(path)


@pytest.mark.parametrize("reader, name", [(_load_ptl, "model.ptl"), (_read_ptl, "model.ptl"), (_load_pte, "model.pte"),
                                          (_read_pte, "model.pte")])
def test_a_damaged_exported_file_names_the_command_that_rebuilds_it(tmp_path, monkeypatch, reader, name):
    monkeypatch.chdir(tmp_path)
    path = Path("results/export/fr/r0.05/seed0") / name
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\0" * 64)
    with pytest.raises(Exception) as info:
        reader(path)
    assert f"`snakemake --cores 1 all --forcerun {path}`" in str(info.value), str(info.value)
