"""Procedural road worlds: WorldSpec -> generate_world -> World (roads, lane graph, props)."""
from .generate import generate_world
from .lanes import Lane, LaneGraph
from .spec import WorldSpec
from .world import JUNCTION_KINDS, PROP_KINDS, Junction, Props, Road, SurfaceParams, World

__all__ = ["generate_world", "Lane", "LaneGraph", "WorldSpec", "JUNCTION_KINDS", "PROP_KINDS", "Junction",
           "Props", "Road", "SurfaceParams", "World"]
