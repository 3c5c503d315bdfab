import copy
from pathlib import Path

import pytest
import torch

from frbench.checkpoint import save_checkpoint
from frbench.data import write_dataset
from frbench.methods import get_method
from frbench.models import UNet, UNetConfig

ROOT = Path(__file__).resolve().parents[1]

TINY_DATA = {
    "source": "synthetic", "size": [32, 32], "seed": 0, "val_fraction": 0.2, "test_fraction": 0.2,
    "synthetic": {"n_images": 20}, "folder": {"images": None, "masks": None, "mask_suffix": "", "limit": None},
}
TINY_UNET = UNetConfig(width=4, depth=2).to_dict()


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """A 20-image synthetic dataset at 32x32, written once per test session."""
    d = tmp_path_factory.mktemp("data")
    write_dataset(copy.deepcopy(TINY_DATA), d / "dataset.npz", d / "dataset.json")
    return d / "dataset.npz"


@pytest.fixture
def tiny_checkpoint(tmp_path) -> Path:
    """An untrained baseline checkpoint of the tiny UNet."""
    torch.manual_seed(0)
    model = UNet(UNetConfig.from_dict(TINY_UNET)).eval()
    path = tmp_path / "model.pt"
    save_checkpoint(path, method="baseline", level="dense", arch=get_method("baseline").arch(model), model=model,
                    meta={"seed": 0})
    return path
