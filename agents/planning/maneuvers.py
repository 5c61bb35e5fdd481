"""Candidate maneuvers x speed profiles and their vectorised rollouts in the route's Frenet frame.

A candidate is a lateral maneuver (keep lane, change left or right, nudge within the lane, go around an obstacle
and come back, each over a few durations) and a longitudinal profile (cruise toward a target speed, or stop at
a point: behind a road user, at a junction's entry, at a stop line), all rolled out together with the ego's
kinematics (jerk-limited acceleration, speed >= 0) over the horizon. Each rollout also has a fallback: the same
path, braking at FALLBACK_DECEL from FALLBACK_AFTER_S on (what the ego would do if someone else turned out to
brake), against which the others' adverse modes are checked.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.planning.roadmap import ReferencePath

MANEUVERS = ("keep", "change_left", "change_right", "nudge", "go_around", "stop", "yield", "emergency")
"""Names of the maneuver kinds (``Candidates.kind`` indexes this)."""
DT = 0.25
"""Rollout step, s."""
HORIZON_S = 6.0
"""Rollout horizon, s."""
LAT_DURATIONS = (3.0, 4.5)
"""Durations of lateral transitions at the current speed, s (see ``transition_m``)."""
LAT_MIN_M = 6.0
LAT_PER_M = 4.0
"""A lateral move of D m takes at least LAT_MIN_M + LAT_PER_M x D m of travel."""
HOLD_MIN_M = 6.0
"""A go-around holds its offset for at least this distance before coming back, m."""
JUNCTION_CLEAR_S = 3.0
JUNCTION_CLEAR_M = 15.0
"""No lateral maneuver starts with a junction this far ahead (the larger of these seconds at the current speed and
metres)."""
NUDGES = (-0.6, 0.6, 1.2)
"""Lateral offsets within or just past the lane, m."""
AROUND = (1.8, 2.6, 3.4)
"""Lateral offsets of going around an obstacle on the left, m."""
AROUND_HOLD_S = (1.5, 3.0)
"""Time at the current speed a go-around holds its offset before coming back (or for the whole horizon), s."""
SPEED_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)
"""Cruise targets as fractions of the desired speed."""
ACCEL_LEVELS = ((1.0, 1.5), (1.6, 3.0))
"""(accelerate, brake) magnitudes of the gentle and firm profiles, m/s^2."""
EMERGENCY_DECEL = 7.5
"""Braking of the emergency profile, m/s^2."""
JERK = 2.5
"""Jerk limit of every profile but the emergency one, m/s^3."""
SPEED_GAIN = 0.8
"""Cruise acceleration per m/s of speed error, 1/s."""
FALLBACK_AFTER_S = 0.75
FALLBACK_DECEL = 6.0
"""The fallback trajectory follows the candidate for FALLBACK_AFTER_S s, then brakes at FALLBACK_DECEL m/s^2."""
CURVE_LAT_ACCEL = 2.0
"""Target speeds keep the route's curvature below this lateral acceleration, m/s^2."""
ANTICIPATE_DECEL = 1.5
"""Speed drops for curves and limits ahead are planned at this deceleration, m/s^2."""


@dataclass(frozen=True, eq=False)
class Candidates:
    """C candidates: ``kind`` (C,) index into MANEUVERS; lateral target ``d_target`` m reached over ``t_lat`` s of
    travel at the current speed (``transition_m``), taken back ``t_back`` s later (inf: held); cruise speed ``v_target`` m/s with ``accel`` and
    ``brake`` magnitudes m/s^2; ``stop_s`` m where to stop (inf: none); ``jerk`` limit m/s^3."""

    kind: np.ndarray
    d_target: np.ndarray
    t_lat: np.ndarray
    t_back: np.ndarray
    v_target: np.ndarray
    accel: np.ndarray
    brake: np.ndarray
    stop_s: np.ndarray
    jerk: np.ndarray

    def __len__(self) -> int:
        return self.kind.size


@dataclass(frozen=True, eq=False)
class Rollouts:
    """Rollouts of C candidates over T+1 instants ``t``: Frenet ``s``, ``d`` m, ``v`` m/s, ``a`` m/s^2 (C, T+1),
    Cartesian ``xy`` (C, T+1, 2), ``heading`` (C, T+1) rad, ``lat_accel`` (C, T+1) m/s^2, and the fallback's
    ``fb_xy``, ``fb_heading``, ``fb_v``."""

    t: np.ndarray
    s: np.ndarray
    d: np.ndarray
    v: np.ndarray
    a: np.ndarray
    xy: np.ndarray
    heading: np.ndarray
    lat_accel: np.ndarray
    fb_xy: np.ndarray
    fb_heading: np.ndarray
    fb_v: np.ndarray


@dataclass(frozen=True)
class EgoState:
    """The ego in the route frame: ``s``, ``d`` m, heading relative to the path ``psi`` rad, ``v`` m/s, ``a``
    m/s^2, ``width`` and ``length`` m."""

    s: float
    d: float
    psi: float
    v: float
    a: float
    length: float
    width: float


def lateral_offsets(ref: ReferencePath, ego: EgoState, around: bool) -> list[tuple[int, float]]:
    """(kind, lateral target) of the lateral maneuvers that fit the road at the ego's position; going around only
    when ``around`` (a standing obstacle blocks the lane); none but keeping the lane in or near a junction."""
    i = int(np.clip(np.searchsorted(ref.s, ego.s), 0, ref.s.size - 1))
    out = [(0, 0.0)]
    ahead = slice(i, int(np.searchsorted(ref.s, ego.s + max(JUNCTION_CLEAR_S * ego.v, JUNCTION_CLEAR_M))) + 1)
    if ref.junction[ahead].any():
        return out
    own_l, own_r = ref.own_left[i], ref.own_right[i]
    if ref.left[i] > own_l + 1.0:
        out.append((1, 0.5 * (own_l + ref.left[i]) - 0.5 * (own_l + own_r)))
    if ref.right[i] < own_r - 1.0:
        out.append((2, 0.5 * (own_r + ref.right[i]) - 0.5 * (own_l + own_r)))
    out += [(3, d) for d in NUDGES]
    room = max(ref.left_oncoming[i], ref.left[i])
    out += [(4, d) for d in AROUND if around and d + 0.5 * ego.width < room]
    return out


def make_candidates(ref: ReferencePath, ego: EgoState, desired: float, stops: list[float], around: bool = False,
                    previous: tuple[float, float] | None = None) -> Candidates:
    """Every lateral maneuver x every longitudinal profile, plus stops at ``stops`` (route s, m) on the lane
    and one emergency stop; going around an obstacle only when ``around``. ``previous`` (d_target, v_target) of the last plan is kept among the targets."""
    rows = []
    lateral = lateral_offsets(ref, ego, around)
    speeds = sorted({round(f * desired, 2) for f in SPEED_FRACTIONS} | {round(ego.v, 2)}
                    | ({round(previous[1], 2)} if previous is not None else set()))
    for kind, d in lateral:
        durations = LAT_DURATIONS if kind else (LAT_DURATIONS[0],)
        backs = AROUND_HOLD_S + (np.inf,) if kind == 4 else (np.inf,)
        for t_lat in durations:
            for back in backs:
                for v in speeds:
                    for acc, brk in ACCEL_LEVELS:
                        rows.append((kind, d, t_lat, back, v, acc, brk, np.inf, JERK))
                for stop in stops:
                    rows.append((5 if kind == 0 else kind, d, t_lat, back, desired, 1.5, 3.5, stop, JERK))
    rows.append((6, 0.0, LAT_DURATIONS[0], np.inf, 0.0, 1.0, 2.5, np.inf, JERK))
    rows.append((7, 0.0, LAT_DURATIONS[0], np.inf, 0.0, 0.0, EMERGENCY_DECEL, np.inf, 40.0))
    cols = np.array(rows, dtype=np.float64).T
    return Candidates(cols[0].astype(np.int64), *cols[1:])


def allowed_speed(ref: ReferencePath, desired: float) -> np.ndarray:
    """(R,) speed allowed at every route point: the desired speed, at most the speed limit, slow enough for the
    curvature (CURVE_LAT_ACCEL), lowered ahead of slower points at ANTICIPATE_DECEL."""
    v = np.minimum(np.minimum(desired, ref.speed_limit), np.sqrt(CURVE_LAT_ACCEL / np.maximum(np.abs(ref.curvature),
                                                                                            1e-4)))
    v2 = v ** 2
    ds = np.diff(ref.s)
    for k in range(v2.size - 2, -1, -1):
        v2[k] = min(v2[k], v2[k + 1] + 2.0 * ANTICIPATE_DECEL * ds[k])
    return np.sqrt(v2)


def _quintic(d0, slope0, d1, length, x):
    """Quintic from (d0, slope0, curvature 0) to (d1, 0, 0) over ``length``, and its slope, at ``x`` (clamped)."""
    h = np.clip(x, 0.0, length)
    L = length
    dd = d1 - d0 - slope0 * L
    c3 = 10 * dd / L ** 3
    c4 = -15 * dd / L ** 4
    c5 = 6 * dd / L ** 5
    value = d0 + slope0 * h + c3 * h ** 3 + c4 * h ** 4 + c5 * h ** 5
    slope = np.where(x < L, slope0 + 3 * c3 * h ** 2 + 4 * c4 * h ** 3 + 5 * c5 * h ** 4, 0.0)
    return value, slope


def lateral_profile(c: Candidates, ego: EgoState, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(C, T+1) lateral offsets and their slopes dd/ds at distances ``x`` (C, T+1) travelled: a quintic to
    ``d_target`` over ``transition_m``, and back to 0 after ``hold_m``."""
    slope = np.tan(np.clip(ego.psi, -0.5, 0.5))
    length = transition_m(c, ego)[:, None]
    value, dslope = _quintic(ego.d, slope, c.d_target[:, None], length, x)
    back = np.isfinite(c.t_back)
    if back.any():
        start = length[back] + np.maximum(ego.v * c.t_back[back], HOLD_MIN_M)[:, None]
        ret, rslope = _quintic(c.d_target[back, None], 0.0, 0.0, length[back], x[back] - start)
        after = x[back] >= start
        value[back] = np.where(after, ret, value[back])
        dslope[back] = np.where(after, rslope, dslope[back])
    return value, dslope


def transition_m(c: Candidates, ego: EgoState) -> np.ndarray:
    """(C,) distance over which each candidate moves to its lateral target, m: ``t_lat`` at the current speed, at
    least LAT_MIN_M plus LAT_PER_M per m of lateral move."""
    return np.maximum(ego.v * c.t_lat, LAT_MIN_M + LAT_PER_M * np.abs(c.d_target - ego.d))


def rollout(ref: ReferencePath, ego: EgoState, c: Candidates, v_allow: np.ndarray) -> Rollouts:
    """Roll every candidate out over HORIZON_S in steps of DT (see the module docstring)."""
    t = DT * np.arange(int(round(HORIZON_S / DT)) + 1)
    n, T = len(c), t.size
    s = np.empty((n, T))
    v = np.empty((n, T))
    a = np.empty((n, T))
    s[:, 0], v[:, 0], a[:, 0] = ego.s, ego.v, ego.a
    step_j = c.jerk * DT
    emergency = c.kind == MANEUVERS.index("emergency")
    for k in range(1, T):
        sk, vk, ak = s[:, k - 1], v[:, k - 1], a[:, k - 1]
        target = np.minimum(c.v_target, np.interp(sk, ref.s, v_allow))
        want = np.clip(SPEED_GAIN * (target - vk), -c.brake, c.accel)
        room = c.stop_s - sk
        need = vk ** 2 / (2.0 * np.maximum(room, 0.05))
        stopping = np.isfinite(room) & ((need > 0.5) | (room < 0.5))
        want = np.where(stopping, np.maximum(np.minimum(want, -need), -EMERGENCY_DECEL), want)
        want = np.where(emergency, -EMERGENCY_DECEL, want)
        ak1 = ak + np.clip(want - ak, -step_j, step_j)
        vk1 = np.maximum(vk + ak1 * DT, 0.0)
        ak1 = np.where(vk1 <= 0.0, (vk1 - vk) / DT, ak1)
        s[:, k] = sk + 0.5 * (vk + vk1) * DT
        v[:, k], a[:, k] = vk1, ak1
    d, slope = lateral_profile(c, ego, s - ego.s)
    xy, heading = _cartesian(ref, s, d, slope)
    yaw = np.gradient(heading, DT, axis=1)
    k0 = int(round(FALLBACK_AFTER_S / DT))
    tb = np.maximum(t - t[k0], 0.0)[None, :]
    v0 = v[:, k0:k0 + 1]
    stop_t = v0 / FALLBACK_DECEL
    tt = np.minimum(tb, stop_t)
    fb_s = np.where(t[None, :] <= t[k0], s, s[:, k0:k0 + 1] + v0 * tt - 0.5 * FALLBACK_DECEL * tt ** 2)
    fb_v = np.where(t[None, :] <= t[k0], v, np.maximum(v0 - FALLBACK_DECEL * tb, 0.0))
    fb_d, fb_slope = lateral_profile(c, ego, fb_s - ego.s)
    fb_xy, fb_heading = _cartesian(ref, fb_s, fb_d, fb_slope)
    return Rollouts(t, s, d, v, a, xy, heading, v * yaw, fb_xy, fb_heading, fb_v)


def _cartesian(ref: ReferencePath, s, d, slope):
    xy, h = ref.to_xy(s, d)
    return xy, h + np.arctan(slope)
