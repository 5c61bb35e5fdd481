"""Costs of rolled-out candidates: safety (collisions with every mode of every road user, weighted by the mode's
probability; clearance), road (staying on drivable lanes, the oncoming lane only to go around), comfort,
progress and consistency with the last plan. Lower is better."""
from __future__ import annotations

import numpy as np

from agents.planning.forecast import Forecast
from agents.planning.maneuvers import MANEUVERS, Candidates, EgoState, Rollouts
from agents.planning.roadmap import ReferencePath
from sim.eval.metrics import box_gap

COLLISION = 1e5
"""Cost of a certain collision at 1 m/s, per (1 + ego speed m/s)."""
STOPPED_EGO_SHARE = 0.05
"""A collision with the ego standing (the other's fault) costs this share."""
CLEARANCE_M = 0.6
CLEARANCE_PER_MPS = 0.06
"""Wanted clearance to every road user: CLEARANCE_M + CLEARANCE_PER_MPS x ego speed, m."""
CLEARANCE = 40.0
"""Cost per m^2 of missing clearance, per step."""
PROGRESS = 5.0
"""Reward per m travelled over the horizon, and per m the final speed would cover in TAIL_S more."""
TAIL_S = 4.0
ACCEL, JERK = 0.3, 0.4
"""Weights of squared acceleration and squared jerk, per step."""
LAT_ACCEL = 0.5
LAT_ACCEL_MAX = 3.0
"""Weight of squared lateral acceleration; above LAT_ACCEL_MAX m/s^2 it costs 100x more."""
OFFSET = 0.3
"""Weight of the squared lateral offset from the route, per step."""
OTHER_LANE = 3.0
ONCOMING_LANE = 5.0
"""Cost per step partly in a same-direction neighbour lane / in the oncoming lane."""
OFF_ROAD = 1e4
"""Cost per m^2 past the drivable band, per step."""
OVERSPEED = 20.0
"""Cost per (m/s)^2 above the speed limit, per step."""
SWITCH = 10.0
"""Cost of changing the lateral target from the last plan's, per m."""
KIND_COST = {"emergency": 500.0, "yield": 0.0}
"""Extra cost of a maneuver kind."""
REACH_MARGIN_M = 2.0
"""Pairs whose centres are farther apart than their half diagonals plus this are not tested, m."""


def collision_costs(r: Rollouts, f: Forecast, ego: EgoState) -> tuple[np.ndarray, np.ndarray]:
    """(C,) expected collision cost and (C,) clearance cost against every mode of ``f``."""
    C, T = r.s.shape
    col = np.zeros(C)
    clear = np.zeros(C)
    live = f.prob > 0
    m_idx, k_idx = np.nonzero(live)
    if m_idx.size == 0:
        return col, clear
    op = f.poses[m_idx, k_idx]  # (Q, T, 3)
    p = f.prob[m_idx, k_idx]
    adv = f.adverse[m_idx, k_idx]
    ol, ow = f.size[m_idx, 0], f.size[m_idx, 1]
    reach = 0.5 * (np.hypot(ego.length, ego.width) + np.hypot(ol, ow)) + REACH_MARGIN_M + CLEARANCE_M
    for fallback in (False, True):
        q = np.flatnonzero(adv == fallback)
        if q.size == 0:
            continue
        xy = r.fb_xy if fallback else r.xy
        hd = r.fb_heading if fallback else r.heading
        v = r.fb_v if fallback else r.v
        lo, hi = xy.min(axis=0), xy.max(axis=0)  # (T, 2) box around every candidate at each instant
        oq = op[q]
        r_q = reach[q][:, None, None]
        close = ((oq[..., :2] > lo[None] - r_q) & (oq[..., :2] < hi[None] + r_q)).all(axis=2)
        pq, pt = np.nonzero(close)
        if pq.size == 0:
            continue
        dx = xy[:, pt, 0] - oq[pq, pt, 0][None]
        dy = xy[:, pt, 1] - oq[pq, pt, 1][None]
        near = dx * dx + dy * dy < (reach[q][pq] ** 2)[None]
        ci, pi = np.nonzero(near)
        if ci.size == 0:
            continue
        qi, ti = pq[pi], pt[pi]
        qq = q[qi]
        gap = box_gap(xy[ci, ti, 0], xy[ci, ti, 1], hd[ci, ti], ego.length, ego.width, op[qq, ti, 0], op[qq, ti, 1],
                      op[qq, ti, 2], ol[qq], ow[qq])
        speed = v[ci, ti]
        want = CLEARANCE_M + CLEARANCE_PER_MPS * speed
        np.add.at(clear, ci, p[qq] * CLEARANCE * np.maximum(want - gap, 0.0) ** 2)
        hit = gap <= 0.0
        if hit.any():
            key = ci[hit] * (q.size + 1) + qi[hit]
            first = np.unique(key, return_index=True)[1]
            h = np.flatnonzero(hit)[first]
            share = np.where(speed[h] > 0.1, 1.0, STOPPED_EGO_SHARE)
            late = 1.0 - 0.5 * r.t[ti[h]] / r.t[-1]
            np.add.at(col, ci[h], p[qq[h]] * COLLISION * (1.0 + speed[h]) * share * late)
    return col, clear


def road_costs(r: Rollouts, ref: ReferencePath, ego: EgoState) -> np.ndarray:
    """(C,) cost of where the rollouts drive: off the drivable band, in other lanes, off the route centre."""
    i = np.clip(np.searchsorted(ref.s, r.s), 0, ref.s.size - 1)
    half = 0.5 * ego.width
    hi, lo = r.d + half, r.d - half
    band_left = np.maximum(ref.left_oncoming[i], ref.left[i])
    out = OFF_ROAD * (np.maximum(hi - band_left, 0.0) ** 2 + np.maximum(ref.right[i] - lo, 0.0) ** 2).sum(axis=1)
    oncoming = (hi > ref.left[i] + 0.1) & (ref.left_oncoming[i] > ref.left[i])
    neighbour = ((hi > ref.own_left[i] + 0.3) | (lo < ref.own_right[i] - 0.3)) & ~oncoming
    out += ONCOMING_LANE * oncoming.sum(axis=1) + OTHER_LANE * neighbour.sum(axis=1)
    return out + OFFSET * (r.d ** 2).sum(axis=1) + OVERSPEED * (np.maximum(r.v - ref.speed_limit[i], 0.0) ** 2).sum(
        axis=1)


def comfort_costs(r: Rollouts) -> np.ndarray:
    """(C,) cost of longitudinal acceleration and jerk and of lateral acceleration."""
    dt = r.t[1] - r.t[0]
    jerk = np.diff(r.a, axis=1) / dt
    lat = np.abs(r.lat_accel)
    return (ACCEL * (r.a ** 2).sum(axis=1) + JERK * (jerk ** 2).sum(axis=1)
            + LAT_ACCEL * (lat ** 2).sum(axis=1) + 100.0 * LAT_ACCEL * (np.maximum(lat - LAT_ACCEL_MAX, 0) ** 2).sum(1))


def total_cost(c: Candidates, r: Rollouts, f: Forecast, ref: ReferencePath, ego: EgoState,
               previous_d: float | None) -> tuple[np.ndarray, dict]:
    """(C,) total cost and its parts by name."""
    col, clear = collision_costs(r, f, ego)
    parts = {"collision": col, "clearance": clear, "road": road_costs(r, ref, ego), "comfort": comfort_costs(r),
             "progress": -PROGRESS * (r.s[:, -1] - r.s[:, 0] + TAIL_S * r.v[:, -1])}
    kind = np.zeros(len(c))
    for name, cost in KIND_COST.items():
        kind[c.kind == MANEUVERS.index(name)] += cost
    parts["kind"] = kind
    if previous_d is not None:
        parts["switch"] = SWITCH * np.abs(c.d_target - previous_d)
    return sum(parts.values()), parts
