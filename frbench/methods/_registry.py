"""The method registry: a method is found by name (timm's `register_model`), and a trained model
is loaded through the method that made it.

A method is a subclass of `frbench.contract.Method` in its own module of `frbench/methods/`,
decorated with `@register_method`. Importing `frbench.methods` imports every module of the
package, so adding a method is adding a file. A name of registered methods joined by '+' is a
chain of them (`frbench.methods._chain`), found here like any method. Generic code never branches
on a method's name: it asks the method.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

import torch.nn as nn

from ..advice import rebuild_advice
from ..checkpoint import load_checkpoint
from ..contract import Method, MethodContext, ModelRef
from ..errors import CheckpointError, ConfigError
from ..registry import PluginRegistry

__all__ = ["Trained", "control_of", "describe_controls", "get_method", "list_methods", "load_model", "load_trained",
           "register_method", "with_controls"]

METHODS: PluginRegistry[type[Method]] = PluginRegistry(
    "method", Method, error=ConfigError,
    where="a method is a module frbench/methods/NAME.py with a @register_method class")


def register_method(cls: type[Method]) -> type[Method]:
    """Class decorator: register `cls` under `cls.name` (each job makes its own instance)."""
    return METHODS.register_class(cls)


def get_method(name: str) -> type[Method]:
    """The method class registered under `name`, or the chain of registered methods 'A+B'; a
    ConfigError naming the known ones otherwise."""
    if "+" in name:
        from ._chain import chain_class

        return chain_class(name)
    return METHODS.get(name)


def list_methods() -> list[str]:
    return METHODS.names()


def describe_controls() -> dict[str, str]:
    """Every registered method whose role is "control", with what it is: the first clause of its class's
    docstring, or of its module's where the class has none ("a dense UNet as small as a compressed model,
    trained from scratch with the train budget"). The report says what each control is with it."""
    out = {}
    for name in list_methods():
        cls = get_method(name)
        if cls.role != "control":
            continue
        doc = cls.__dict__.get("__doc__") or sys.modules[cls.__module__].__doc__ or ""
        first = " ".join(doc.split()).split(": ")[0].split(". ")[0].rstrip(".").replace("`", "")
        out[name] = first[:1].lower() + first[1:]
    return out


def control_of(method: str, level: str, unet: dict, params: dict) -> ModelRef | None:
    """The control of one operating point (`Method.control`), from the study's `model` block and
    the method's own config block."""
    return get_method(method)(level, MethodContext(unet=unet, params=params)).control()


def with_controls(methods: dict[str, dict], unet: dict) -> dict[str, list[str]]:
    """The study's trained models: every configured method's levels, plus the models they take as
    inputs and the controls they are compared with, and theirs in turn (method -> levels,
    configured methods first, in config order)."""
    config = {"methods": methods}
    models = {name: list(block["levels"]) for name, block in methods.items()}
    todo = [(name, level) for name, levels in models.items() for level in levels]
    while todo:
        name, level = todo.pop(0)
        cls = get_method(name)
        method = cls(level, MethodContext(unet=unet, params=cls.config_block(config)))
        for ref in [*method.inputs().values(), method.control()]:
            if ref is not None and ref.level not in models.setdefault(ref.method, []):
                models[ref.method].append(ref.level)
                todo.append(ref)
    return models


class Trained(NamedTuple):
    """A trained model, loaded: the method instance that rebuilt it (holding its facts), the model
    in eval mode with its weights, and the checkpoint as read."""

    method: Method
    model: nn.Module
    checkpoint: dict


def load_trained(path) -> Trained:
    """Rebuild the model a checkpoint describes, through its method, in eval mode, with its weights."""
    ckpt = load_checkpoint(path)
    try:
        method = get_method(ckpt["method"])(ckpt["level"])
    except ConfigError as e:
        raise CheckpointError(f"{path}: {e}; {rebuild_advice(path)}") from None
    try:
        method.checkpoint = str(path)
        model = method.rebuild(ckpt["arch"])
    except (KeyError, ValueError, TypeError, CheckpointError) as e:  # ConfigError too: the arch is at fault
        raise CheckpointError(f"{path}: its arch does not describe a {ckpt['method']} model ({type(e).__name__}: "
                              f"{e}); {rebuild_advice(path)}") from None
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as e:
        raise CheckpointError(
            f"{path}: the weights do not fit the architecture the checkpoint describes "
            f"({str(e).splitlines()[0]}); {rebuild_advice(path)}"
        ) from None
    method.set_extra_state(ckpt["extra"])
    return Trained(method, model.eval(), ckpt)


def load_model(path) -> tuple[nn.Module, dict]:
    """The model a checkpoint holds, in eval mode, and the checkpoint (`load_trained` without the method)."""
    trained = load_trained(path)
    return trained.model, trained.checkpoint
