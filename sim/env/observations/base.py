"""Observation contract and registry."""
from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from sim.registry import Registry


@dataclass(frozen=True)
class Frame:
    """What an observation may look at: the state and the static scene (``scene.raster`` for drawing)."""

    state: object  # sim.env.simulation.SimState
    scene: object  # sim.env.simulation.Scene


class ObservationType:
    """Base of observation types; subclasses set ``name`` and are built from a DriveConfig."""

    name: str = ""

    def __init__(self, config):
        self.config = config

    def space(self) -> gym.Space:
        raise NotImplementedError

    def observe(self, frame: Frame) -> np.ndarray:
        raise NotImplementedError


OBSERVATIONS: Registry[type[ObservationType]] = Registry("observation mode")


register_observation = OBSERVATIONS.decorator("name")
"""Class decorator adding an observation type by its ``name``; duplicates are refused."""


def observation_names() -> list[str]:
    return OBSERVATIONS.names()


def make_observation(name: str, config) -> ObservationType:
    return OBSERVATIONS.get(name)(config)
