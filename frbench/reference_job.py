"""The reference job: import the FR paper's released UNet as a checkpoint of the study (method
`fr_reference`, frbench/methods/fr_reference.py: FR's model, imported rather than trained), with its 16
test images as a dataset of its own (`frbench reference`, rule `import_reference`)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from .checkpoint import save_checkpoint
from .data import content_sha256, load_folder_pair, to_float, write_arrays
from .errors import ConfigError
from .fr.reference import EXPECTED_MEAN_DICE, REFERENCE_UNET, load_reference_fr, reference_pairs, score_reference
from .hostinfo import capped_threads
from .io import atomic_write_json
from .methods.fr import dense_params
from .methods.fr_reference import FRReference
from .models import MILESIAL

REFERENCE_LEVEL = FRReference.LEVEL


def import_reference(*, folder: str, size: tuple[int, int], out_checkpoint: str, out_dataset: str,
                     out_record: str, threads: int | None = None, score: bool = True) -> dict:
    """Import the FR paper's released UNet (`folder`/unet_fr.tar.xz, see frbench.fr.reference)
    as an `fr_reference` checkpoint (level k33, seed 0) and its 16 test images, resized to `size`
    (height, width), as the test split of a dataset of its own (no training or validation
    images); score it in this process (unless `score` is False: the workflow's export job runs the same
    model over the same 16 images for its fidelity check, `dice_eager`, and at full resolution each
    pass costs minutes) and write what was done to `out_record`.

    The checkpoint's `dense_params` is the parameter count of milesial's UNet(3, 2), 31,037,698
    (BatchNorm affine, biased transposed and output convs): the network the paper compresses
    and states its compression rate against, so the report compares this model with it
    rather than with the study's own (small) baseline.
    """
    if threads:
        torch.set_num_threads(capped_threads(threads))
    root = Path(folder)
    t0 = time.monotonic()
    imported, info = load_reference_fr(root / "unet_fr.tar.xz", dtype=torch.float16)
    counts = set(info["kept"].values())
    level = f"k{counts.pop()}" if len(counts) == 1 else None
    if level != REFERENCE_LEVEL:
        raise ConfigError(f"{root / 'unet_fr.tar.xz'}: expected {REFERENCE_LEVEL[1:]} coefficients in every layer (the "
                          f"paper's released model), found {sorted(set(info['kept'].values()))}")
    method = FRReference(level)
    arch = {"unet": REFERENCE_UNET.to_dict(), **info["arch"], "dense_params": dense_params(MILESIAL.to_dict())}
    model = method.rebuild(arch)
    model.load_state_dict(imported.state_dict())
    model.eval()
    del imported

    # the test images, resized as a folder dataset is (frbench.data.folder), in a dataset of their own
    pairs = reference_pairs(root)
    height, width = size
    loaded = [load_folder_pair(image, mask, (height, width)) for image, mask in pairs]
    arrays = {f"{split}_images": np.zeros((0, height, width, 3), np.uint8) for split in ("train", "val")}
    arrays |= {f"{split}_masks": np.zeros((0, height, width), np.uint8) for split in ("train", "val")}
    arrays["test_images"] = np.stack([image for image, _ in loaded])
    arrays["test_masks"] = np.stack([mask for _, mask in loaded])
    write_arrays(arrays, out_dataset)

    scored = {"mean_dice": None, "dice_per_image": None, "seconds": None, "threads": torch.get_num_threads()}
    if score:
        images = to_float(torch.from_numpy(arrays["test_images"].transpose(0, 3, 1, 2).copy()))
        masks = torch.from_numpy(arrays["test_masks"].astype(np.int64))
        scored = score_reference(model, images, masks)
    saved = save_checkpoint(out_checkpoint, method=method.name, level=level, arch=arch, model=model,
                            meta={"seed": FRReference.SEED, "source": "the FR paper's released model",
                                  "sha256": info["sha256"]})
    record = {
        "key": {"method": method.name, "level": level, "seed": FRReference.SEED},
        "archive": info["archive"], "sha256": info["sha256"], "coefficients": info["coefficients"],
        "tensors": info["tensors"], "dense_params": arch["dense_params"], "unet_config": arch["unet"],
        "dataset": {"file": str(out_dataset), "size": [height, width], "images": len(pairs),
                    "stems": [p.stem for p, _ in pairs], "sha256": content_sha256(arrays),
                    "resize": "Pillow bilinear (images), nearest (masks); none at 640x959"},
        "dice": scored["mean_dice"], "dice_per_image": scored["dice_per_image"], "score_seconds": scored["seconds"],
        "threads": scored["threads"], "full_resolution_dice_expected": EXPECTED_MEAN_DICE,
        "scored_by": "this job" if score else "the export's fidelity check (export_{fmt}.json: fidelity.dice_eager)",
        "full_resolution": [height, width] == [640, 959], "seconds": time.monotonic() - t0,
        **saved,  # the checkpoint's sha256, which every load of it checks
    }
    atomic_write_json(out_record, record)
    return record
