"""How much of a model's test Dice depends on how many images it normalises together.

    python benchmarks/batch_statistics.py --results results --model fr/k159 --model small_dense/n2767

A UNet whose BatchNorm keeps no running statistics (FR's paper UNet: `norm_running_stats: false`)
normalises every batch by that batch's own mean and variance, at inference too. Training validates it in
batches (`train.eval_batch_size`); the phone, the benchmark and the export's fidelity check run one image
at a time. This script scores each seed's checkpoint of the named models on the study's test split both
ways, in process (eager, one thread): batches of `--batch` images, and one image at a time. A model with
running statistics scores the same both ways (its normalisation does not depend on the batch); printed
for comparison. Prints one line per model and seed, then the mean over seeds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from frbench.data import load_split
from frbench.methods import load_model
from frbench.metrics import dice_per_image, predict_mask


@torch.no_grad()
def test_dice(model, images, masks, batch: int) -> float:
    preds = [predict_mask(model(images[i : i + batch])) for i in range(0, len(images), batch)]
    return float(dice_per_image(torch.cat(preds), masks).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("results"), help="a finished study's results folder")
    parser.add_argument("--model", action="append", required=True, help="METHOD/LEVEL, repeatable")
    parser.add_argument("--batch", type=int, default=16, help="images normalised together (train.eval_batch_size)")
    a = parser.parse_args()
    torch.set_num_threads(1)
    images, masks = load_split(a.results / "data" / "dataset.npz", "test")
    print(f"{len(images)} test images; Dice in batches of {a.batch} and one image at a time")
    for name in a.model:
        checkpoints = sorted((a.results / "models" / name).glob("seed*/model.pt"))
        if not checkpoints:
            raise SystemExit(f"no checkpoint under {a.results / 'models' / name}: a METHOD/LEVEL the study trained")
        rows = []
        for path in checkpoints:
            model, _ = load_model(path)
            rows.append((test_dice(model, images, masks, a.batch), test_dice(model, images, masks, 1)))
            print(f"{name} {path.parent.name}: batched {rows[-1][0]:.4f}, one image {rows[-1][1]:.4f}")
        batched, single = np.mean(rows, axis=0)
        print(f"{name} mean of {len(rows)} seeds: batched {batched:.4f}, one image {single:.4f}, "
              f"difference {batched - single:+.4f}")


if __name__ == "__main__":
    main()
