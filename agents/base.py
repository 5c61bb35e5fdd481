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
ENV_KINDS = {"drive": "roadloop/Drive-v0 or a road scenario in roadloop/Scenario-v0",
             "parking": "roadloop/Parking-v0 or a parking scenario in roadloop/Scenario-v0",
             "any": "any roadloop env"}
"""The kinds of env an agent drives, and the envs of each."""
_ENV_KIND: dict[str, str] = {}


class EnvKindError(ValueError):
    """An agent was asked to drive an env of a kind it does not drive."""


def register_agent(name: str, factory: Callable[..., Agent], env_kind: str | None = None) -> None:
    """Add an agent factory under ``name``, driving envs of ``env_kind`` (a key of ENV_KINDS; default: the
    factory's ``env_kind`` attribute, else "drive"); a second registration of the same name is refused."""
    kind = env_kind if env_kind is not None else getattr(factory, "env_kind", "drive")
    if kind not in ENV_KINDS:
        raise ValueError(f"agent {name!r}: env_kind must be one of {sorted(ENV_KINDS)}, got {kind!r}")
    AGENTS.add(name, factory)
    _ENV_KIND[name] = kind


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


def agent_env_kind(name: str) -> str:
    """The kind of env (a key of ENV_KINDS) the agent registered as ``name`` drives."""
    AGENTS.get(name)
    return _ENV_KIND[name]


def check_env_kind(name: str, env_kind: str) -> None:
    """EnvKindError naming the agent and the env it needs when agent ``name`` does not drive ``env_kind`` envs."""
    if env_kind not in ENV_KINDS or env_kind == "any":
        raise ValueError(f"env_kind must be one of {sorted(set(ENV_KINDS) - {'any'})}, got {env_kind!r}")
    kind = agent_env_kind(name)
    if kind not in ("any", env_kind):
        raise EnvKindError(f"agent {name!r} drives {kind} envs ({ENV_KINDS[kind]}), not {env_kind} envs "
                           f"({ENV_KINDS[env_kind]}); {env_kind} agents: {agents_for(env_kind)}")


def agents_for(env_kind: str) -> list[str]:
    """Names of the registered agents that drive ``env_kind`` envs."""
    return [n for n in AGENTS.names() if _ENV_KIND[n] in ("any", env_kind)]


def agent_obs_mode(name: str) -> str:
    """The observation mode an agent drives on: its factory's ``obs_mode`` attribute, default "vector"."""
    return getattr(AGENTS.get(name), "obs_mode", "vector")
