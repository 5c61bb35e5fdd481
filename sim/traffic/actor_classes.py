"""Classes of the actors in an actor table: ``Actors.kind`` indexes ACTOR_CLASSES (-1 is the ego).

Vehicle classes come first with the same codes as ``vehicle_classes.CLASS_NAMES``, then the vulnerable
road users and the parts of an articulated truck (a tractor pulls a separate trailer actor)."""
from sim.traffic.vehicle_classes import CLASS_NAMES

ACTOR_CLASSES = (*CLASS_NAMES, "pedestrian", "cyclist", "dog", "tractor", "trailer")
ACTOR_CODE = {name: i for i, name in enumerate(ACTOR_CLASSES)}
VEHICLE_CODES = tuple(range(len(CLASS_NAMES))) + (ACTOR_CODE["tractor"], ACTOR_CODE["trailer"])
"""Codes of motor vehicles (they are what collisions between vehicles mean)."""
SCRIPTED_CLASSES = (*CLASS_NAMES, "pedestrian", "cyclist", "dog")
"""Classes a scenario may give its actors."""

VRU_SIZE = {"pedestrian": ((0.26, 0.36), (0.42, 0.56), (1.5, 1.95)), "cyclist": ((1.6, 1.85), (0.5, 0.7), (1.6, 1.9)),
            "dog": ((0.6, 1.1), (0.2, 0.35), (0.4, 0.75))}
"""(length, width, height) ranges, m, of the vulnerable road users' boxes."""


def size_range(name: str) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
    """((min, max) length, width, height) m of a vehicle class or a vulnerable road user's class."""
    from sim.traffic.vehicle_classes import HEIGHT, LENGTH, WIDTH

    if name in VRU_SIZE:
        return VRU_SIZE[name]
    k = CLASS_NAMES.index(name)
    return tuple((float(r[k, 0]), float(r[k, 1])) for r in (LENGTH, WIDTH, HEIGHT))
