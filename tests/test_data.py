"""The dataset stage: synthetic determinism and content, splits, the .npz round trip, folders."""

from __future__ import annotations

import copy
import json
import os
import re
import struct
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from frbench.data import (
    SPLITS,
    DataError,
    build_dataset,
    check_folder,
    content_sha256,
    load_folder_pair,
    load_split,
    to_float,
    write_dataset,
)
from frbench.data.dataset import split_sizes
from frbench.data.synthetic import generate
from frbench.io import read_json


def data_cfg(**overrides) -> dict:
    """A `data` block as the schema fills it, small enough for tests."""
    cfg = {
        "source": "synthetic",
        "size": [32, 40],
        "seed": 0,
        "val_fraction": 0.15,
        "test_fraction": 0.15,
        "synthetic": {"n_images": 40},
        "folder": {"images": None, "masks": None, "mask_suffix": "", "limit": None},
    }
    for key, value in overrides.items():
        if isinstance(value, dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    return cfg


@pytest.fixture(scope="module")
def synthetic_ds():
    return build_dataset(data_cfg())


# --- synthetic ---------------------------------------------------------------------------


def test_same_config_same_bytes_other_seed_differs(synthetic_ds):
    again = build_dataset(data_cfg())
    for name, array in synthetic_ds.arrays().items():
        assert array.tobytes() == again.arrays()[name].tobytes(), name
    assert again.meta == synthetic_ds.meta
    other = build_dataset(data_cfg(seed=1))
    assert other.meta["sha256"] != synthetic_ds.meta["sha256"]
    assert not np.array_equal(other.splits["train"].images, synthetic_ds.splits["train"].images)


def test_image_depends_on_its_index_not_on_pool_size():
    few = generate(3, (24, 24), seed=5)
    many = generate(8, (24, 24), seed=5)
    assert np.array_equal(few[0], many[0][:3]) and np.array_equal(few[1], many[1][:3])


def test_shapes_dtypes_binary_masks(synthetic_ds):
    for name in SPLITS:
        split = synthetic_ds.splits[name]
        n = synthetic_ds.meta["counts"][name]
        assert split.images.shape == (n, 32, 40, 3) and split.images.dtype == np.uint8
        assert split.masks.shape == (n, 32, 40) and split.masks.dtype == np.uint8
        assert set(np.unique(split.masks)) <= {0, 1}


def test_masks_are_varied_and_nontrivial():
    images, masks, textures = generate(60, (64, 64), seed=3)
    per_image = masks.mean(axis=(1, 2))
    assert 0.02 < per_image.mean() < 0.8
    assert per_image.std() > 0.02  # a range of object sizes
    assert (per_image == 0).mean() < 0.1
    touching = masks[:, 0].any(1) | masks[:, -1].any(1) | masks[:, :, 0].any(1) | masks[:, :, -1].any(1)
    assert 0.1 < touching.mean() < 0.9  # some objects are cut by the border, not all
    assert len({img.tobytes() for img in images}) == len(images)
    assert images.std() > 20  # not flat
    assert len(textures["background"]) > 5 and sum(textures["background"].values()) == 60


def test_larger_size_works():
    images, masks, _ = generate(2, (256, 256), seed=0)
    assert images.shape == (2, 256, 256, 3) and 0 < masks.mean() < 1


# --- split ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n, val, test, expected",
    [(224, 0.15, 0.15, (156, 34, 34)), (50, 0.1, 0.2, (35, 5, 10)), (10, 0.0, 0.3, (7, 0, 3))],
)
def test_split_sizes(n, val, test, expected):
    assert tuple(split_sizes(n, val, test).values()) == expected


@pytest.mark.parametrize(
    "n, val, test, key",
    [(4, 0.1, 0.5, "data.val_fraction: "), (10, 0.5, 0.5, "data.val_fraction + data.test_fraction")],
)
def test_split_sizes_refuses_empty_splits(n, val, test, key):
    with pytest.raises(DataError, match=re.escape(key)):
        split_sizes(n, val, test)


def test_splits_partition_the_pool(synthetic_ds):
    assert synthetic_ds.meta["counts"] == {"train": 28, "val": 6, "test": 6}
    seen = [img.tobytes() for name in SPLITS for img in synthetic_ds.splits[name].images]
    assert len(set(seen)) == len(seen) == 40


# --- store ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    npz, js = out / "dataset.npz", out / "dataset.json"
    meta = write_dataset(data_cfg(), npz, js)
    return npz, js, meta


def test_write_load_round_trip(written, synthetic_ds):
    npz, js, meta = written
    assert read_json(js) == meta == synthetic_ds.meta
    assert meta["source"] == "synthetic" and meta["config"] == data_cfg()
    assert set(meta["foreground_fraction"]) == set(SPLITS) and meta["textures"]["objects"]
    assert sorted(p.name for p in npz.parent.iterdir()) == ["dataset.json", "dataset.npz"]  # no temp files left
    with np.load(npz) as z:
        assert content_sha256({k: z[k] for k in z.files}) == meta["sha256"]
    for name in SPLITS:
        images, masks = load_split(npz, name)
        n = meta["counts"][name]
        assert images.dtype == torch.float32 and images.shape == (n, 3, 32, 40)
        assert masks.dtype == torch.int64 and masks.shape == (n, 32, 40)
        assert 0 <= images.min() and images.max() <= 1 and set(masks.unique().tolist()) <= {0, 1}
        expected = synthetic_ds.splits[name].images.transpose(0, 3, 1, 2) / 255
        assert np.allclose(images.numpy(), expected, atol=1e-6)


def test_uint8_split_converts_batch_by_batch_to_the_same_bits(written):
    """Training keeps the stored uint8 and converts each batch: the same float32 values, bit for bit."""
    npz, _, meta = written
    for name in SPLITS:
        images, masks = load_split(npz, name)
        raw_images, raw_masks = load_split(npz, name, uint8=True)
        n = meta["counts"][name]
        assert raw_images.dtype == raw_masks.dtype == torch.uint8
        assert raw_images.shape == (n, 3, 32, 40) and raw_images.is_contiguous() and raw_masks.shape == (n, 32, 40)
        idx = torch.randperm(n)[: max(1, n // 2)]
        assert torch.equal(to_float(raw_images[idx]), images[idx])  # torch.equal: exact values
        assert torch.equal(to_float(raw_images), images) and torch.equal(raw_masks.long(), masks)
    assert to_float(images) is images  # float input passes through


def corrupt(path, how):
    data = bytearray(path.read_bytes())
    if how == "truncated":
        del data[len(data) // 2 :]
    elif how == "garbage":
        data[:] = b"not a zip file at all" * 10
    elif how == "flipped":  # caught by zip's CRC-32
        mid = len(data) // 3
        data[mid : mid + 64] = bytes(b ^ 0xFF for b in data[mid : mid + 64])
    else:  # "bad_deflate": a reserved deflate block type, which zlib itself refuses
        with zipfile.ZipFile(path) as z:
            offset = z.getinfo("train_images.npy").header_offset
        name_len, extra_len = struct.unpack("<HH", data[offset + 26 : offset + 30])
        data[offset + 30 + name_len + extra_len] = 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncated", "garbage", "flipped", "bad_deflate"])
def test_corrupt_npz_raises_data_error_naming_file(written, tmp_path, how):
    bad = tmp_path / "dataset.npz"
    bad.write_bytes(written[0].read_bytes())
    corrupt(bad, how)
    with pytest.raises(DataError) as info:
        for name in SPLITS:
            load_split(bad, name)
    assert str(bad) in str(info.value)
    assert f"snakemake --cores 1 all --forcerun {bad}" in str(info.value)  # the command that rebuilds it


def test_missing_file_or_split_raises_data_error(tmp_path):
    with pytest.raises(DataError, match=str(tmp_path / "nope.npz")):
        load_split(tmp_path / "nope.npz", "train")
    partial = tmp_path / "partial.npz"
    np.savez(partial, train_images=np.zeros((1, 4, 4, 3), np.uint8), train_masks=np.zeros((1, 4, 4), np.uint8))
    assert load_split(partial, "train")[0].shape == (1, 3, 4, 4)
    with pytest.raises(DataError, match=r"partial\.npz: no array val_images, val_masks"):
        load_split(partial, "val")


# --- folder ---------------------------------------------------------------------------


def blob_mask(height: int, width: int, shift: int = 0) -> np.ndarray:
    """A rectangle covering a known share of the frame."""
    mask = np.zeros((height, width), np.uint8)
    mask[height // 4 : 3 * height // 4, width // 4 + shift : 3 * width // 4 + shift] = 1
    return mask


def save_palettised_gif(path, mask01: np.ndarray) -> None:
    gif = Image.fromarray(mask01, mode="L").convert("P")  # indices 0 and 1
    gif.putpalette([0, 0, 0, 255, 255, 255])
    gif.save(path)


def random_rgb(rng, height, width) -> Image.Image:
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


@pytest.fixture
def carvana(tmp_path):
    """Kaggle Carvana layout at 95x64: train/<id>.jpg and train_masks/<id>_mask.gif."""
    rng = np.random.default_rng(0)
    (tmp_path / "train").mkdir()
    (tmp_path / "train_masks").mkdir()
    for i in range(8):
        stem = f"car{i:02d}_01"
        random_rgb(rng, 64, 95).save(tmp_path / "train" / f"{stem}.jpg")
        save_palettised_gif(tmp_path / "train_masks" / f"{stem}_mask.gif", blob_mask(64, 95, shift=i))
    (tmp_path / "train" / "notes.txt").write_text("ignored: not an image")
    return tmp_path


def folder_cfg(images, masks, **folder) -> dict:
    return data_cfg(source="folder", size=[32, 48], folder={"images": str(images), "masks": str(masks), **folder})


def test_carvana_layout(carvana):
    cfg = folder_cfg(carvana / "train", carvana / "train_masks", mask_suffix="_mask")
    check_folder(cfg)
    assert np.asarray(Image.open(carvana / "train_masks" / "car00_01_mask.gif")).max() == 1  # palettised 0/1
    ds = build_dataset(cfg)
    assert ds.meta["counts"] == {"train": 6, "val": 1, "test": 1}
    stems = sorted(s for split in SPLITS for s in ds.meta["stems"][split])
    assert stems == [f"car{i:02d}_01" for i in range(8)]
    for split in ds.splits.values():
        assert split.images.shape[1:] == (32, 48, 3) and split.masks.shape[1:] == (32, 48)
        assert set(np.unique(split.masks)) == {0, 1}
    assert ds.meta["foreground_fraction"]["train"] == pytest.approx(0.25, abs=0.03)
    json.dumps(ds.meta)


def test_folder_limit_takes_first_names(carvana):
    ds = build_dataset(folder_cfg(carvana / "train", carvana / "train_masks", mask_suffix="_mask", limit=4))
    assert sorted(s for split in SPLITS for s in ds.meta["stems"][split]) == [f"car{i:02d}_01" for i in range(4)]


def test_plain_png_layout_0_255(tmp_path):
    rng = np.random.default_rng(1)
    for sub in ("images", "masks"):
        (tmp_path / sub).mkdir()
    for i in range(6):
        random_rgb(rng, 40, 60).save(tmp_path / "images" / f"{i}.png")
        Image.fromarray(blob_mask(40, 60) * 255).save(tmp_path / "masks" / f"{i}.png")
    image, mask = load_folder_pair(tmp_path / "images" / "0.png", tmp_path / "masks" / "0.png", (20, 30))
    assert image.shape == (20, 30, 3) and image.dtype == np.uint8
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 1}
    assert np.array_equal(mask, blob_mask(20, 30))
    cfg = folder_cfg(tmp_path / "images", tmp_path / "masks", limit=None)
    check_folder(cfg)
    assert build_dataset(cfg).meta["source"] == "folder"


def test_check_folder_ignores_synthetic():
    check_folder(data_cfg())


def test_check_folder_missing_folder(carvana):
    with pytest.raises(DataError, match="data.folder.masks: .*train_gone"):
        check_folder(folder_cfg(carvana / "train", carvana / "train_gone"))
    with pytest.raises(DataError, match="data.folder.images is not set"):
        check_folder(data_cfg(source="folder"))


def test_check_folder_count_mismatch_names_unmatched(carvana):
    os.remove(carvana / "train_masks" / "car03_01_mask.gif")
    save_palettised_gif(carvana / "train_masks" / "stray_mask.gif", blob_mask(64, 95))
    save_palettised_gif(carvana / "train_masks" / "stray2_mask.gif", blob_mask(64, 95))
    with pytest.raises(DataError) as info:
        check_folder(folder_cfg(carvana / "train", carvana / "train_masks", mask_suffix="_mask"))
    message = str(info.value)
    assert "8 images" in message and "9 masks" in message
    assert "car03_01.jpg" in message and "stray_mask.gif" in message and "stray2_mask.gif" in message


def test_check_folder_wrong_suffix_lists_at_most_five(carvana):
    with pytest.raises(DataError, match=r"8 images have no mask: .*car04_01.jpg and 3 more.*mask_suffix"):
        check_folder(folder_cfg(carvana / "train", carvana / "train_masks"))


def test_check_folder_non_binary_mask(carvana):
    grey = (np.arange(64 * 95).reshape(64, 95) % 7).astype(np.uint8)
    Image.fromarray(grey).save(carvana / "train_masks" / "car05_01_mask.gif")
    with pytest.raises(DataError, match=r"car05_01_mask\.gif: mask is not binary \(7 distinct"):
        check_folder(folder_cfg(carvana / "train", carvana / "train_masks", mask_suffix="_mask"))


def test_check_folder_mixed_image_sizes(carvana):
    random_rgb(np.random.default_rng(2), 70, 100).save(carvana / "train" / "car06_01.jpg")
    save_palettised_gif(carvana / "train_masks" / "car06_01_mask.gif", blob_mask(70, 100))
    with pytest.raises(
        DataError, match=r"2 sizes.*95x64: 7 images, e\.g\. .*car00_01\.jpg.*100x70: 1 image, e\.g\. .*car06_01\.jpg"
    ):
        check_folder(folder_cfg(carvana / "train", carvana / "train_masks", mask_suffix="_mask"))


def test_check_folder_image_mask_size_mismatch(carvana):
    save_palettised_gif(carvana / "train_masks" / "car02_01_mask.gif", blob_mask(64, 94))
    with pytest.raises(DataError, match=r"car02_01\.jpg is 95x64 but its mask .*car02_01_mask\.gif is 94x64"):
        check_folder(folder_cfg(carvana / "train", carvana / "train_masks", mask_suffix="_mask"))


def test_unreadable_image_is_named(carvana):
    (carvana / "train" / "car01_01.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match=r"car01_01\.jpg: cannot be read as an image"):
        check_folder(folder_cfg(carvana / "train", carvana / "train_masks", mask_suffix="_mask"))


def test_config_is_not_mutated(carvana):
    cfg = folder_cfg(carvana / "train", carvana / "train_masks", mask_suffix="_mask")
    before = copy.deepcopy(cfg)
    build_dataset(cfg)
    assert cfg == before
