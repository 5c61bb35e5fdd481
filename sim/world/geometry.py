"""Plane curves: turtle tracing of straight/clothoid/arc pieces, Bezier connectors, resampling."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull

MAX_STEP = 0.5
"""Largest spacing between samples of any traced or resampled curve, m."""


@dataclass(frozen=True, eq=False)
class Curve:
    """A sampled plane curve.

    xy: (N,2) m; s: (N,) arc length from the first sample, m; heading: (N,) rad;
    curvature: (N,) 1/m, positive turning left.
    """

    xy: np.ndarray
    s: np.ndarray
    heading: np.ndarray
    curvature: np.ndarray

    @property
    def length(self) -> float:
        return float(self.s[-1])

    def slice(self, i0: int, i1: int) -> "Curve":
        """Samples i0..i1 inclusive, arc length restarting at 0."""
        return Curve(self.xy[i0:i1 + 1], self.s[i0:i1 + 1] - self.s[i0],
                     self.heading[i0:i1 + 1], self.curvature[i0:i1 + 1])


def wrap_angle(a):
    """Angle(s) wrapped to [-pi, pi), rad."""
    return (np.asarray(a) + np.pi) % (2.0 * np.pi) - np.pi


def normals(heading: np.ndarray) -> np.ndarray:
    """(N,2) unit left normals of headings (N,) rad."""
    return np.stack([-np.sin(heading), np.cos(heading)], axis=-1)


def straight(length: float) -> list[tuple[float, float, float]]:
    """A straight piece of `length` m as (length m, start curvature 1/m, end curvature 1/m)."""
    return [(length, 0.0, 0.0)]


def turn(k: float, clothoid: float, arc: float) -> list[tuple[float, float, float]]:
    """Clothoid 0->k over `clothoid` m, arc of curvature k (1/m) over `arc` m, clothoid k->0."""
    return [(clothoid, 0.0, k), (arc, k, k), (clothoid, k, 0.0)]


def trace(pieces, start_xy, start_heading: float, max_step: float = MAX_STEP):
    """Integrate pieces of linearly varying curvature from a start pose.

    pieces: sequence of (length m, k_start 1/m, k_end 1/m); zero-length pieces are skipped.
    Returns (Curve, ends) where ends[i] is the sample index where piece i ends (skipped pieces
    repeat the previous index). Heading is exact; each step's chord is exact for arcs.
    """
    pieces = np.asarray(pieces, dtype=float).reshape(-1, 3)
    length, k0, k1 = pieces.T
    n = np.where(length > 0, np.ceil(length / max_step - 1e-9), 0).astype(int)
    live = n > 0
    pid = np.repeat(np.arange(len(n)), n)
    local = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    nn = n[pid]
    ds = length[pid] / nn
    ka = k0[pid] + (k1 - k0)[pid] * local / nn
    kb = k0[pid] + (k1 - k0)[pid] * (local + 1) / nn
    dh = 0.5 * ds * (ka + kb)
    heading = start_heading + np.concatenate([[0.0], np.cumsum(dh)])
    hm = heading[:-1] + ds * (3.0 * ka + kb) / 8.0
    chord = ds * np.sinc(dh / (2.0 * np.pi))
    step = np.stack([chord * np.cos(hm), chord * np.sin(hm)], axis=1)
    xy = np.asarray(start_xy, dtype=float) + np.concatenate([np.zeros((1, 2)), np.cumsum(step, axis=0)])
    s = np.concatenate([[0.0], np.cumsum(ds)])
    last_k = k1[live][-1] if live.any() else 0.0
    curvature = np.concatenate([ka, [last_k]])
    return Curve(xy, s, heading, curvature), np.cumsum(n)


def offset(curve: Curve, d: float, extra: np.ndarray | None = None) -> Curve:
    """Parallel curve at lateral offset d (m, positive left); curvature k/(1 - k d).

    `extra` (N,2) is added to the positions (used to bend an end onto a target)."""
    xy = curve.xy + d * normals(curve.heading)
    if extra is not None:
        xy = xy + extra
    k = curve.curvature / (1.0 - curve.curvature * d)
    return Curve(xy, _chord_s(xy), curve.heading, k)


def reverse(curve: Curve) -> Curve:
    """The same curve travelled backwards."""
    xy = curve.xy[::-1]
    return Curve(xy, _chord_s(xy), wrap_angle(curve.heading[::-1] + np.pi), -curve.curvature[::-1])


def resample(curve: Curve, max_step: float = MAX_STEP) -> Curve:
    """Uniform resampling by chord length (spacing <= max_step); endpoints kept exactly."""
    s = _chord_s(curve.xy)
    n = max(int(np.ceil(s[-1] / max_step - 1e-9)), 1) + 1
    t = np.linspace(0.0, s[-1], n)
    xy = np.stack([np.interp(t, s, curve.xy[:, 0]), np.interp(t, s, curve.xy[:, 1])], axis=1)
    xy[0], xy[-1] = curve.xy[0], curve.xy[-1]
    heading = wrap_angle(np.interp(t, s, np.unwrap(curve.heading)))
    heading[0], heading[-1] = wrap_angle(curve.heading[0]), wrap_angle(curve.heading[-1])
    return Curve(xy, _chord_s(xy), heading, np.interp(t, s, curve.curvature))


def bezier(p0, h0: float, p1, h1: float, max_step: float = MAX_STEP) -> Curve:
    """Cubic Bezier from pose (p0 m, h0 rad) to pose (p1, h1), uniformly resampled."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    c = 0.4 * float(np.hypot(*(p1 - p0)))
    ctrl = np.array([p0, p0 + c * np.array([np.cos(h0), np.sin(h0)]),
                     p1 - c * np.array([np.cos(h1), np.sin(h1)]), p1])
    t = np.linspace(0.0, 1.0, max(64, int(8 * c / max_step)))[:, None]
    u = 1.0 - t
    xy = u**3 * ctrl[0] + 3 * u**2 * t * ctrl[1] + 3 * u * t**2 * ctrl[2] + t**3 * ctrl[3]
    d1 = 3 * u**2 * (ctrl[1] - ctrl[0]) + 6 * u * t * (ctrl[2] - ctrl[1]) + 3 * t**2 * (ctrl[3] - ctrl[2])
    d2 = 6 * u * (ctrl[2] - 2 * ctrl[1] + ctrl[0]) + 6 * t * (ctrl[3] - 2 * ctrl[2] + ctrl[1])
    speed = np.hypot(d1[:, 0], d1[:, 1])
    k = (d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]) / np.maximum(speed, 1e-12) ** 3
    heading = np.arctan2(d1[:, 1], d1[:, 0])
    heading[0], heading[-1] = h0, h1
    xy[0], xy[-1] = p0, p1
    return resample(Curve(xy, _chord_s(xy), heading, k), max_step)


def u_turn(p0, h0: float, p1, min_radius: float, max_step: float = MAX_STEP) -> Curve:
    """Balloon loop from pose (p0, h0) to p1 lying to the left, arriving with heading h0 + pi.

    Turns right by phi, left by pi + 2 phi, right by phi on circles of radius >= min_radius (m)."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    gap = float(np.dot(p1 - p0, normals(np.array(h0))))
    r = max(min_radius, 0.5 * gap)
    phi = float(np.arccos(np.clip((gap / r + 2.0) / 4.0, -1.0, 1.0)))
    k = 1.0 / r
    curve, _ = trace([(r * phi, -k, -k), (r * (np.pi + 2 * phi), k, k), (r * phi, -k, -k)], p0, h0)
    return resample(bend_to(curve, p1), max_step)


def bend_to(curve: Curve, target) -> Curve:
    """Shift samples by (target - end) * s / length so the curve ends exactly at target."""
    err = np.asarray(target, float) - curve.xy[-1]
    xy = curve.xy + np.outer(curve.s / curve.s[-1], err)
    xy[-1] = target
    return Curve(xy, _chord_s(xy), curve.heading, curve.curvature)


def convex_hull(points: np.ndarray) -> np.ndarray:
    """(K,2) counter-clockwise convex hull of points (M,2)."""
    return points[ConvexHull(points).vertices]


def _chord_s(xy: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
