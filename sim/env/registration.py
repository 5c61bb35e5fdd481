"""Gymnasium registration of roadloop environments; safe to call more than once."""
from __future__ import annotations

import gymnasium as gym

ENV_IDS = ("roadloop/Drive-v0",)


def register_envs() -> None:
    if "roadloop/Drive-v0" not in gym.registry:
        gym.register(id="roadloop/Drive-v0", entry_point="sim.env.drive:DriveEnv")
