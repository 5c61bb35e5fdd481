"""Continuous optimisation of the chosen maneuver over arc length: the heading (relative to the route) and the
acceleration at knots DS apart.

Lateral: the heading ``theta_k`` of each segment sets the offsets (``d_{k+1} = d_k + ds theta_k``) and the
curvature the maneuver adds to the route's (``(theta_k - theta_{k-1}) / ds``); with the speeds held, the lateral
acceleration it adds, ``v^2 kappa``, and the lateral jerk ``v d(a_lat)/ds`` are linear in the headings (the route's
own curvature is not the optimiser's to change: the speed profile keeps it comfortable). The cost, a linear
programme (scipy's HiGHS), sums over arc length the distance to the maneuver's offsets, |lateral acceleration|,
|lateral jerk| and the obstacle-distance cost (how far the path comes inside CORRIDOR_MARGIN_M of the convex
corridor's edges), with |lateral acceleration| <= LAT_ACCEL_MAX and |lateral jerk| <= LAT_JERK_MAX. The L1 pull
to a new lane is the time spent away from it, so a lane change comes out close to minimum time under the two
bounds: jerk at its bound, then acceleration at its bound: a trapezoidal lateral-acceleration profile.

Longitudinal: squared speeds ``u_k`` (``a_k = (u_{k+1} - u_k) / (2 ds)``); the cost sums the traversal time
``sum ds / v``, squared acceleration and jerk, and a hinge on speeds above the ceiling (the search's safe speed at
that arc length, and the curvature's lateral-acceleration limit); Newton steps.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from agents.planning.maneuvers import EgoState
from agents.planning.roadmap import ReferencePath

DS_MIN = 1.0
MAX_KNOTS = 40
"""Knots are DS_MIN m apart, or farther so that there are at most MAX_KNOTS."""
W_OFFSET = 1.0
W_LAT_ACCEL = 0.05
W_LAT_JERK = 0.02
"""Lateral cost weights, per m of arc length: |offset from the maneuver's| (m), |lateral acceleration|, |jerk|."""
LAT_ACCEL_MAX = 1.5
LAT_JERK_MAX = 3.0
"""Bounds of the lateral acceleration (m/s^2) and lateral jerk (m/s^3) the maneuver adds."""
W_CORRIDOR = 50.0
"""Cost per m of coming closer than CORRIDOR_MARGIN_M to the corridor's edges, per m of arc length."""
CORRIDOR_MARGIN_M = 0.2
W_TIME = 100.0
W_ACCEL = 1.0
W_JERK = 2.0
W_CEILING = 1e3
"""Longitudinal cost weights: traversal time (s), squared acceleration and jerk per knot, squared excess of the
squared speed over the ceiling."""
CURVE_LAT_ACCEL = 3.0
"""The speed ceiling keeps the route's curvature below this lateral acceleration, m/s^2."""
NEWTON_ITERS = 8
MIN_SPEED = 0.5
"""The longitudinal optimisation runs only when the search's profile stays above this speed, m/s."""


def lateral(ds: float, d0: float, psi0: float, d_ref: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray,
            lat0: float = 0.0, lat_max: float = LAT_ACCEL_MAX, jerk_max: float = LAT_JERK_MAX):
    """Optimal offsets (N+1,) at the knots (d[0] = d0) and the lateral acceleration (N,) at knots 0..N-1, or None
    when the linear programme has no solution.

    ``d_ref``, ``lo``, ``hi`` (N+1,) at the knots, ``v`` (N,) speed m/s at knots 0..N-1; ``psi0`` the heading
    now relative to the route, rad; ``lat0`` the lateral acceleration now (the first jerk term), m/s^2."""
    n = v.size
    eye = sparse.identity(n, format="csr")
    shift = sparse.eye(n, k=-1, format="csr")
    diff = (eye - shift) / ds  # kappa = diff @ theta - e0 psi0 / ds
    lat_a = sparse.diags(v ** 2) @ diff  # a_lat = lat_a @ theta + lat_b
    lat_b = np.zeros(n)
    lat_b[0] = -v[0] ** 2 * psi0 / ds
    prev_b = np.concatenate([[lat0], lat_b[:-1]])
    jerk_a = sparse.diags(v / ds) @ (lat_a - shift @ lat_a)  # jerk = jerk_a @ theta + jerk_b
    jerk_b = (v / ds) * (lat_b - prev_b)
    # variables: theta, d (knots 1..n), then slacks |d - d_ref|, |a_lat|, |jerk|, corridor intrusion (n each)
    zero = sparse.csr_matrix((n, n))
    rows, rhs = [], []
    for sign in (1.0, -1.0):
        rows += [sparse.hstack([zero, sign * eye, -eye, zero, zero, zero]),
                 sparse.hstack([sign * lat_a, zero, zero, -eye, zero, zero]),
                 sparse.hstack([sign * jerk_a, zero, zero, zero, -eye, zero])]
        rhs += [sign * d_ref[1:], -sign * lat_b, -sign * jerk_b]
    rows += [sparse.hstack([zero, -eye, zero, zero, zero, -eye]), sparse.hstack([zero, eye, zero, zero, zero, -eye])]
    rhs += [-lo[1:] - CORRIDOR_MARGIN_M, hi[1:] - CORRIDOR_MARGIN_M]
    d_def = sparse.hstack([-ds * eye, eye - shift, zero, zero, zero, zero])  # d_k - d_{k-1} - ds theta_{k-1} = 0
    d_rhs = np.zeros(n)
    d_rhs[0] = d0
    cost = np.concatenate([np.zeros(2 * n), np.full(n, W_OFFSET * ds), np.full(n, W_LAT_ACCEL * ds),
                           np.full(n, W_LAT_JERK * ds), np.full(n, W_CORRIDOR * ds)])
    bounds = [(-0.6, 0.6)] * n + [(None, None)] * n + [(0, None)] * n + [(0, lat_max)] * n + [(0, jerk_max)] * n \
        + [(0, None)] * n
    res = linprog(cost, A_ub=sparse.vstack(rows, format="csr"), b_ub=np.concatenate(rhs),
                  A_eq=d_def.tocsr(), b_eq=d_rhs, bounds=bounds, method="highs")
    if res.status != 0:
        return None
    theta = res.x[:n]
    return np.concatenate([[d0], res.x[n:2 * n]]), lat_a @ theta + lat_b


def speed(ds: float, v0: float, a0: float, ceiling: np.ndarray) -> np.ndarray:
    """Optimal speeds (N+1,) at the knots (v[0] = v0) under ``ceiling`` (N+1,) m/s; ``a0`` is the acceleration
    now (the first jerk term)."""
    n = ceiling.size - 1
    u = np.minimum(np.full(n, v0 ** 2), ceiling[1:] ** 2)
    u = np.maximum(u, MIN_SPEED ** 2)
    # a = (M @ u + m) for the N segments
    M = (np.eye(n) - np.eye(n, k=-1)) / (2.0 * ds)
    m = np.zeros(n)
    m[0] = -v0 ** 2 / (2.0 * ds)
    umax = ceiling[1:] ** 2
    for _ in range(NEWTON_ITERS):
        v = np.sqrt(u)
        J = (np.eye(n) - np.eye(n, k=-1))[1:] * (v[1:, None] / ds)  # jerk of segments 1..N-1 from a
        j0 = v[0] / ds
        A = np.vstack([np.sqrt(W_ACCEL) * M, np.sqrt(W_JERK) * (J @ M), np.sqrt(W_JERK) * j0 * M[:1]])
        b = np.concatenate([-np.sqrt(W_ACCEL) * m, -np.sqrt(W_JERK) * (J @ m), -np.sqrt(W_JERK) * j0 * (m[:1] - a0)])
        over = u > umax
        grad = 2.0 * A.T @ (A @ u - b) - 0.5 * W_TIME * ds * u ** -1.5 + 2.0 * W_CEILING * over * (u - umax)
        hess = 2.0 * A.T @ A + np.diag(0.75 * W_TIME * ds * u ** -2.5 + 2.0 * W_CEILING * over)
        u = np.maximum(u - np.linalg.solve(hess, grad), MIN_SPEED ** 2)
    return np.concatenate([[v0], np.sqrt(u)])


def optimise(ref: ReferencePath, ego: EgoState, path_s: np.ndarray, path_d: np.ndarray, lo: np.ndarray,
             hi: np.ndarray, t: np.ndarray, plan_v: np.ndarray, plan_a: np.ndarray, plan_s: np.ndarray):
    """Refine the search's path (``path_s``, ``path_d``, bounds ``lo``/``hi``) and its speed profile over time
    (``t``, ``plan_s``, ``plan_v``, ``plan_a``); returns the path offsets at ``path_s`` and the speed and
    acceleration at ``t``."""
    length = float(path_s[-1] - path_s[0])
    ds = max(DS_MIN, length / MAX_KNOTS)
    knots = path_s[0] + ds * np.arange(int(length // ds) + 1)
    if knots.size < 4:
        return path_d, plan_v, plan_a
    v_k = np.maximum(np.interp(knots, plan_s, plan_v), 0.0)
    d_ref = np.interp(knots, path_s, path_d)
    solved = lateral(ds, ego.d, ego.psi, d_ref, v_k[:-1], np.interp(knots, path_s, lo), np.interp(knots, path_s, hi))
    new_d = path_d if solved is None else np.interp(path_s, knots, solved[0])
    if plan_v.min() < MIN_SPEED:
        return new_d, plan_v, plan_a
    _, _, kappa = ref.at(knots)
    ceiling = np.minimum(np.interp(knots, plan_s, plan_v) + 0.05, np.sqrt(CURVE_LAT_ACCEL / np.maximum(np.abs(kappa), 1e-4)))
    covered = knots <= plan_s[-1]
    if covered.sum() < 4:
        return new_d, plan_v, plan_a
    v = speed(ds, ego.v, ego.a, ceiling[covered])
    seg_t = 2.0 * ds / np.maximum(v[1:] + v[:-1], 1e-3)
    tk = np.concatenate([[0.0], np.cumsum(seg_t)])
    acc = np.diff(v ** 2) / (2.0 * ds)
    acc = np.concatenate([acc, acc[-1:]])
    inside = t <= tk[-1]
    out_v = np.where(inside, np.interp(t, tk, v), plan_v)
    out_a = np.where(inside, np.interp(t, tk, acc), plan_a)
    return new_d, out_v, out_a
