"""Named registries that refuse duplicates: observation types, dynamics models, agents (and, later,
sensors, metrics and failure detectors). Adding one of those is adding one file that registers it."""
from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """A name no entry was registered under (a KeyError for lookups, a ValueError for user input)."""

    def __str__(self) -> str:
        return str(self.args[0])


class Registry(Generic[T]):
    """Entries of one ``kind`` by name."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        """Register ``entry`` as ``name``; an empty or already taken name raises ValueError."""
        if not name:
            raise ValueError(f"{self.kind} {entry!r} has no name")
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered ({self._entries[name]!r})")
        self._entries[name] = entry
        return entry

    def decorator(self, attr: str):
        """A class decorator that registers a class under its attribute ``attr`` (e.g. "name", "kind")."""
        def register(cls):
            return self.add(getattr(cls, attr), cls)

        return register

    def get(self, name: str) -> T:
        """The entry registered as ``name``; an unknown name raises UnknownNameError listing the known ones."""
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {self.names()}") from None

    def names(self) -> list[str]:
        return sorted(self._entries)
