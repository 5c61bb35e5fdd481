"""Route failure: the ego left its route, or stood still for no reason."""
from __future__ import annotations

import numpy as np

from sim.traffic.signals import AMBER, RED
from sim.mining.detectors import DETECTORS, Failure, failure, first_run, steps_for

ROUTE_OFFSET_M = 4.0
"""|Lateral offset from the route| above which the ego has left it (more than a lane over), m."""
ROUTE_OFFSET_S = 1.0
"""How long the offset must last, s (states with the ego off road do not count: that is off_road's failure)."""
STANDSTILL_SPEED = 0.5
"""Speed below which the ego stands still, m/s."""
STANDSTILL_S = 10.0
"""How long an unexplained standstill must last, s."""
AHEAD_M = 30.0
"""A valid actor whose centre is within this distance of the ego's and ahead of it explains a standstill, m."""
AHEAD_HALF_ANGLE_DEG = 45.0
"""Ahead: within this angle of the ego's heading (a cone, so crossing traffic in front counts), deg."""
ROUTE_END_M = 5.0
"""A standstill within this distance of the route's end is explained (the ego arrived), m."""


def unexplained_standstill(trace, metrics: dict | None = None) -> np.ndarray:
    """(T+1,) bool: the ego stands still (< STANDSTILL_SPEED), no valid actor is ahead within AHEAD_M
    (AHEAD_HALF_ANGLE_DEG cone), its lane's light is not amber or red and it is more than ROUTE_END_M from the
    route's end."""
    speed = trace.column("speed")
    still = (speed < STANDSTILL_SPEED) & (trace.progress_m < trace.route_length_m - ROUTE_END_M)
    if trace.signal is not None:
        still &= ~np.isin(trace.signal, (AMBER, RED))
    a = trace.actors
    if a.shape[2] > 1 and still.any():
        h = trace.column("heading")[:, None]
        px, py = a[:, 0, 1:] - trace.column("x")[:, None], a[:, 1, 1:] - trace.column("y")[:, None]
        along, across = px * np.cos(h) + py * np.sin(h), py * np.cos(h) - px * np.sin(h)
        ahead = (np.asarray(trace.valid[:, 1:], dtype=bool) & (np.hypot(px, py) <= AHEAD_M) & (along > 0)
                 & (np.abs(np.arctan2(across, along)) <= np.radians(AHEAD_HALF_ANGLE_DEG)))
        still &= ~ahead.any(axis=1)
    return still


@DETECTORS.decorator("name")
class RouteFailureDetector:
    """Fires at the earlier of: |route_offset_m| > ROUTE_OFFSET_M for ROUTE_OFFSET_S while on the road, or an
    unexplained standstill (``unexplained_standstill``) lasting STANDSTILL_S."""

    name = "route_failure"

    def detect(self, trace, metrics: dict) -> Failure | None:
        dt = trace.dt
        found = []
        off = (np.abs(trace.route_offset_m) > ROUTE_OFFSET_M) & ~np.asarray(trace.off_road, dtype=bool)
        run = first_run(off, steps_for(ROUTE_OFFSET_S, dt))
        if run is not None:
            s, n = run
            worst = float(trace.route_offset_m[s:s + n][np.argmax(np.abs(trace.route_offset_m[s:s + n]))])
            detail = (f"left the route at t={s * dt:.1f} s for {n * dt:.1f} s (offset up to {worst:+.1f} m, "
                      f"limit {ROUTE_OFFSET_M:g} m)")
            found.append((s, detail))
        run = first_run(unexplained_standstill(trace, metrics), steps_for(STANDSTILL_S, dt))
        if run is not None:
            s, n = run
            detail = (f"stood still for {n * dt:.1f} s from t={s * dt:.1f} s with nothing ahead within {AHEAD_M:g} m, "
                      f"{trace.route_length_m - trace.progress_m[s]:.1f} m before the route's end")
            found.append((s, detail))
        if not found:
            return None
        step, detail = min(found)
        return failure(trace, self.name, step, (), detail)
