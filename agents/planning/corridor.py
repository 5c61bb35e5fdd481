"""The convex corridor of a chosen maneuver: per arc length, the interval of lateral offsets (of the ego's centre)
that keeps its box on the drivable lanes the maneuver uses and clear of the standing road users it passes on
the side it passes them."""
from __future__ import annotations

import numpy as np

from agents.planning.maneuvers import EgoState
from agents.planning.roadmap import ReferencePath

MARGIN_M = 0.25
"""Clearance kept to a standing road user's box, m."""
STANDING_MPS = 1.0
"""Road users slower than this bound the corridor, m/s."""
CURVE_MARGIN_GAIN = 4.0
CURVE_MARGIN_MAX_M = 0.8
"""Extra clearance on the inside of a bend: CURVE_MARGIN_GAIN m per 1/m of curvature, at most CURVE_MARGIN_MAX_M
(0.74 m on a 5.4 m junction turn). The optimisation's least-lateral-acceleration path hugs the inside bound, and
there the body sweeps inward of its centre's offset (the rear axle runs inside the centre) while tracking lags."""


def corridor(ref: ReferencePath, path_s: np.ndarray, path_d: np.ndarray, ego: EgoState, forecast=None):
    """(lo, hi) (P,) bounds of the lateral offset along ``path_s``: the drivable band (the oncoming lane only where
    ``path_d`` enters it) narrowed around every standing road user of ``forecast`` on the side ``path_d`` passes
    it. Where no offset fits, the bounds collapse onto ``path_d`` (the search's path is kept there)."""
    i = np.clip(np.searchsorted(ref.s, path_s), 0, ref.s.size - 1)
    half = 0.5 * ego.width
    uses_oncoming = path_d + half > ref.left[i] + 0.05
    left = np.where(uses_oncoming, np.maximum(ref.left_oncoming[i], ref.left[i]), ref.left[i])
    hi = left - half - 0.1
    lo = ref.right[i] + half + 0.1
    inner = np.minimum(CURVE_MARGIN_GAIN * np.abs(ref.curvature[i]), CURVE_MARGIN_MAX_M)
    hi -= np.where(ref.curvature[i] > 0, inner, 0.0)  # a left turn's inside is on the left
    lo += np.where(ref.curvature[i] < 0, inner, 0.0)
    if forecast is not None and forecast.poses.shape[0]:
        still = forecast.speed < STANDING_MPS
        for m in np.flatnonzero(still):
            x, y, h = forecast.poses[m, 0, 0]
            length, width = forecast.size[m]
            j = int(np.argmin(np.hypot(ref.xy[:, 0] - x, ref.xy[:, 1] - y)))
            c, s = np.cos(ref.heading[j]), np.sin(ref.heading[j])
            s_o = ref.s[j] + c * (x - ref.xy[j, 0]) + s * (y - ref.xy[j, 1])
            d_o = -s * (x - ref.xy[j, 0]) + c * (y - ref.xy[j, 1])
            rel = np.angle(np.exp(1j * (h - ref.heading[j])))
            along = 0.5 * (abs(np.cos(rel)) * length + abs(np.sin(rel)) * width)
            across = 0.5 * (abs(np.sin(rel)) * length + abs(np.cos(rel)) * width)
            beside = np.abs(path_s - s_o) < along + 0.5 * ego.length + MARGIN_M
            if not beside.any():
                continue
            pass_left = np.median(path_d[beside]) > d_o
            if pass_left:
                lo[beside] = np.maximum(lo[beside], d_o + across + half + MARGIN_M)
            else:
                hi[beside] = np.minimum(hi[beside], d_o - across - half - MARGIN_M)
    bad = lo > hi
    lo[bad] = hi[bad] = path_d[bad]
    return lo, hi
