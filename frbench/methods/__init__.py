"""Compression methods, found by name.

Every module in this package is imported here, so that its `@register_method`
runs: a new method is a new file, with no edit to this one. The contract a method
answers is `frbench.contract` (re-exported here); `PostTraining` is the base of the
methods that compress a trained model.
"""

import importlib
import pkgutil

from ..contract import BASELINE, ExportForm, Hook, Method, MethodContext, ModelRef
from ._common import PostTraining
from ._registry import (
    Trained,
    control_of,
    describe_controls,
    get_method,
    list_methods,
    load_model,
    load_trained,
    register_method,
    with_controls,
)

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")

__all__ = ["BASELINE", "ExportForm", "Hook", "Method", "MethodContext", "ModelRef", "PostTraining", "Trained",
           "control_of", "describe_controls", "get_method", "list_methods", "load_model", "load_trained",
           "register_method", "with_controls"]
