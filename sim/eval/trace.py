"""An evaluated episode as arrays: what metrics and failure detectors read.

``EpisodeTrace`` holds one row per state (T+1: after reset and after each of the T steps); the
``TraceCollector`` fills it from a running ``roadloop`` env. Metrics and detectors are pure functions
of a trace, so they can be tested on hand-built traces with known answers."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.env.simulation import COLLISION_KINDS

ROAD_TYPES = ("straight", "curve", "four_way", "t_junction", "merge", "cul_de_sac")
"""Where the ego is: a lane with |curvature| below CURVE_THRESHOLD, a curve, or a junction of that kind."""
CURVE_THRESHOLD = 0.005
"""Lane curvature above which a road counts as a curve, 1/m."""
EGO_FIELDS = ("x", "y", "heading", "speed", "accel", "jerk", "lat_accel", "yaw_rate")
"""Columns of ``EpisodeTrace.ego``: m, m, rad, m/s, m/s^2, m/s^3, m/s^2, rad/s."""


@dataclass(frozen=True, eq=False)
class EpisodeTrace:
    """One episode; arrays have T+1 rows (row 0 is the state after reset).

    ``ego`` (T+1, 8) EGO_FIELDS; ``actors`` (T+1, 7, M) ACTOR_FIELDS rows (x, y, heading, speed, length,
    width, height) of every actor, ego first (column 0); ``kind`` (M,) int8 (-1 ego, else a vehicle class
    index); ``valid`` (T+1, M) bool; ``progress_m`` (T+1,) along the route;
    ``route_offset_m`` (T+1,) lateral offset from the route, m (left positive); ``speed_limit`` (T+1,) m/s of
    the ego's lane; ``wrong_way`` (T+1,) bool: inside a lane (outside junctions) that runs against the ego's
    heading; ``road_type`` (T+1,) int8 index into ROAD_TYPES; ``collision`` (T+1,) int8 index into
    COLLISION_KINDS (0 = none); ``off_road`` (T+1,) bool; ``predicted`` (T+1, P, 2) xy (m) of the actors
    the agent's perception reported, NaN-padded, or None when the agent exposes none; ``lane`` (T+1,) the ego's
    lane id and ``signal`` (T+1,) int8 that lane's junction control state (sim.traffic.signals codes: 0 none,
    1 green, 2 amber, 3 red, 4 stop sign, 5 yield sign), or None for traces without them."""

    dt: float
    route_length_m: float
    max_seconds: float
    ego: np.ndarray
    actors: np.ndarray
    kind: np.ndarray
    valid: np.ndarray
    progress_m: np.ndarray
    route_offset_m: np.ndarray
    speed_limit: np.ndarray
    wrong_way: np.ndarray
    road_type: np.ndarray
    collision: np.ndarray
    off_road: np.ndarray
    predicted: np.ndarray | None = None
    lane: np.ndarray | None = None
    signal: np.ndarray | None = None
    terminated: bool = False
    """The episode ended on a collision, off-road or route completion."""
    truncated: bool = False
    """The episode ran out of time (max_seconds)."""
    scenario: dict | None = None
    """``info["scenario"]`` of the last step (name, success, failed) when a scenario was played."""
    meta: dict = field(default_factory=dict)
    """Free-form: case name, seed, agent, log path."""

    @property
    def steps(self) -> int:
        return self.ego.shape[0] - 1

    def column(self, name: str) -> np.ndarray:
        """One EGO_FIELDS column, (T+1,)."""
        return self.ego[:, EGO_FIELDS.index(name)]

    @property
    def t(self) -> np.ndarray:
        return np.arange(self.steps + 1) * self.dt

    @property
    def collision_kind(self) -> str:
        """The first collision's kind ("vehicle", "prop", "curb") or ""."""
        hit = np.flatnonzero(self.collision)
        return COLLISION_KINDS[int(self.collision[hit[0]])] if hit.size else ""


def road_type(world, lane: int) -> int:
    """ROAD_TYPES index of ``lane``: its junction's kind, or straight/curve by its largest |curvature|."""
    j = int(world.lanes.lane_junction[lane])
    if j >= 0:
        return ROAD_TYPES.index(world.junctions[j].kind)
    return 1 if float(np.abs(world.lanes.lanes[lane].curvature).max()) > CURVE_THRESHOLD else 0


def wrong_way(world, x: float, y: float, heading: float) -> bool:
    """Inside a lane outside any junction whose direction is more than 90 deg from ``heading``."""
    g = world.lanes
    lane, s, d = g.locate(np.array([[x, y]]))
    ln = int(lane[0])
    if g.lane_junction[ln] >= 0 or abs(float(d[0])) > 0.5 * g.lane_width[ln]:
        return False
    L = g.lanes[ln]
    h = float(np.interp(s[0], L.s, np.unwrap(L.heading)))
    return bool(np.cos(h - heading) < 0.0)


class TraceCollector:
    """Builds an EpisodeTrace from a roadloop env: ``add(info, terminated, truncated)`` after reset and after
    every step, then ``trace()``. An agent with a ``perceived_actors()`` method (returning (P, 2) world xy, m,
    of the actors its perception reports this step) fills ``predicted``."""

    def __init__(self, env, agent=None):
        self.base = env.unwrapped
        self.agent = agent
        self.rows: dict[str, list] = {k: [] for k in ("ego", "actors", "valid", "progress_m", "route_offset_m",
                                                      "speed_limit",
                                                      "wrong_way", "road_type", "collision", "off_road", "lane",
                                                      "signal")}
        self.predicted: list[np.ndarray] = []
        self.kind = None
        self.scenario = None
        self.terminated = self.truncated = False

    def add(self, info: dict, terminated: bool = False, truncated: bool = False) -> None:
        state = self.base.state
        world = self.base.scene.world
        signals = self.base.scene.lane_map.signals
        e = state.ego
        x, y, h = float(e.x[0]), float(e.y[0]), float(e.heading[0])
        r = self.rows
        r["ego"].append((x, y, h, float(e.speed[0]), state.accel, state.jerk, state.lat_accel, float(e.yaw_rate[0])))
        r["actors"].append(state.actors.table.copy())
        r["valid"].append(state.actors.valid.copy())
        r["progress_m"].append(state.progress_m)
        r["route_offset_m"].append(state.route_offset_m)
        r["speed_limit"].append(float(world.lanes.speed_limit[state.lane]))
        r["wrong_way"].append(wrong_way(world, x, y, h))
        r["road_type"].append(road_type(world, state.lane))
        r["collision"].append(COLLISION_KINDS.index(state.collision))
        r["off_road"].append(state.off_road)
        r["lane"].append(state.lane)
        r["signal"].append(signals.states(state.step_index * self.base.config.dt)[state.lane])
        if self.kind is None:
            self.kind = state.actors.kind.copy()
        perceive = getattr(self.agent, "perceived_actors", None)
        if perceive is not None:
            self.predicted.append(np.asarray(perceive(), dtype=np.float64).reshape(-1, 2))
        self.terminated, self.truncated = bool(terminated), bool(truncated)
        if "scenario" in info:
            self.scenario = {k: (list(v) if isinstance(v, tuple) else v) for k, v in info["scenario"].items()}

    def trace(self, **meta) -> EpisodeTrace:
        cfg = self.base.config
        r = self.rows
        predicted = None
        if self.predicted:
            p = max(len(a) for a in self.predicted)
            predicted = np.full((len(self.predicted), p, 2), np.nan)
            for k, a in enumerate(self.predicted):
                predicted[k, : len(a)] = a
        scenario = self.base.scenario
        return EpisodeTrace(
            dt=cfg.dt, route_length_m=float(self.base.state.route.goal_s),
            max_seconds=float(cfg.episode_seconds), ego=np.asarray(r["ego"], dtype=np.float64),
            actors=np.asarray(r["actors"]), kind=self.kind, valid=np.asarray(r["valid"]),
            progress_m=np.asarray(r["progress_m"], dtype=np.float64),
            route_offset_m=np.asarray(r["route_offset_m"], dtype=np.float64),
            speed_limit=np.asarray(r["speed_limit"], dtype=np.float64), wrong_way=np.asarray(r["wrong_way"]),
            road_type=np.asarray(r["road_type"], dtype=np.int8), collision=np.asarray(r["collision"], dtype=np.int8),
            off_road=np.asarray(r["off_road"]), predicted=predicted, lane=np.asarray(r["lane"], dtype=np.int64),
            signal=np.asarray(r["signal"], dtype=np.int8), terminated=self.terminated,
            truncated=self.truncated, scenario=self.scenario, meta=dict(meta, scenario_name=scenario.name if scenario
                                                                       else None),
        )
