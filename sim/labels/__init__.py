"""Perfect labels from vector space: per actor (cuboids + kinematics), per lane (polylines), BEV
rasters and per camera (2D boxes, occlusion). Every label type is one function in ``LABELS``;
see ``sim/labels/registry.py`` for how to add one."""
from sim.labels.bev import bev
from sim.labels.boxes2d import boxes2d, camera_pose, fill_silhouette, silhouette
from sim.labels.cuboids import SCHEME_NAMES, cuboid_corners, cuboids, state_cuboids
from sim.labels.lanes import lane_polylines, to_ego_frame
from sim.labels.registry import LABELS, label

__all__ = ["LABELS", "SCHEME_NAMES", "bev", "boxes2d", "camera_pose", "cuboid_corners", "cuboids",
           "fill_silhouette", "label", "lane_polylines", "silhouette", "state_cuboids", "to_ego_frame"]
