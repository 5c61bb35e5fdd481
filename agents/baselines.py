"""Baselines for comparison: "constant_velocity" (steers along the route, holds its speed) and "random" (seeded
random actions)."""
from __future__ import annotations

import numpy as np

from agents.base import register_agent
from sim.env.observations.vector import EGO_FEATURES

LOOKAHEAD_S = 0.9
"""Pure-pursuit look-ahead time of the constant-velocity agent, s (distance clipped to 3..25 m)."""


class ConstantVelocityAgent:
    """Keeps the speed it starts with (no throttle, no brake) and steers along its route by pure pursuit on the
    ``vector`` observation's route points: the "do nothing" reference of every report."""

    obs_mode = "vector"

    def __init__(self, route_points: int = 16):
        self.k = route_points
        self.mapping = None

    def reset(self, obs, info: dict) -> None:
        self.mapping = info["action_mapping"]

    def act(self, obs, info: dict | None = None) -> np.ndarray:
        if self.mapping is None:
            raise RuntimeError("ConstantVelocityAgent: call reset(obs, info) first")
        e = len(EGO_FEATURES)
        route = obs[e : e + 2 * self.k].reshape(self.k, 2).astype(np.float64)
        speed = float(obs[EGO_FEATURES.index("speed")])
        dist = np.hypot(route[:, 0], route[:, 1])
        target = route[min(int(np.searchsorted(dist, np.clip(speed * LOOKAHEAD_S, 3.0, 25.0))), self.k - 1)]
        alpha = np.arctan2(target[1], target[0])
        steer = np.arctan2(2.0 * self.mapping["wheelbase"] * np.sin(alpha), max(np.hypot(*target), 1e-3))
        return np.array([np.clip(steer / self.mapping["max_steer"], -1, 1), 0.0], dtype=np.float32)


class RandomAgent:
    """Uniform random actions in [-1, 1]^2 from its own generator: ``seed`` at construction, re-seeded at every
    ``reset`` from (seed, episode count), so a run of episodes is the same run after run."""

    obs_mode = "vector"
    env_kind = "any"

    def __init__(self, seed: int = 0):
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"RandomAgent: seed must be an int >= 0, got {seed!r}")
        self.seed = int(seed)
        self.episode = 0
        self.rng = None

    def reset(self, obs, info: dict) -> None:
        self.rng = np.random.default_rng([self.seed, self.episode])
        self.episode += 1

    def act(self, obs, info: dict | None = None) -> np.ndarray:
        if self.rng is None:
            raise RuntimeError("RandomAgent: call reset(obs, info) first")
        return self.rng.uniform(-1.0, 1.0, 2).astype(np.float32)


register_agent("constant_velocity", ConstantVelocityAgent)
register_agent("random", RandomAgent)
