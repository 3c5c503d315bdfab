"""The FR paper's released UNet: its 759 coefficients, its compact form, its Dice on 16 images."""

import io
import os
import tarfile
import time
import warnings
from pathlib import Path

import pytest
import torch

from frbench.contract import ExportForm
from frbench.export import UpdateFiles
from frbench.formats import get_format
from frbench.fr import CompactUNet, compact_coefficients, floor_bytes, kept_counts
from frbench.fr.reference import (
    EXPECTED_MEAN_DICE,
    load_reference,
    load_reference_coefficients,
    load_reference_fr,
    load_reference_images,
    score_reference,
)

REFERENCE = Path(__file__).parents[1].parent / "shared" / "fr_reference"
ARCHIVE = REFERENCE / "unet_fr.tar.xz"
SHA256 = "662203e1bf854291b82746f02096aaa8d3d32bc11a7180e6192dbc29c6534d40"  # fr_reference/README.md

pytestmark = pytest.mark.skipif(not ARCHIVE.is_file(), reason=f"FR reference data not found at {REFERENCE}")


def _stored():
    with tarfile.open(ARCHIVE, mode="r:xz") as tar:
        return torch.load(io.BytesIO(tar.extractfile("unet_fr.pt").read()), weights_only=True)


def _write_archive(path, stored):
    buf = io.BytesIO()
    torch.save(stored, buf)
    info = tarfile.TarInfo("unet_fr.pt")
    info.size = buf.tell()
    buf.seek(0)
    with tarfile.open(path, mode="w:xz") as tar:
        tar.addfile(info, buf)
    return path


def test_archive_holds_23_tensors_of_33_zigzag_coefficients():
    coeffs, info = load_reference_coefficients(ARCHIVE)
    assert info["sha256"] == SHA256
    assert info["tensors"] == 23 and set(info["kept"].values()) == {33} and info["coefficients"] == 759
    assert sum(int(torch.count_nonzero(c)) for c in coeffs.values()) == 759
    assert coeffs["down4.maxpool_conv.1.double_conv.3.weight"].shape == (1024, 1024, 3, 3)
    assert coeffs["up1.up.weight"].shape == (1024, 512, 2, 2)  # transposed conv: (in, out, kh, kw)
    # The released float32 values are float16 numbers already: rounding them to float16
    # (the compact form) changes none, so that model scores exactly the float32 Dice.
    rounded, _ = load_reference_coefficients(ARCHIVE, dtype=torch.float16)
    assert all(torch.equal(rounded[k], c) for k, c in coeffs.items())


def test_missing_and_corrupt_archives_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.tar.xz"):
        load_reference_coefficients(tmp_path / "nothing.tar.xz")
    corrupt = tmp_path / "corrupt.tar.xz"
    corrupt.write_bytes(ARCHIVE.read_bytes()[:2000])
    with pytest.raises(ValueError, match="corrupt.tar.xz"):
        load_reference_coefficients(corrupt)


def test_missing_extra_and_misshapen_keys_are_named(tmp_path):
    stored = _stored()
    missing = {k: v for k, v in stored.items() if k != "up2.up.weight"}
    with pytest.raises(KeyError, match="up2.up.weight"):
        load_reference_coefficients(_write_archive(tmp_path / "missing.tar.xz", missing))
    with pytest.raises(KeyError, match="up2.up.bias"):
        extra = stored | {"up2.up.bias": stored["outc.conv.weight"]}
        load_reference_coefficients(_write_archive(tmp_path / "extra.tar.xz", extra))
    misshapen = stored | {"outc.conv.weight": stored["inc.double_conv.0.weight"]}
    with pytest.raises(ValueError, match="outc.conv.weight: shape"):
        load_reference_coefficients(_write_archive(tmp_path / "misshapen.tar.xz", misshapen))


def test_non_zigzag_coefficients_are_rejected_naming_the_key(tmp_path):
    stored = _stored()
    t = stored["inc.double_conv.3.weight"].coalesce()
    indices = t.indices().clone()
    indices[:, -1] = torch.tensor([0, 5, 0, 0])  # one non-zero moved to a high-frequency index (sum 5)
    moved = torch.sparse_coo_tensor(indices, t.values(), t.shape, check_invariants=True)
    with pytest.raises(ValueError, match="inc.double_conv.3.weight: its 33 non-zeros are not zigzag ranks 0..32"):
        load_reference_coefficients(_write_archive(tmp_path / "moved.tar.xz", stored | {"inc.double_conv.3.weight": moved}))


def test_float16_loading_rounds_the_values(tmp_path):
    stored = _stored()
    t = stored["outc.conv.weight"].coalesce()
    shifted = torch.sparse_coo_tensor(t.indices(), t.values() + 0.1, t.shape, check_invariants=True)
    path = _write_archive(tmp_path / "shifted.tar.xz", stored | {"outc.conv.weight": shifted})
    full = load_reference_coefficients(path)[0]["outc.conv.weight"]
    rounded = load_reference_coefficients(path, dtype=torch.float16)[0]["outc.conv.weight"]
    assert torch.equal(rounded, full.half().float()) and not torch.equal(rounded, full)


def test_fr_model_equals_dense_model_and_exports_759_coefficients(tmp_path):
    from torch.jit.mobile import _load_for_lite_interpreter

    dense, info = load_reference(ARCHIVE)
    fr, _ = load_reference_fr(ARCHIVE, dtype=torch.float16)
    assert info["zeroed"] == ["outc.conv.bias", "up1.up.bias", "up2.up.bias", "up3.up.bias", "up4.up.bias"]
    assert set(kept_counts(fr).values()) == {33}
    assert sum(v.numel() for v, _ in compact_coefficients(fr).values()) == 759
    assert floor_bytes(fr) == 759 * 2 + 23 * 4 * 4

    x = torch.rand(1, 3, 64, 96)
    dense16, _ = load_reference(ARCHIVE, dtype=torch.float16)
    with torch.no_grad():
        want = dense16(x)
        torch.testing.assert_close(fr(x), want, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(dense(x), want, atol=1e-2, rtol=1e-2)  # float16 rounding: small change
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        update = UpdateFiles(tmp_path / "program.ptl", tmp_path / "weights.bin")
        facts = get_format("ptl").write(ExportForm(fr, program=CompactUNet(fr).eval()), x, tmp_path / "unet_fr.ptl", update)
        lite = _load_for_lite_interpreter(str(tmp_path / "unet_fr.ptl"))
    torch.testing.assert_close(lite(x), want, atol=1e-4, rtol=1e-4)
    # a weights-only update: the program with every coefficient zero, and a weights file within 1.1x the floor
    # (759 float16 coefficients and an 8-byte header; the floor also counts the shapes, which the program keeps)
    assert facts["weights_update"]["data_bytes"] == update.weights.stat().st_size == 8 + 759 * 2 + 2 <= floor_bytes(fr)
    program = get_format("ptl").load(update.program)
    assert torch.count_nonzero(program(x)) == 0
    assert torch.equal(get_format("ptl").load(update.program, update.weights)(x), lite(x))
    # the phone's file of the paper's 31M-parameter UNet: at most 16 kB (the paper's own torch.save file is
    # 40.5 kB), whose weights are the 759 float16 coefficients (the floor, 1,886 B, also counts the 23 shapes)
    split = get_format("ptl").split(tmp_path / "unet_fr.ptl")
    assert (tmp_path / "unet_fr.ptl").stat().st_size == sum(split.values()) <= 16_000
    assert split["weights"] == 759 * 2 <= floor_bytes(fr)


@pytest.mark.slow  # 16 full-resolution (959x640) passes of a 31M-parameter UNet: two minutes on 2 CPU cores
@pytest.mark.skipif(not os.environ.get("FRBENCH_FULL_RESOLUTION"),
                    reason="full resolution takes minutes: FRBENCH_FULL_RESOLUTION=1 pytest tests/test_fr_reference.py "
                           "(tests/test_reference_pipeline.py scores the same model at reduced resolution every run)")
def test_reference_dice_on_the_16_released_images():
    # float16 coefficients give the same model (see the first test), hence the same Dice.
    images, masks = load_reference_images(REFERENCE)
    assert images.shape == (16, 3, 640, 959) and images.dtype == torch.float32
    assert masks.shape == (16, 640, 959) and masks.dtype == torch.int64 and set(masks.unique().tolist()) == {0, 1}
    model, _ = load_reference(ARCHIVE, dtype=torch.float16)
    start = time.perf_counter()
    result = score_reference(model, images, masks)
    print(f"mean Dice {result['mean_dice']:.5f} in {time.perf_counter() - start:.1f} s on {result['threads']} threads")
    assert len(result["dice_per_image"]) == 16
    assert result["mean_dice"] == pytest.approx(EXPECTED_MEAN_DICE, abs=0.001)
