"""What a scenario adds to an episode: its world, ego start and route, scripted actors and events.

IDM actors become scripted traffic vehicles (they drive like background traffic, are never
recycled, and obey ``brake`` / ``lane_change`` events). Static, replay, walk and crowd actors are puppets:
their pose comes from the scenario at every step (a replay actor exists from its track's first to last
sample), traffic treats them as obstacles and the ego can hit them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.env.route import Route
from sim.scenario.behaviours import IdmBehaviour, ReplayBehaviour, StaticBehaviour, WalkBehaviour
from sim.scenario.events import BrakeEvent, LaneChangeEvent
from sim.scenario.in_world import check_in_world, resolve_pose
from sim.scenario.schema import LanePose, Scenario
from sim.traffic.actor_classes import ACTOR_CODE, size_range
from sim.traffic.vehicle_classes import CLASS_NAMES

EPS_S = 1e-6
"""Time between the two samples of a walk track where its speed steps (setting off, arriving), s."""
ROUTE_END_MARGIN_M = 1.0
"""A route given as lanes is complete this far before its last lane ends, m."""


@dataclass(frozen=True, eq=False)
class Puppets:
    """Static, replay, walk and crowd actors, K of them (a crowd is one puppet per member, ids ``<id>.k``): ids,
    class (K,) int8 (sim.traffic.actor_classes codes), size (K, 3) m, and per actor a track (t, x, y, heading,
    speed arrays; a static actor's track is one sample; held actors stay at their track's ends outside it)."""

    ids: tuple[str, ...]
    kind: np.ndarray
    size: np.ndarray
    tracks: tuple[tuple[np.ndarray, ...], ...]
    holds: np.ndarray  # (K,) bool: static (valid at all times)

    def table(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """(ACTOR_FIELDS rows (7, K), valid (K,)) at time ``t`` s."""
        k = len(self.ids)
        table = np.zeros((7, k))
        valid = np.zeros(k, bool)
        for i, (tt, x, y, h, v) in enumerate(self.tracks):
            valid[i] = self.holds[i] or tt[0] <= t <= tt[-1]
            if valid[i]:
                table[0, i] = np.interp(t, tt, x)
                table[1, i] = np.interp(t, tt, y)
                table[2, i] = np.interp(t, tt, np.unwrap(h))
                table[3, i] = np.interp(t, tt, v)
        table[4:7] = self.size.T
        return table, valid


@dataclass(frozen=True, eq=False)
class Plan:
    """A checked scenario ready to play: the scenario, the traffic index of each IDM actor, the puppets."""

    scenario: Scenario
    traffic_index: dict[str, int]
    puppets: Puppets


def _size(actor, rng) -> np.ndarray:
    ranges = size_range(actor.vehicle_class)
    if actor.size is not None:
        height = actor.size.height if actor.size.height is not None else 0.5 * sum(ranges[2])
        return np.array([actor.size.length, actor.size.width, height])
    return np.array([lo + rng.random() * (hi - lo) for lo, hi in ranges])


def _walk_track(points: np.ndarray, speed: float, start_t: float) -> tuple[np.ndarray, ...]:
    """(t, x, y, heading, speed) of a walk along ``points`` (P, 2) m at ``speed`` m/s from ``start_t`` s:
    standing (speed 0) at the first point until start_t and at the last one after arriving. Each segment is
    two samples (its start, and its end EPS_S early), so heading and speed are constant along it and step
    at its ends."""
    seg = np.diff(points, axis=0)
    length = np.hypot(seg[:, 0], seg[:, 1])
    moving = length > 1e-6
    points = np.concatenate([points[:1], points[1:][moving]])
    seg, length = seg[moving], length[moving]
    heading = np.unwrap(np.arctan2(seg[:, 1], seg[:, 0]))
    t_vertex = start_t + np.concatenate([[0.0], np.cumsum(length)]) / speed
    t = np.concatenate([[start_t - 2 * EPS_S], np.stack([t_vertex[:-1], t_vertex[1:] - EPS_S], 1).ravel(),
                        [t_vertex[-1]]])
    xy = np.concatenate([points[:1], np.stack([points[:-1], points[1:]], 1).reshape(-1, 2), points[-1:]])
    h = np.concatenate([heading[:1], np.repeat(heading, 2), heading[-1:]])
    v = np.concatenate([[0.0], np.full(2 * len(seg), speed), [0.0]])
    return t, xy[:, 0], xy[:, 1], h, v


def _expand(actor, world, rng) -> list[tuple[str, str, tuple, bool]]:
    """The puppets of one non-IDM actor: (id, class, track (t, x, y, heading, speed), holds)."""
    b = actor.behaviour
    if isinstance(b, StaticBehaviour):
        x, y, h = resolve_pose(actor.start, world.lanes)
        return [(actor.id, actor.vehicle_class, tuple(np.array([v]) for v in (0.0, x, y, h, 0.0)), True)]
    if isinstance(b, ReplayBehaviour):
        tr = b.track
        return [(actor.id, actor.vehicle_class,
                 tuple(np.asarray(v, float) for v in (tr.t, tr.x, tr.y, tr.heading, tr.speed)), False)]
    points = np.array([resolve_pose(p, world.lanes)[:2] for p in b.path])
    if isinstance(b, WalkBehaviour):
        return [(actor.id, actor.vehicle_class, _walk_track(points, b.speed, b.start_t), True)]
    d = np.diff(points, axis=0)
    along = d[0] / np.hypot(*d[0])
    across = np.array([-along[1], along[0]])
    out = []
    for k in range(b.count):
        shift = (rng.random() - 0.5) * b.spread_m * across - rng.random() * b.depth_m * along
        speed = b.speed[0] + rng.random() * (b.speed[1] - b.speed[0])
        start_t = b.start_t[0] + rng.random() * (b.start_t[1] - b.start_t[0])
        out.append((f"{actor.id}.{k}", "pedestrian", _walk_track(points + shift, speed, start_t), True))
    return out


def make_plan(scenario: Scenario, world, rng: np.random.Generator) -> Plan:
    """Check ``scenario`` against ``world`` and prepare its actors (sizes left open are drawn with ``rng``)."""
    check_in_world(scenario, world)
    idm = [a for a in scenario.actors if isinstance(a.behaviour, IdmBehaviour)]
    rows, sizes = [], []
    for actor in scenario.actors:
        if not isinstance(actor.behaviour, IdmBehaviour):
            expanded = _expand(actor, world, rng)
            rows += expanded
            sizes += [_size(actor, rng) for _ in expanded]
    return Plan(
        scenario,
        {a.id: i for i, a in enumerate(idm)},
        Puppets(tuple(r[0] for r in rows), np.array([ACTOR_CODE[r[1]] for r in rows], np.int8),
                np.array(sizes).reshape(-1, 3), tuple(r[2] for r in rows), np.array([r[3] for r in rows], bool)),
    )


def idm_vehicles(plan: Plan, world, rng: np.random.Generator) -> dict:
    """Arguments of ``sim.traffic.place_vehicles`` for the scenario's IDM actors, in traffic-index order."""
    idm = [a for a in plan.scenario.actors if a.id in plan.traffic_index]
    lanes, ss, ds = [], [], []
    for a in idm:
        if isinstance(a.start, LanePose):
            lanes.append(a.start.lane)
            ss.append(a.start.s)
            ds.append(a.start.d)
        else:
            lane, s, d = world.lanes.locate(np.array([[a.start.x, a.start.y]]), np.array([a.start.heading]))
            lanes.append(int(lane[0]))
            ss.append(float(s[0]))
            ds.append(float(d[0]))
    styles = {name: [getattr(a.behaviour, name) for a in idm] for name in
              ("speed_factor", "time_headway", "min_gap", "max_accel", "comfort_decel", "politeness")}
    size = np.array([_size(a, rng) if a.size is not None else np.full(3, np.nan) for a in idm]).reshape(-1, 3)
    return dict(lane=lanes, s=ss, d=ds, speed=[a.speed or 0.0 for a in idm],
                kind=[CLASS_NAMES.index(a.vehicle_class) for a in idm], size=size, styles=styles)


def ego_route(plan: Plan, world, rng: np.random.Generator, beyond_goal_m: float):
    """(route, start x, y, heading) of the ego: the scenario's lanes, or a route of its length from the start."""
    ego = plan.scenario.ego
    x, y, h = resolve_pose(ego.start, world.lanes)
    if ego.route.lanes is not None:
        route = Route.from_lanes(world.lanes, ego.route.lanes, np.inf)
        return Route.from_lanes(world.lanes, ego.route.lanes, route.s[-1] - ROUTE_END_MARGIN_M), x, y, h
    if isinstance(ego.start, LanePose):
        lane, start_s = ego.start.lane, ego.start.s
    else:
        lane_a, s_a, _ = world.lanes.locate(np.array([[x, y]]), np.array([h]))
        lane, start_s = int(lane_a[0]), float(s_a[0])
    lanes = world.sample_route(rng, start_s + ego.route.length_m + beyond_goal_m, start_lane=lane)
    return Route.from_lanes(world.lanes, lanes, start_s + ego.route.length_m), x, y, h


def forced_accel(plan: Plan, t: float, speed: np.ndarray) -> np.ndarray | None:
    """(N,) accelerations imposed by brake events active at ``t`` (NaN elsewhere), or None when none is."""
    out = None
    for ev in plan.scenario.events:
        if not isinstance(ev, BrakeEvent) or t < ev.t:
            continue
        i = plan.traffic_index[ev.actor]
        active = t < ev.t + ev.duration if ev.duration is not None else speed[i] > 0.0
        if active:
            out = np.full(speed.shape, np.nan) if out is None else out
            out[i] = -ev.decel
    return out


def due_lane_changes(plan: Plan, t: float, fired: frozenset) -> list[tuple[int, int, str]]:
    """(event index, traffic index, direction) of lane-change events due at ``t`` and not yet fired."""
    return [(k, plan.traffic_index[ev.actor], ev.direction) for k, ev in enumerate(plan.scenario.events)
            if isinstance(ev, LaneChangeEvent) and k not in fired and ev.t <= t + 1e-9]
