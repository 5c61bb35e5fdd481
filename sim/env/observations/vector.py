"""``vector`` observation: ego kinematics, route ahead and nearest actors, all in the ego frame (SI units)."""
from __future__ import annotations

import math

import gymnasium as gym
import numpy as np

from sim.env.observations.base import Frame, ObservationType, register_observation

EGO_FEATURES = ("speed", "lateral_speed", "yaw_rate", "steer", "accel", "route_offset", "heading_error",
                "speed_limit")
ACTOR_FEATURES = ("valid", "dx", "dy", "cos_dheading", "sin_dheading", "dvx", "dvy", "length", "width")


@register_observation
class VectorObservation(ObservationType):
    """Flat float32 vector: ``EGO_FEATURES`` (m/s, rad/s, rad, m/s^2, m, rad, m/s), then ``route_points`` route
    points (x forward, y left, m), then ``num_actors`` rows of ``ACTOR_FEATURES`` nearest first (invalid rows
    are zero). ``layout()`` gives the slice of each part."""

    name = "vector"

    def __init__(self, config):
        super().__init__(config)
        v = config.vector
        self.k, self.n = v.route_points, v.num_actors
        self.size = len(EGO_FEATURES) + 2 * self.k + len(ACTOR_FEATURES) * self.n
        self.ahead = v.route_spacing_m * np.arange(1, self.k + 1)

    def layout(self) -> dict[str, slice]:
        e = len(EGO_FEATURES)
        return {"ego": slice(0, e), "route": slice(e, e + 2 * self.k), "actors": slice(e + 2 * self.k, self.size)}

    def space(self) -> gym.Space:
        return gym.spaces.Box(-np.inf, np.inf, shape=(self.size,), dtype=np.float32)

    def observe(self, frame: Frame) -> np.ndarray:
        st, scene = frame.state, frame.scene
        ego = st.ego
        x, y, h = float(ego.x[0]), float(ego.y[0]), float(ego.heading[0])
        c, s = math.cos(h), math.sin(h)
        route = st.route
        heading_error = (h - float(route.heading[st.route_index]) + math.pi) % (2 * math.pi) - math.pi
        out = np.zeros(self.size)
        e = len(EGO_FEATURES)
        out[:e] = (ego.speed[0], ego.lateral_speed[0], ego.yaw_rate[0], ego.steer[0], st.accel,
                   st.route_offset_m, heading_error, scene.world.lanes.speed_limit[st.lane])
        pts, _ = route.sample(st.progress_m + self.ahead)
        dx, dy = pts[:, 0] - x, pts[:, 1] - y
        out[e : e + 2 * self.k : 2] = c * dx + s * dy
        out[e + 1 : e + 2 * self.k : 2] = -s * dx + c * dy

        a = st.actors
        ox = np.concatenate([a.x[1:], scene.obstacle_xy[:, 0]])
        oy = np.concatenate([a.y[1:], scene.obstacle_xy[:, 1]])
        dx, dy = ox - x, oy - y
        dist = np.hypot(dx, dy)
        order = np.argsort(dist, kind="stable")[: self.n]
        order = order[dist[order] <= self.config.vector.actor_range_m]
        rows = out[e + 2 * self.k :].reshape(self.n, len(ACTOR_FEATURES))
        m = order.size
        if m:
            oh = np.concatenate([a.heading[1:], scene.obstacle_heading])[order]
            ov = np.concatenate([a.speed[1:], np.zeros(scene.obstacle_xy.shape[0])])[order]
            vx = ov * np.cos(oh) - ego.speed[0] * c
            vy = ov * np.sin(oh) - ego.speed[0] * s
            rows[:m, 0] = 1.0
            rows[:m, 1] = c * dx[order] + s * dy[order]
            rows[:m, 2] = -s * dx[order] + c * dy[order]
            rows[:m, 3] = np.cos(oh - h)
            rows[:m, 4] = np.sin(oh - h)
            rows[:m, 5] = c * vx + s * vy
            rows[:m, 6] = -s * vx + c * vy
            rows[:m, 7] = np.concatenate([a.length[1:], scene.obstacle_size[:, 0]])[order]
            rows[:m, 8] = np.concatenate([a.width[1:], scene.obstacle_size[:, 1]])[order]
        return out.astype(np.float32)
