"""The agent contract and the registry that loads agents by name."""
from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

_REGISTRY: dict[str, Callable[..., "Agent"]] = {}


class Agent(Protocol):
    """Drives one episode at a time: ``reset`` with the first observation and info, then ``act`` every step."""

    def reset(self, obs, info: dict) -> None: ...

    def act(self, obs, info: dict) -> np.ndarray: ...


def register_agent(name: str, factory: Callable[..., Agent]) -> None:
    """Add an agent factory under ``name``; a second registration of the same name is refused."""
    if name in _REGISTRY:
        raise ValueError(f"agent {name!r} is already registered")
    _REGISTRY[name] = factory


def agent_names() -> list[str]:
    return sorted(_REGISTRY)


def make_agent(name: str, **kwargs) -> Agent:
    if name not in _REGISTRY:
        raise ValueError(f"unknown agent {name!r}; known: {agent_names()}")
    return _REGISTRY[name](**kwargs)
