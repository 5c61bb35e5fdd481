"""The lane graph as a planner sees it (``info["map"]``, plain arrays) and the ego's reference path along its route."""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
from scipy.spatial import cKDTree

from sim.env.route import Route

MAP_KEYS = ("points", "point_s", "point_heading", "lane_start", "lane_npts", "length", "width", "speed_limit", "succ",
            "left", "right", "oncoming", "junction")
"""Arrays of ``info["map"]`` (their format is described where the env builds it, ``DriveEnv.reset``)."""
CURVE_SMOOTH_M = 6.0
"""Reference-path curvature is the heading change over this distance, m."""


class RoadMap:
    """Lane geometry from ``info["map"]``: per-lane centerlines, point lookups and the route polyline."""

    def __init__(self, arrays: dict):
        missing = [k for k in MAP_KEYS if k not in arrays]
        if missing:
            raise ValueError(f"RoadMap: info['map'] lacks {missing}; expected keys {list(MAP_KEYS)}")
        for k in MAP_KEYS:
            setattr(self, k, np.asarray(arrays[k]))
        self.n = len(self.length)
        self.point_lane = np.repeat(np.arange(self.n), self.lane_npts)
        self.tree = cKDTree(self.points)
        # Route.from_lanes reads lanes[i].s / .centerline, lane_length, left, right and cartesian().
        self.lanes = [SimpleNamespace(s=self.point_s[a:a + k], centerline=self.points[a:a + k])
                      for a, k in zip(self.lane_start, self.lane_npts)]
        self.lane_length = self.length

    def centerline(self, lane: int) -> tuple[np.ndarray, np.ndarray]:
        """(N,2) points and (N,) arc lengths of one lane, m."""
        a, k = int(self.lane_start[lane]), int(self.lane_npts[lane])
        return self.points[a:a + k], self.point_s[a:a + k]

    def cartesian(self, lanes, s, d):
        """Points (M,2) at arc length ``s`` (clamped) and lateral offset ``d`` (left positive) on ``lanes``, and
        the lane headings (M,)."""
        lanes = np.asarray(lanes, int).reshape(-1)
        s = np.asarray(s, float).reshape(-1)
        xy = np.empty((lanes.size, 2))
        h = np.empty(lanes.size)
        for lane in np.unique(lanes):
            m = lanes == lane
            pts, ls = self.centerline(lane)
            a = int(self.lane_start[lane])
            head = np.unwrap(self.point_heading[a:a + pts.shape[0]])
            q = np.clip(s[m], 0.0, ls[-1])
            h[m] = np.interp(q, ls, head)
            xy[m, 0] = np.interp(q, ls, pts[:, 0])
            xy[m, 1] = np.interp(q, ls, pts[:, 1])
        d = np.broadcast_to(np.asarray(d, float), s.shape)
        return xy + d[:, None] * np.stack([-np.sin(h), np.cos(h)], axis=1), h

    def project(self, lane: int, xy) -> tuple[float, float]:
        """Arc length and signed lateral offset (m) of point ``xy`` on ``lane`` (nearest centerline point)."""
        pts, ls = self.centerline(lane)
        rel = pts - np.asarray(xy, float)
        i = int(np.argmin(rel[:, 0] ** 2 + rel[:, 1] ** 2))
        h = float(self.point_heading[int(self.lane_start[lane]) + i])
        dx, dy = -rel[i]
        return float(ls[i] + np.cos(h) * dx + np.sin(h) * dy), float(-np.sin(h) * dx + np.cos(h) * dy)

    def locate(self, xy, heading) -> np.ndarray:
        """(M,) lane of each point: among the centerline points within 4 m the nearest one whose heading is
        within 60 deg of ``heading``; -1 when there is none."""
        xy = np.atleast_2d(xy)
        out = np.full(len(xy), -1, np.int64)
        dist, idx = self.tree.query(xy, k=8, distance_upper_bound=4.0)
        for m in range(len(xy)):
            for dd, i in zip(dist[m], idx[m]):
                if np.isfinite(dd) and np.cos(self.point_heading[i] - heading[m]) > 0.5:
                    out[m] = self.point_lane[i]
                    break
        return out


@dataclass(frozen=True, eq=False)
class ReferencePath:
    """The route as the planner's Frenet frame: arc length ``s`` (R,) m, ``xy`` (R,2), ``heading`` (R,) rad
    (unwrapped), ``curvature`` (R,) 1/m, ``lane`` (R,) lane id, drivable lateral band of each point (left
    positive, m): own lane ``own_left``/``own_right``, same-direction neighbours included ``left``/``right``,
    the oncoming lane included ``left_oncoming``; ``speed_limit`` (R,) m/s, ``junction`` (R,) bool and
    ``goal_s`` m."""

    route: Route
    s: np.ndarray
    xy: np.ndarray
    heading: np.ndarray
    curvature: np.ndarray
    lane: np.ndarray
    own_left: np.ndarray
    own_right: np.ndarray
    left: np.ndarray
    right: np.ndarray
    left_oncoming: np.ndarray
    speed_limit: np.ndarray
    junction: np.ndarray
    goal_s: float

    @classmethod
    def build(cls, road: RoadMap, lanes, goal_s: float) -> "ReferencePath":
        route = Route.from_lanes(road, [int(x) for x in lanes], float(goal_s))
        s, lane = route.s, route.point_lane
        step = max(int(round(CURVE_SMOOTH_M / max(float(np.median(np.diff(s))), 0.1))), 1)
        k = np.gradient(route.heading, s)
        curvature = np.convolve(k, np.ones(step) / step, mode="same")
        half = 0.5 * road.width[lane]
        left_n, right_n, onc = road.left[lane], road.right[lane], road.oncoming[lane]
        left = half + np.where(left_n >= 0, road.width[np.maximum(left_n, 0)], 0.0)
        right = -half - np.where(right_n >= 0, road.width[np.maximum(right_n, 0)], 0.0)
        left_onc = np.where((left_n < 0) & (onc >= 0), half + road.width[np.maximum(onc, 0)], left)
        return cls(route, s, route.points, route.heading, curvature, lane, half, -half, left, right, left_onc,
                   road.speed_limit[lane], road.junction[lane] >= 0, route.goal_s)

    def at(self, s):
        """Points (...,2), headings (...) and curvature (...) at arc lengths ``s`` (past either end, on along the
        end's heading)."""
        s = np.asarray(s, float)
        c = np.clip(s, 0.0, self.s[-1])
        h = np.interp(c, self.s, self.heading)
        beyond = s - c
        x = np.interp(c, self.s, self.xy[:, 0]) + beyond * np.cos(h)
        y = np.interp(c, self.s, self.xy[:, 1]) + beyond * np.sin(h)
        return np.stack([x, y], axis=-1), h, np.where(beyond == 0.0, np.interp(c, self.s, self.curvature), 0.0)

    def to_xy(self, s, d):
        """Cartesian points (...,2) and path headings (...) of Frenet coordinates ``s``, ``d``."""
        xy, h, _ = self.at(s)
        return xy + d[..., None] * np.stack([-np.sin(h), np.cos(h)], axis=-1), h

    def frenet(self, xy, hint: int = 0) -> tuple[int, float, float]:
        """(index, s, d) of point ``xy`` projected near route index ``hint``."""
        i, s, d, _ = self.route.project(xy, hint)
        return i, s, d
