"""Several possible futures of every other road user, from what a privileged agent sees (``info["vector_space"]``
and ``info["map"]``), with probabilities.

``sim.traffic.prediction.predict`` needs the simulator's hidden traffic state (routes, driver styles), which an
agent does not see; this is a lighter model built on the same rules. A vehicle on a lane drives along it (and,
where the lane ends within reach, along each of its successors, one mode per branch, then the straightest
successors), with IDM (``sim.traffic.idm``, the traffic model's car following) behind the nearest road user
ahead on its lane, that leader held at its speed. Every road user also gets an adverse mode: braking at
ADVERSE_DECEL to a stop (checked against the ego's fallback, see ``maneuvers``). A vehicle standing still stays
(nominal) or pulls away (GO_ACCEL, also an adverse mode: the ego must be able to stop for it). Actors off the lanes (pedestrians, cyclists, trailers, a
scenario's puppets) move on at constant velocity.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.planning.roadmap import RoadMap
from sim.traffic.actor_classes import ACTOR_CODE
from sim.traffic.idm import idm_accel

ADVERSE_DECEL = 6.0
"""Deceleration of the adverse (braking) mode, m/s^2."""
ADVERSE_P = 0.2
"""Probability of the adverse mode."""
GO_ACCEL = 1.5
"""Acceleration of a standing vehicle's pull-away mode, m/s^2."""
GO_P = 0.2
"""Probability of the pull-away mode of a vehicle standing still (below STANDING_MPS)."""
STANDING_MPS = 1.0
"""A vehicle slower than this may pull away, m/s."""
LEADER_RANGE_M = 60.0
"""IDM leaders are looked for this far ahead on the lane, m."""
IDM = {"time_headway": 1.5, "min_gap": 2.5, "max_accel": 1.5, "comfort_decel": 2.0}
"""IDM parameters of the nominal mode (middle of the traffic spec's ranges)."""
MAX_MODES = 4
LANE_KINDS = tuple(range(6)) + (ACTOR_CODE["tractor"],)
"""Actor classes that follow lanes (traffic vehicles and semi tractors)."""


@dataclass(frozen=True, eq=False)
class Forecast:
    """M other road users over T+1 instants ``t`` (s, t[0] = 0): ``poses`` (M, K, T+1, 3) x m, y m, heading rad;
    ``prob`` (M, K), rows sum to 1 (padding modes 0); ``adverse`` (M, K) bool: the mode is checked against the
    ego's fallback trajectory; ``size`` (M, 2) length, width m; ``speed`` (M,) m/s now; ``column`` (M,) the
    actor's column in the actor table (-1 for a static obstacle)."""

    poses: np.ndarray
    prob: np.ndarray
    adverse: np.ndarray
    size: np.ndarray
    speed: np.ndarray
    column: np.ndarray
    t: np.ndarray


def forecast(road: RoadMap, vector_space: dict, t: np.ndarray, columns: np.ndarray, ego_s_lane=None) -> Forecast:
    """Futures of the actors in ``columns`` of the actor table and of the static obstacles.

    ``ego_s_lane`` (lane, s) places the ego on the lane graph as a possible IDM leader."""
    a = vector_space["actors"]
    T = t.size
    n = columns.size
    poses = np.zeros((n, MAX_MODES, T, 3))
    prob = np.zeros((n, MAX_MODES))
    adverse = np.zeros((n, MAX_MODES), bool)
    x, y, h, v = a["x"][columns], a["y"][columns], a["heading"][columns], a["speed"][columns]
    kind = a["kind"][columns]
    lane = a["lane"][columns].copy()
    vehicle = np.isin(kind, LANE_KINDS)
    need = vehicle & (lane < 0)
    if need.any():
        lane[need] = road.locate(np.stack([x[need], y[need]], axis=1), h[need])
    on_lane = vehicle & (lane >= 0)
    s_lane = np.zeros(n)
    d_lane = np.zeros(n)
    for i in np.flatnonzero(on_lane):
        s_lane[i], d_lane[i] = road.project(int(lane[i]), (x[i], y[i]))
    along = _idm_distance(road, a, columns, lane, s_lane, v, on_lane, t, ego_s_lane)
    brake = _profile(v, -ADVERSE_DECEL, t)
    go = _profile(v, GO_ACCEL, t, cap=np.maximum(road.speed_limit[np.maximum(lane, 0)], 1.0))
    for i in range(n):
        if not on_lane[i]:
            c, sn = np.cos(h[i]), np.sin(h[i])
            for k, dist in enumerate((v[i] * t, brake[i])):
                poses[i, k] = np.stack([x[i] + c * dist, y[i] + sn * dist, np.full(T, h[i])], axis=1)
            prob[i, :2] = (1.0 - ADVERSE_P, ADVERSE_P)
            adverse[i, 1] = True
            continue
        reach = float(max(along[i, -1], go[i, -1])) + 5.0
        branches = _paths(road, int(lane[i]), s_lane[i], reach)
        if v[i] < STANDING_MPS:
            modes = [(brake[i], 1.0 - ADVERSE_P - GO_P, False, branches[0]), (go[i], GO_P, True, branches[0])]
        else:
            modes = [(along[i], (1.0 - ADVERSE_P) / len(branches), False, b) for b in branches]
        modes.append((brake[i], ADVERSE_P, True, branches[0]))
        modes = modes[:MAX_MODES - 1] + modes[-1:] if len(modes) > MAX_MODES else modes
        total = sum(m[1] for m in modes)
        fade = np.exp(-t / 2.0)
        for k, (dist, p, adv, (pts, ps, ph)) in enumerate(modes):
            px = np.interp(dist, ps, pts[:, 0])
            py = np.interp(dist, ps, pts[:, 1])
            hh = np.interp(dist, ps, ph)
            off = d_lane[i] * fade
            poses[i, k] = np.stack([px - np.sin(hh) * off, py + np.cos(hh) * off, hh], axis=1)
            prob[i, k] = p / total
            adverse[i, k] = adv
    size = np.stack([a["length"][columns], a["width"][columns]], axis=1)
    poses, prob, adverse, size, speed, column = _with_obstacles(vector_space["obstacles"], poses, prob, adverse, size,
                                                                v, columns, T)
    return Forecast(poses, prob, adverse, size, speed, column, t)


def _profile(v: np.ndarray, accel: float, t: np.ndarray, cap=np.inf) -> np.ndarray:
    """(N, T) distance travelled from speeds ``v`` at constant ``accel`` (stopping at 0, capped at ``cap``)."""
    v = v[:, None]
    cap = np.broadcast_to(cap, v.shape[:1])[:, None] if np.ndim(cap) else cap
    if accel < 0:
        stop = v / -accel
        tt = np.minimum(t[None, :], stop)
        return v * tt + 0.5 * accel * tt ** 2
    reach = np.maximum(cap - v, 0.0) / accel
    tt = np.minimum(t[None, :], reach)
    return v * tt + 0.5 * accel * tt ** 2 + np.minimum(v + accel * tt, cap) * (t[None, :] - tt)


def _idm_distance(road, a, columns, lane, s_lane, v, on_lane, t, ego_s_lane) -> np.ndarray:
    """(N, T) distance travelled along their lanes by IDM vehicles behind their leaders (held at their speed)."""
    n = columns.size
    lead_gap = np.full(n, np.inf)
    lead_v = np.zeros(n)
    length = a["length"][columns]
    cand_lane, cand_s, cand_v, cand_len = list(lane[on_lane]), list(s_lane[on_lane]), list(v[on_lane]), \
        list(length[on_lane])
    if ego_s_lane is not None:
        cand_lane.append(ego_s_lane[0])
        cand_s.append(ego_s_lane[1])
        cand_v.append(float(a["speed"][0]))
        cand_len.append(float(a["length"][0]))
    cand_lane, cand_s, cand_v, cand_len = map(np.asarray, (cand_lane, cand_s, cand_v, cand_len))
    for i in np.flatnonzero(on_lane):
        ahead = (cand_lane == lane[i]) & (cand_s > s_lane[i] + 0.1) & (cand_s < s_lane[i] + LEADER_RANGE_M)
        if ahead.any():
            j = np.flatnonzero(ahead)[np.argmin(cand_s[ahead])]
            lead_gap[i] = cand_s[j] - s_lane[i] - 0.5 * (cand_len[j] + length[i])
            lead_v[i] = cand_v[j]
    desired = np.maximum(v, 0.8 * road.speed_limit[np.maximum(lane, 0)])
    dist = np.zeros((n, t.size))
    speed = v.copy()
    gap = lead_gap.copy()
    for k in range(1, t.size):
        dt = t[k] - t[k - 1]
        acc = idm_accel(speed, desired, np.maximum(gap, 0.1), speed - lead_v, IDM["time_headway"], IDM["min_gap"],
                        IDM["max_accel"], IDM["comfort_decel"])
        acc = np.clip(acc, -6.0, IDM["max_accel"])
        new = np.maximum(speed + acc * dt, 0.0)
        step = 0.5 * (speed + new) * dt
        dist[:, k] = dist[:, k - 1] + step
        gap = gap + (lead_v * dt - step)
        speed = new
    return dist


def _paths(road: RoadMap, lane: int, s0: float, reach: float) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Polylines (points (P,2), distance from s0 (P,), heading (P,)) along ``lane`` from ``s0`` and on through
    its successors for ``reach`` m: one per successor of the first lane that ends within reach (at most 3),
    the straightest successor after that."""
    pts, ls = road.centerline(lane)
    start = int(road.lane_start[lane])
    head = road.point_heading[start:start + pts.shape[0]]
    keep = ls >= s0
    base = (pts[keep], ls[keep] - s0, head[keep])
    left = float(ls[-1] - s0)
    succ = [int(c) for c in road.succ[lane] if c >= 0]
    if left >= reach or not succ:
        return [_extend(base, reach)]
    return [_chain(road, base, c, left, reach) for c in succ[:3]]


def _chain(road, base, lane, covered, reach):
    pieces = [base]
    while covered < reach and lane >= 0:
        pts, ls = road.centerline(lane)
        start = int(road.lane_start[lane])
        head = road.point_heading[start:start + pts.shape[0]]
        pieces.append((pts[1:], ls[1:] + covered, head[1:]))
        covered += float(ls[-1])
        succ = [int(c) for c in road.succ[lane] if c >= 0]
        if not succ:
            break
        end_h = head[-1]
        lane = min(succ, key=lambda c: abs(np.angle(np.exp(1j * (road.point_heading[road.lane_start[c]] - end_h)))))
    pts = np.concatenate([p[0] for p in pieces])
    ds = np.concatenate([p[1] for p in pieces])
    hh = np.unwrap(np.concatenate([p[2] for p in pieces]))
    return _extend((pts, ds, hh), reach)


def _extend(path, reach):
    """The path, run straight on past its end when shorter than ``reach`` (a dead end)."""
    pts, ds, hh = path
    if ds.size == 0:
        return np.zeros((2, 2)), np.array([0.0, 1.0]), np.zeros(2)
    if ds[-1] >= reach:
        return pts, ds, np.unwrap(hh)
    extra = reach - ds[-1] + 1.0
    end = pts[-1] + extra * np.array([np.cos(hh[-1]), np.sin(hh[-1])])
    return np.vstack([pts, end]), np.append(ds, ds[-1] + extra), np.append(np.unwrap(hh), hh[-1])


def _with_obstacles(obstacles, poses, prob, adverse, size, speed, columns, T):
    """Append the static on-lane obstacles (one mode, probability 1)."""
    valid = np.asarray(obstacles["valid"], bool)
    m = int(valid.sum())
    if m == 0:
        return poses, prob, adverse, size, speed, columns
    op = np.zeros((m, MAX_MODES, T, 3))
    op[:, 0, :, 0] = obstacles["xy"][valid, 0][:, None]
    op[:, 0, :, 1] = obstacles["xy"][valid, 1][:, None]
    op[:, 0, :, 2] = obstacles["heading"][valid][:, None]
    opr = np.zeros((m, MAX_MODES))
    opr[:, 0] = 1.0
    return (np.concatenate([poses, op]), np.concatenate([prob, opr]),
            np.concatenate([adverse, np.zeros((m, MAX_MODES), bool)]),
            np.concatenate([size, obstacles["size"][valid, :2]]), np.concatenate([speed, np.zeros(m)]),
            np.concatenate([columns, np.full(m, -1)]))


def add_static(f: Forecast, xy: np.ndarray, heading: np.ndarray, size: np.ndarray) -> Forecast:
    """``f`` with K standing boxes added (one mode, probability 1): centres ``xy`` (K, 2) m, ``heading`` (K,) rad,
    ``size`` (K, 2) length and width m (e.g. a stop line at a red light)."""
    T = f.t.size
    poses = np.zeros((len(xy), MAX_MODES, T, 3))
    poses[:, 0, :, :2] = xy[:, None, :]
    poses[:, 0, :, 2] = heading[:, None]
    prob = np.zeros((len(xy), MAX_MODES))
    prob[:, 0] = 1.0
    return Forecast(np.concatenate([f.poses, poses]), np.concatenate([f.prob, prob]),
                    np.concatenate([f.adverse, np.zeros(prob.shape, bool)]), np.concatenate([f.size, size]),
                    np.concatenate([f.speed, np.zeros(len(xy))]), np.concatenate([f.column, np.full(len(xy), -1)]), f.t)
