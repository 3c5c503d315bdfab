"""A name -> object table, the one lookup every plug-in kind shares (timm's
`_registry.py`): methods, exporters (`ptl`, `pte`), runtimes and benchmark runners.
Lookups of an unknown name fail listing the known ones; `names()` is sorted."""

from __future__ import annotations

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
        """Decorator: `@EXPORTERS.register("ptl")`."""
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
