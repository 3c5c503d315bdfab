"""The runner contract: what runs the benchmark plan on one device (DESIGN.md, "The benchmark protocol").

A runner is a subclass of `Runner` registered by name (`@register_runner`), as methods and formats
are; `runner_for(device)` is the one place that picks it for a device of the config's `devices`."""

from __future__ import annotations

import abc
import sys

from ..errors import ConfigError
from ..registry import PluginRegistry
from .devices import HOST
from .plan import Plan


class Runner(abc.ABC):
    """Runs the plan on one model on one device and returns the result (format 1), never raising:
    a model that fails, a crash or a lost device is a result whose `error` says so.
    `Runner(device)`: the device it runs on (`host`, or an adb serial), kept as `device_name`."""

    name: str = ""  # the result's `runner`

    def __init__(self, device: str):
        self.device_name = device

    @abc.abstractmethod
    def run(self, model: str, fmt: str, data: str, plan: Plan, log=sys.stderr, weights: str | None = None,
            checkpoint: str | None = None) -> dict:
        """The plan run on `model`, a file of format `fmt` (with `weights`: the program `model` with
        that weights file), scored on the test split of `data`. `checkpoint`: the model's checkpoint,
        whose eager form a runner may profile as a stand-in where the runtime has no profiler
        (frbench.bench.profile)."""


RUNNERS: PluginRegistry[type[Runner]] = PluginRegistry(
    "benchmark runner", Runner, error=ConfigError,
    where="a runner is a @register_runner subclass of frbench.bench.runner.Runner in frbench/bench/")


def register_runner(cls: type[Runner]) -> type[Runner]:
    """Class decorator: register `cls` under `cls.name`."""
    return RUNNERS.register_class(cls)


def get_runner(name: str) -> type[Runner]:
    return RUNNERS.get(name)


def list_runners() -> list[str]:
    return RUNNERS.names()


def runner_for(device: str) -> Runner:
    """The runner of a device: `host` runs here; anything else is an adb serial for the Android runner."""
    return get_runner("host" if device == HOST else "android")(device)
