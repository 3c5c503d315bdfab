import copy
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from frbench.checkpoint import save_checkpoint
from frbench.data import write_dataset
from frbench.methods import get_method
from frbench.models import UNet, UNetConfig

ROOT = Path(__file__).resolve().parents[1]
# A dataset folder's check remembers the files it decoded (frbench.data.verified) in the user's cache
# folder; the tests, and the snakemake runs they start, keep theirs apart, for this session only.
os.environ.setdefault("FRBENCH_CACHE_DIR", tempfile.mkdtemp(prefix="frbench-test-cache-"))
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

TINY_DATA = {
    "source": "synthetic", "size": [32, 32], "seed": 0, "val_fraction": 0.2, "test_fraction": 0.2,
    "synthetic": {"n_images": 20}, "folder": {"images": None, "masks": None, "mask_suffix": "", "limit": None},
}
TINY_UNET = UNetConfig.from_dict(dict(width=4, depth=2)).to_dict()


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
    save_checkpoint(path, method="baseline", level="dense", arch=get_method("baseline")("dense").arch(model), model=model,
                    meta={"seed": 0})
    return path


def snakemake(workdir: Path, *args, config="config/tiny.yaml", check=True):
    """Run the workflow in `workdir` on a config of the repository (the tiny study by default)."""
    cmd = [*SNAKEMAKE, "--snakefile", str(ROOT / "workflow" / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(ROOT / config), "--cores", "2", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if check and proc.returncode != 0:
        pytest.fail(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def _tiny_study_command(workdir: Path) -> list[str]:
    return [*SNAKEMAKE, "--snakefile", str(ROOT / "workflow" / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(ROOT / "config" / "tiny.yaml"), "--cores", "2", "all"]


def pytest_collection_modifyitems(session, config, items):
    """The tests that read the finished tiny study run last, and the study starts now, in the background:
    it builds while the tests before them run (they are single-threaded, its benchmarks are too), which
    saves the suite about the study's length. The `tiny_study` fixture waits for it."""
    later = [item for item in items if "tiny_study" in getattr(item, "fixturenames", ())]
    if not later or config.option.collectonly:
        return
    items[:] = [item for item in items if item not in later] + later
    workdir = config._tmp_path_factory.mktemp("tiny_study")  # the session's basetemp, as tmp_path_factory's
    log = open(workdir.parent / "tiny_study.log", "w")  # noqa: SIM115  (closed by the fixture)
    config._tiny_study = (workdir, log, subprocess.Popen(_tiny_study_command(workdir), cwd=ROOT, stdout=log,
                                                          stderr=subprocess.STDOUT, text=True))


def pytest_unconfigure(config):
    """A session ended before the tiny study did (interrupted, -x) stops the study too."""
    started = getattr(config, "_tiny_study", None)
    if started and started[2].poll() is None:
        started[2].kill()
        started[2].wait()


@pytest.fixture(scope="session")
def tiny_study(request) -> Path:
    """The tiny study (config/tiny.yaml) run once per session through snakemake, started when the
    tests were collected (`pytest_collection_modifyitems`): its results folder. Shared by the tests of
    a finished study (tests/test_workflow.py, test_reliability.py, test_bad_input.py ...)."""
    workdir, log, proc = request.config._tiny_study
    returncode = proc.wait()
    log.close()
    if returncode != 0:
        pytest.fail(f"snakemake failed ({returncode}):\n{(workdir.parent / 'tiny_study.log').read_text()[-6000:]}")
    return workdir / "results"


def run_as_written(workdir: Path, command: str, check: bool = True) -> subprocess.CompletedProcess:
    """A shell command as a user types it (an error's advice, say), run in `workdir` laid out like a
    checkout (`workflow/` beside `results/`, so that snakemake finds the Snakefile and the default
    profile), with this interpreter's snakemake first on PATH."""
    if not (workdir / "workflow").exists():
        (workdir / "workflow").symlink_to(ROOT / "workflow")
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    proc = subprocess.run(command, shell=True, cwd=workdir, capture_output=True, text=True, env=env)
    if check and proc.returncode:
        pytest.fail(f"{command} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def carvana_folder(root: Path, n: int, size: tuple[int, int] = (64, 96)) -> None:
    """A stand-in for Carvana in Kaggle's layout: `n` random train/<car>_<view>.jpg of `size` (height,
    width) and train_masks/<car>_<view>_mask.gif (palettised 0/1)."""
    (root / "train").mkdir(parents=True)
    (root / "train_masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(root / "train" / f"car{i:03d}_01.jpg")
        mask = Image.fromarray((rng.random(size) > 0.5).astype(np.uint8), mode="L").convert("P")
        mask.save(root / "train_masks" / f"car{i:03d}_01_mask.gif")
