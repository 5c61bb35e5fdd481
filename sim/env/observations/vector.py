"""``vector`` observation: ego kinematics, route ahead and nearest actors, all in the ego frame (SI units)."""
from __future__ import annotations

import math

import gymnasium as gym
import numpy as np

from sim.env.observations.base import Frame, ObservationType, register_observation

EGO_FEATURES = ("speed", "lateral_speed", "yaw_rate", "steer", "accel", "route_offset", "heading_error",
                "speed_limit")
ACTOR_FEATURES = ("valid", "dx", "dy", "cos_dheading", "sin_dheading", "dvx", "dvy", "length", "width")
ACTOR_ROWS = 7
"""Rows of an actor table (sim.env.simulation.ACTOR_FIELDS)."""


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
        px, py = route.points_at(st.progress_m + self.ahead)
        dx, dy = px - x, py - y
        out[e : e + 2 * self.k : 2] = c * dx + s * dy
        out[e + 1 : e + 2 * self.k : 2] = -s * dx + c * dy

        others = np.concatenate([st.actors.table[:, 1:], scene.obstacle_table], axis=1)
        rel = others[:2] - ((x,), (y,))
        dist = np.hypot(rel[0], rel[1])
        dist[: len(st.actors.valid) - 1][~st.actors.valid[1:]] = np.inf
        order = np.argsort(dist, kind="stable")[: self.n]
        order = order[dist[order] <= self.config.vector.actor_range_m]
        m = order.size
        if m:
            sel = others[:, order]
            to_ego = np.array(((c, s), (-s, c)))
            cos_h, sin_h = np.cos(sel[2]), np.sin(sel[2])
            v = float(ego.speed[0])
            # rotate three 2-vectors per actor (offset, heading, relative velocity) into the ego frame at once
            world = np.empty((6, m))
            world[:2] = rel[:, order]
            world[2], world[3] = cos_h, sin_h
            world[4] = sel[3] * cos_h - v * c
            world[5] = sel[3] * sin_h - v * s
            local = to_ego @ world.reshape(3, 2, m).transpose(1, 0, 2).reshape(2, 3 * m)
            rows = out[e + 2 * self.k :].reshape(self.n, len(ACTOR_FEATURES))
            rows[:m, 0] = 1.0
            rows[:m, 1:7] = local.reshape(2, 3, m).transpose(2, 1, 0).reshape(m, 6)
            rows[:m, 7] = sel[4]
            rows[:m, 8] = sel[5]
        return out.astype(np.float32)

    def observe_many(self, frames: list[Frame]) -> np.ndarray:
        """(W, size) float32: ``observe`` of each frame, bit for bit, with the actor part done as array
        operations over all frames (actors padded to a common count)."""
        w = len(frames)
        e = len(EGO_FEATURES)
        out = np.zeros((w, self.size))
        pose = np.empty((w, 4))  # x, y, cos h, sin h
        others, valid, px, py = [], [], [], []
        for j, frame in enumerate(frames):
            st, scene = frame.state, frame.scene
            ego, route = st.ego, st.route
            x, y, h = float(ego.x[0]), float(ego.y[0]), float(ego.heading[0])
            pose[j] = x, y, math.cos(h), math.sin(h)
            heading_error = (h - float(route.heading[st.route_index]) + math.pi) % (2 * math.pi) - math.pi
            out[j, :e] = (ego.speed[0], ego.lateral_speed[0], ego.yaw_rate[0], ego.steer[0], st.accel,
                          st.route_offset_m, heading_error, scene.world.lanes.speed_limit[st.lane])
            rx, ry = route.points_at(st.progress_m + self.ahead)
            px.append(rx)
            py.append(ry)
            others.append(np.concatenate([st.actors.table[:, 1:], scene.obstacle_table], axis=1))
            valid.append(st.actors.valid[1:])
        x, y, c, s = pose.T
        dx, dy = np.array(px) - x[:, None], np.array(py) - y[:, None]
        out[:, e : e + 2 * self.k : 2] = c[:, None] * dx + s[:, None] * dy
        out[:, e + 1 : e + 2 * self.k : 2] = -s[:, None] * dx + c[:, None] * dy

        a = max(t.shape[1] for t in others)
        tab = np.zeros((w, ACTOR_ROWS, a))
        present = np.zeros((w, a), bool)  # padding and invalid actors are never reported
        for j, (t, ok) in enumerate(zip(others, valid)):
            tab[j, :, : t.shape[1]] = t
            present[j, : t.shape[1]] = True
            present[j, : ok.size] = ok
        rel = tab[:, :2] - pose[:, :2, None]
        dist = np.where(present, np.hypot(rel[:, 0], rel[:, 1]), np.inf)
        order = np.argsort(dist, axis=1, kind="stable")[:, : self.n]
        near = np.take_along_axis(dist, order, axis=1) <= self.config.vector.actor_range_m
        sel = np.take_along_axis(tab, order[:, None, :], axis=2)
        sel = np.where(near[:, None, :], sel, 0.0)
        cos_h, sin_h = np.cos(sel[:, 2]), np.sin(sel[:, 2])
        v = out[:, 0:1]
        world = np.empty((w, 6, self.n))
        world[:, :2] = np.where(near[:, None, :], np.take_along_axis(rel, order[:, None, :], axis=2), 0.0)
        world[:, 2], world[:, 3] = cos_h, sin_h
        world[:, 4] = sel[:, 3] * cos_h - v * c[:, None]
        world[:, 5] = sel[:, 3] * sin_h - v * s[:, None]
        to_ego = np.stack([np.stack([c, s], axis=1), np.stack([-s, c], axis=1)], axis=1)
        local = to_ego @ world.reshape(w, 3, 2, self.n).transpose(0, 2, 1, 3).reshape(w, 2, 3 * self.n)
        rows = out[:, e + 2 * self.k :].reshape(w, self.n, len(ACTOR_FEATURES))
        rows[:, :, 0] = near
        rows[:, :, 1:7] = np.where(near[:, :, None], local.reshape(w, 2, 3, self.n).transpose(0, 3, 2, 1)
                                   .reshape(w, self.n, 6), 0.0)
        rows[:, :, 7] = sel[:, 4]
        rows[:, :, 8] = sel[:, 5]
        return out.astype(np.float32)
