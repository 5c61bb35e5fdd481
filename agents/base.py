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


PREFERENCE = ("autopilot", "privileged_autopilot", "hybrid_planner", "lane_keeping")
"""Agents from most to least capable; ``best_agent`` picks the first one registered."""


def best_agent() -> str:
    """Name of the most capable registered agent (the default of ``roadloop eval`` and ``mine``)."""
    for name in PREFERENCE:
        if name in AGENTS.names():
            return name
    raise RuntimeError(f"no agent of {PREFERENCE} is registered; registered: {AGENTS.names()}")


def agent_obs_mode(name: str) -> str:
    """The observation mode an agent drives on: its factory's ``obs_mode`` attribute, default "vector"."""
    return getattr(AGENTS.get(name), "obs_mode", "vector")
