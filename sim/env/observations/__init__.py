"""Observation types: each has ``space()`` and ``observe(frame)``, and no reference back to the env."""
from sim.env.observations.base import Frame, ObservationType, make_observation, observation_names, register_observation
from sim.env.observations.bev import BevObservation
from sim.env.observations.camera import CameraObservation
from sim.env.observations.vector import VectorObservation

__all__ = ["Frame", "ObservationType", "make_observation", "observation_names", "register_observation",
           "BevObservation", "CameraObservation", "VectorObservation"]
