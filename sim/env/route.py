"""The ego's route: a polyline through a sequence of lanes, and progress along it."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LANE_CHANGE_M = 40.0
"""Length over which a route moves from a lane to its neighbour, m."""
SEARCH_BACK = 10
SEARCH_AHEAD = 80
"""Route points searched around the previous match when projecting the ego (0.5 m each)."""


@dataclass(frozen=True, eq=False)
class Route:
    """lanes: lane ids in driving order; points (R,2) m; s (R,) m arc length; heading (R,) rad (unwrapped);
    point_lane (R,) lane id of each point and point_lane_s (R,) its arc length on that lane, m;
    goal_s: arc length at which the route is complete, m."""

    lanes: tuple[int, ...]
    points: np.ndarray
    s: np.ndarray
    heading: np.ndarray
    point_lane: np.ndarray
    point_lane_s: np.ndarray
    goal_s: float

    @classmethod
    def from_lanes(cls, graph, lanes, goal_s: float) -> "Route":
        """The route through ``lanes``: each next lane a successor, or a left/right neighbour (a lane change,
        centred halfway along what is left of the current lane and blended over LANE_CHANGE_M with a smoothstep
        from one centerline to the other). ``point_lane`` switches to the new lane halfway through the blend."""
        lanes = [int(lane) for lane in lanes]
        pieces, piece_lanes, piece_s = [], [], []
        start = 0.0
        for k, lane in enumerate(lanes):
            s = graph.lanes[lane].s
            nxt = lanes[k + 1] if k + 1 < len(lanes) else -1
            changes = nxt >= 0 and nxt in (graph.left[lane], graph.right[lane])
            if changes:
                middle = 0.5 * (start + s[-1])
                half = min(0.5 * LANE_CHANGE_M, middle - start, s[-1] - middle)
                own = s[(s >= start - 1e-9) & (s < middle - half)]
                blend = np.arange(middle - half, middle + half, 0.5)
                ratio = graph.lane_length[nxt] / graph.lane_length[lane]
                a, _ = graph.cartesian(np.full(blend.size, lane), blend, np.zeros(blend.size))
                b, _ = graph.cartesian(np.full(blend.size, nxt), blend * ratio, np.zeros(blend.size))
                u = (blend - (middle - half)) / max(2.0 * half, 1e-9)
                w = (u * u * (3.0 - 2.0 * u))[:, None]
                own_xy, _ = graph.cartesian(np.full(own.size, lane), own, np.zeros(own.size))
                pieces += [own_xy, (1.0 - w) * a + w * b]
                piece_lanes += [np.full(own.size, lane), np.where(u < 0.5, lane, nxt)]
                piece_s += [own, np.where(u < 0.5, blend, blend * ratio)]
                start = (middle + half) * ratio
                continue
            keep = s >= start - 1e-9
            if k and start == 0.0:
                keep[0] = False  # the joint point is the previous lane's last point
            pieces.append(graph.lanes[lane].centerline[keep])
            piece_lanes.append(np.full(int(keep.sum()), lane))
            piece_s.append(s[keep])
            start = 0.0
        points = np.concatenate(pieces)
        point_lane = np.concatenate(piece_lanes)
        point_lane_s = np.concatenate(piece_s)
        seg = np.hypot(*np.diff(points, axis=0).T)
        keep = np.concatenate([[True], seg > 1e-6])
        points, point_lane, point_lane_s = points[keep], point_lane[keep], point_lane_s[keep]
        s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])
        d = np.gradient(points, axis=0)
        heading = np.unwrap(np.arctan2(d[:, 1], d[:, 0]))
        return cls(tuple(lanes), points, s, heading, point_lane.astype(np.int64), point_lane_s,
                   float(min(goal_s, s[-1])))

    def project(self, xy, hint: int) -> tuple[int, float, float, float]:
        """Nearest route point to ``xy`` searched around index ``hint``: (index, arc length m, signed lateral
        offset m (left positive), distance along the route past that point m)."""
        lo = max(hint - SEARCH_BACK, 0)
        window = self.points[lo : hint + SEARCH_AHEAD]
        i = lo + int(np.argmin((window[:, 0] - xy[0]) ** 2 + (window[:, 1] - xy[1]) ** 2))
        h = float(self.heading[i])
        c, s = math.cos(h), math.sin(h)
        dx, dy = xy[0] - float(self.points[i, 0]), xy[1] - float(self.points[i, 1])
        along = c * dx + s * dy
        return i, float(self.s[i]) + along, -s * dx + c * dy, along

    def points_at(self, s_values) -> tuple[np.ndarray, np.ndarray]:
        """x (M,) and y (M,) at arc lengths ``s_values`` (held at the route's ends beyond them), m."""
        return np.interp(s_values, self.s, self.points[:, 0]), np.interp(s_values, self.s, self.points[:, 1])

    def sample(self, s_values):
        """Points (M,2) and headings (M,) at arc lengths ``s_values`` (clamped to the route)."""
        s_values = np.clip(s_values, 0.0, self.s[-1])
        x = np.interp(s_values, self.s, self.points[:, 0])
        y = np.interp(s_values, self.s, self.points[:, 1])
        h = np.interp(s_values, self.s, self.heading)
        return np.stack([x, y], axis=1), h
