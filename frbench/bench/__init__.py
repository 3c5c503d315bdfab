"""The benchmark protocol and its runners: `host` (a subprocess per model) and, for an adb serial,
`android` (the instrumented app). `runner_for(device)` picks (frbench.bench.runner)."""

from . import android, host  # noqa: F401  (register "android" and "host")
from .plan import Plan
from .runner import RUNNERS, Runner, get_runner, list_runners, register_runner, runner_for

__all__ = ["RUNNERS", "Plan", "Runner", "get_runner", "list_runners", "register_runner", "runner_for"]
