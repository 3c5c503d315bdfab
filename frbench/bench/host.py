"""The host runner: one fresh `python -m frbench bench-one` process per model.

Every setting goes on the worker's command line; the result comes back as a
JSON file; a worker that hangs past the plan's timeout is killed, and one that
dies is reported with its exit status and the tail of its stderr (pyperf's
Manager). Either way the caller gets a result, never an exception.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from ..advice import STDERR_LOG_ENV, stderr_log
from .allocator import worker_env
from .plan import Plan
from .result import empty_result
from .runner import Runner, register_runner


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join((text or "").strip().splitlines()[-lines:])


@register_runner
class HostRunner(Runner):
    name = "host"

    def __init__(self, device: str = "host"):
        super().__init__(device)

    @staticmethod
    def worker_command(model: str, fmt: str, data: str, plan: Plan, out: Path, weights: str | None = None,
                       checkpoint: str | None = None) -> list[str]:
        return [sys.executable, "-m", "frbench", "bench-one", "--model", str(model), "--fmt", fmt,
                "--data", str(data), "--plan-json", json.dumps(plan.to_dict(), sort_keys=True), "--out", str(out),
                *(["--weights", str(weights)] if weights is not None else []),
                *(["--checkpoint", str(checkpoint)] if checkpoint is not None else [])]

    def run(self, model: str, fmt: str, data: str, plan: Plan, log=sys.stderr, weights: str | None = None,
            checkpoint: str | None = None) -> dict:
        """The plan run on `model` (with `weights`: the program `model` with that weights file)."""
        with tempfile.TemporaryDirectory(prefix="frbench-bench-") as tmp:
            out = Path(tmp) / "result.json"
            cmd = self.worker_command(model, fmt, data, plan, out, weights, checkpoint)
            print("running:", " ".join(cmd), file=log, flush=True)
            try:
                env = {**os.environ, **worker_env(plan.allocator)}  # the plan's allocator, for the worker alone
                if log is sys.stderr and stderr_log():  # its stderr is relayed there: what its messages name
                    env[STDERR_LOG_ENV] = stderr_log()
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=plan.timeout_s, env=env)
            except subprocess.TimeoutExpired as e:
                output = _tail(e.stderr if isinstance(e.stderr, str) else "")
                return self._failed(model, fmt, plan, f"timed out after {plan.timeout_s:g} s (bench.timeout_s); "
                                    f"the worker was killed. A model that hangs needs fixing; else raise "
                                    f"bench.timeout_s above the worker's start and load plus bench.warmup_s + "
                                    f"bench.max_s + bench.dice_s ({plan.warmup_s + plan.max_s + plan.dice_s:g} s), "
                                    f"or lower those. Last output:\n{output}")
            print(proc.stderr, file=log, flush=True)
            if proc.returncode != 0 or not out.is_file():
                how = (f"killed by signal {signal.Signals(-proc.returncode).name}" if proc.returncode < 0
                       else f"exited with status {proc.returncode}")
                return self._failed(model, fmt, plan, f"benchmark worker {how}:\n{_tail(proc.stderr)}")
            return json.loads(out.read_text())

    def _failed(self, model, fmt, plan, error: str) -> dict:
        return empty_result(runner=self.name, model=model, fmt=fmt, plan=plan.to_dict(), error=error)
