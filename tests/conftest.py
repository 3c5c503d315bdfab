import copy
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
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
# The suite runs two workers beside the tiny study on a 2-core machine. OpenMP's default (a thread waiting
# for work spins before it sleeps) then burns CPU time the other processes need: the reference model's
# export with two threads beside two busy processes took 29-36 s of CPU with it, 12.5 s with PASSIVE, and
# less wall time too (alone on the machine: 14.3 and 12.6 s). Read when a process loads OpenMP (importing
# torch): the processes the tests start inherit it, and so do the xdist workers, started after the
# controller has read this file.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
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


def save_tiny_checkpoint(path: Path) -> Path:
    """Writes an untrained baseline checkpoint of the tiny UNet (seed 0) at `path`."""
    torch.manual_seed(0)
    model = UNet(UNetConfig.from_dict(TINY_UNET)).eval()
    save_checkpoint(path, method="baseline", level="dense", arch=get_method("baseline")("dense").arch(model), model=model,
                    meta={"seed": 0})
    return path


@pytest.fixture
def tiny_checkpoint(tmp_path) -> Path:
    """An untrained baseline checkpoint of the tiny UNet."""
    return save_tiny_checkpoint(tmp_path / "model.pt")


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny tensors: one intra-op thread for a module's tests (`pytestmark = pytest.mark.usefixtures(...)`).
    Two OpenMP threads on a busy 2-core machine turn a 2 ms forward into a 1 s one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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


# The tiny study is built once per session, by the first pytest-xdist worker (or pytest itself without
# xdist), in a folder every worker reads; the others wait for the file that holds its exit status.
TINY_WORKER = "gw0"
# The tests run beside the study at a lower priority than it: the study is the session's longest chain
# (every test that reads it waits for it), and it runs its benchmarks one at a time, so given the CPU it
# wants it finishes sooner, and no worker sits waiting for it while the others' tests hold the cores.
TESTS_NICENESS = 5
TINY_WAIT_S = 3600


def shared_tmp(config) -> Path:
    """The session's temporary folder that every xdist worker shares (each worker's basetemp is in it)."""
    base = config._tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected: no study for a session that reads none
def pytest_collection_modifyitems(session, config, items):
    """The tests that read the finished tiny study run last, and the study starts now, in the background:
    it builds while the tests before them run (they are single-threaded, its benchmarks are too), which
    saves the suite about the study's length. The `tiny_study` fixture waits for it."""
    later = [item for item in items if "tiny_study" in getattr(item, "fixturenames", ())]
    if not later or config.option.collectonly:
        return
    items[:] = [item for item in items if item not in later] + later
    if os.environ.get("PYTEST_XDIST_WORKER", TINY_WORKER) == TINY_WORKER:
        _start_tiny_study(config)
    os.nice(TESTS_NICENESS)  # after the study started: it keeps the default priority


def _start_tiny_study(config) -> None:
    shared = shared_tmp(config)
    (shared / "tiny_study").mkdir()
    log = open(shared / "tiny_study.log", "w")  # noqa: SIM115  (closed when the study ends)
    proc = subprocess.Popen(_tiny_study_command(shared / "tiny_study"), cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, text=True)
    # its exit status is written the moment it ends, for every worker, whatever test this one is running
    waiter = threading.Thread(target=_write_status_when_done, args=(proc, log, shared), daemon=True)
    waiter.start()
    config._tiny_study = (proc, waiter)


def _write_status_when_done(proc: subprocess.Popen, log, shared: Path) -> None:
    returncode = proc.wait()
    log.close()
    status = shared / "tiny_study.returncode"
    (shared / "tiny_study.returncode.tmp").write_text(str(returncode))
    (shared / "tiny_study.returncode.tmp").replace(status)  # whole when it exists


def pytest_sessionfinish(session, exitstatus):
    """A study still building when this process ends is stopped (no test read it: -x, an interrupt), or
    awaited under xdist, where another worker may still read it."""
    started = getattr(session.config, "_tiny_study", None)
    if started and started[0].poll() is None:
        if exitstatus == pytest.ExitCode.INTERRUPTED or not os.environ.get("PYTEST_XDIST_WORKER"):
            started[0].kill()
    if started:
        started[1].join()


@pytest.fixture(scope="session")
def tiny_study(request) -> Path:
    """The tiny study (config/tiny.yaml) run once per session through snakemake, started when the
    tests were collected (`pytest_collection_modifyitems`): its results folder. Shared by the tests of
    a finished study (tests/test_workflow.py, test_reliability.py, test_bad_input.py ...)."""
    shared = shared_tmp(request.config)
    status = shared / "tiny_study.returncode"
    waited = 0
    while not status.exists() and waited < TINY_WAIT_S:  # this worker's thread or another worker writes it
        time.sleep(1)
        waited += 1
    if not status.exists():
        pytest.fail(f"the tiny study did not finish within {TINY_WAIT_S} s: {shared / 'tiny_study.log'}")
    if status.read_text() != "0":
        pytest.fail(f"snakemake failed ({status.read_text()}):\n{(shared / 'tiny_study.log').read_text()[-6000:]}")
    return shared / "tiny_study" / "results"


def finished_copy(tiny_study: Path, tmp_path: Path) -> Path:
    """A copy of the finished tiny study in `tmp_path / "study"` (results and snakemake's records,
    modification times kept): what a test that changes a finished study works on."""
    shutil.copytree(tiny_study.parent, tmp_path / "study", symlinks=True)
    return tmp_path / "study"


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
