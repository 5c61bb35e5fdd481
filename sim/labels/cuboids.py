"""3D cuboids with kinematics from consecutive actor tables (vector space, no rendering).

Actor tables are ``sim.env.simulation.Actors.table``: (7, N) float64, rows x, y (box centre, m),
heading (rad), speed (m/s), length, width, height (m); a column is one actor at every step.

Finite-difference scheme, per actor, on positions p = (x, y) and heading h (wrapped differences),
time step ``dt`` s:

* previous and next valid -> central: v = (p+ - p-) / 2dt, a = (p+ - 2p + p-) / dt^2,
  yaw rate = wrap(h+ - h-) / 2dt  (second order; exact for constant velocity / acceleration).
* only previous valid (no ``next_table``, online use, or the actor vanishes next step) -> backward:
  v = (p - p-) / dt, yaw rate = wrap(h - h-) / dt (first order, lags dt/2), a = NaN.
* only next valid (actor just appeared) -> forward, the mirror of backward; a = NaN.
* neither -> v, a, yaw rate NaN.
``scheme`` reports which was used (SCHEME_NAMES). Everything is in the world frame.
"""
from __future__ import annotations

import numpy as np

from sim.labels.registry import label

SCHEME_NAMES = ("none", "backward", "forward", "central")
"""``scheme`` values: 0 none, 1 backward, 2 forward, 3 central."""

_SIGNS = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]], float)


def _wrap(a):
    return (np.asarray(a) + np.pi) % (2 * np.pi) - np.pi


def cuboid_corners(table: np.ndarray) -> np.ndarray:
    """(N, 8, 3) world corners, m, of each actor's box standing on the ground (z from 0 to height):
    corners 0-3 bottom (front-left, front-right, rear-right, rear-left), 4-7 the same on top."""
    x, y, h, _, length, width, height = np.asarray(table, float)[:7]
    c, s = np.cos(h), np.sin(h)
    lx = _SIGNS[None, :, 0] * 0.5 * length[:, None]
    ly = _SIGNS[None, :, 1] * 0.5 * width[:, None]
    xy = np.stack([x[:, None] + c[:, None] * lx - s[:, None] * ly,
                   y[:, None] + s[:, None] * lx + c[:, None] * ly], axis=-1)  # (N, 4, 2)
    bottom = np.concatenate([xy, np.zeros(xy.shape[:2] + (1,))], axis=-1)
    top = bottom.copy()
    top[..., 2] = height[:, None]
    return np.concatenate([bottom, top], axis=1)


def _check(name, t, n):
    t = np.asarray(t, float)
    if t.ndim != 2 or t.shape[0] < 7 or t.shape[1] != n:
        raise ValueError(f"cuboids: {name} must be (7, {n}) like the current table, got {t.shape}")
    return t


@label
def cuboids(prev_table, table, next_table, kind, valid, dt: float, *, prev_valid=None, next_valid=None) -> dict:
    """Cuboids + kinematics of the actors valid in ``table``.

    prev_table / next_table: (7, N) tables one step ``dt`` (s) before / after, or None; their valid
    masks ``prev_valid`` / ``next_valid`` (N,) bool default to ``valid`` (N,) bool. kind (N,) int.
    Returns, for the M valid actors (columns ``index`` (M,) int64): kind (M,), centre (M, 3) m
    (z = height / 2), size (M, 3) m (length, width, height), yaw (M,) rad, velocity (M, 2) m/s,
    acceleration (M, 2) m/s^2, yaw_rate (M,) rad/s, scheme (M,) int8 (see SCHEME_NAMES).
    """
    if not dt > 0:
        raise ValueError(f"cuboids: dt must be positive (s), got {dt}")
    table = np.asarray(table, float)
    n = table.shape[1]
    valid = np.asarray(valid, bool).reshape(n)
    has_p = np.zeros(n, bool) if prev_table is None else np.asarray(valid if prev_valid is None else prev_valid, bool)
    has_n = np.zeros(n, bool) if next_table is None else np.asarray(valid if next_valid is None else next_valid, bool)
    prev = table if prev_table is None else _check("prev_table", prev_table, n)
    nxt = table if next_table is None else _check("next_table", next_table, n)
    p, pp, pn = table[:2].T, prev[:2].T, nxt[:2].T
    h, hp, hn = table[2], prev[2], nxt[2]

    vel = np.full((n, 2), np.nan)
    acc = np.full((n, 2), np.nan)
    yaw_rate = np.full(n, np.nan)
    scheme = np.zeros(n, np.int8)
    central, back, fwd = has_p & has_n, has_p & ~has_n, has_n & ~has_p
    vel[central] = (pn - pp)[central] / (2 * dt)
    acc[central] = (pn - 2 * p + pp)[central] / dt ** 2
    yaw_rate[central] = _wrap(hn - hp)[central] / (2 * dt)
    vel[back] = (p - pp)[back] / dt
    yaw_rate[back] = _wrap(h - hp)[back] / dt
    vel[fwd] = (pn - p)[fwd] / dt
    yaw_rate[fwd] = _wrap(hn - h)[fwd] / dt
    scheme[back], scheme[fwd], scheme[central] = 1, 2, 3

    idx = np.flatnonzero(valid)
    size = table[4:7, idx].T
    centre = np.column_stack([table[0, idx], table[1, idx], 0.5 * table[6, idx]])
    return {"index": idx, "kind": np.asarray(kind)[idx], "centre": centre, "size": size,
            "yaw": _wrap(table[2, idx]), "velocity": vel[idx], "acceleration": acc[idx],
            "yaw_rate": yaw_rate[idx], "scheme": scheme[idx]}


@label
def state_cuboids(prev_state, state, next_state=None) -> dict:
    """:func:`cuboids` of a SimState, with ``dt`` and valid masks taken from the neighbouring
    SimStates (either may be None). The actor columns must be the same actors at each step."""
    a = state.actors
    dt = (state.t - prev_state.t) if prev_state is not None else (next_state.t - state.t) if next_state is not None else 1.0
    return cuboids(None if prev_state is None else prev_state.actors.table, a.table,
                   None if next_state is None else next_state.actors.table, a.kind, a.valid, dt,
                   prev_valid=None if prev_state is None else prev_state.actors.valid,
                   next_valid=None if next_state is None else next_state.actors.valid)
