"""Traffic v1: spawning, IDM car following with look-ahead over the lane graph, MOBIL lane changes,
first-come junction yielding, and recycling of vehicles that fall far behind the ego.

Everything is vectorised over vehicles; the only Python loops run over the (few) lanes of a path.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.traffic.idm import idm_accel
from sim.traffic.lane_map import LaneMap
from sim.traffic.spec import TrafficSpec
from sim.traffic.state import PATH_LEN, TrafficState
from sim.traffic.vehicle_classes import ACCEL_SCALE, sample_classes

MAX_DECEL = 8.0
"""Hardest braking a traffic vehicle applies, m/s^2."""
JERK_LIMIT = 4.0
"""Comfortable |jerk| bound applied unless braking harder than the comfortable deceleration, m/s^3."""
LANE_CHANGE_OMEGA = 0.9
"""Natural frequency of the critically damped lateral motion of a lane change, rad/s."""
LC_THRESHOLD = 0.25
"""MOBIL acceleration gain needed to change lane, m/s^2."""
KEEP_RIGHT_BIAS = 0.15
"""MOBIL bias towards the right lane, m/s^2."""
SAFE_DECEL = 3.0
"""MOBIL safety: the new follower must not have to brake harder than this, m/s^2."""
LC_COOLDOWN_S = 4.0
JUNCTION_LOOKAHEAD_M = 40.0
DECIDE_EVERY = 5
"""Control steps between lane-change decisions."""
RECYCLE_EVERY = 10
"""Control steps between checks for vehicles to recycle."""
MANDATORY_LC_M = 150.0
"""A vehicle whose lane ends within this distance changes lane with high urgency, m."""


@dataclass(frozen=True)
class Obstacles:
    """Actors that are not traffic but that traffic must respect: the ego and on-lane props.

    Shapes (M,). ``lane`` is -1 for an obstacle off the lane graph. ``lane2`` is a second lane the obstacle
    also occupies (straddling a lane line), -1 none.
    """

    lane: np.ndarray
    lane2: np.ndarray
    s: np.ndarray
    speed: np.ndarray
    length: np.ndarray
    xy: np.ndarray  # (M, 2)


def _choose_next(lmap: LaneMap, lanes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random successor of each lane (-1 where a lane has none or is -1)."""
    safe = np.maximum(lanes, 0)
    n = np.where(lanes >= 0, lmap.n_succ[safe], 0)
    pick = np.floor(rng.random(lanes.shape[0]) * np.maximum(n, 1)).astype(np.int64)
    return np.where(n > 0, lmap.succ[safe, pick], -1)


def _fill_path(lmap: LaneMap, lane: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    path = np.empty((lane.shape[0], PATH_LEN), dtype=np.int64)
    path[:, 0] = lane
    for k in range(1, PATH_LEN):
        path[:, k] = _choose_next(lmap, path[:, k - 1], rng)
    return path


def _sample_free_spots(lmap, rng, centre, n, radius, occupied_xy, min_gap):
    """Up to ``n`` (lane, s) spots on spawnable lanes at ``radius`` from ``centre``, ``min_gap`` apart."""
    lg = lmap.graph
    idx = np.asarray(lmap.spawn_tree.query_ball_point(centre, radius[1]), dtype=np.int64)
    pts = lmap.spawn_points[np.sort(idx)]
    pts = pts[np.hypot(*(lg.points[pts] - centre).T) >= radius[0]]
    pts = pts[rng.permutation(pts.size)[: 50 * max(n, 1)]]
    xy = lg.points[pts]
    occupied = np.asarray(occupied_xy, dtype=float).reshape(-1, 2)
    if occupied.size:
        far = np.min(np.hypot(xy[:, None, 0] - occupied[None, :, 0], xy[:, None, 1] - occupied[None, :, 1]), axis=1)
        pts, xy = pts[far >= min_gap], xy[far >= min_gap]
    chosen = []
    while pts.size and len(chosen) < n:
        chosen.append(pts[0])
        keep = np.hypot(*(xy - xy[0]).T) >= min_gap
        pts, xy = pts[keep], xy[keep]
    chosen = np.asarray(chosen, dtype=np.int64)
    return lg.point_lane[chosen].astype(np.int64), lg.point_s[chosen].astype(float)


def spawn_traffic(lmap: LaneMap, spec: TrafficSpec, rng: np.random.Generator, ego_xy, ego_length=4.6) -> TrafficState:
    """Place ``spec.count`` vehicles on free lane spots around the ego, with sampled classes and styles."""
    lane, s = _sample_free_spots(lmap, rng, np.asarray(ego_xy, float), spec.count, spec.spawn_radius_m,
                                 np.asarray(ego_xy, float)[None], min_gap=max(14.0, ego_length + 9.0))
    n = lane.size
    kind, length, width, height, colour = sample_classes(rng, n, spec.class_weights)

    def u(r):
        return r[0] + rng.random(n) * (r[1] - r[0])

    speed_factor = u(spec.desired_speed_factor)
    max_accel = u(spec.max_accel_mps2) * ACCEL_SCALE[kind]
    state = TrafficState(
        lane=lane, path=_fill_path(lmap, lane, rng), s=s, d=np.zeros(n), d_rate=np.zeros(n),
        speed=speed_factor * lmap.speed_limit[lane] * u((0.5, 1.0)), accel=np.zeros(n),
        lc_from=np.full(n, -1, np.int64), lc_cooldown=np.zeros(n), kind=kind, length=length, width=width,
        height=height, colour=colour, speed_factor=speed_factor, time_headway=u(spec.time_headway_s),
        min_gap=u(spec.min_gap_m), max_accel=max_accel, comfort_decel=u(spec.comfort_decel_mps2),
        politeness=u(spec.politeness),
    )
    return state


def traffic_poses(lmap: LaneMap, state: TrafficState):
    """World poses of traffic vehicles: (x (N,), y (N,), heading (N,))."""
    xy, heading = lmap.graph.cartesian(state.lane, state.s, state.d)
    heading = heading + np.arctan2(state.d_rate, np.maximum(state.speed, 1.0))
    return xy[:, 0], xy[:, 1], heading


def _candidates(lmap: LaneMap, st: TrafficState, obs: Obstacles):
    """Flatten everything that can lead a vehicle into (lane, s, speed, half length, owner) arrays.

    A traffic vehicle in a lane change also occupies the lane it is leaving; ``owner`` is the
    vehicle index for traffic entries and -1 for obstacles.
    """
    n = st.n
    leaving = (st.lc_from >= 0) & (np.abs(st.d) > 0.3 * lmap.width[st.lane])
    li = np.flatnonzero(leaving)
    s_from = st.s[li] * lmap.length[st.lc_from[li]] / lmap.length[st.lane[li]]
    o2 = obs.lane2 >= 0
    lane = np.concatenate([st.lane, st.lc_from[li], obs.lane, obs.lane2[o2]])
    s = np.concatenate([st.s, s_from, obs.s, obs.s[o2]])
    speed = np.concatenate([st.speed, st.speed[li], obs.speed, obs.speed[o2]])
    half = 0.5 * np.concatenate([st.length, st.length[li], obs.length, obs.length[o2]])
    owner = np.concatenate([np.arange(n), li, np.full(obs.lane.size + int(o2.sum()), -1)])
    return lane, s, speed, half, owner


def _path_offsets(lmap: LaneMap, path: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Distance from each vehicle to the start of each path lane; column PATH_LEN is the path end (N, PATH_LEN+1)."""
    lengths = np.where(path >= 0, lmap.length[np.maximum(path, 0)], 0.0)
    valid = np.cumprod(path >= 0, axis=1).astype(bool)
    lengths = np.where(valid, lengths, 0.0)
    off = np.zeros((path.shape[0], PATH_LEN + 1))
    off[:, 1:] = np.cumsum(lengths, axis=1)
    return off - s[:, None]


def _leader_gaps(path, off, s, half_self, cand):
    """Bumper gap and leader speed along each vehicle's path, (N,), inf / 0 where none."""
    c_lane, c_s, c_speed, c_half, c_owner = cand
    n = path.shape[0]
    dist = np.full((n, c_lane.size), np.inf)
    for k in range(PATH_LEN):
        match = path[:, k : k + 1] == c_lane[None, :]
        ahead = off[:, k : k + 1] + c_s[None, :]
        ok = match & (ahead > 0.0) & (c_owner[None, :] != np.arange(n)[:, None])
        dist = np.where(ok & (ahead < dist), ahead, dist)
    j = np.argmin(dist, axis=1) if c_lane.size else np.zeros(n, np.int64)
    centre = dist[np.arange(n), j] if c_lane.size else np.full(n, np.inf)
    gap = centre - half_self - (c_half[j] if c_lane.size else 0.0)
    lead_speed = np.where(np.isfinite(centre), c_speed[j] if c_lane.size else 0.0, 0.0)
    return gap, lead_speed


def _junction_stops(lmap: LaneMap, st: TrafficState, off, obs: Obstacles):
    """Distance to a junction entry where each vehicle must wait (inf where it may go).

    First come, first served: a vehicle waits when a conflicting connector is occupied, or when
    another vehicle reaches a conflicting connector earlier. A vehicle that can no longer stop
    comfortably is committed and goes.
    """
    n = st.n
    nxt = st.path[:, 1]
    entry = np.maximum(nxt, 0)
    has = (nxt >= 0) & lmap.in_junction[entry] & ~lmap.in_junction[st.lane]
    dist = np.where(has, off[:, 1], np.inf)
    approaching = has & (dist < JUNCTION_LOOKAHEAD_M)
    if not approaching.any():
        return np.full(n, np.inf)
    occupied = np.concatenate([st.lane[lmap.in_junction[st.lane]], obs.lane[(obs.lane >= 0)]])
    blocked = lmap.conflict[np.ix_(entry, occupied)].any(axis=1) if occupied.size else np.zeros(n, bool)
    tte = dist / np.maximum(st.speed, 1.0)
    committed = dist < st.speed**2 / (2.0 * st.comfort_decel) + 1.0
    first = (tte[None, :] < tte[:, None]) | ((tte[None, :] == tte[:, None]) & (np.arange(n)[None, :] < np.arange(n)[:, None]))
    rival = lmap.conflict[np.ix_(entry, entry)] & approaching[None, :] & (first | committed[None, :])
    wait = approaching & ~committed & (blocked | rival.any(axis=1))
    return np.where(wait, dist, np.inf)


def _accel(lmap, st, gap, lead_speed, lane):
    limit = lmap.speed_limit[lane]
    return idm_accel(st.speed, st.speed_factor * limit, gap, st.speed - lead_speed, st.time_headway,
                     st.min_gap, st.max_accel, st.comfort_decel)


def _lane_changes(lmap: LaneMap, st: TrafficState, cand, a_now, end_gap):
    """MOBIL: target lane per vehicle (-1 stay) and the acceleration it would have there."""
    n = st.n
    c_lane, c_s, c_speed, c_half, c_owner = cand
    eligible = (st.lc_from < 0) & (st.lc_cooldown <= 0.0) & ~lmap.in_junction[st.lane] & (st.speed > 2.0)
    best_gain = np.full(n, -np.inf)
    target = np.full(n, -1, np.int64)
    a_target = a_now.copy()
    urgent = end_gap < MANDATORY_LC_M
    half_self = 0.5 * st.length
    for side, bias in ((lmap.left, -KEEP_RIGHT_BIAS), (lmap.right, KEEP_RIGHT_BIAS)):
        tl = side[st.lane]
        ok = eligible & (tl >= 0)
        if not ok.any():
            continue
        tls = np.maximum(tl, 0)
        s_t = st.s * lmap.length[tls] / lmap.length[st.lane]
        same = (c_lane[None, :] == tl[:, None]) & (c_owner[None, :] != np.arange(n)[:, None])
        rel = c_s[None, :] - s_t[:, None]
        ahead = np.where(same & (rel > 0), rel, np.inf)
        behind = np.where(same & (rel <= 0), -rel, np.inf)
        jl = np.argmin(ahead, axis=1) if c_lane.size else np.zeros(n, np.int64)
        jf = np.argmin(behind, axis=1) if c_lane.size else np.zeros(n, np.int64)
        rows = np.arange(n)
        lead_gap = ahead[rows, jl] - half_self - c_half[jl] if c_lane.size else np.full(n, np.inf)
        fol_gap = behind[rows, jf] - half_self - c_half[jf] if c_lane.size else np.full(n, np.inf)
        lead_speed = np.where(np.isfinite(lead_gap), c_speed[jl] if c_lane.size else 0.0, 0.0)
        ends = lmap.n_succ[tls] == 0
        lane_end_gap = np.where(ends, lmap.length[tls] - s_t - half_self, np.inf)
        lead_gap = np.minimum(lead_gap, lane_end_gap)
        lead_speed = np.where(lane_end_gap <= lead_gap, 0.0, lead_speed)
        a_new = _accel(lmap, st, lead_gap, lead_speed, tls)
        has_f = np.isfinite(fol_gap)
        f_owner = c_owner[jf] if c_lane.size else np.full(n, -1)
        f_idx = np.maximum(f_owner, 0)
        f_speed = np.where(has_f, c_speed[jf] if c_lane.size else 0.0, 0.0)
        f_new = np.where(
            has_f & (f_owner >= 0),
            idm_accel(f_speed, st.speed_factor[f_idx] * lmap.speed_limit[tls], fol_gap, f_speed - st.speed,
                      st.time_headway[f_idx], st.min_gap[f_idx], st.max_accel[f_idx], st.comfort_decel[f_idx]),
            0.0,
        )
        f_old = np.where(has_f & (f_owner >= 0), st.accel[f_idx], 0.0)
        safe = (lead_gap > 1.0) & (fol_gap > 1.0) & (f_new > -SAFE_DECEL) & ~(has_f & (f_owner < 0) & (fol_gap < 15.0))
        gain = a_new - a_now + st.politeness * (f_new - f_old) + bias
        gain = gain + 5.0 * (urgent & ~ends)
        take = ok & safe & (gain > LC_THRESHOLD) & (gain > best_gain)
        best_gain = np.where(take, gain, best_gain)
        target = np.where(take, tl, target)
        a_target = np.where(take, a_new, a_target)
    return target, a_target


def step_traffic(lmap: LaneMap, st: TrafficState, obs: Obstacles, dt: float, rng: np.random.Generator,
                 ego_xy, spec: TrafficSpec, step_index: int) -> TrafficState:
    """Advance traffic by ``dt`` seconds: accelerate, change lanes, move, recycle.

    Drivers reconsider lanes every ``DECIDE_EVERY`` steps and far vehicles are recycled every
    ``RECYCLE_EVERY`` steps (``step_index`` counts control steps since reset).
    """
    n = st.n
    if n == 0:
        return st
    cand = _candidates(lmap, st, obs)
    off = _path_offsets(lmap, st.path, st.s)
    half = 0.5 * st.length
    gap, lead_speed = _leader_gaps(st.path, off, st.s, half, cand)
    end_gap = off[:, PATH_LEN] - half
    dead_end = np.cumprod(st.path >= 0, axis=1).sum(axis=1) < PATH_LEN
    end_gap = np.where(dead_end, end_gap, np.inf)
    stop_gap = _junction_stops(lmap, st, off, obs) - half - 1.0
    stop = np.minimum(end_gap, stop_gap)
    lead_speed = np.where(stop < gap, 0.0, lead_speed)
    gap = np.minimum(gap, stop)
    a = _accel(lmap, st, gap, lead_speed, st.lane)

    if step_index % DECIDE_EVERY == 0:
        target, a_target = _lane_changes(lmap, st, cand, a, end_gap)
    else:
        target, a_target = np.full(n, -1, np.int64), a
    moving = target >= 0
    lane, path, s, d, lc_from = st.lane, st.path, st.s, st.d, st.lc_from
    cooldown = np.maximum(st.lc_cooldown - dt, 0.0)
    if moving.any():
        tl = np.maximum(target, 0)
        shift = 0.5 * (lmap.width[st.lane] + lmap.width[tl]) * np.where(lmap.left[st.lane] == target, -1.0, 1.0)
        s = np.where(moving, st.s * lmap.length[tl] / lmap.length[st.lane], st.s)
        d = np.where(moving, st.d + shift, st.d)
        lc_from = np.where(moving, st.lane, st.lc_from)
        lane = np.where(moving, target, st.lane)
        new_path = _fill_path(lmap, lane, rng)
        path = np.where(moving[:, None], new_path, st.path)
        cooldown = np.where(moving, LC_COOLDOWN_S, cooldown)
        a = np.where(moving, a_target, a)

    comfy = a >= -st.comfort_decel
    a = np.where(comfy, np.clip(a, st.accel - JERK_LIMIT * dt, st.accel + JERK_LIMIT * dt), a)
    a = np.clip(a, -MAX_DECEL, st.max_accel)
    speed = np.maximum(st.speed + a * dt, 0.0)
    s = s + 0.5 * (st.speed + speed) * dt
    w2 = LANE_CHANGE_OMEGA**2
    d_rate = st.d_rate + dt * (-2.0 * LANE_CHANGE_OMEGA * st.d_rate - w2 * d)
    d = d + dt * d_rate
    settled = (np.abs(d) < 0.05) & (np.abs(d_rate) < 0.05)
    lc_from = np.where(settled, -1, lc_from)

    over = s > lmap.length[lane]
    if over.any():
        nxt = path[:, 1]
        go = over & (nxt >= 0)
        s = np.where(go, s - lmap.length[lane], np.minimum(s, lmap.length[lane]))
        speed = np.where(over & ~go, 0.0, speed)
        tail = _choose_next(lmap, path[:, PATH_LEN - 1], rng)
        shifted = np.concatenate([path[:, 1:], tail[:, None]], axis=1)
        path = np.where(go[:, None], shifted, path)
        lane = path[:, 0]
        lc_from = np.where(go, -1, lc_from)
    st = st.replace(lane=lane, path=path, s=s, d=d, d_rate=d_rate, speed=speed, accel=a, lc_from=lc_from,
                    lc_cooldown=cooldown)
    if step_index % RECYCLE_EVERY == RECYCLE_EVERY - 1:
        st = _recycle(lmap, st, rng, np.asarray(ego_xy, float), obs, spec)
    return st


def _recycle(lmap, st, rng, ego_xy, obs, spec):
    """Respawn vehicles that are too far from the ego, or stuck at a dead end, near the ego."""
    x, y, _ = traffic_poses(lmap, st)
    far = np.hypot(x - ego_xy[0], y - ego_xy[1]) > spec.recycle_radius_m
    stuck = (st.path[:, 1] < 0) & (st.speed < 0.1)
    gone = np.flatnonzero(far | stuck)
    if gone.size == 0:
        return st
    keep = np.setdiff1d(np.arange(st.n), gone)
    occupied = np.concatenate([np.stack([x[keep], y[keep]], axis=1), obs.xy, ego_xy[None]])
    lo = 0.5 * (spec.spawn_radius_m[1] + spec.recycle_radius_m) - 40.0
    lane, s = _sample_free_spots(lmap, rng, ego_xy, gone.size, (max(lo, spec.spawn_radius_m[0]), spec.recycle_radius_m - 10.0),
                                 occupied, min_gap=15.0)
    gone = gone[: lane.size]
    if gone.size == 0:
        return st
    arr = st.arrays()
    arr["lane"] = arr["lane"].copy()
    arr["lane"][gone] = lane
    path = arr["path"].copy()
    path[gone] = _fill_path(lmap, lane, rng)
    arr["path"] = path
    for name, value in (("s", s), ("d", 0.0), ("d_rate", 0.0), ("accel", 0.0), ("lc_from", -1), ("lc_cooldown", 0.0)):
        arr[name] = arr[name].copy()
        arr[name][gone] = value
    arr["speed"] = arr["speed"].copy()
    arr["speed"][gone] = st.speed_factor[gone] * lmap.speed_limit[lane] * 0.8
    return TrafficState(**arr)
