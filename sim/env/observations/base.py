"""Observation contract and registry."""
from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

_REGISTRY: dict[str, type["ObservationType"]] = {}


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


def register_observation(cls: type[ObservationType]) -> type[ObservationType]:
    """Class decorator adding an observation type by its ``name``; duplicates are refused."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in _REGISTRY:
        raise ValueError(f"observation type {cls.name!r} is already registered by {_REGISTRY[cls.name].__name__}")
    _REGISTRY[cls.name] = cls
    return cls


def observation_names() -> list[str]:
    return sorted(_REGISTRY)


def make_observation(name: str, config) -> ObservationType:
    if name not in _REGISTRY:
        raise ValueError(f"unknown observation mode {name!r}; known: {observation_names()}")
    return _REGISTRY[name](config)
