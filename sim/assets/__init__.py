"""Procedural assets: meshes (trimesh) of vehicles, pedestrians, cyclists and props; the road-surface
texture; static world geometry built from the lane graph."""
from .meshes import (PART_COLOURS, TRACTOR_HITCH, TRAILER_KINGPIN, barrier_mesh, cone_mesh, cyclist_mesh,
                     pedestrian_mesh, pole_mesh, prop_mesh, tractor_mesh, trailer_mesh, tree_mesh, vehicle_mesh)
from .textures import TEXTURE_TILE_M, asphalt_texture

__all__ = ["PART_COLOURS", "TEXTURE_TILE_M", "TRACTOR_HITCH", "TRAILER_KINGPIN", "asphalt_texture", "barrier_mesh",
           "cone_mesh", "cyclist_mesh", "pedestrian_mesh", "pole_mesh", "prop_mesh", "tractor_mesh", "trailer_mesh",
           "tree_mesh", "vehicle_mesh"]
