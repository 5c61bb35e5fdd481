"""Traffic: spawning, IDM car following with look-ahead over the lane graph and a per-driver reaction delay,
MOBIL lane changes, right of way at junctions (lights, stop and yield signs, gap acceptance, creeping, no
blocking of the box), going around stationary obstacles, and recycling of vehicles that fall far behind the ego.

The per-step work runs in compiled kernels (``sim.traffic.kernels``); this module holds the Python
entry points, spawning and recycling.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.traffic import kernels as K
from sim.traffic.lane_map import LaneMap
from sim.traffic.spec import TrafficSpec
from sim.traffic.state import PATH_LEN, TrafficState
from sim.traffic.styles import sample_styles
from sim.traffic.vehicle_classes import PALETTE, sample_classes, sample_sizes
from sim.traffic.yielding import Walkers

RECYCLE_EVERY = 10
"""Control steps between checks for vehicles to recycle."""
DECIDE_EVERY = 5
"""Control steps between lane-change decisions."""
OBSTACLE_WIDTH_M = 2.0
"""Width of an obstacle given without one, m."""
NO_WALKERS = Walkers.none()


@dataclass(frozen=True)
class Obstacles:
    """Actors that are not traffic but that traffic must respect: the ego and on-lane props.

    Shapes (M,). ``lane`` is -1 for an obstacle off the lane graph. ``lane2`` is a second lane the obstacle
    also occupies as a whole, -1 none. ``xy`` gives its offset from the lane centre (an ``xy`` more than a few
    metres along the lane from ``(lane, s)`` is not its position: it counts as centred): traffic passes
    beside an obstacle that leaves room (going around it, using the oncoming lane if need be), and a body
    reaching over its lane's edge also occupies the lane beside. ``width`` m (None or NaN: OBSTACLE_WIDTH_M)
    and ``heading`` rad (None or NaN: ``speed`` is along its lane; else traffic takes the component along the
    lane, so an obstacle driving against its lane comes closer).
    """

    lane: np.ndarray
    lane2: np.ndarray
    s: np.ndarray
    speed: np.ndarray
    length: np.ndarray
    xy: np.ndarray  # (M, 2)
    width: np.ndarray | None = None
    heading: np.ndarray | None = None


def _fill_path(lmap: LaneMap, lane: np.ndarray, rng: np.random.Generator, length=None) -> np.ndarray:
    """Paths (N, PATH_LEN) from ``lane`` (N,) through random successors (as ``kernels.successor``: vehicles of
    ``length`` (N,) m above RIG_LENGTH_M only where ``kernels.rig_may_take``; None: short vehicles)."""
    n = lane.shape[0]
    rig = np.zeros(n, bool) if length is None else np.broadcast_to(np.asarray(length, float), (n,)) > K.RIG_LENGTH_M
    banned = ~lmap.rig_ok  # for rigs
    path = np.empty((n, PATH_LEN), dtype=np.int64)
    path[:, 0] = lane
    for k in range(1, PATH_LEN):
        prev = path[:, k - 1]
        succ = lmap.succ[np.maximum(prev, 0)]
        ok = (succ >= 0) & (prev >= 0)[:, None] & ~(rig[:, None] & banned[np.maximum(succ, 0)])
        n_ok = ok.sum(axis=1)
        pick = np.minimum(np.floor(rng.random(n) * n_ok), n_ok - 1)
        col = np.argmax(ok & (np.cumsum(ok, axis=1) == pick[:, None] + 1), axis=1)
        path[:, k] = np.where(n_ok > 0, succ[np.arange(n), col], -1)
    return path


SPAWN_CANDIDATES = 20
"""Random candidate spots (inside the outer radius) drawn per vehicle to place."""


def _sample_free_spots(lmap, rng, centre, n, radius, occupied_xy, min_gap):
    """Up to ``n`` (lane, s) spots on spawnable lanes at ``radius`` from ``centre``, ``min_gap`` apart."""
    lg = lmap.graph
    idx = np.asarray(lmap.spawn_tree.query_ball_point(centre, radius[1]), dtype=np.int64)
    pts = lmap.spawn_points[idx[rng.choice(idx.size, min(idx.size, SPAWN_CANDIDATES * max(n, 1)), replace=False)]]
    pts = pts[np.hypot(*(lg.points[pts] - centre).T) >= radius[0]]
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
    placed, kind, length, width, height, colour = _rigs_on_straights(
        lmap, lane, s, *sample_classes(rng, lane.size, spec.class_weights))
    lane, s, kind, length, width, height, colour = (a[placed] for a in (lane, s, kind, length, width, height, colour))
    n = lane.size
    styles = sample_styles(spec, rng, kind)
    state = TrafficState(
        lane=lane, prev_lane=np.full(n, -1, np.int64), path=_fill_path(lmap, lane, rng, length), s=s, d=np.zeros(n),
        d_rate=np.zeros(n), speed=styles["speed_factor"] * lmap.speed_limit[lane] * (0.5 + 0.5 * rng.random(n)),
        accel=np.zeros(n), lc_from=np.full(n, -1, np.int64), lc_cooldown=np.zeros(n), kind=kind, length=length,
        width=width, height=height, colour=colour, scripted=np.zeros(n, bool), **styles,
    )
    ego_xy = np.asarray(ego_xy, float).reshape(1, 2)
    ego_lane, ego_s, _ = lmap.graph.locate(ego_xy)
    ego = Obstacles(lane=ego_lane.astype(np.int64), lane2=np.full(1, -1, np.int64), s=ego_s.astype(float),
                    speed=np.zeros(1), length=np.array([float(ego_length)]), xy=ego_xy)
    speed, ok = _check_spawns(lmap, state, ego, np.ones(n, bool), initial=True)
    state = _evolve(state, speed=speed)
    if ok.all():
        return state
    # Two spots a vehicle apart can hold a long vehicle and the one behind it bumper to bumper: the front one goes.
    return TrafficState(**{k: v[ok] for k, v in state.arrays().items()})


RIG_SPAWN_KAPPA = 0.005
"""A semi is placed only where its lane bends less than this (1/m) along its body: its trailer starts in line with
the tractor, and on a tighter bend would stick out of the lane (about 77 m x curvature at its rear)."""


def _bent(lmap: LaneMap, lane: np.ndarray, s: np.ndarray, length: np.ndarray) -> np.ndarray:
    """(N,) True where lane ``lane`` bends more than RIG_SPAWN_KAPPA along a body of ``length`` m centred at ``s``."""
    out = np.zeros(lane.size, bool)
    for i in range(lane.size):
        a, n = lmap.lane_start[lane[i]], lmap.lane_npts[lane[i]]
        near = np.abs(lmap.point_s[a:a + n] - s[i]) <= 0.5 * length[i]
        out[i] = np.abs(lmap.point_curvature[a:a + n][near]).max(initial=0.0) > RIG_SPAWN_KAPPA
    return out


def _rigs_on_straights(lmap: LaneMap, lane, s, kind, length, width, height, colour):
    """The sampled classes and sizes with each semi placed on a bend (``_bent``) or on a lane it may not drive
    (``LaneMap.rig_ok``) swapped with a shorter vehicle placed on a straight it may drive (the first such), and
    (N,) bool: False for the semis left in such a place (not placed)."""
    rig = length > K.RIG_LENGTH_M
    bent = _bent(lmap, lane, s, np.full(lane.size, length.max(initial=0.0))) | ~lmap.rig_ok[lane]
    free = list(np.flatnonzero(~rig & ~bent))
    kind, length, width, height, colour = (a.copy() for a in (kind, length, width, height, colour))
    placed = np.ones(lane.size, bool)
    for i in np.flatnonzero(rig & bent):
        if not free:
            placed[i] = False
            continue
        j = free.pop(0)
        for a in (kind, length, width, height, colour):
            a[[i, j]] = a[[j, i]]
    return placed, kind, length, width, height, colour


def slow_for(lmap: LaneMap, st: TrafficState, obs: Obstacles) -> TrafficState:
    """``st`` with each vehicle's speed capped so that it can stop comfortably behind whatever is ahead of it
    among traffic and ``obs`` (for road users placed after the traffic, e.g. cyclists)."""
    speed, _ = _check_spawns(lmap, st, obs, np.ones(st.n, bool))
    return _evolve(st, speed=speed)


def _obstacle_width(obs: Obstacles) -> np.ndarray:
    if obs.width is None:
        return np.full(obs.lane.shape[0], OBSTACLE_WIDTH_M)
    width = np.asarray(obs.width, float)
    return np.where(np.isnan(width), OBSTACLE_WIDTH_M, width)


def _evolve(st: TrafficState, **changes) -> TrafficState:
    """``st`` with some fields replaced (a cheap ``dataclasses.replace``: no re-validation is needed)."""
    new = object.__new__(TrafficState)
    new.__dict__.update(st.__dict__)
    new.__dict__.update(changes)
    return new


def _check_spawns(lmap: LaneMap, st: TrafficState, obs: Obstacles, fresh: np.ndarray, initial: bool = False):
    """Speeds with the ``fresh`` (just placed) vehicles slowed so each can stop comfortably behind whatever is
    ahead, and (N,) bool: False where a vehicle behind a fresh one could not stop comfortably (``initial``: is
    closer than kernels.SPAWN_MIN_GAP_M)."""
    return K.spawn_check(lmap.lf, lmap.li, st.lane, st.path, st.s, st.speed, st.length, st.width, st.comfort_decel,
                         obs.lane, obs.lane2, obs.s, obs.speed, obs.length, _obstacle_width(obs), fresh, initial)


def traffic_poses(lmap: LaneMap, state: TrafficState):
    """World poses of traffic vehicles: (x (N,), y (N,), heading (N,)), m and rad."""
    return K.poses_kernel(lmap.points, lmap.point_s, lmap.point_heading, lmap.lane_start, lmap.lane_npts, lmap.lf,
                          state.lane, state.s, state.d, state.d_rate, state.speed, state.length)


def step_traffic(lmap: LaneMap, st: TrafficState, obs: Obstacles, dt: float, rng: np.random.Generator,
                 ego_xy, spec: TrafficSpec, step_index: int, forced_accel: np.ndarray | None = None,
                 walkers: Walkers | None = None) -> TrafficState:
    """Advance traffic by ``dt`` seconds: right of way at junctions, going around obstacles, yielding to
    ``walkers`` (pedestrians and cyclists, ``sim.traffic.yielding``), accelerate (IDM, the leader's speed seen
    with each driver's reaction delay), change lanes (MOBIL), move, recycle.

    Junction controls are in their state at ``t = step_index * dt`` (``lmap.signals.states``). Drivers
    reconsider lanes every ``DECIDE_EVERY`` steps and far vehicles are recycled every ``RECYCLE_EVERY``
    steps (``step_index`` counts control steps since reset). Draws 3 uniforms per vehicle from ``rng`` each
    step (plus what recycling draws). ``forced_accel`` (N,) m/s^2, NaN for none, overrides the driver model
    (scenario events such as a hard brake).
    """
    n = st.n
    if n == 0:
        return st
    u = rng.random((n, 3))
    m = obs.lane.shape[0]
    heading = np.full(m, np.nan) if obs.heading is None else np.asarray(obs.heading, float)
    w = NO_WALKERS if walkers is None else walkers
    (lane, prev_lane, path, s, d, d_rate, speed, accel, lc_from, cooldown, speed_hist, stop_done, wait_s, lat,
     zone) = K.step_kernel(
        lmap.lf, lmap.li, lmap.conflict, lmap.conflict_long, lmap.conf, lmap.points, lmap.point_s,
        lmap.point_heading, lmap.point_curvature, lmap.lane_start, lmap.lane_npts, lmap.signals.states(step_index * dt),
        st.lane,
        st.prev_lane, st.path, st.s, st.d, st.d_rate, st.speed, st.accel, st.lc_from, st.lc_cooldown, st.length,
        st.width, st.speed_factor, st.time_headway, st.min_gap, st.max_accel, st.comfort_decel, st.politeness,
        st.reaction, st.crit_gap, st.speed_hist, st.stop_done, st.wait_s, st.lat, st.zone, obs.lane, obs.lane2, obs.s,
        obs.speed, obs.length, np.asarray(obs.xy, float).reshape(m, 2), _obstacle_width(obs), heading, w.xy, w.vel,
        w.heading, w.length, w.width, w.waiting, float(dt),
        step_index % DECIDE_EVERY == 0, u, np.full(n, np.nan) if forced_accel is None else forced_accel,
        int(step_index))
    st = _evolve(st, lane=lane, prev_lane=prev_lane, path=path, s=s, d=d, d_rate=d_rate, speed=speed, accel=accel,
                 lc_from=lc_from, lc_cooldown=cooldown, speed_hist=speed_hist, stop_done=stop_done, wait_s=wait_s,
                 lat=lat, zone=zone)
    if step_index % RECYCLE_EVERY == RECYCLE_EVERY - 1:
        st = _recycle(lmap, st, rng, np.asarray(ego_xy, float), obs, spec)
    return st


def _recycle(lmap, st, rng, ego_xy, obs, spec):
    """Respawn vehicles that are too far from the ego, or stuck at a dead end, near the ego."""
    x, y, _ = traffic_poses(lmap, st)
    far = np.hypot(x - ego_xy[0], y - ego_xy[1]) > spec.recycle_radius_m
    stuck = (st.path[:, 1] < 0) & (st.speed < 0.1)
    gone = np.flatnonzero((far | stuck) & ~st.scripted)
    if gone.size == 0:
        return st
    keep = np.setdiff1d(np.arange(st.n), gone)
    occupied = np.concatenate([np.stack([x[keep], y[keep]], axis=1), obs.xy, ego_xy[None]])
    lo = 0.5 * (spec.spawn_radius_m[1] + spec.recycle_radius_m) - 40.0
    lane, s = _sample_free_spots(lmap, rng, ego_xy, gone.size, (max(lo, spec.spawn_radius_m[0]), spec.recycle_radius_m - 10.0),
                                 occupied, min_gap=15.0)
    gone = gone[: lane.size]
    rig = st.length[gone] > K.RIG_LENGTH_M
    if rig.any():  # a semi is not placed on a bend (its trailer starts in line) nor on a lane too narrow for it
        keep_out = rig & (_bent(lmap, lane, s, st.length[gone]) | ~lmap.rig_ok[lane])
        gone, lane, s = gone[~keep_out], lane[~keep_out], s[~keep_out]
    if gone.size == 0:
        return st
    new = {}
    for name, value in (("lane", lane), ("s", s), ("d", 0.0), ("d_rate", 0.0), ("accel", 0.0), ("lc_from", -1),
                        ("lc_cooldown", 0.0), ("speed_hist", np.nan), ("stop_done", -1), ("wait_s", 0.0),
                        ("lat", np.nan), ("zone", np.nan)):
        arr = getattr(st, name).copy()
        arr[gone] = value
        new[name] = arr
    path = st.path.copy()
    path[gone] = _fill_path(lmap, lane, rng, st.length[gone])
    speed = st.speed.copy()
    speed[gone] = st.speed_factor[gone] * lmap.speed_limit[lane] * 0.8
    new["prev_lane"] = st.prev_lane.copy()
    new["prev_lane"][gone] = -1
    fresh = np.zeros(st.n, bool)
    fresh[gone] = True
    moved = _evolve(st, path=path, speed=speed, **new)
    speed, ok = _check_spawns(lmap, moved, obs, fresh)
    if ok[gone].all():
        return _evolve(moved, speed=speed)
    # A respawn that would cut in front of a vehicle unable to stop is dropped; it is retried next time.
    gone = gone[ok[gone]]
    if gone.size == 0:
        return st
    final = {}
    for name in ("lane", "prev_lane", "path", "s", "d", "d_rate", "accel", "lc_from", "lc_cooldown", "speed",
                 "speed_hist", "stop_done", "wait_s", "lat", "zone"):
        arr = getattr(st, name).copy()
        arr[gone] = (speed if name == "speed" else getattr(moved, name))[gone]
        final[name] = arr
    return _evolve(st, **final)


def place_vehicles(lmap: LaneMap, rng: np.random.Generator, lane, s, d, speed, kind, size, styles) -> TrafficState:
    """Scripted traffic vehicles at given lane poses (m), speeds (m/s), classes, sizes ((n, 3) m, NaN rows
    sampled from the class) and driver styles (dict of (n,) arrays: speed_factor, time_headway, min_gap,
    max_accel, comfort_decel, politeness, and optionally reaction and crit_gap, else state.DEFAULT_STYLE)."""
    lane = np.asarray(lane, np.int64)
    n = lane.size
    kind = np.asarray(kind, np.int8)
    size = np.where(np.isnan(size), sample_sizes(rng, kind), size)
    colour = PALETTE[rng.integers(0, len(PALETTE), size=n)]
    return TrafficState(
        lane=lane, prev_lane=np.full(n, -1, np.int64), path=_fill_path(lmap, lane, rng, size[:, 0]),
        s=np.asarray(s, float),
        d=np.asarray(d, float), d_rate=np.zeros(n), speed=np.asarray(speed, float), accel=np.zeros(n),
        lc_from=np.full(n, -1, np.int64), lc_cooldown=np.zeros(n), kind=kind, length=size[:, 0],
        width=size[:, 1], height=size[:, 2], colour=colour, scripted=np.ones(n, bool),
        **{k: np.asarray(v, float) for k, v in styles.items()},
    )


def concat_traffic(a: TrafficState, b: TrafficState) -> TrafficState:
    """The vehicles of ``a`` followed by those of ``b``."""
    return TrafficState(**{k: np.concatenate([v, getattr(b, k)]) for k, v in a.arrays().items()})


def force_lane_change(lmap: LaneMap, st: TrafficState, i: int, direction: str, rng: np.random.Generator):
    """Vehicle ``i`` starts a lane change to its ``direction`` ("left"/"right") neighbour now, whatever MOBIL
    would say (a scripted cut-in). Returns (state, done); done is False where there is no such lane."""
    lane = int(st.lane[i])
    target = int((lmap.left if direction == "left" else lmap.right)[lane])
    if target < 0:
        return st, False
    shift = 0.5 * (lmap.width[lane] + lmap.width[target]) * (-1.0 if direction == "left" else 1.0)
    changes = {name: getattr(st, name).copy() for name in ("lane", "prev_lane", "path", "s", "d", "lc_from",
                                                           "lc_cooldown", "lat", "zone")}
    changes["lat"][i] = changes["zone"][i] = np.nan
    changes["s"][i] = st.s[i] * lmap.length[target] / lmap.length[lane]
    changes["d"][i] = st.d[i] + shift
    changes["lc_from"][i] = lane
    changes["lane"][i] = target
    changes["prev_lane"][i] = -1
    changes["path"][i] = _fill_path(lmap, np.array([target]), rng, st.length[i])[0]
    changes["lc_cooldown"][i] = K.LC_COOLDOWN_S
    return _evolve(st, **changes), True
