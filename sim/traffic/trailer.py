"""Semi-trailer kinematics: a trailer dragged by a tractor's hitch (fifth wheel), vectorised over N trucks.

Conventions: world x, y, yaw counter-clockwise; a tractor's pose is its box centre (x, y) and heading psi; the
trailer's heading is theta, the articulation angle psi - theta. Along the tractor axis (metres, + forward,
from its box centre) sit the rear axle ``axle_x`` (the point without lateral slip, where the tractor's speed
v and yaw rate omega are taken) and the hitch ``hitch_x``; a = hitch_x - axle_x is the hitch's offset ahead of
the rear axle (0: on-axle, < 0: off-axle behind it). The trailer's kingpin sits on the hitch and its axle
(the middle of a tridem, tyre scrub ignored) L = ``kingpin_axle`` behind the kingpin has no lateral slip:

    theta' = (v sin(psi - theta) + a omega cos(psi - theta)) / L.

For a hitch moving a distance d along a straight line of direction phi this integrates exactly to the
tractrix tan(alpha / 2) <- tan(alpha / 2) exp(-d / L), alpha = theta - phi, which every step below applies
to the hitch's displacement (exact for straight driving; forward and reverse alike). Reversing is unstable
(the articulation grows until the trailer jackknifes); the articulation is clamped to MAX_ARTICULATION_RAD.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from sim.assets.meshes import TRACTOR_HITCH, TRAILER_KINGPIN, TRAILER_SIZE

MAX_ARTICULATION_RAD = math.radians(80.0)
"""Jackknife guard: largest |psi - theta|. Assumes the trailer's front corner meets the cab's back (or the
tractor's rear wheels) at about 80-90 degrees; a trailer dragged beyond it turns with the tractor, rigidly."""
TRAILER_AXLE_X = -0.5 * TRAILER_SIZE[0] + 2.91
"""Middle axle of ``trailer_mesh``'s tridem in the trailer frame, m."""


@dataclass(frozen=True)
class TrailerParams:
    """Per-truck geometry, each an (N,) float64 array: ``hitch_x``, ``axle_x`` (tractor frame, from its box
    centre, + forward), ``kingpin_axle`` (L > 0), ``kingpin_centre`` (kingpin ahead of the trailer box
    centre), ``length``, ``width``, ``height`` of the trailer box, m."""

    hitch_x: np.ndarray
    axle_x: np.ndarray
    kingpin_axle: np.ndarray
    kingpin_centre: np.ndarray
    length: np.ndarray
    width: np.ndarray
    height: np.ndarray

    @classmethod
    def standard(cls, n: int) -> TrailerParams:
        """n trucks built like ``tractor_mesh`` + ``trailer_mesh`` (on-axle: the fifth wheel sits over the
        centre of the tractor's tandem)."""
        values = (TRACTOR_HITCH[0], TRACTOR_HITCH[0], TRAILER_KINGPIN[0] - TRAILER_AXLE_X, TRAILER_KINGPIN[0],
                  *TRAILER_SIZE)
        return cls(*(np.full(n, float(v)) for v in values))

    @property
    def hitch_offset(self) -> np.ndarray:
        """a: the hitch's distance ahead of the tractor's rear axle, m."""
        return self.hitch_x - self.axle_x


@njit(cache=True)
def _wrap(a):
    return a - 2.0 * math.pi * np.floor((a + math.pi) / (2.0 * math.pi))


@njit(cache=True)
def _drag(theta, dx, dy, length, psi):
    """Trailer heading after its kingpin moved by (dx, dy) in a straight line (exact tractrix), clamped to
    the articulation limit about the tractor heading ``psi`` at the end of the move."""
    d = math.hypot(dx, dy)
    if d > 0.0:
        phi = math.atan2(dy, dx)
        half = 0.5 * _wrap(theta - phi)  # in [-pi/2, pi/2): cos(half) >= 0
        theta = _wrap(phi + 2.0 * math.atan2(math.sin(half) * math.exp(-d / length), math.cos(half)))
    art = _wrap(psi - theta)
    if art > MAX_ARTICULATION_RAD:
        theta = _wrap(psi - MAX_ARTICULATION_RAD)
    elif art < -MAX_ARTICULATION_RAD:
        theta = _wrap(psi + MAX_ARTICULATION_RAD)
    return theta


@njit(cache=True)
def _step_poses(theta, hx0, hy0, hx1, hy1, heading, kingpin_axle):
    out = np.empty_like(theta)
    for i in range(theta.shape[0]):
        out[i] = _drag(theta[i], hx1[i] - hx0[i], hy1[i] - hy0[i], kingpin_axle[i], heading[i])
    return out


@njit(cache=True)
def _step_ode(theta, x, y, heading, speed, yaw_rate, hitch_x, axle_x, kingpin_axle, dt, substeps):
    out = np.empty_like(theta)
    h = dt / substeps
    for i in range(theta.shape[0]):
        a = hitch_x[i] - axle_x[i]
        psi, th = heading[i], theta[i]
        ax, ay = x[i] + axle_x[i] * math.cos(psi), y[i] + axle_x[i] * math.sin(psi)
        for _ in range(substeps):
            half = 0.5 * yaw_rate[i] * h  # the rear axle moves along an arc: chord at psi + half
            chord = speed[i] * h * (math.sin(half) / half if half != 0.0 else 1.0)
            nx, ny, npsi = ax + chord * math.cos(psi + half), ay + chord * math.sin(psi + half), psi + 2.0 * half
            dx = nx - ax + a * (math.cos(npsi) - math.cos(psi))
            dy = ny - ay + a * (math.sin(npsi) - math.sin(psi))
            th = _drag(th, dx, dy, kingpin_axle[i], npsi)
            ax, ay, psi = nx, ny, npsi
        out[i] = th
    return out


@njit(cache=True)
def _trail(hx, hy, heading, kingpin_axle):
    out = np.empty_like(heading)
    out[0] = heading[0]
    for k in range(1, heading.shape[0]):
        out[k] = _drag(out[k - 1], hx[k] - hx[k - 1], hy[k] - hy[k - 1], kingpin_axle, heading[k])
    return out


def trail_path(hitch_xy, tractor_heading, params: TrailerParams) -> np.ndarray:
    """(T,) headings of one truck's trailer (params: one truck) as its hitch drives the polyline ``hitch_xy``
    (T, 2) with the tractor headings ``tractor_heading`` (T,), starting in line with the tractor."""
    xy = _f64(hitch_xy)
    return _trail(np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]), _f64(tractor_heading),
                  float(params.kingpin_axle[0]))


def _f64(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def init_trailers(tractor_heading) -> np.ndarray:
    """(N,) trailer headings of trucks standing straight (aligned with their tractors)."""
    return _wrap(_f64(tractor_heading).copy())


def hitch_points(tractor_x, tractor_y, tractor_heading, params: TrailerParams) -> np.ndarray:
    """(2, N) world x, y of the tractors' hitches."""
    h = _f64(tractor_heading)
    return np.stack([tractor_x + params.hitch_x * np.cos(h), tractor_y + params.hitch_x * np.sin(h)])


def step_trailers_from_poses(theta, hitch_prev_xy, hitch_xy, tractor_heading, params: TrailerParams) -> np.ndarray:
    """(N,) trailer headings after the hitches moved from ``hitch_prev_xy`` to ``hitch_xy`` ((2, N), see
    ``hitch_points``), each along a straight segment; ``tractor_heading`` (N,) is the tractors' heading at the
    end (for the jackknife guard). Accurate while a step's displacement is short against the trailer and the
    turn radius (about 1 m); re-initialise a truck that is teleported (respawned)."""
    p0, p1 = _f64(hitch_prev_xy), _f64(hitch_xy)
    return _step_poses(_f64(theta), p0[0], p0[1], p1[0], p1[1], _f64(tractor_heading), params.kingpin_axle)


def step_trailers(theta, tractor_x, tractor_y, tractor_heading, speed, yaw_rate, params: TrailerParams, dt: float,
                  substeps: int = 4) -> np.ndarray:
    """(N,) trailer headings after ``dt`` s in which each tractor, from its pose at the start, drives its
    rear axle along the arc of constant (``speed`` m/s, signed, ``yaw_rate`` rad/s); ``substeps`` chords."""
    return _step_ode(_f64(theta), _f64(tractor_x), _f64(tractor_y), _f64(tractor_heading), _f64(speed),
                     _f64(yaw_rate), params.hitch_x, params.axle_x, params.kingpin_axle, float(dt), int(substeps))


def trailer_boxes(theta, tractor_x, tractor_y, tractor_heading, speed, yaw_rate, params: TrailerParams) -> np.ndarray:
    """(7, N) trailer boxes, rows x, y, heading, speed, length, width, height: the box centre's pose and
    speed (magnitude of its velocity, negative when it moves backwards), given the tractors' pose, rear-axle
    speed and yaw rate."""
    th, psi, v, om = _f64(theta), _f64(tractor_heading), _f64(speed), _f64(yaw_rate)
    hx, hy = hitch_points(tractor_x, tractor_y, psi, params)
    t = np.stack([np.cos(th), np.sin(th)])
    n = np.stack([-t[1], t[0]])
    hv = v * np.stack([np.cos(psi), np.sin(psi)]) + params.hitch_offset * om * np.stack([-np.sin(psi), np.cos(psi)])
    theta_rate = (hv * n).sum(axis=0) / params.kingpin_axle
    cv = hv - params.kingpin_centre * theta_rate * n
    speed_c = np.copysign(np.hypot(cv[0], cv[1]), (cv * t).sum(axis=0))
    cx, cy = hx - params.kingpin_centre * t[0], hy - params.kingpin_centre * t[1]
    return np.stack([cx, cy, th, speed_c, params.length, params.width, params.height])


def articulation(theta, tractor_heading) -> np.ndarray:
    """(N,) articulation angles psi - theta in [-pi, pi), rad; |.| reaches MAX_ARTICULATION_RAD when jackknifed."""
    return _wrap(_f64(tractor_heading) - _f64(theta))


def off_tracking(turn_radius, params: TrailerParams) -> np.ndarray:
    """(N,) steady-state off-tracking R - R_t, m: how far inside the tractor's rear-axle circle (radius R)
    the trailer axle runs, R_t = sqrt(R^2 + a^2 - L^2) (the hitch circle has radius sqrt(R^2 + a^2) and the
    kingpin-axle bar is tangent to the axle's circle). NaN where R^2 + a^2 <= L^2 (no steady turn)."""
    r = _f64(turn_radius)
    with np.errstate(invalid="ignore"):
        return r - np.sqrt(r * r + params.hitch_offset ** 2 - params.kingpin_axle ** 2)


def box_corners(boxes) -> np.ndarray:
    """(4, 2, N) world x, y of the corners front-left, front-right, rear-right, rear-left of (7, N) boxes."""
    x, y, h, _, length, width = np.asarray(boxes, np.float64)[:6]
    c, s = np.cos(h), np.sin(h)
    out = []
    for fx, fy in ((0.5, 0.5), (0.5, -0.5), (-0.5, -0.5), (-0.5, 0.5)):
        lx, ly = fx * length, fy * width
        out.append(np.stack([x + lx * c - ly * s, y + lx * s + ly * c]))
    return np.stack(out)


def crosses(track, polyline) -> bool:
    """Whether a point's track (T, 2) (e.g. a trailer's inner rear corner over a turn) crosses the polyline
    (M, 2) (e.g. a curb line)."""
    p, q = np.asarray(track, np.float64), np.asarray(polyline, np.float64)
    a0, a1 = p[:-1, None], p[1:, None]
    b0, b1 = q[None, :-1], q[None, 1:]
    return bool(np.any((_side(a0, a1, b0) * _side(a0, a1, b1) < 0) & (_side(b0, b1, a0) * _side(b0, b1, a1) < 0)))


def _side(o, u, w):
    """Sign of the cross product (u - o) x (w - o) of (..., 2) points."""
    (ux, uy), (wx, wy) = np.moveaxis(u - o, -1, 0), np.moveaxis(w - o, -1, 0)
    return np.sign(ux * wy - uy * wx)
