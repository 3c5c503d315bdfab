"""Phone formats, one plug-in each: `get_format("ptl")`, `list_formats()`.

A format is a subclass of `Format` in its own module (or package) of `frbench/formats/`, decorated
with `@register_format`, as a method is (`frbench.methods`): importing this package imports every
module in it, so a fourth runtime is one more module here (and one more Java runner in the app,
`android_bench/`). Generic code (the export job, the benchmark worker, the Android runner, the
report) asks a format; it never branches on a format's name.
"""

import importlib
import pkgutil

from ..errors import ConfigError
from ..registry import PluginRegistry
from ._format import Format, UpdateFiles

FORMATS: PluginRegistry[type[Format]] = PluginRegistry(
    "format", Format, error=ConfigError,
    where="a format is a module frbench/formats/NAME with a @register_format class (frbench.formats.Format)")


def register_format(cls: type[Format]) -> type[Format]:
    """Class decorator: register `cls` under `cls.name` (a subclass of `Format` with every method implemented)."""
    return FORMATS.register_class(cls)


def get_format(name: str) -> Format:
    """A fresh instance of the format registered under `name`; a ConfigError naming the known ones otherwise."""
    return FORMATS.get(name)()


def list_formats() -> list[str]:
    return FORMATS.names()


for _mod in pkgutil.iter_modules(__path__):  # every format's module registers itself (graph: the shared record)
    if not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")

__all__ = ["FORMATS", "Format", "UpdateFiles", "get_format", "list_formats", "register_format"]
