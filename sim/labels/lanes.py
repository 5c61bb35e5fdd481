"""Lane polylines around the ego in the ego frame (vector space, no rendering).

Ego frame: origin at ``centre_xy``, x along ``heading`` (forward), y to its left, m.
"""
from __future__ import annotations

import numpy as np

from sim.labels.registry import label


def to_ego_frame(points: np.ndarray, centre_xy, heading: float) -> np.ndarray:
    """World points (..., 2) m -> ego frame (..., 2) m for an ego at ``centre_xy`` facing ``heading`` rad."""
    d = np.asarray(points, float) - np.asarray(centre_xy, float)
    c, s = np.cos(heading), np.sin(heading)
    return np.stack([c * d[..., 0] + s * d[..., 1], -s * d[..., 0] + c * d[..., 1]], axis=-1)


@label
def lane_polylines(world, centre_xy, radius: float, heading: float = 0.0) -> dict:
    """Lanes of ``world.lanes`` with a centerline point within ``radius`` m of ``centre_xy`` (2,) m.

    Each lane is cut to the contiguous run of its points from the first to the last one inside the
    radius (a lane leaving and re-entering the circle keeps the part between). Returns L lanes, in
    lane-id order: lane_id (L,) int64, centerline / left / right: lists of (Ni, 2) float64 polylines
    in the ego frame (travel direction, boundaries at +-width/2), left_kind / right_kind: tuples of
    "solid" | "dashed" | "none", speed_limit (L,) m/s, width (L,) m, junction (L,) bool.
    """
    if not radius > 0:
        raise ValueError(f"lane_polylines: radius must be positive (m), got {radius}")
    graph = world.lanes
    centre = np.asarray(centre_xy, float).reshape(2)
    inside = np.hypot(*(graph.points - centre).T) <= radius
    out = {"lane_id": [], "centerline": [], "left": [], "right": [], "left_kind": [], "right_kind": [],
           "speed_limit": [], "width": [], "junction": []}
    for lane_id in np.unique(graph.point_lane[inside]):
        lane = graph.lanes[lane_id]
        start = graph.lane_start[lane_id]
        hit = np.flatnonzero(inside[start:start + graph.lane_npts[lane_id]])
        cut = slice(hit[0], hit[-1] + 1)
        out["lane_id"].append(int(lane_id))
        out["centerline"].append(to_ego_frame(lane.centerline[cut], centre, heading))
        out["left"].append(to_ego_frame(graph.boundary_polyline(lane_id, "left")[cut], centre, heading))
        out["right"].append(to_ego_frame(graph.boundary_polyline(lane_id, "right")[cut], centre, heading))
        out["left_kind"].append(lane.left_boundary)
        out["right_kind"].append(lane.right_boundary)
        out["speed_limit"].append(lane.speed_limit)
        out["width"].append(lane.width)
        out["junction"].append(lane.junction_id >= 0)
    out["lane_id"] = np.asarray(out["lane_id"], np.int64)
    out["speed_limit"] = np.asarray(out["speed_limit"], float)
    out["width"] = np.asarray(out["width"], float)
    out["junction"] = np.asarray(out["junction"], bool)
    out["left_kind"], out["right_kind"] = tuple(out["left_kind"]), tuple(out["right_kind"])
    return out
