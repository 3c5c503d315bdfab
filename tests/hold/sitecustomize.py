"""Holds a study in a chosen stage, so that an interrupt test's signal lands there on any machine.

tests/test_reliability.py starts snakemake with this folder first on PYTHONPATH, which makes Python
import this module in every process of the study (snakemake and each job). When FRBENCH_HOLD names a
stage, the first process to reach it writes the file FRBENCH_HOLD_MARKER and then waits there for the
test's signal; no clock decides where the interrupt falls:

- `train`: after the first epoch's optimizer steps, at its validation (frbench.train.evaluate);
- `bench`: in the benchmark worker, before it loads the model (frbench.bench.worker.bench_one).
"""

import os
import time


def _hold(original):
    def held(*args, **kwargs):
        marker = os.environ["FRBENCH_HOLD_MARKER"]
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # the first process only
        except FileExistsError:
            return original(*args, **kwargs)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        while True:  # until the test's signal ends this process
            time.sleep(1)

    return held


_STAGE = os.environ.get("FRBENCH_HOLD")
if _STAGE == "train":
    import frbench.train

    frbench.train.evaluate = _hold(frbench.train.evaluate)
elif _STAGE == "bench":
    import frbench.bench.worker

    frbench.bench.worker.bench_one = _hold(frbench.bench.worker.bench_one)
