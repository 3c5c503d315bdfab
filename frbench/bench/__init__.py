"""The benchmark protocol and its runners: `host` (a subprocess per model) and,
for an adb serial, `android` (the instrumented app). `runner_for(device)` picks."""

from ..registry import Registry

RUNNERS = Registry("benchmark runner")

from . import host  # noqa: E402,F401  (registers "host")
from . import android  # noqa: E402,F401  (registers "android")
from .plan import Plan  # noqa: E402


def runner_for(device: str):
    """`host` runs here; anything else is an adb serial for the Android runner."""
    return RUNNERS.get("host" if device == "host" else "android")(device)


__all__ = ["RUNNERS", "Plan", "runner_for"]
