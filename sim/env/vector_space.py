"""The ground-truth "vector space" of a step, as fixed-shape arrays with ``valid`` masks,
for ``info["vector_space"]`` (fixed shapes so that vector envs can batch them)."""
from __future__ import annotations

from collections.abc import Mapping
from weakref import WeakKeyDictionary

import numpy as np

from sim.env.simulation import ACTOR_FIELDS
from sim.traffic.signals import NONE

MAX_OBSTACLES = 32
"""On-lane obstacles reported (the first MAX_OBSTACLES of the world)."""

MAX_SIGNALS = 64
"""Controlled junction approaches reported (all of a world's, or the MAX_SIGNALS nearest the ego)."""


def obstacles_table(scene) -> dict:
    """On-lane obstacles padded to MAX_OBSTACLES; static for a scene, so built once (copied into each info)."""
    n = min(scene.obstacle_xy.shape[0], MAX_OBSTACLES)
    kinds = scene.world.props.kind[scene.prop_lane >= 0]
    table = {"valid": np.zeros(MAX_OBSTACLES, bool), "kind": np.zeros(MAX_OBSTACLES, np.int8),
             "xy": np.zeros((MAX_OBSTACLES, 2)), "heading": np.zeros(MAX_OBSTACLES),
             "size": np.zeros((MAX_OBSTACLES, 3))}
    table["valid"][:n] = True
    table["kind"][:n] = kinds[:n]
    table["xy"][:n] = scene.obstacle_xy[:n]
    table["heading"][:n] = scene.obstacle_heading[:n]
    table["size"][:n] = scene.obstacle_size[:n]
    return table


def signals_table(state, scene) -> dict:
    """Every incoming lane with a light or a sign (one row per lane of a junction approach, in world order; the
    MAX_SIGNALS nearest the ego when there are more), padded to MAX_SIGNALS: ``valid`` (S,) bool, ``lane`` and
    ``junction`` (S,) int64 ids, ``xy`` (S, 2) m the middle of its stop line (where the lane enters the junction),
    ``heading`` (S,) rad the lane's direction there, ``light`` (S,) bool, and ``state`` (S,) int8 at the state's
    time ``t``: an index into sim.traffic.signals.STATE_NAMES (1 green, 2 amber, 3 red, 4 stop sign, 5 yield
    sign; 0 for padding). The traffic drives by these states during the next step."""
    sig = scene.lane_map.signals
    rows, end, static = _signal_rows(scene)
    if static is not None:
        table = {k: v.copy() for k, v in static.items()}
        table["state"][: rows.size] = sig.states(state.t)[sig.lane[rows]]
        return table
    lanes = scene.world.lanes
    ego = np.array([state.actors.x[0], state.actors.y[0]])
    keep = np.sort(np.argsort(np.hypot(*(lanes.points[end] - ego).T), kind="stable")[:MAX_SIGNALS])
    rows, end = rows[keep], end[keep]
    table = _signals_padded(scene, rows, end)
    table["state"][: rows.size] = sig.states(state.t)[sig.lane[rows]]
    return table


_SIGNAL_ROWS: WeakKeyDictionary = WeakKeyDictionary()
"""Scene -> ``_signal_rows`` (static per scene, built on first use)."""


def _signal_rows(scene):
    """(rows of the scene's controlled approaches, their stop-line point indices, the padded table without the
    states when there are at most MAX_SIGNALS of them, else None)."""
    if scene not in _SIGNAL_ROWS:
        sig = scene.lane_map.signals
        rows = np.flatnonzero(sig.light | (sig.sign != NONE))
        lanes = scene.world.lanes
        end = lanes.lane_start[sig.lane[rows]] + lanes.lane_npts[sig.lane[rows]] - 1
        static = _signals_padded(scene, rows, end) if rows.size <= MAX_SIGNALS else None
        _SIGNAL_ROWS[scene] = (rows, end, static)
    return _SIGNAL_ROWS[scene]


def _signals_padded(scene, rows: np.ndarray, end: np.ndarray) -> dict:
    """``signals_table`` of approaches ``rows`` (stop-line points ``end``) with every state 0."""
    sig = scene.lane_map.signals
    lanes = scene.world.lanes
    n = rows.size
    table = {"valid": np.zeros(MAX_SIGNALS, bool), "lane": np.full(MAX_SIGNALS, -1, np.int64),
             "junction": np.full(MAX_SIGNALS, -1, np.int64), "xy": np.zeros((MAX_SIGNALS, 2)),
             "heading": np.zeros(MAX_SIGNALS), "light": np.zeros(MAX_SIGNALS, bool),
             "state": np.zeros(MAX_SIGNALS, np.int8)}
    table["valid"][:n] = True
    table["lane"][:n] = sig.lane[rows]
    table["junction"][:n] = sig.junction[rows]
    table["xy"][:n] = lanes.points[end]
    table["heading"][:n] = lanes.point_heading[end]
    table["light"][:n] = sig.light[rows]
    return table


def vector_space(state, obstacles: dict, max_actors: int, scene=None) -> dict:
    """Actors (ego first; kind -1 = ego, else a traffic class index) padded to ``max_actors``,
    the scene's on-lane obstacles, the ego's route and, given the ``scene``, the junction signals
    (``signals_table``)."""
    a = state.actors
    n = len(a.x)
    table = np.zeros((len(ACTOR_FIELDS), max_actors))
    table[:, :n] = a.table
    actors = dict(zip(ACTOR_FIELDS, table))
    actors["valid"] = np.zeros(max_actors, bool)
    actors["valid"][:n] = a.valid
    actors["kind"] = np.zeros(max_actors, np.int8)
    actors["kind"][:n] = a.kind
    actors["lane"] = np.full(max_actors, -1, np.int64)
    actors["lane"][0] = state.lane
    actors["lane"][1 : 1 + state.traffic.n] = state.traffic.lane
    out = {
        "actors": actors,
        "obstacles": {k: v.copy() for k, v in obstacles.items()},
        "route": {"lanes": state.route.lanes, "goal_s": state.route.goal_s},
        "ego": {"steer": float(state.ego.steer[0]), "yaw_rate": float(state.ego.yaw_rate[0]),
                "lateral_speed": float(state.ego.lateral_speed[0])},
    }
    if scene is not None:
        out["signals"] = signals_table(state, scene)
    return out


class ArrayMapping(Mapping):
    """A read-only mapping of read-only arrays: not a dict, so that a vector env keeps one per env (worlds differ
    in size and cannot be stacked); picklable, so that it crosses process boundaries."""

    def __init__(self, arrays: dict):
        self._arrays = {}
        for k, v in arrays.items():
            self._arrays[k] = np.array(v)
            self._arrays[k].flags.writeable = False

    def __getitem__(self, key):
        return self._arrays[key]

    def __iter__(self):
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)


def lane_map_arrays(scene) -> ArrayMapping:
    """The lane graph for privileged planners (``info["map"]`` at reset), as an ``ArrayMapping``. L lanes, P centerline points (each lane's points contiguous, at most 0.5 m apart): ``points`` (P, 2)
    m, ``point_s`` (P,) m arc length on its lane, ``point_heading`` (P,) rad, ``lane_start`` and ``lane_npts``
    (L,) a lane's slice of the points, ``length``, ``width``, ``speed_limit`` (L,) m, m, m/s, ``succ`` (L, 4)
    successor ids, ``left``/``right`` (L,) same-direction neighbours, ``oncoming`` (L,) the opposite-direction
    lane beside the left edge, ``junction`` (L,) junction id; -1 means none."""
    g = scene.world.lanes
    arrays = {"points": g.points, "point_s": g.point_s, "point_heading": g.point_heading,
              "lane_start": g.lane_start, "lane_npts": g.lane_npts, "length": g.lane_length, "width": g.lane_width,
              "speed_limit": g.speed_limit, "succ": g.succ, "left": g.left, "right": g.right,
              "oncoming": scene.lane_map.oncoming, "junction": g.lane_junction}
    return ArrayMapping(arrays)
