"""Vehicle dynamics (numpy, vectorised over actors), box collision, and pybullet contacts/rays."""

from sim.physics.collision import box_corners, boxes_overlap, pairwise_overlap
from sim.physics.contacts import ContactResult, ContactWorld
from sim.physics.dynamics import DynamicsModel, get_model, model_names, register_model
from sim.physics.models import DynamicBicycle, KinematicBicycle
from sim.physics.state import GRAVITY, VehicleParams, VehicleState

__all__ = [
    "GRAVITY", "ContactResult", "ContactWorld", "DynamicBicycle", "DynamicsModel", "KinematicBicycle",
    "VehicleParams", "VehicleState", "box_corners", "boxes_overlap", "get_model", "model_names",
    "pairwise_overlap", "register_model",
]
