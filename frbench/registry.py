"""A name -> object table, the one lookup every plug-in kind shares (timm's `_registry.py`):
methods, formats, benchmark runners, figures.

`Registry` is the table: lookups of an unknown name fail listing the known ones; `names()` is
sorted. `PluginRegistry` is the convention every plug-in kind follows (methods, formats,
runners): a class decorator that checks the declared base class, refuses a class that leaves a
declared method abstract (naming it), and registers the class under its `name`; `get(name)`
fails naming the known ones and where a new one goes; `names()` lists them.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, obj: T) -> T:
        if name in self._items:
            warnings.warn(f"{self.kind} {name!r} registered again by {getattr(obj, '__module__', '?')}; the later one wins",
                          stacklevel=3)
        self._items[name] = obj
        return obj

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: `@FIGURES.register("dice_vs_size")`."""
        return lambda obj: self.add(name, obj)

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names()) or 'none'}") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items


C = TypeVar("C", bound=type)


class PluginRegistry(Registry[C]):
    """Classes of one plug-in kind, each a subclass of `base` registered under its `name`.

    `error` is the exception an unknown name raises (a ConfigError for what a config names);
    `where` says how a new plug-in of this kind is added, for that message."""

    def __init__(self, kind: str, base: type, *, error: type[Exception] = KeyError, where: str = ""):
        super().__init__(kind)
        self.base, self.error, self.where = base, error, where

    def register_class(self, cls: C) -> C:
        """Class decorator: check `cls` against the declared base and register it under `cls.name`."""
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise TypeError(f"{cls!r}: a {self.kind} is a subclass of {self.base.__module__}.{self.base.__qualname__}")
        where = f"{cls.__module__}.{cls.__qualname__}"
        name = getattr(cls, "name", "")
        if not name or not name.isidentifier() or name != name.lower():
            raise ValueError(f"{where}: {self.kind} name must be a lower-case identifier, got {name!r}")
        if inspect.isabstract(cls):
            missing = ", ".join(sorted(cls.__abstractmethods__))
            raise TypeError(f"{where}: the {self.kind} {name!r} does not implement {missing}, which "
                            f"{self.base.__qualname__} declares")
        return self.add(name, cls)

    def get(self, name: str) -> C:
        if name not in self:
            hint = f"; {self.where}" if self.where else ""
            raise self.error(f"no {self.kind} {name!r} is registered (known: {', '.join(self.names()) or 'none'}){hint}")
        return self._items[name]
