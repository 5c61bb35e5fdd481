"""Wrappers for reinforcement learning: discrete meta-actions over a lane-following controller.

Frame stacking needs no code of ours: ``gymnasium.wrappers.FrameStackObservation(env, k)`` stacks the last k
observations of any mode (a leading axis of k; the first frames repeat the reset observation with
``padding_type="reset"``, zeros by default)."""
from __future__ import annotations

import math

import gymnasium as gym
import numpy as np

META_ACTIONS = ("keep_lane", "change_left", "change_right", "faster", "slower")
"""The discrete actions of ``MetaActions``, by index."""


class MetaActions(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """``roadloop/Drive-v0`` driven by ``Discrete(5)`` META_ACTIONS (highway-env's meta-actions).

    The controller holds a target speed and a target lane offset from the route. ``faster``/``slower`` move
    the target speed by ``speed_step`` m/s within [0, speed limit of the ego's lane]; ``change_left``/
    ``change_right`` shift the target one lane over where the ego's lane has a neighbour on that side running
    the same way (else nothing happens); the target falls back to the route's lane where that neighbour ends.
    Each step pure pursuit steers to the route ``lookahead_s`` ahead shifted by the target offset, and the
    acceleration tracks the target speed (gain ``speed_gain`` 1/s) within the car's limits and a |jerk| of
    ``jerk_limit`` m/s^3. It reads the ego, its route and the lane graph from the wrapped env (privileged, as
    any controller of a simulator's own car is); the observation, reward and info pass through unchanged, and
    ``info["meta_action"]`` names the action taken."""

    def __init__(self, env: gym.Env, speed_step: float = 2.0, lookahead_s: float = 1.2, speed_gain: float = 0.8,
                 jerk_limit: float = 4.0):
        gym.utils.RecordConstructorArgs.__init__(self, speed_step=speed_step, lookahead_s=lookahead_s,
                                                 speed_gain=speed_gain, jerk_limit=jerk_limit)
        gym.Wrapper.__init__(self, env)
        if not (speed_step > 0 and lookahead_s > 0 and speed_gain > 0 and jerk_limit > 0):
            raise ValueError(f"MetaActions: speed_step, lookahead_s, speed_gain and jerk_limit must be positive, got "
                             f"{speed_step}, {lookahead_s}, {speed_gain}, {jerk_limit}")
        self.action_space = gym.spaces.Discrete(len(META_ACTIONS))
        self.speed_step, self.lookahead_s, self.speed_gain, self.jerk_limit = (speed_step, lookahead_s, speed_gain,
                                                                               jerk_limit)
        self.target_speed = 0.0
        self.side = 0
        """Target lane relative to the route's lane: -1 right, 0 the route's lane, +1 left."""
        self.accel = 0.0

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        base = self.env.unwrapped
        st = base.state
        self.mapping = base.action_mapping()
        self.target_speed = float(st.ego.speed[0])
        self.side, self.accel = 0, 0.0
        return obs, info

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"MetaActions: action must be an int in [0, {len(META_ACTIONS)}), got {action!r}")
        name = META_ACTIONS[int(action)]
        base = self.env.unwrapped
        st, lanes = base.state, base.scene.world.lanes
        limit = float(lanes.speed_limit[st.lane])
        if name == "faster":
            self.target_speed += self.speed_step
        elif name == "slower":
            self.target_speed -= self.speed_step
        elif name in ("change_left", "change_right"):
            self.side = int(np.clip(self.side + (1 if name == "change_left" else -1), -1, 1))
        self.target_speed = float(np.clip(self.target_speed, 0.0, limit))
        if self.side and self._neighbour(st, lanes) < 0:
            self.side = 0
        obs, reward, terminated, truncated, info = self.env.step(self._control(st, lanes))
        info["meta_action"] = name
        return obs, reward, terminated, truncated, info

    def _neighbour(self, st, lanes) -> int:
        """The lane beside the route's lane at the ego on the target side (same direction), or -1."""
        route_lane = int(st.route.point_lane[st.route_index])
        n = int((lanes.left if self.side > 0 else lanes.right)[route_lane])
        if n < 0:
            return -1
        return n if math.cos(float(lanes.lanes[n].heading[0]) - float(lanes.lanes[route_lane].heading[0])) > 0 else -1

    def _control(self, st, lanes) -> np.ndarray:
        ego = st.ego
        x, y, h, v = float(ego.x[0]), float(ego.y[0]), float(ego.heading[0]), float(ego.speed[0])
        ahead = float(np.clip(v * self.lookahead_s, 4.0, 25.0))
        points, heading = st.route.sample(np.array([st.progress_m + ahead]))
        offset = self.side * float(lanes.lane_width[st.lane])
        tx = float(points[0, 0]) - math.sin(float(heading[0])) * offset - x
        ty = float(points[0, 1]) + math.cos(float(heading[0])) * offset - y
        alpha = math.atan2(ty, tx) - h
        steer = math.atan2(2.0 * self.mapping["wheelbase"] * math.sin(alpha), max(math.hypot(tx, ty), 1e-3))
        want = float(np.clip(self.speed_gain * (self.target_speed - v), -self.mapping["max_brake"],
                             self.mapping["max_accel"]))
        step = self.jerk_limit * base_dt(self.env)
        self.accel = float(np.clip(want, self.accel - step, self.accel + step))
        a = self.accel / (self.mapping["max_accel"] if self.accel >= 0 else self.mapping["max_brake"])
        return np.array([np.clip(steer / self.mapping["max_steer"], -1, 1), np.clip(a, -1, 1)], dtype=np.float32)


def base_dt(env: gym.Env) -> float:
    """Control period of a roadloop env, s."""
    return float(env.unwrapped.config.dt)
