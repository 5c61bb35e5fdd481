"""Per-world lookup tables for traffic: junction flags, conflicting junction connectors, spawn index."""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

SPAWN_STRIDE = 8
"""Every this many centerline points is a candidate spawn spot (4 m apart at 0.5 m spacing)."""
CONFLICT_DISTANCE_M = 2.0
"""Two junction connectors conflict when their centerlines come this close (and they start apart)."""


class LaneMap:
    """Tables derived once from a world's lane graph."""

    def __init__(self, world):
        lg = world.lanes
        self.graph = lg
        n = len(lg.lanes)
        self.length = lg.lane_length
        self.width = lg.lane_width
        self.speed_limit = lg.speed_limit
        self.succ = lg.succ
        self.n_succ = (lg.succ >= 0).sum(axis=1)
        self.left = lg.left
        self.right = lg.right
        self.in_junction = np.array([lane.junction_id >= 0 for lane in lg.lanes], dtype=bool)
        self.conflict = np.zeros((n, n), dtype=bool)
        self._fill_conflicts(world)
        self.spawnable = ~self.in_junction & (self.length > 20.0)
        pts = self.spawnable[lg.point_lane]
        self.spawn_points = np.flatnonzero(pts)[::SPAWN_STRIDE]
        self.spawn_tree = cKDTree(lg.points[self.spawn_points])

    def _fill_conflicts(self, world) -> None:
        lg = self.graph
        for junction in world.junctions:
            ids = np.asarray(junction.connector_lanes, dtype=np.int64)
            if ids.size < 2:
                continue
            trees = [cKDTree(lg.lanes[i].centerline) for i in ids]
            starts = np.array([lg.lanes[i].centerline[0] for i in ids])
            for a in range(len(ids)):
                for b in range(a + 1, len(ids)):
                    if np.hypot(*(starts[a] - starts[b])) < 0.5:
                        continue
                    if trees[a].sparse_distance_matrix(trees[b], CONFLICT_DISTANCE_M).nnz:
                        self.conflict[ids[a], ids[b]] = self.conflict[ids[b], ids[a]] = True
