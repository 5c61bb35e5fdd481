"""Procedural meshes (trimesh) for the renderer: vehicles per class, trees, poles, cones."""
from .meshes import PART_COLOURS, cone_mesh, pole_mesh, prop_mesh, tree_mesh, vehicle_mesh

__all__ = ["PART_COLOURS", "cone_mesh", "pole_mesh", "prop_mesh", "tree_mesh", "vehicle_mesh"]
