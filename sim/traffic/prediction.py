"""Prediction hooks for planners: several likely futures of every traffic vehicle, with probabilities.

``predict`` rolls the traffic model itself (``step_traffic``, the compiled kernels) forward ``samples`` times
from the current state. What an observer cannot see is drawn afresh for each sample: every vehicle's route
beyond its current lane (the same uniform successor choice traffic makes), the step draws behind lane-change
and route decisions, and optionally (``style_spread``) its driver style within the spec's ranges. The ego
and other obstacles follow a fixed plan. Per vehicle the samples are grouped by the lanes they drive through
(a sample that has not yet reached the next lane of another sample's sequence joins it), at most ``modes``
groups are kept (smaller ones join the nearest kept group) and each mode is its group's medoid rollout, with
the group's share of the samples as its probability.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from sim.traffic.lane_map import LaneMap
from sim.traffic.semis import traffic_rows
from sim.traffic.spec import TrafficSpec
from sim.traffic.state import TrafficState
from sim.traffic.traffic import Obstacles, _fill_path, step_traffic
from sim.traffic.vehicle_classes import ACCEL_SCALE

STYLE_FIELDS = ("speed_factor", "time_headway", "min_gap", "max_accel", "comfort_decel", "politeness")
"""Driver-style fields of TrafficState perturbed by ``style_spread``; each has a TrafficSpec range."""
_SPEC_RANGE = {"speed_factor": "desired_speed_factor", "time_headway": "time_headway_s", "min_gap": "min_gap_m",
               "max_accel": "max_accel_mps2", "comfort_decel": "comfort_decel_mps2", "politeness": "politeness"}


@dataclass(frozen=True, eq=False)
class Prediction:
    """Futures of N traffic vehicles over T instants (``t[0]`` = now), K modes each.

    ``trajectories`` (N, K, T, 3): x m, y m, heading rad; ``trajectories[:, :, 0]`` are the current poses.
    ``probabilities`` (N, K): most likely mode first, rows sum to 1; a padding mode has probability 0 and
    repeats mode 0. ``actor_index`` (N,) int: each vehicle's column in the env's actor table (traffic
    vehicle i is column 1 + i; column 0 is the ego). ``t`` (T,) s.
    """

    trajectories: np.ndarray
    probabilities: np.ndarray
    actor_index: np.ndarray
    t: np.ndarray


def predict(scene, state, *, rng: np.random.Generator, horizon_s: float = 5.0, dt: float = 0.1, samples: int = 16,
            modes: int = 3, style_spread: float = 0.0, spec: TrafficSpec = TrafficSpec(),
            ego_plan: Callable[[np.ndarray], np.ndarray] | None = None) -> Prediction:
    """Roll every traffic vehicle's likely futures ``horizon_s`` s ahead in steps of ``dt`` s.

    ``state`` is the env's ``SimState`` (with its ``Scene`` as ``scene``): the ego then drives on along its
    route at its current speed and on-lane props stay put (a scenario's puppets are left out). Or ``state``
    is ``(lane_map, TrafficState, Obstacles)`` (``scene`` unused): every obstacle keeps its speed along its
    lane. ``ego_plan(t)`` with t (T,) s returns (T, 4) x m, y m, heading rad, speed m/s of the ego (obstacle
    0) and replaces those rules for it. ``style_spread`` in [0, 1]: each sample shifts every driver-style
    field by up to this fraction of its ``spec`` range (uniformly, clipped to the range). Deterministic for
    a given ``rng``; draws one child generator per sample.
    """
    if not (horizon_s > 0 and dt > 0 and samples >= 1 and modes >= 1 and 0.0 <= style_spread <= 1.0):
        raise ValueError(f"predict: need horizon_s > 0, dt > 0, samples >= 1, modes >= 1, 0 <= style_spread <= 1; "
                         f"got {horizon_s=}, {dt=}, {samples=}, {modes=}, {style_spread=}")
    t = dt * np.arange(int(round(horizon_s / dt)) + 1)
    if isinstance(state, tuple):
        lmap, traffic, obstacles = state
        step0 = 0
        ego = _along_lanes(obstacles, t)
    else:
        lmap, traffic, step0 = scene.lane_map, state.traffic, state.step_index
        obstacles = _sim_obstacles(scene, state)
        ego = _along_route(state, t)
    if ego_plan is not None:
        ego = _located(lmap, np.asarray(ego_plan(t), dtype=np.float64).reshape(t.size, 4))
    future = [_obstacles_at(obstacles, ego, k, t[k]) for k in range(t.size)]
    xyh, lanes = _rollouts(lmap, traffic, future, ego, t, dt, step0, samples, style_spread, spec, rng)
    traj, prob = _modes(lmap, xyh, lanes, modes)
    return Prediction(traj, prob, 1 + np.arange(traffic.n), t)


def _rollouts(lmap, traffic, future, ego, t, dt, step0, samples, spread, spec, rng):
    """(S, T, N, 3) poses and (S, T, N) lanes of ``samples`` rollouts of the traffic model."""
    n = traffic.n
    xyh = np.empty((samples, t.size, n, 3))
    lanes = np.empty((samples, t.size, n), np.int64)
    xyh[:, 0] = traffic_rows(lmap, traffic)[:3].T
    lanes[:, 0] = traffic.lane
    if n == 0:
        return xyh, lanes
    for j, g in enumerate(rng.spawn(samples)):
        st = traffic.replace(path=_fill_path(lmap, traffic.lane, g, traffic.length), scripted=np.ones(n, bool),
                             **_styles(traffic, spread, spec, g))
        for k in range(1, t.size):
            st = step_traffic(lmap, st, future[k], dt, g, ego[k, :2], spec, step0 + k - 1)
            xyh[j, k] = traffic_rows(lmap, st)[:3].T
            lanes[j, k] = st.lane
    return xyh, lanes


def _styles(st: TrafficState, spread: float, spec: TrafficSpec, rng: np.random.Generator) -> dict:
    """Driver-style fields shifted by up to ``spread`` of their spec ranges (clipped to the ranges, widened
    to include a vehicle's own value); empty when ``spread`` is 0."""
    if spread == 0.0:
        return {}
    out = {}
    for name in STYLE_FIELDS:
        lo, hi = (np.full(st.n, v, dtype=np.float64) for v in getattr(spec, _SPEC_RANGE[name]))
        if name == "max_accel":
            lo, hi = lo * ACCEL_SCALE[st.kind], hi * ACCEL_SCALE[st.kind]
        value = getattr(st, name)
        shifted = value + spread * (hi - lo) * rng.uniform(-1.0, 1.0, st.n)
        out[name] = np.clip(shifted, np.minimum(lo, value), np.maximum(hi, value))
    return out


def _modes(lmap: LaneMap, xyh: np.ndarray, lanes: np.ndarray, modes: int):
    """Cluster the (S, T, N, 3) sampled poses of each vehicle into at most ``modes`` modes: (N, K, T, 3)
    trajectories and (N, K) probabilities."""
    s, t_len, n, _ = xyh.shape
    traj = np.empty((n, modes, t_len, 3))
    prob = np.zeros((n, modes))
    diff = xyh[:, None, :, :, :2] - xyh[None, :, :, :, :2]
    dist = np.hypot(diff[..., 0], diff[..., 1]).mean(axis=2)  # (S, S, N) mean distance between rollouts
    for i in range(n):
        groups = _lane_groups(lmap, lanes[:, :, i])
        d = dist[:, :, i]
        medoids = [g[int(np.argmin(d[np.ix_(g, g)].sum(axis=1)))] for g in groups]
        kept = sorted(range(len(groups)), key=lambda q: -len(groups[q]))[:modes]
        members = {q: list(groups[q]) for q in kept}
        for q in range(len(groups)):
            if q not in members:
                members[min(kept, key=lambda p: d[medoids[q], medoids[p]])] += groups[q]
        ranked = sorted(kept, key=lambda q: -len(members[q]))
        for k, q in enumerate(ranked):
            g = members[q]
            traj[i, k] = xyh[g[int(np.argmin(d[np.ix_(g, g)].sum(axis=1)))], :, i]
            prob[i, k] = len(g) / s
        traj[i, len(ranked):] = traj[i, 0]
    return traj, prob


def _lane_groups(lmap: LaneMap, lanes: np.ndarray) -> list[list[int]]:
    """Sample indices grouped by the lane sequence each (T,) row of ``lanes`` (S, T) drives through; a
    sequence that another one continues along a successor joins the largest such group."""
    groups: dict[tuple, list[int]] = {}
    for j, row in enumerate(lanes):
        groups.setdefault(tuple(row[np.r_[True, row[1:] != row[:-1]]].tolist()), []).append(j)
    for seq in sorted(groups, key=len):
        longer = [b for b in groups if len(b) > len(seq) and b[:len(seq)] == seq and b[len(seq)] in lmap.succ[seq[-1]]]
        if longer:
            groups[max(longer, key=lambda b: len(groups[b]))] += groups.pop(seq)
    return [sorted(g) for g in groups.values()]


def _sim_obstacles(scene, state) -> Obstacles:
    """The ego (on its route lane) and the on-lane props of a SimState, as traffic sees them."""
    route, i = state.route, state.route_index
    on = scene.prop_lane >= 0
    m = int(on.sum())
    ego = state.ego
    return Obstacles(
        lane=np.concatenate([[int(route.point_lane[i])], scene.prop_lane[on]]).astype(np.int64),
        lane2=np.full(1 + m, -1, np.int64),
        s=np.concatenate([[route.point_lane_s[i] + state.progress_m - route.s[i]], scene.prop_s[on]]),
        speed=np.concatenate([ego.speed[:1], np.zeros(m)]),
        length=np.concatenate([[state.actors.length[0]], scene.obstacle_size[:, 0]]),
        xy=np.concatenate([[[ego.x[0], ego.y[0]]], scene.obstacle_xy]),
    )


def _along_route(state, t: np.ndarray) -> np.ndarray:
    """(T, 6) plan of the ego (x, y, heading, speed, lane id, lane s) driving on along its route at its
    current speed."""
    route = state.route
    v = float(state.ego.speed[0])
    s = state.progress_m + v * t
    xy, heading = route.sample(s)
    i = np.clip(np.searchsorted(route.s, s, side="right") - 1, 0, route.s.size - 1)
    lane_s = route.point_lane_s[i] + s - route.s[i]
    return np.column_stack([xy, heading, np.full(t.size, v), route.point_lane[i], lane_s])


def _along_lanes(obstacles: Obstacles, t: np.ndarray) -> np.ndarray:
    """(T, 6) plan of obstacle 0 keeping its speed along its lane (x, y held: they only place recycled
    vehicles)."""
    if obstacles.lane.size == 0:
        return np.zeros((t.size, 6))
    v = float(obstacles.speed[0])
    x, y = obstacles.xy[0]
    return np.column_stack([np.full(t.size, x), np.full(t.size, y), np.zeros(t.size), np.full(t.size, v),
                            np.full(t.size, obstacles.lane[0]), obstacles.s[0] + v * t])


def _located(lmap: LaneMap, plan: np.ndarray) -> np.ndarray:
    """(T, 6) plan: the (T, 4) x, y, heading, speed of ``plan`` plus lane id and lane s from the lane graph."""
    lane, s, _ = lmap.graph.locate(plan[:, :2], plan[:, 2])
    return np.column_stack([plan, lane, s])


def _obstacles_at(obstacles: Obstacles, ego: np.ndarray, k: int, t: float) -> Obstacles:
    """The obstacles at time ``t``: obstacle 0 (the ego) at row ``k`` of its (T, 6) plan, the others moved
    along their lanes at their speeds."""
    if obstacles.lane.size == 0:
        return obstacles
    s = obstacles.s + obstacles.speed * t
    lane = obstacles.lane.copy()
    speed = obstacles.speed.copy()
    xy = obstacles.xy.copy()
    xy[0], speed[0], lane[0], s[0] = ego[k, :2], ego[k, 3], int(ego[k, 4]), ego[k, 5]
    return Obstacles(lane=lane, lane2=obstacles.lane2, s=s, speed=speed, length=obstacles.length, xy=xy)


VRU_KEEP, VRU_CROSS, VRU_STOP = range(3)
"""Futures of a pedestrian or cyclist (``predict_vrus``): keep going its way at its speed (walking on along its
sidewalk or across its link, riding on along its lane and the next), cross now (a pedestrian waiting at a kerb,
or heading for a crossing, walks straight across it at its desired speed), stop (brakes to a stand)."""
VRU_ODDS = {"walk": (0.8, 0.0, 0.2), "walk to cross": (0.1, 0.7, 0.2), "cross": (0.85, 0.0, 0.15),
            "ride": (0.85, 0.0, 0.15)}
"""Probabilities of (keep, cross now, stop) by what a VRU is doing; a pedestrian waiting at a kerb crosses now
with VRU_WAIT_CROSS (low, high): low when it just arrived, high once it has waited its patience."""
VRU_WAIT_CROSS = (0.3, 0.7)


def predict_vrus(scene, state, *, horizon_s: float = 5.0, dt: float = 0.1) -> Prediction:
    """Several futures of every pedestrian and cyclist of the env's ``SimState`` ``state`` (its ``Scene`` as
    ``scene``), with probabilities: modes VRU_KEEP, VRU_CROSS (pedestrians at or heading for a crossing only)
    and VRU_STOP, most likely first (VRU_ODDS; a mode that does not apply is padding: probability 0, a copy of
    mode 0). Pedestrians stop at sim.traffic.vru_kernels.WALK_DECEL, cyclists at CYCLE_IDM_DECEL. Rows are the
    valid VRUs; ``actor_index`` their columns in the env's actor table. Deterministic (no draws)."""
    from sim.traffic import vru_kernels as VK

    if not (horizon_s > 0 and dt > 0):
        raise ValueError(f"predict_vrus: need horizon_s > 0 and dt > 0; got {horizon_s=}, {dt=}")
    t = dt * np.arange(int(round(horizon_s / dt)) + 1)
    vrus, net, lanes = state.vrus, scene.walks, scene.world.lanes
    rows = np.flatnonzero(vrus.valid)
    traj = np.empty((rows.size, 3, t.size, 3))
    prob = np.zeros((rows.size, 3))
    for k, r in enumerate(rows):
        v = float(vrus.speed[r])
        ped = vrus.kind[r] == 0
        decel = VK.WALK_DECEL if ped else VK.CYCLE_IDM_DECEL
        keep = v * t
        stop = np.where(t < v / decel, v * t - 0.5 * decel * t * t, 0.5 * v * v / decel)
        if not ped:
            path = _ride_path(lanes, vrus, r)
            odds = VRU_ODDS["ride"]
        elif vrus.mode[r] == VK.WALK:
            path = _walk_path(net, vrus, r)
            odds = VRU_ODDS["walk"]
        else:
            link, dr = int(vrus.path[r]), int(vrus.direction[r])
            path = _polyline([[vrus.x[r], vrus.y[r]], net.b[link] if dr > 0 else net.a[link]])
            odds = VRU_ODDS["cross"]
        traj[k, VRU_KEEP] = _along(path, keep)
        traj[k, VRU_STOP] = _along(path, stop)
        cross = _crossing(net, vrus, r) if ped else None
        if cross is not None:
            traj[k, VRU_CROSS] = _along(cross, float(vrus.desired_speed[r]) * t)
            if vrus.mode[r] == VK.WAIT:
                share = min(float(vrus.wait[r]) / max(float(vrus.patience[r]), 1e-6), 1.0)
                p_cross = VRU_WAIT_CROSS[0] + share * (VRU_WAIT_CROSS[1] - VRU_WAIT_CROSS[0])
                odds = (0.0, p_cross, 1.0 - p_cross)
            else:
                odds = VRU_ODDS["walk to cross"]
        prob[k] = odds
        order = np.argsort(-prob[k], kind="stable")
        traj[k], prob[k] = traj[k, order], prob[k, order]
        traj[k, prob[k] == 0.0] = traj[k, 0]
    first = 1 + state.traffic.n + state.semis.owner.size
    return Prediction(traj, prob, first + rows, t)


def _polyline(points) -> np.ndarray:
    """(P, 3) x, y and arc length of a polyline through ``points`` (P, 2), repeated points dropped."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    keep = np.r_[True, np.hypot(*np.diff(p, axis=0).T) > 1e-9]
    p = p[keep]
    return np.column_stack([p, np.r_[0.0, np.cumsum(np.hypot(*np.diff(p, axis=0).T))]])


def _along(path: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """(T, 3) x, y, heading at arc lengths ``dist`` (T,) along ``path`` ((P, 3) ``_polyline``; held at its end;
    a single point: standing, heading 0)."""
    if path.shape[0] < 2:
        return np.column_stack([np.full((dist.size, 2), path[0, :2]), np.zeros(dist.size)])
    d = np.clip(dist, 0.0, path[-1, 2])
    j = np.clip(np.searchsorted(path[:, 2], d, side="right") - 1, 0, path.shape[0] - 2)
    seg = path[j + 1, :2] - path[j, :2]
    f = ((d - path[j, 2]) / np.maximum(path[j + 1, 2] - path[j, 2], 1e-12))[:, None]
    return np.column_stack([path[j, :2] + f * seg, np.arctan2(seg[:, 1], seg[:, 0])])


def _walk_path(net, vrus, r: int) -> np.ndarray:
    """The sidewalk line of walking pedestrian ``r`` from where it is, its way, at its lateral offset."""
    line = int(vrus.path[r])
    a, n = net.line_start[line], net.line_count[line]
    pts, u = net.points[a:a + n], net.u[a:a + n]
    ahead = u > vrus.along[r] if vrus.direction[r] > 0 else u < vrus.along[r]
    seq = pts[ahead] if vrus.direction[r] > 0 else pts[ahead][::-1]
    tang = np.gradient(pts, axis=0)
    tang /= np.maximum(np.hypot(tang[:, 0], tang[:, 1]), 1e-12)[:, None]
    normal = np.stack([-tang[:, 1], tang[:, 0]], axis=1)
    shift = (normal[ahead] if vrus.direction[r] > 0 else normal[ahead][::-1]) * vrus.offset[r]
    return _polyline(np.concatenate([[[vrus.x[r], vrus.y[r]]], seq + shift]))


def _crossing(net, vrus, r: int):
    """Path straight across the crossing link pedestrian ``r`` waits at or walks towards (to its near end first),
    None when there is none (corner links are sidewalk, not crossings)."""
    from sim.traffic import vru_kernels as VK
    from sim.traffic.vru_network import CORNER

    if vrus.mode[r] == VK.WAIT:
        link, dr = int(vrus.path[r]), int(vrus.direction[r])
        return _polyline([[vrus.x[r], vrus.y[r]], net.b[link] if dr > 0 else net.a[link]])
    link = int(vrus.target[r])
    if vrus.mode[r] != VK.WALK or link < 0 or net.kind[link] == CORNER:
        return None
    near_a = net.line[link, 0] == vrus.path[r]
    near, far = (net.a[link], net.b[link]) if near_a else (net.b[link], net.a[link])
    return _polyline([[vrus.x[r], vrus.y[r]], near, far])


def _ride_path(lanes, vrus, r: int) -> np.ndarray:
    """The lane of cyclist ``r`` from where it is on, then its next lane, at its lateral offset."""
    parts = [[[vrus.x[r], vrus.y[r]]]]
    for lane, start in ((int(vrus.path[r]), float(vrus.along[r])), (int(vrus.target[r]), 0.0)):
        if lane < 0:
            break
        s = np.arange(start, lanes.lane_length[lane], 1.0)[1:]
        if s.size:
            xy, _ = lanes.cartesian(np.full(s.size, lane), s, np.full(s.size, float(vrus.offset[r])))
            parts.append(xy)
    return _polyline(np.concatenate(parts))
