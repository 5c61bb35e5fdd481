"""Compiled kinematic helpers shared by the traffic kernels: earliest arrival times and the smooth lateral
profile of going around an obstacle."""
from __future__ import annotations

import math

from numba import njit

SMOOTH_PEAK = 10.0 / math.sqrt(3.0)
"""Largest |second derivative| of the quintic smoothstep on [0, 1]: a lateral shift of ``delta`` m over
``span`` m driven at ``v`` m/s peaks at ``v**2 * SMOOTH_PEAK * delta / span**2`` m/s^2 lateral acceleration."""


@njit(cache=True)
def time_to_cover(dist, v, accel, v_max):
    """Shortest time (s) to travel ``dist`` m from speed ``v`` accelerating at ``accel`` up to ``v_max`` m/s."""
    if dist <= 0.0:
        return 0.0
    a = max(accel, 0.05)
    top = max(v_max, v, 0.1)
    t_acc = (top - v) / a
    d_acc = 0.5 * (v + top) * t_acc
    if dist <= d_acc:
        return (math.sqrt(v * v + 2.0 * a * dist) - v) / a
    return t_acc + (dist - d_acc) / top


@njit(cache=True)
def smoothstep(x):
    """Quintic smoothstep q(x) = 10x^3 - 15x^4 + 6x^5 on x clipped to [0, 1] and its derivative q'(x)."""
    x = min(max(x, 0.0), 1.0)
    x2 = x * x
    return x2 * x * (10.0 - 15.0 * x + 6.0 * x2), 30.0 * x2 * (1.0 - 2.0 * x + x2)


@njit(cache=True)
def shift_span(v, delta, lat_accel, shortest):
    """Distance (m) over which a lateral shift of ``delta`` m at speed ``v`` m/s stays within ``lat_accel`` m/s^2,
    at least ``shortest`` m."""
    return max(shortest, v * math.sqrt(SMOOTH_PEAK * abs(delta) / lat_accel))


@njit(cache=True)
def shift_speed(span, delta, lat_accel):
    """Highest speed (m/s) at which a lateral shift of ``delta`` m over ``span`` m stays within ``lat_accel``."""
    return span * math.sqrt(lat_accel / (SMOOTH_PEAK * max(abs(delta), 1e-6)))
