"""Compression methods, found by name.

Every module in this package is imported here, so that its `@register_method`
runs: a new method is a new file, with no edit to this one.
"""

import importlib
import pkgutil

from ._registry import Method, MethodContext, control_of, get_method, list_methods, register_method, with_controls

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")

__all__ = ["Method", "MethodContext", "control_of", "get_method", "list_methods", "register_method", "with_controls"]
