"""The agent contract and the registry that loads agents by name."""
from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from sim.registry import Registry


class Agent(Protocol):
    """Drives one episode at a time: ``reset`` with the first observation and info, then ``act`` every step."""

    def reset(self, obs, info: dict) -> None: ...

    def act(self, obs, info: dict) -> np.ndarray: ...


AGENTS: Registry[Callable[..., Agent]] = Registry("agent")


def register_agent(name: str, factory: Callable[..., Agent]) -> None:
    """Add an agent factory under ``name``; a second registration of the same name is refused."""
    AGENTS.add(name, factory)


def agent_names() -> list[str]:
    return AGENTS.names()


def make_agent(name: str, **kwargs) -> Agent:
    return AGENTS.get(name)(**kwargs)
