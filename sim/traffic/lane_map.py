"""Per-world lookup tables for traffic: junction flags, conflicting junction connectors and where along them
they conflict, turn directions, oncoming lanes, junction controls, spawn index."""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from sim.traffic.signals import plan_signals
from sim.traffic.trailer import TrailerParams, trail_path

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
TURN_STRAIGHT, TURN_LEFT, TURN_RIGHT, TURN_U = 0, 1, -1, 2
"""Turn codes of junction connectors (``LaneMap.turn``); lanes outside junctions are TURN_STRAIGHT."""
SIBLINGS = 3
"""Split siblings kept per lane (other successors of its predecessor outside junctions)."""
LEN, WID, LIM, ONC_A, ONC_B, ONC_SEP, KMAX, SIB_LEN = range(8)
"""Columns of ``LaneMap.lf`` (float64): length m, width m, speed limit m/s, oncoming-lane map (own s maps to
``ONC_A - ONC_B * s`` on the oncoming lane), the distance between the two centerlines m, the largest
|curvature| of the lane 1/m, then SIBLINGS columns: how far from its start the lane runs within
SPLIT_CLEAR_M of each split sibling, m."""
NSUCC, LEFT, RIGHT, JUNC, ONC, TURN, SIB = range(4, 11)
RIG_OK = SIB + SIBLINGS
"""Columns of ``LaneMap.li`` (int64) after the 4 successor columns (-1 padded): successor count, left and right
same-direction neighbours, in-junction flag, oncoming lane (-1 none), turn code, then SIBLINGS split siblings
(-1 padded), then whether a semi-trailer rig may drive the lane (``LaneMap.rig_ok``)."""
RIG_MIN_RADIUS_M = 7.0
"""Tightest lane radius a semi-trailer rig turns on, m."""
RIG_LEAD_M = (25.0, 25.0)
"""Lengths of the lanes before and after a junction connector over which a rig's turn through it is traced, m."""
RIG_STAND_M = 9.0
"""A rig does not take a connector whose trailer, turning, sweeps over where a vehicle waiting at another entry of
the junction stands: within this of that entry along its lane (the front at its stop line, about 4 m, and a car
length behind), m."""
RIG_SWEEP_CLEAR_M = 1.3
"""Half width of a vehicle standing on its lane centre, as the clearance a sweeping trailer must keep, m."""
RIG_EDGE_M = 0.1
"""A rig swinging wide on a bend keeps its tractor this far inside its lane's edge (sim.traffic.kernels), m."""
RIG_OVERHANG_M = 0.1
"""A rig does not drive a lane on whose tightest bend its trailer, off-tracking inside while the tractor swings
wide all it may, would reach farther than this over the lane's edge (into the oncoming lane or onto the
sidewalk), m."""
SPLIT_CLEAR_M = CONFLICT_DISTANCE_M
"""Lanes that split from one lane outside a junction share the road until their centerlines are this far
apart, m."""
ONCOMING_SAMPLES = (0.1, 0.3, 0.5, 0.7, 0.9)
"""Fractions of a lane's length where its oncoming lane is looked for; all must find the same lane."""


class LaneMap:
    """Tables derived once from a world's lane graph."""

    def __init__(self, world, controls: dict[int, str] | None = None):
        """``controls`` {junction id: kind} overrides the drawn control of junctions (``plan_signals``)."""
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
        self.conf = np.zeros((4, n, n))
        self._fill_conflicts(world)
        self.turn = self._turns(world)
        self.oncoming, onc_map = self._oncoming(lg)
        self.signals = plan_signals(world, controls)
        # Packed tables for the compiled kernels (see sim.traffic.kernels).
        kmax = np.array([np.abs(lane.curvature).max() for lane in lg.lanes])
        sibling, shared = self._splits(lg)
        self.rig_ok = self._rig_lanes(world, kmax)
        self.lf = np.ascontiguousarray(np.concatenate(
            [np.stack([self.length, self.width, self.speed_limit], axis=1), onc_map, kmax[:, None], shared], axis=1),
            dtype=np.float64)
        self.li = np.ascontiguousarray(np.concatenate(
            [lg.succ, self.n_succ[:, None], lg.left[:, None], lg.right[:, None], self.in_junction[:, None],
             self.oncoming[:, None], self.turn[:, None], sibling, self.rig_ok[:, None]], axis=1), dtype=np.int64)
        self.points = np.ascontiguousarray(lg.points, dtype=np.float64)
        self.point_s = np.ascontiguousarray(lg.point_s, dtype=np.float64)
        self.point_heading = np.ascontiguousarray(lg.point_heading, dtype=np.float64)
        self.point_curvature = np.ascontiguousarray(np.concatenate([lane.curvature for lane in lg.lanes]),
                                                    dtype=np.float64)
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
        ``conflict_long``: within CONFLICT_DISTANCE_M + LONG_SWEEP_M (used when a long vehicle is involved).
        ``conf[0, a, b]``, ``conf[1, a, b]``: first and last arc length along a within CONFLICT_DISTANCE_M of b
        (the conflict zone on a), ``conf[2:4]`` the same within the long distance (m); a loop's zone with
        itself is all of it."""
        lg = self.graph
        far = CONFLICT_DISTANCE_M + LONG_SWEEP_M
        self.conf[1] = self.conf[3] = self.length[:, None]
        for junction in world.junctions:
            ids = np.asarray(junction.connector_lanes, dtype=np.int64)
            trees = [cKDTree(lg.lanes[i].centerline) for i in ids]
            for a in range(len(ids)):
                line = lg.lanes[ids[a]].centerline
                s = lg.lanes[ids[a]].s
                loop = float(np.hypot(*(line[-1] - line[0])))
                self.conflict[ids[a], ids[a]] = loop < CONFLICT_DISTANCE_M
                self.conflict_long[ids[a], ids[a]] = loop < far
                for b in range(len(ids)):
                    if b == a:
                        continue
                    near, _ = trees[b].query(line, distance_upper_bound=far)
                    for k, reach in ((0, CONFLICT_DISTANCE_M), (2, far)):
                        inside = np.flatnonzero(near < reach)
                        if inside.size:
                            self.conf[k, ids[a], ids[b]] = s[inside[0]]
                            self.conf[k + 1, ids[a], ids[b]] = s[inside[-1]]
                    if b > a:
                        dist = trees[a].sparse_distance_matrix(trees[b], far, output_type="ndarray")["v"]
                        if dist.size:
                            close = bool(dist.min() < CONFLICT_DISTANCE_M)
                            self.conflict[ids[a], ids[b]] = self.conflict[ids[b], ids[a]] = close
                            self.conflict_long[ids[a], ids[b]] = self.conflict_long[ids[b], ids[a]] = True

    def _rig_lanes(self, world, kmax) -> np.ndarray:
        """(L,) bool: lanes a semi-trailer rig may drive: all but U-turn loops, connectors tighter than
        RIG_MIN_RADIUS_M, lanes too narrow for its trailer on their bends (RIG_OVERHANG_M) and connectors whose
        trailer (off-tracking, traced with ``sim.traffic.trailer`` from RIG_LEAD_M before to RIG_LEAD_M after it)
        sweeps within RIG_SWEEP_CLEAR_M of the last RIG_STAND_M of another lane entering the junction."""
        lg = self.graph
        params = TrailerParams.standard(1)
        ok = (self.turn != TURN_U) & (kmax * RIG_MIN_RADIUS_M <= 1.0)
        radius = 1.0 / np.maximum(kmax, 1e-6)
        el = params.kingpin_axle[0]
        off = np.where(radius > el, radius - np.sqrt(np.maximum(radius * radius - el * el, 0.0)), el)
        trailer = params.width[0]
        swing = np.maximum(0.5 * (self.width - trailer) - RIG_EDGE_M, 0.0)
        ok &= self.in_junction | (off - swing + 0.5 * trailer <= 0.5 * self.width + RIG_OVERHANG_M)
        reach = 0.5 * np.array([params.length[0], params.width[0]]) + RIG_SWEEP_CLEAR_M
        for junction in world.junctions:
            conns = [int(c) for c in junction.connector_lanes if ok[c] and lg.lanes[c].predecessors]
            entries = {int(a) for c in junction.connector_lanes for a in lg.lanes[c].predecessors}
            for c in conns:
                before, after = lg.lanes[c].predecessors[0], [x for x in lg.succ[c] if x >= 0]
                parts = [lg.lanes[before].centerline[lg.lanes[before].s >= self.length[before] - RIG_LEAD_M[0]],
                         lg.lanes[c].centerline]
                if after:
                    parts.append(lg.lanes[after[0]].centerline[lg.lanes[after[0]].s <= RIG_LEAD_M[1]])
                xy = np.concatenate(parts)
                heading = np.arctan2(np.gradient(xy[:, 1]), np.gradient(xy[:, 0]))
                theta = trail_path(xy, heading, params)
                centre = xy - params.kingpin_centre[0] * np.stack([np.cos(theta), np.sin(theta)], axis=1)
                for a in entries - set(lg.lanes[c].predecessors):
                    pts = lg.lanes[a].centerline[lg.lanes[a].s >= self.length[a] - RIG_STAND_M]
                    rel = pts[:, None] - centre[None]
                    along = rel[..., 0] * np.cos(theta) + rel[..., 1] * np.sin(theta)
                    side = -rel[..., 0] * np.sin(theta) + rel[..., 1] * np.cos(theta)
                    if np.any((np.abs(along) <= reach[0]) & (np.abs(side) <= reach[1])):
                        ok[c] = False
                        break
        return ok

    def _turns(self, world) -> np.ndarray:
        """(L,) int64 turn code of every lane: connectors by their heading change (U-turn loops of dead ends
        TURN_U), other lanes TURN_STRAIGHT."""
        turn = np.full(len(self.graph.lanes), TURN_STRAIGHT, np.int64)
        for junction in world.junctions:
            for c in junction.connector_lanes:
                h = self.graph.lanes[c].heading
                dh = (h[-1] - h[0] + np.pi) % (2.0 * np.pi) - np.pi
                if junction.kind == "cul_de_sac":
                    turn[c] = TURN_U
                elif abs(dh) >= 0.25 * np.pi:
                    turn[c] = TURN_LEFT if dh > 0 else TURN_RIGHT
        return turn

    def _splits(self, lg):
        """(L, SIBLINGS) split siblings of every lane outside junctions (the other successors of a lane it
        follows, -1 padded) and (L, SIBLINGS) how far from its start it stays within SPLIT_CLEAR_M of each, m."""
        n = len(lg.lanes)
        sibling = np.full((n, SIBLINGS), -1, np.int64)
        shared = np.zeros((n, SIBLINGS))
        for p in range(n):
            kids = [int(c) for c in lg.succ[p] if c >= 0 and not self.in_junction[c]]
            for a in kids:
                line = lg.lanes[a].centerline
                for b in kids:
                    k = int(np.sum(sibling[a] >= 0))
                    if b == a or b in sibling[a] or k == SIBLINGS:
                        continue
                    near, _ = cKDTree(lg.lanes[b].centerline).query(line, distance_upper_bound=SPLIT_CLEAR_M)
                    apart = np.flatnonzero(~np.isfinite(near))
                    sibling[a, k] = b
                    shared[a, k] = lg.lanes[a].s[apart[0]] if apart.size else lg.lanes[a].length
        return sibling, shared

    def _oncoming(self, lg):
        """(L,) oncoming lane of every lane without a same-direction left neighbour (the opposite-direction lane
        beside its left edge, found by geometry; -1 none) and (L, 3) its mapping: own s maps to
        ``a - b * s`` on the oncoming lane, and the centerlines lie ``sep`` m apart."""
        n = len(lg.lanes)
        onc = np.full(n, -1, np.int64)
        out = np.zeros((n, 3))
        own = np.flatnonzero((lg.lane_junction < 0) & (lg.left < 0))
        if own.size == 0:
            return onc, out
        frac = np.asarray(ONCOMING_SAMPLES)
        lanes = np.repeat(own, frac.size)
        s = np.tile(frac, own.size) * lg.lane_length[lanes]
        xy, h = lg.cartesian(lanes, s, lg.lane_width[lanes])
        found, s_found, d_found = lg.locate(xy, h + np.pi)
        _, h_found = lg.cartesian(found, s_found, np.zeros(found.size))
        ok = ((lg.lane_junction[found] < 0) & (np.cos(h_found - h) < -0.9)
              & (np.abs(d_found) <= 0.5 * lg.lane_width[found]) & (found != lanes))
        for k, ln in enumerate(own):
            rows = slice(k * frac.size, (k + 1) * frac.size)
            cand = found[rows]
            if ok[rows].all() and (cand == cand[0]).all():
                slope, icpt = np.polyfit(s[rows], s_found[rows], 1)
                onc[ln] = cand[0]
                out[ln] = (icpt, -slope, lg.lane_width[ln] + float(np.mean(d_found[rows])))
        return onc, out
