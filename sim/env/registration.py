"""Gymnasium registration of roadloop environments; safe to call more than once."""
from __future__ import annotations

import gymnasium as gym

ENV_IDS = ("roadloop/Drive-v0", "roadloop/Scenario-v0")
GOAL_ENV_IDS = ("roadloop/Parking-v0",)
"""Goal-conditioned envs (Dict observations, their own options): not in ENV_IDS, whose tests pass Drive options."""
DEFAULT_SCENARIO = "cut_in_short_gap"
"""What ``roadloop/Scenario-v0`` plays unless given ``scenario=`` (a shipped name, a file path or a Scenario)."""


def register_envs() -> None:
    if "roadloop/Drive-v0" not in gym.registry:
        gym.register(id="roadloop/Drive-v0", entry_point="sim.env.drive:DriveEnv")
    if "roadloop/Scenario-v0" not in gym.registry:
        gym.register(id="roadloop/Scenario-v0", entry_point="sim.env.drive:DriveEnv",
                     kwargs={"scenario": DEFAULT_SCENARIO})
    if "roadloop/Parking-v0" not in gym.registry:
        gym.register(id="roadloop/Parking-v0", entry_point="sim.env.parking:ParkingEnv")
