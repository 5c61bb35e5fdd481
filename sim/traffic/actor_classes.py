"""Classes of the actors in an actor table: ``Actors.kind`` indexes ACTOR_CLASSES (-1 is the ego).

Vehicle classes come first with the same codes as ``vehicle_classes.CLASS_NAMES``, then the vulnerable
road users and the parts of an articulated truck (a tractor pulls a separate trailer actor)."""
from sim.traffic.vehicle_classes import CLASS_NAMES

ACTOR_CLASSES = (*CLASS_NAMES, "pedestrian", "cyclist", "dog", "tractor", "trailer")
ACTOR_CODE = {name: i for i, name in enumerate(ACTOR_CLASSES)}
VEHICLE_CODES = tuple(range(len(CLASS_NAMES))) + (ACTOR_CODE["tractor"], ACTOR_CODE["trailer"])
"""Codes of motor vehicles (they are what collisions between vehicles mean)."""
