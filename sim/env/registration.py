"""Gymnasium registration of roadloop environments; safe to call more than once."""
from __future__ import annotations

import gymnasium as gym

ENV_IDS = ("roadloop/Drive-v0", "roadloop/Scenario-v0")
GOAL_ENV_IDS = ("roadloop/Parking-v0",)
"""Goal-conditioned envs (Dict observations, their own options): not in ENV_IDS, whose tests pass Drive options."""
DEFAULT_SCENARIO = "cut_in_short_gap"
"""What ``roadloop/Scenario-v0`` plays unless given ``scenario=`` (a shipped name, a file path or a Scenario)."""


def make_scenario_env(scenario=DEFAULT_SCENARIO, **kwargs):
    """``roadloop/Scenario-v0``: a road scenario in sim.env.drive.DriveEnv, a parking scenario (world kind
    ``parking_lot``) in sim.env.parking.ParkingEnv; ``kwargs`` are that env's options."""
    from pathlib import Path

    from sim.env.drive import DriveEnv
    from sim.env.parking import ParkingEnv
    from sim.scenario.io import load_scenario
    from sim.scenario.parking import ParkingScenario

    loaded = load_scenario(scenario) if isinstance(scenario, (str, Path)) else scenario
    if isinstance(loaded, ParkingScenario):
        return ParkingEnv(scenario=scenario, **kwargs)  # a file name is kept: errors against the lot name it
    return DriveEnv(scenario=loaded, **kwargs)


def register_envs() -> None:
    if "roadloop/Drive-v0" not in gym.registry:
        gym.register(id="roadloop/Drive-v0", entry_point="sim.env.drive:DriveEnv",
                     vector_entry_point="sim.env.batched:BatchedDriveEnv")
    if "roadloop/Scenario-v0" not in gym.registry:
        gym.register(id="roadloop/Scenario-v0", entry_point="sim.env.registration:make_scenario_env",
                     kwargs={"scenario": DEFAULT_SCENARIO})
    if "roadloop/Parking-v0" not in gym.registry:
        gym.register(id="roadloop/Parking-v0", entry_point="sim.env.parking:ParkingEnv")
