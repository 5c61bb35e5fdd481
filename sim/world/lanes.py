"""Lanes and the lane graph: successor/neighbour links and vectorised geometric queries."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from .geometry import normals, wrap_angle

MAX_SUCCESSORS = 4
LANE_CHANGE_COST_M = 10.0
"""Extra route cost of one lane change, m."""
BOUNDARY_KINDS = ("solid", "dashed", "none")


@dataclass(frozen=True, eq=False)
class Lane:
    """One lane: a centerline travelled from its first to its last point.

    centerline: (N,2) m, spacing <= 0.5 m; s: (N,) m; heading: (N,) rad; curvature: (N,) 1/m.
    width m; speed_limit m/s; boundaries "solid" | "dashed" | "none"; neighbour ids -1 when none.
    """

    id: int
    road_id: int
    junction_id: int
    centerline: np.ndarray
    s: np.ndarray
    heading: np.ndarray
    curvature: np.ndarray
    width: float
    speed_limit: float
    left_boundary: str
    right_boundary: str
    successors: tuple[int, ...]
    predecessors: tuple[int, ...]
    left_neighbor: int = -1
    right_neighbor: int = -1

    def __post_init__(self):
        for side in (self.left_boundary, self.right_boundary):
            if side not in BOUNDARY_KINDS:
                raise ValueError(f"Lane.boundary: {side!r} not in {BOUNDARY_KINDS}")

    @property
    def length(self) -> float:
        return float(self.s[-1])


class LaneGraph:
    """All lanes as flat arrays (index == Lane.id) with a KD-tree over centerline points.

    `areas` are convex counter-clockwise polygons (K,2) (junction areas) that count as road.
    `graph` is the (L,L) sparse routing graph: successor edges weighted by the next lane's length,
    lane changes to same-direction neighbours weighted LANE_CHANGE_COST_M.
    """

    def __init__(self, lanes: list[Lane], areas: tuple[np.ndarray, ...] = ()):
        if [lane.id for lane in lanes] != list(range(len(lanes))):
            raise ValueError("LaneGraph.lanes: ids must equal list positions")
        self.lanes = list(lanes)
        self.lane_npts = np.array([len(lane.s) for lane in lanes])
        self.lane_start = np.concatenate([[0], np.cumsum(self.lane_npts)[:-1]])
        self.points = np.concatenate([lane.centerline for lane in lanes])
        self.point_lane = np.repeat(np.arange(len(lanes)), self.lane_npts)
        self.point_s = np.concatenate([lane.s for lane in lanes])
        self.point_heading = np.concatenate([lane.heading for lane in lanes])
        self.lane_length = np.array([lane.length for lane in lanes])
        self.lane_width = np.array([lane.width for lane in lanes])
        self._half_width = 0.5 * self.lane_width
        self.speed_limit = np.array([lane.speed_limit for lane in lanes])
        self.lane_spacing = self.lane_length / (self.lane_npts - 1)
        self.lane_road = np.array([lane.road_id for lane in lanes])
        self.lane_junction = np.array([lane.junction_id for lane in lanes])
        self.succ = np.full((len(lanes), MAX_SUCCESSORS), -1)
        for lane in lanes:
            if len(lane.successors) > MAX_SUCCESSORS:
                raise ValueError(f"LaneGraph: lane {lane.id} has {len(lane.successors)} successors "
                                 f"(max {MAX_SUCCESSORS})")
            self.succ[lane.id, :len(lane.successors)] = lane.successors
        self.left = np.array([lane.left_neighbor for lane in lanes])
        self.right = np.array([lane.right_neighbor for lane in lanes])
        self.areas = tuple(areas)
        self._tree = cKDTree(self.points)
        self._cos = np.cos(self.point_heading)
        self._sin = np.sin(self.point_heading)
        self._reach = 0.5 * float(self.lane_width.max()) + 0.5 * float(self.lane_spacing.max())
        # Global key for mapping (lane, s) to a segment: lanes laid end to end, 1 m apart.
        self._lane_offset = np.concatenate([[0.0], np.cumsum(self.lane_length + 1.0)[:-1]])
        self._key = self.point_s + self._lane_offset[self.point_lane]
        self.graph = self._routing_graph()
        self._area_edges()

    # ---------------------------------------------------------------- geometry
    def cartesian(self, lane_ids, s, d):
        """Points at arc length s (clamped to [0, length]) and lateral offset d (m, left positive).

        Returns (xy (M,2), heading (M,)); heading is the lane heading at s."""
        lane_ids = np.asarray(lane_ids, int).reshape(-1)
        s = np.clip(np.asarray(s, float).reshape(-1), 0.0, self.lane_length[lane_ids])
        d = np.broadcast_to(np.asarray(d, float), s.shape)
        p, h = self._at(lane_ids, s)
        return p + d[:, None] * normals(h), h

    def frenet(self, lane_id: int, xy):
        """Projection (s (M,), d (M,)) of points (M,2) onto one lane (d positive left)."""
        xy = np.atleast_2d(np.asarray(xy, float))
        i0, n = self.lane_start[lane_id], self.lane_npts[lane_id]
        a, b = self.points[i0:i0 + n - 1], self.points[i0 + 1:i0 + n]
        seg = b - a
        seg_len2 = np.einsum("ij,ij->i", seg, seg)
        rel = xy[:, None, :] - a[None]
        t = np.clip(np.einsum("mij,ij->mi", rel, seg) / seg_len2, 0.0, 1.0)
        dist2 = np.sum((rel - t[..., None] * seg) ** 2, axis=-1)
        j = np.argmin(dist2, axis=1)
        s = self.point_s[i0 + j] + t[np.arange(len(xy)), j] * np.sqrt(seg_len2[j])
        lanes = np.full(len(xy), lane_id)
        length = self.lane_length[lane_id]
        for _ in range(3):  # Newton steps on (x - P(s)) . T(s) = 0 with smoothly interpolated heading
            p, h, k, u = self._at(lanes, s, derivatives=True)
            tangent = np.stack([np.cos(h), np.sin(h)], axis=1)
            r = xy - p
            f = np.einsum("ij,ij->i", r, tangent)
            df = -np.einsum("ij,ij->i", u, tangent) + k * np.einsum("ij,ij->i", r, normals(h))
            s = np.clip(s - f / np.where(np.abs(df) > 1e-9, df, -1.0), 0.0, length)
        p, h = self._at(lanes, s)
        return s, np.einsum("ij,ij->i", xy - p, normals(h))

    def locate(self, xy, heading=None):
        """Best lane for each point (M,2): (lane_ids (M,), s (M,), d (M,)).

        A lane containing the point (|d| <= width/2) is preferred, then one whose heading is within
        90 deg of `heading` (M,) when given, then the smallest |d|; with no lane near, the nearest."""
        xy = np.atleast_2d(np.asarray(xy, float))
        m = len(xy)
        q, idx, lane, s, d, along = self._candidates(xy, self._reach)
        half = self._half_width[lane]
        length = self.lane_length[lane]
        inside = (np.abs(d) <= half) & (s >= -1e-9) & (s <= length + 1e-9)
        score = np.abs(d) / half + 0.01 * np.abs(along) + 4.0 * ~inside
        if heading is not None:
            h = np.broadcast_to(np.asarray(heading, float), (m,))[q]
            score = score + 2.0 * (np.cos(self.point_heading[idx] - h) < 0)
        if m == 1 or len(q) == 0:
            first = np.argmin(score, keepdims=True) if len(q) else np.zeros(0, int)
        else:
            order = np.lexsort((score, q))
            first = order[np.concatenate([[True], q[order][1:] != q[order][:-1]])]
        out_lane = np.empty(m, int)
        out_s = np.empty(m)
        out_d = np.empty(m)
        found = q[first]
        out_lane[found], out_s[found], out_d[found] = lane[first], s[first], d[first]
        if len(found) < m:
            has = np.zeros(m, bool)
            has[found] = True
            missing = np.flatnonzero(~has)
            _, nearest = self._tree.query(xy[missing])
            rel = xy[missing] - self.points[nearest]
            ln = self.point_lane[nearest]
            ds = rel[:, 0] * self._cos[nearest] + rel[:, 1] * self._sin[nearest]
            out_lane[missing] = ln
            out_s[missing] = np.clip(self.point_s[nearest] + ds, 0.0, self.lane_length[ln])
            out_d[missing] = rel[:, 1] * self._cos[nearest] - rel[:, 0] * self._sin[nearest]
        return out_lane, out_s, out_d

    def is_on_road(self, xy) -> np.ndarray:
        """(M,) bool: point inside any lane (connectors included) or any junction area."""
        xy = np.atleast_2d(np.asarray(xy, float))
        return self.lanes_within(xy, 0.0) | self.in_areas(xy)

    def lanes_within(self, xy, margin: float, exclude_roads: tuple[int, ...] = ()) -> np.ndarray:
        """(M,) bool: point within width/2 + margin (m) of a lane centerline, lanes of roads in
        `exclude_roads` ignored."""
        xy = np.atleast_2d(np.asarray(xy, float))
        q, _, lane, s, d, _ = self._candidates(xy, self._reach + margin)
        hit = self._inside(lane, s, d, margin)
        if exclude_roads:
            hit &= ~np.isin(self.lane_road[lane], exclude_roads)
        return np.bincount(q[hit], minlength=len(xy)) > 0

    def in_areas(self, xy) -> np.ndarray:
        """(M,) bool: point inside any junction area polygon."""
        xy = np.atleast_2d(np.asarray(xy, float))
        if not self.areas:
            return np.zeros(len(xy), bool)
        lo, hi = self._area_box
        near = np.flatnonzero(np.any(np.all((xy[:, None] >= lo) & (xy[:, None] <= hi), axis=2), axis=1))
        out = np.zeros(len(xy), bool)
        if len(near):
            p, a, e = xy[near], self._edge_a, self._edge_d
            cross = e[None, :, 0] * (p[:, None, 1] - a[None, :, 1]) - e[None, :, 1] * (p[:, None, 0] - a[None, :, 0])
            out[near] = np.logical_and.reduceat(cross >= -1e-9, self._edge_first, axis=1).any(axis=1)
        return out

    def lane_polygon(self, lane_id: int) -> np.ndarray:
        """(2N,2) outline: left edge then right edge reversed."""
        return np.concatenate([self.boundary_polyline(lane_id, "left"),
                               self.boundary_polyline(lane_id, "right")[::-1]])

    def boundary_polyline(self, lane_id: int, side: str) -> np.ndarray:
        """(N,2) left or right edge of a lane."""
        if side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        lane = self.lanes[lane_id]
        sign = 0.5 if side == "left" else -0.5
        return lane.centerline + sign * lane.width * normals(lane.heading)

    # ---------------------------------------------------------------- routing
    def route(self, start_xy, goal_xy) -> list[int]:
        """Shortest lane sequence from the lane at start_xy to the lane at goal_xy.

        Consecutive lanes are successors or same-direction neighbours (lane changes)."""
        lanes, _, _ = self.locate(np.array([start_xy, goal_xy], float))
        a, b = int(lanes[0]), int(lanes[1])
        if a == b:
            return [a]
        dist, pred = dijkstra(self.graph, indices=a, return_predecessors=True)
        if not np.isfinite(dist[b]):
            raise ValueError(f"route: lane {b} is not reachable from lane {a}")
        path = [b]
        while path[-1] != a:
            path.append(int(pred[path[-1]]))
        return path[::-1]

    # ---------------------------------------------------------------- internals
    def _routing_graph(self) -> csr_matrix:
        n = len(self.lanes)
        src, dst = np.nonzero(self.succ >= 0)
        dst = self.succ[src, dst]
        rows, cols, w = [src], [dst], [self.lane_length[dst]]
        for side in (self.left, self.right):
            has = np.nonzero(side >= 0)[0]
            rows.append(has)
            cols.append(side[has])
            w.append(np.full(len(has), LANE_CHANGE_COST_M))
        return csr_matrix((np.concatenate(w), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))

    def _area_edges(self):
        if not self.areas:
            return
        a = np.concatenate(self.areas)
        b = np.concatenate([np.roll(p, -1, axis=0) for p in self.areas])
        self._edge_a, self._edge_d = a, b - a
        self._edge_first = np.concatenate([[0], np.cumsum([len(p) for p in self.areas])[:-1]])
        self._area_box = (np.array([p.min(axis=0) for p in self.areas]) - 1e-6,
                          np.array([p.max(axis=0) for p in self.areas]) + 1e-6)

    def _candidates(self, xy, radius):
        """Centerline samples within radius of each point, projected on their own tangent.

        Returns query index, sample index, lane, s, d, along (all (K,))."""
        if len(xy) == 1:  # fast path for single-point queries
            idx = np.array(self._tree.query_ball_point(xy[0], radius), dtype=int)
            q = np.zeros(len(idx), int)
            rel = xy[0] - self.points[idx]
        else:
            found = self._tree.query_ball_point(xy, radius)
            counts = np.fromiter(map(len, found), int, len(found))
            idx = np.fromiter(itertools.chain.from_iterable(found), int, int(counts.sum()))
            q = np.repeat(np.arange(len(found)), counts)
            rel = xy[q] - self.points[idx]
        c, sn = self._cos[idx], self._sin[idx]
        along = rel[:, 0] * c + rel[:, 1] * sn
        d = rel[:, 1] * c - rel[:, 0] * sn
        lane = self.point_lane[idx]
        s = self.point_s[idx] + along
        return q, idx, lane, s, d, along

    def _inside(self, lane, s, d, margin):
        return ((np.abs(d) <= self._half_width[lane] + margin)
                & (s >= -margin - 1e-9) & (s <= self.lane_length[lane] + margin + 1e-9))

    def _at(self, lane_ids, s, derivatives=False):
        """Position and smoothly interpolated heading at (lane, s); optionally the heading rate
        (1/m) and unit chord direction of the segment."""
        start = self.lane_start[lane_ids]
        last = start + self.lane_npts[lane_ids] - 2
        j = np.searchsorted(self._key, s + self._lane_offset[lane_ids], side="right") - 1
        j = np.clip(j, start, last)
        s0, s1 = self.point_s[j], self.point_s[j + 1]
        seg_len = s1 - s0
        t = ((s - s0) / seg_len)[:, None]
        chord = self.points[j + 1] - self.points[j]
        p = self.points[j] + t * chord
        dh = wrap_angle(self.point_heading[j + 1] - self.point_heading[j])
        h = self.point_heading[j] + t[:, 0] * dh
        if not derivatives:
            return p, h
        return p, h, dh / seg_len, chord / seg_len[:, None]
