"""Lane-keeping baseline on the ``vector`` observation: pure pursuit on the route, IDM on the actor ahead."""
from __future__ import annotations

import numpy as np

from agents.base import register_agent
from sim.env.observations.vector import ACTOR_FEATURES, EGO_FEATURES
from sim.traffic.idm import idm_accel

LOOKAHEAD_S = 0.9
"""Pure-pursuit look-ahead time, s (distance clipped to 3..25 m)."""
MAX_LAT_ACCEL = 2.0
"""Speed is limited so that route curvature gives at most this lateral acceleration, m/s^2."""
CORRIDOR_M = 2.2
"""Actors within this lateral distance of the route ahead count as leaders, m."""
JERK_LIMIT = 4.0
"""Comfortable |jerk| of the commanded acceleration, m/s^3 (nuPlan's bound, 4.13), unless braking hard."""
EMERGENCY_DECEL = 4.0
"""IDM decelerations beyond this are applied at once, m/s^2."""


class LaneKeepingAgent:
    """Follows its route at up to ``speed_fraction`` of the speed limit and keeps a safe gap (IDM)."""

    obs_mode = "vector"

    def __init__(self, speed_fraction: float = 0.9, route_points: int = 16, num_actors: int = 8, dt: float = 0.1):
        self.speed_fraction = speed_fraction
        self.dt = dt
        self.k, self.n = route_points, num_actors
        self.mapping = None
        self.accel = 0.0

    def reset(self, obs, info: dict) -> None:
        self.mapping = info["action_mapping"]
        self.accel = float(obs[EGO_FEATURES.index("accel")])

    def act(self, obs, info: dict | None = None) -> np.ndarray:
        if self.mapping is None:
            raise RuntimeError("LaneKeepingAgent: call reset(obs, info) first")
        e = len(EGO_FEATURES)
        ego = dict(zip(EGO_FEATURES, obs[:e]))
        route = obs[e : e + 2 * self.k].reshape(self.k, 2).astype(np.float64)
        actors = obs[e + 2 * self.k :].reshape(self.n, len(ACTOR_FEATURES)).astype(np.float64)
        speed = float(ego["speed"])

        dist = np.hypot(route[:, 0], route[:, 1])
        lookahead = np.clip(speed * LOOKAHEAD_S, 3.0, 25.0)
        target = route[min(int(np.searchsorted(dist, lookahead)), self.k - 1)]
        alpha = np.arctan2(target[1], target[0])
        wheelbase = self.mapping["wheelbase"]
        steer = np.arctan2(2.0 * wheelbase * np.sin(alpha), max(np.hypot(*target), 1e-3))

        step = np.diff(route, axis=0)
        step = step[np.hypot(step[:, 0], step[:, 1]) > 0.5]  # points clamped at the route's end repeat
        heading = np.unwrap(np.arctan2(step[:, 1], step[:, 0]))
        curvature = np.abs(np.diff(heading)) / np.maximum(np.hypot(step[1:, 0], step[1:, 1]), 0.5)
        v_curve = np.sqrt(MAX_LAT_ACCEL / max(float(curvature.max(initial=0.0)), 1e-4))
        desired = min(self.speed_fraction * float(ego["speed_limit"]), v_curve)

        valid = actors[:, 0] > 0
        dx, dy = actors[:, 1], actors[:, 2]
        lateral = np.abs(dy - np.interp(dx, route[:, 0], route[:, 1]))
        ahead = valid & (dx > 0) & (lateral < CORRIDOR_M)
        gap, closing = np.inf, 0.0
        if ahead.any():
            i = np.flatnonzero(ahead)[np.argmin(dx[ahead])]
            gap = dx[i] - 0.5 * actors[i, 7] - 2.4
            closing = -actors[i, 5]
        accel = float(idm_accel(speed, desired, gap, closing, 1.5, 2.5, 2.0, 2.5))
        if accel > -EMERGENCY_DECEL:
            step = JERK_LIMIT * self.dt
            accel = min(max(accel, self.accel - step), self.accel + step)
        self.accel = accel
        a = accel / self.mapping["max_accel"] if accel >= 0 else accel / self.mapping["max_brake"]
        return np.array([np.clip(steer / self.mapping["max_steer"], -1, 1), np.clip(a, -1, 1)], dtype=np.float32)


register_agent("lane_keeping", LaneKeepingAgent)
