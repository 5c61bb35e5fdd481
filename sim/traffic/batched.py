"""Traffic of many worlds stepped in one compiled call: ``WorldTables`` holds each world's lane tables (one slot
per world, replaced when a world changes) and ``step_worlds`` runs ``kernels.step_kernel`` on every world's
vehicles in turn, with that world's own tables, control step number and junction states, exactly as
``traffic.step_traffic`` would for that world alone (bit for bit: same kernel, same inputs).

Vehicles, obstacles and walkers of all worlds are concatenated in world order; ``*_off`` (W + 1,) int64 give each
world's slice. Random draws stay with the caller (one generator per world, in the single world's order).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit
from numba.typed import List

from sim.traffic import kernel_cache
from sim.traffic.kernels import step_kernel
from sim.traffic.signals import _states
from sim.traffic.spec import TrafficSpec
from sim.traffic.state import TrafficState
from sim.traffic.traffic import (
    DECIDE_EVERY,
    NO_WALKERS,
    RECYCLE_EVERY,
    Obstacles,
    _evolve,
    _obstacle_width,
    _recycle,
)


def _drop_stale() -> None:
    """Delete the cached code of this module when a kernel module it compiles in is newer than it (numba checks
    only this file's own source)."""
    here = Path(__file__).parent
    files = list((here / "__pycache__").glob("batched.*.nb[ic]"))
    stamps = [t for t in map(kernel_cache._mtime, files) if t is not None]
    sources = [here / f"{m}.py" for m in kernel_cache.MODULES]
    if stamps and max(kernel_cache._mtime(f) or 0.0 for f in sources) > min(stamps):
        for f in files:
            f.unlink(missing_ok=True)


_drop_stale()

LANE_TABLES = ("lf", "li", "conflict", "conflict_long", "conf", "points", "point_s", "point_heading",
               "point_curvature", "lane_start", "lane_npts")
"""LaneMap attributes the step kernel reads, in its argument order."""
SIGNAL_TABLES = ("lane", "sign", "light", "start", "green", "amber", "cycle", "offset")
"""Signals attributes that give the junction states of a time."""


class WorldTables:
    """Per-world lane and signal tables as numba typed lists (slot k: world k's LaneMap), for ``step_worlds``."""

    def __init__(self, lane_maps):
        self.lists = [List([getattr(m, name) for m in lane_maps]) for name in LANE_TABLES]
        self.signals = [List([getattr(m.signals, name) for m in lane_maps]) for name in SIGNAL_TABLES]
        self.n_lanes = np.array([m.signals.n_lanes for m in lane_maps], np.int64)
        self.maps = list(lane_maps)
        for lst in self.lists + self.signals:  # compile each list's item assignment now, not at the first reset
            lst[0] = lst[0]

    def set(self, k: int, lane_map) -> None:
        """World ``k`` now drives on ``lane_map``."""
        if self.maps[k] is lane_map:
            return
        for lst, name in zip(self.lists, LANE_TABLES):
            lst[k] = getattr(lane_map, name)
        for lst, name in zip(self.signals, SIGNAL_TABLES):
            lst[k] = getattr(lane_map.signals, name)
        self.n_lanes[k] = lane_map.signals.n_lanes
        self.maps[k] = lane_map


VEHICLE_FIELDS = ("lane", "prev_lane", "path", "s", "d", "d_rate", "speed", "accel", "lc_from", "lc_cooldown", "length",
                  "width", "speed_factor", "time_headway", "min_gap", "max_accel", "comfort_decel", "politeness",
                  "reaction", "crit_gap", "speed_hist", "stop_done", "wait_s", "lat", "zone")
"""TrafficState fields the step kernel reads, in its argument order."""
STEP_OUTPUTS = ("lane", "prev_lane", "path", "s", "d", "d_rate", "speed", "accel", "lc_from", "lc_cooldown",
                "speed_hist", "stop_done", "wait_s", "lat", "zone")
"""TrafficState fields the step kernel returns, in its order."""


def step_traffic_worlds(tables: WorldTables, worlds: list[int], traffic: list[TrafficState],
                        obstacles: list[Obstacles], walkers: list, dt: float, rngs: list[np.random.Generator],
                        ego_xy: list, spec: TrafficSpec, step_index: list[int], forced: list) -> list[TrafficState]:
    """``sim.traffic.traffic.step_traffic`` for several worlds at once: world ``worlds[j]`` (its slot in
    ``tables``) with its ``traffic[j]``, ``obstacles[j]``, ``walkers[j]`` (None: none), generator ``rngs[j]``,
    ``ego_xy[j]``, ``step_index[j]`` and ``forced[j]`` (None: none); one compiled call moves every vehicle, each
    world draws from its own generator what ``step_traffic`` would draw, in the same order."""
    counts = np.array([st.n for st in traffic], np.int64)
    v_off = np.concatenate([[0], np.cumsum(counts)])
    u = np.concatenate([rng.random((st.n, 3)) if st.n else np.zeros((0, 3)) for rng, st in zip(rngs, traffic)])
    vehicles = tuple(np.concatenate([getattr(st, name) for st in traffic]) for name in VEHICLE_FIELDS)
    walk = [NO_WALKERS if w is None else w for w in walkers]
    o_off = np.concatenate([[0], np.cumsum([o.lane.shape[0] for o in obstacles])]).astype(np.int64)
    obs = (np.concatenate([o.lane for o in obstacles]), np.concatenate([o.lane2 for o in obstacles]),
           np.concatenate([o.s for o in obstacles]), np.concatenate([o.speed for o in obstacles]),
           np.concatenate([o.length for o in obstacles]),
           np.concatenate([np.asarray(o.xy, float).reshape(-1, 2) for o in obstacles]),
           np.concatenate([_obstacle_width(o) for o in obstacles]),
           np.concatenate([np.full(o.lane.shape[0], np.nan) if o.heading is None else np.asarray(o.heading, float)
                           for o in obstacles]))
    w_off = np.concatenate([[0], np.cumsum([w.xy.shape[0] for w in walk])]).astype(np.int64)
    wlk = tuple(np.concatenate([getattr(w, name) for w in walk]) for name in
                ("xy", "vel", "heading", "length", "width", "waiting"))
    force = np.concatenate([np.full(st.n, np.nan) if f is None else f for st, f in zip(traffic, forced)])
    order = np.asarray(worlds, np.int64)
    out = step_worlds(tables, order, v_off, vehicles, o_off, obs, w_off, wlk, dt,
                      np.asarray(step_index, np.int64), u, force)
    result = []
    for j, st in enumerate(traffic):
        if st.n == 0:
            result.append(st)
            continue
        a, b = v_off[j], v_off[j + 1]
        st = _evolve(st, **{name: arr[a:b] for name, arr in zip(STEP_OUTPUTS, out)})
        if step_index[j] % RECYCLE_EVERY == RECYCLE_EVERY - 1:
            st = _recycle(tables.maps[worlds[j]], st, rngs[j], np.asarray(ego_xy[j], float), obstacles[j], spec)
        result.append(st)
    return result


def step_worlds(tables: WorldTables, worlds: np.ndarray, v_off, vehicles: tuple, o_off, obstacles: tuple, w_off,
                walkers: tuple, dt: float, step: np.ndarray, u: np.ndarray, forced: np.ndarray) -> tuple:
    """One control step of the traffic of worlds ``worlds`` (W,) (slots of ``tables``): ``vehicles`` the kernel's
    vehicle arrays (VEHICLE_FIELDS), ``obstacles`` (lane, lane2, s, speed, length, xy, width, heading),
    ``walkers`` (xy, vel, heading, length, width, waiting), each concatenated over worlds; ``step`` (W,) each
    world's control step number; ``u`` (N, 3) uniforms; ``forced`` (N,) m/s^2 (NaN none). Returns the kernel's
    15 output arrays, concatenated over worlds (a world without vehicles is skipped, as ``step_traffic`` does)."""
    return _step_worlds(*tables.lists, *tables.signals, tables.n_lanes, worlds, v_off, *vehicles, o_off, *obstacles,
                        w_off, *walkers, float(dt), step, u, forced)


@njit(cache=True)
def _step_worlds(lf, li, conflict, conflict_long, conf, points, point_s, point_heading, point_curvature, lane_start,
                 lane_npts, sg_lane, sg_sign, sg_light, sg_start, sg_green, sg_amber, sg_cycle, sg_offset, n_lanes,
                 worlds, v_off, lane, prev_lane, path, s, d, d_rate, speed, accel, lc_from, cooldown, length, width,
                 factor, t_head, s0, a_max, b_comf, polite, reaction, crit_gap, speed_hist, stop_done, wait_s, lat,
                 zone, o_off, o_lane, o_lane2, o_s, o_speed, o_len, o_xy, o_w, o_heading,
                 w_off, w_xy, w_vel, w_heading, w_len, w_wid, w_wait, dt, step, u, forced):
    n_lane = lane.copy()
    n_prev = prev_lane.copy()
    n_path = path.copy()
    n_s = s.copy()
    n_d = d.copy()
    n_rate = d_rate.copy()
    n_speed = speed.copy()
    n_acc = accel.copy()
    n_lc = lc_from.copy()
    n_cd = cooldown.copy()
    n_hist = speed_hist.copy()
    n_done = stop_done.copy()
    n_wait = wait_s.copy()
    n_lat = lat.copy()
    n_zone = zone.copy()
    for j in range(worlds.shape[0]):
        a, b = v_off[j], v_off[j + 1]
        if a == b:
            continue
        oa, ob = o_off[j], o_off[j + 1]
        wa, wb = w_off[j], w_off[j + 1]
        k = worlds[j]
        lane_state = _states(step[j] * dt, n_lanes[k], sg_lane[k], sg_sign[k], sg_light[k], sg_start[k],
                             sg_green[k], sg_amber[k], sg_cycle[k], sg_offset[k])
        out = step_kernel(
            lf[k], li[k], conflict[k], conflict_long[k], conf[k], points[k], point_s[k], point_heading[k],
            point_curvature[k], lane_start[k], lane_npts[k], lane_state, lane[a:b], prev_lane[a:b], path[a:b], s[a:b],
            d[a:b], d_rate[a:b], speed[a:b], accel[a:b], lc_from[a:b], cooldown[a:b], length[a:b], width[a:b],
            factor[a:b], t_head[a:b], s0[a:b], a_max[a:b], b_comf[a:b], polite[a:b], reaction[a:b], crit_gap[a:b],
            speed_hist[a:b], stop_done[a:b], wait_s[a:b], lat[a:b], zone[a:b], o_lane[oa:ob], o_lane2[oa:ob],
            o_s[oa:ob], o_speed[oa:ob], o_len[oa:ob], o_xy[oa:ob], o_w[oa:ob], o_heading[oa:ob], w_xy[wa:wb],
            w_vel[wa:wb], w_heading[wa:wb], w_len[wa:wb], w_wid[wa:wb], w_wait[wa:wb], dt,
            step[j] % DECIDE_EVERY == 0, u[a:b], forced[a:b], step[j])
        n_lane[a:b] = out[0]
        n_prev[a:b] = out[1]
        n_path[a:b] = out[2]
        n_s[a:b] = out[3]
        n_d[a:b] = out[4]
        n_rate[a:b] = out[5]
        n_speed[a:b] = out[6]
        n_acc[a:b] = out[7]
        n_lc[a:b] = out[8]
        n_cd[a:b] = out[9]
        n_hist[a:b] = out[10]
        n_done[a:b] = out[11]
        n_wait[a:b] = out[12]
        n_lat[a:b] = out[13]
        n_zone[a:b] = out[14]
    return (n_lane, n_prev, n_path, n_s, n_d, n_rate, n_speed, n_acc, n_lc, n_cd, n_hist, n_done, n_wait, n_lat,
            n_zone)
