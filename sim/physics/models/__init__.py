"""Vehicle models, one per file; importing this package registers them."""

from sim.physics.models.dynamic_bicycle import DynamicBicycle
from sim.physics.models.kinematic_bicycle import KinematicBicycle

__all__ = ["DynamicBicycle", "KinematicBicycle"]
