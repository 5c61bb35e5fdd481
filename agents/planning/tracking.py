"""Tracking controller: pure pursuit on the planned path for the steering, from the ego's centre along its direction
of travel (at low speed along its heading: it then cuts tight turns a little, keeping the body's outer corners off
the curbs); the planned acceleration with speed feedback for the throttle and brake, jerk-limited to the comfort
bound except when braking hard; out comes the env's normalised action."""
from __future__ import annotations

import numpy as np

LOOKAHEAD_S = 0.9
LOOKAHEAD_M = (3.0, 25.0)
"""Pure-pursuit look-ahead: this many seconds of speed, clipped to this range, m."""
SPEED_GAIN = 0.6
"""Acceleration per m/s of speed error against the plan, 1/s."""
JERK_LIMIT = 3.0
"""|jerk| of the command, m/s^3 (comfort bound 4.13), unless the plan brakes harder than EMERGENCY_DECEL."""
EMERGENCY_DECEL = 4.0
EMERGENCY_WITHIN_S = 0.25
"""A plan braking harder than EMERGENCY_DECEL m/s^2 within EMERGENCY_WITHIN_S s is applied at once."""
ACCEL_BOUNDS = (-4.0, 2.3)
"""Command range outside emergencies (comfort bounds -4.05 .. 2.4), m/s^2."""


class Tracker:
    """Turns a planned trajectory into (steer, accel) actions; keeps the last command for the jerk limit."""

    def __init__(self, mapping: dict, dt: float):
        self.mapping = mapping
        self.dt = dt
        self.accel = 0.0

    def reset(self, accel: float) -> None:
        self.accel = accel

    def action(self, ego_xy, heading: float, speed: float, path_xy: np.ndarray, plan_t: np.ndarray,
               plan_v: np.ndarray, plan_a: np.ndarray) -> np.ndarray:
        """The action toward the plan from the ego's centre ``ego_xy`` pointing along ``heading`` (rad) at ``speed``:
        ``path_xy`` (P,2) the planned path (dense, from about the ego onward),
        ``plan_v``/``plan_a`` speed and acceleration at times ``plan_t`` (s from now)."""
        m = self.mapping
        rel = path_xy - np.asarray(ego_xy)
        c, s = np.cos(heading), np.sin(heading)
        fx, fy = rel[:, 0] * c + rel[:, 1] * s, -rel[:, 0] * s + rel[:, 1] * c
        dist = np.hypot(fx, fy)
        look = float(np.clip(speed * LOOKAHEAD_S, *LOOKAHEAD_M))
        ahead = np.flatnonzero((fx > 0.5) & (dist >= look))
        k = int(ahead[0]) if ahead.size else int(np.argmax(dist))
        alpha = np.arctan2(fy[k], fx[k])
        steer = np.arctan2(2.0 * m["wheelbase"] * np.sin(alpha), max(dist[k], 1e-3))
        t = self.dt
        want = float(np.interp(t, plan_t, plan_a) + SPEED_GAIN * (np.interp(t, plan_t, plan_v) - speed))
        if plan_v[-1] < 0.05 and speed < 0.3 and want < 0:
            want = -2.0
        hard = float(np.interp(EMERGENCY_WITHIN_S, plan_t, plan_a))
        if hard <= -EMERGENCY_DECEL:
            want = min(want, hard)
        if want > -EMERGENCY_DECEL:
            step = JERK_LIMIT * self.dt
            want = float(np.clip(np.clip(want, self.accel - step, self.accel + step), *ACCEL_BOUNDS))
        self.accel = want
        a = want / m["max_accel"] if want >= 0 else want / m["max_brake"]
        return np.array([np.clip(steer / m["max_steer"], -1, 1), np.clip(a, -1, 1)], dtype=np.float32)
