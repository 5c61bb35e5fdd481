"""Per-world lookup tables for traffic: junction flags, conflicting junction connectors, spawn index."""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

SPAWN_STRIDE = 8
"""Every this many centerline points is a candidate spawn spot (4 m apart at 0.5 m spacing)."""
SPAWN_END_CLEAR_M = (10.0, 20.0)
"""Spawn spots keep this far from the start and the end of their lane, m."""
CONFLICT_DISTANCE_M = 2.8
"""Two connectors of one junction conflict when their centerlines come this close, m: two vehicles of the
widest class (2.55 m) side by side on parallel centerlines farther apart than this do not touch. Connectors
that share their start (diverging) or their end (merging) conflict too; a connector conflicts with itself
when its end comes back this close to its start (U-turn loops)."""
LONG_SWEEP_M = 3.0
"""Extra clearance needed by a long vehicle (bus, truck), whose ends swing out of the lane on tight turns, m."""
LONG_VEHICLE_M = 7.0
"""Vehicles longer than this use ``conflict_long``, m."""


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
        self.conflict_long = np.zeros((n, n), dtype=bool)
        self._fill_conflicts(world)
        # Packed tables for the compiled kernels (see sim.traffic.kernels).
        self.lf = np.ascontiguousarray(np.stack([self.length, self.width, self.speed_limit], axis=1), dtype=np.float64)
        self.li = np.ascontiguousarray(np.concatenate(
            [lg.succ, self.n_succ[:, None], lg.left[:, None], lg.right[:, None], self.in_junction[:, None]], axis=1),
            dtype=np.int64)
        self.points = np.ascontiguousarray(lg.points, dtype=np.float64)
        self.point_s = np.ascontiguousarray(lg.point_s, dtype=np.float64)
        self.point_heading = np.ascontiguousarray(lg.point_heading, dtype=np.float64)
        self.lane_start = np.ascontiguousarray(lg.lane_start, dtype=np.int64)
        self.lane_npts = np.ascontiguousarray(lg.lane_npts, dtype=np.int64)
        self.spawnable = ~self.in_junction & (self.length > 20.0)
        # Not near either lane end: a vehicle placed there could sit in (or be committed to) a junction.
        pts = (self.spawnable[lg.point_lane] & (lg.point_s >= SPAWN_END_CLEAR_M[0])
               & (lg.point_s <= self.length[lg.point_lane] - SPAWN_END_CLEAR_M[1]))
        self.spawn_points = np.flatnonzero(pts)[::SPAWN_STRIDE]
        self.spawn_tree = cKDTree(lg.points[self.spawn_points])

    def _fill_conflicts(self, world) -> None:
        """``conflict[a, b]``: connectors a and b of one junction come within CONFLICT_DISTANCE_M of each other;
        ``conflict_long``: within CONFLICT_DISTANCE_M + LONG_SWEEP_M (used when a long vehicle is involved)."""
        lg = self.graph
        far = CONFLICT_DISTANCE_M + LONG_SWEEP_M
        for junction in world.junctions:
            ids = np.asarray(junction.connector_lanes, dtype=np.int64)
            trees = [cKDTree(lg.lanes[i].centerline) for i in ids]
            for a in range(len(ids)):
                line = lg.lanes[ids[a]].centerline
                loop = float(np.hypot(*(line[-1] - line[0])))
                self.conflict[ids[a], ids[a]] = loop < CONFLICT_DISTANCE_M
                self.conflict_long[ids[a], ids[a]] = loop < far
                for b in range(a + 1, len(ids)):
                    dist = trees[a].sparse_distance_matrix(trees[b], far, output_type="ndarray")["v"]
                    if dist.size:
                        close = bool(dist.min() < CONFLICT_DISTANCE_M)
                        self.conflict[ids[a], ids[b]] = self.conflict[ids[b], ids[a]] = close
                        self.conflict_long[ids[a], ids[b]] = self.conflict_long[ids[b], ids[a]] = True
