"""``vector`` observation: ego kinematics, route ahead and nearest actors, all in the ego frame (SI units)."""
from __future__ import annotations

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
        c, s = np.cos(h), np.sin(h)
        route = st.route
        heading_error = np.angle(np.exp(1j * (h - route.heading[st.route_index])))
        limit = scene.world.lanes.speed_limit[st.lane]
        ego_part = [ego.speed[0], ego.lateral_speed[0], ego.yaw_rate[0], ego.steer[0], st.accel,
                    st.route_offset_m, heading_error, limit]
        pts, _ = route.sample(st.progress_m + self.ahead)
        dx, dy = pts[:, 0] - x, pts[:, 1] - y
        route_part = np.stack([c * dx + s * dy, -s * dx + c * dy], axis=1).ravel()

        a = st.actors
        props = scene.world.props
        on = scene.prop_lane >= 0
        ox = np.concatenate([a.x[1:], props.xy[on, 0]])
        oy = np.concatenate([a.y[1:], props.xy[on, 1]])
        oh = np.concatenate([a.heading[1:], props.heading[on]])
        ov = np.concatenate([a.speed[1:], np.zeros(int(on.sum()))])
        ol = np.concatenate([a.length[1:], props.size[on, 0]])
        ow = np.concatenate([a.width[1:], props.size[on, 1]])
        dx, dy = ox - x, oy - y
        dist = np.hypot(dx, dy)
        order = np.argsort(dist, kind="stable")[: self.n]
        order = order[dist[order] <= self.config.vector.actor_range_m]
        rows = np.zeros((self.n, len(ACTOR_FEATURES)))
        m = order.size
        if m:
            dh = oh[order] - h
            vx = ov[order] * np.cos(oh[order]) - ego.speed[0] * c
            vy = ov[order] * np.sin(oh[order]) - ego.speed[0] * s
            rows[:m] = np.stack([
                np.ones(m), c * dx[order] + s * dy[order], -s * dx[order] + c * dy[order], np.cos(dh), np.sin(dh),
                c * vx + s * vy, -s * vx + c * vy, ol[order], ow[order],
            ], axis=1)
        return np.concatenate([ego_part, route_part, rows.ravel()]).astype(np.float32)
