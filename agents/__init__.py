"""Agents that drive roadloop: the ``Agent`` protocol, a registry by name, and baselines."""
from agents.base import (Agent, EnvKindError, agent_env_kind, agent_names, agent_obs_mode, agents_for, best_agent,
                         check_env_kind, make_agent, register_agent)
from agents import lane_keeping as _lane_keeping  # noqa: F401  (registers "lane_keeping")
from agents import baselines as _baselines  # noqa: F401  (registers "constant_velocity", "random")
from agents.planning import hybrid as _hybrid  # noqa: F401  (registers "hybrid_planner")
from agents.planning import parking_agent as _parking_agent  # noqa: F401  (registers "parking_astar", "parking_mcts", ...)

__all__ = ["Agent", "EnvKindError", "agent_env_kind", "agent_names", "agent_obs_mode", "agents_for", "best_agent",
           "check_env_kind", "make_agent", "register_agent"]
