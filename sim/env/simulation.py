"""The simulation as functions over an explicit state: ``reset(rng) -> SimState`` and
``step(state, action, rng) -> SimState``. The Gymnasium env is a thin shell around this."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property
from typing import NamedTuple

import numpy as np

from sim.env.config import DriveConfig
from sim.env.raster import WorldRaster
from sim.env.route import Route
from sim.env.scenario_plan import Plan, due_lane_changes, ego_route, forced_accel, idm_vehicles, make_plan
from sim.physics import ContactWorld, VehicleParams, VehicleState, get_model
from sim.physics.collision import boxes_overlap
from sim.scenario.values import ScenarioError
from sim.traffic import Obstacles, TrafficState, spawn_traffic, step_traffic, traffic_poses
from sim.traffic.traffic import concat_traffic, force_lane_change, place_vehicles, slow_for
from sim.traffic.actor_classes import ACTOR_CODE, VEHICLE_CODES
from sim.traffic.lane_map import LaneMap
from sim.traffic.semis import Semis, attach, follow, semi_rows, trailer_intrusions, traffic_rows
from sim.traffic.vru import (Vehicles, VruSpec, VruState, fill_vrus, free_groups, no_vrus, spawn_vrus, step_vrus,
                             vru_obstacles, vru_slots, vru_table, walk_network)
from sim.traffic.yielding import walkers
from sim.world import PROP_KINDS, World, generate_world

EGO_LENGTH = 4.7
EGO_WIDTH = 1.85
EGO_HEIGHT = 1.5
EGO_START_S = 5.0
"""The ego starts this far along its route, m."""
ROUTE_BEYOND_GOAL_M = 80.0
"""The route runs on this far past its goal, so that look-ahead observations never run out, m."""
COLLISION_KINDS = ("", "vehicle", "prop", "curb")
VRU_RADIUS_M = 160.0
"""Pedestrians and cyclists are placed within this distance of the ego, m."""
VRU_RECYCLE_RADIUS_M = 220.0
"""A pedestrian or cyclist farther than this from the ego is replaced by a new one near it, m."""
VRU_RECYCLE_EVERY = 10
"""Control steps between those replacements."""
VRU_CODES = np.array([ACTOR_CODE["pedestrian"], ACTOR_CODE["cyclist"]], np.int8)
"""Actor class code of VruState.kind 0 (pedestrian) and 1 (cyclist)."""
NO_VRUS = no_vrus()
NO_VRU_OBSTACLES = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0),
                    np.zeros((0, 2)))
"""``vru_obstacles`` of no pedestrians or cyclists."""


ACTOR_FIELDS = ("x", "y", "heading", "speed", "length", "width", "height")
"""Rows of an actor table: m, m, rad, m/s, m, m, m."""


@dataclass(frozen=True, eq=False)
class Actors:
    """Every actor this step, ego first, then traffic (a semi as its tractor), the semis' trailers, then pedestrians
    and cyclists, then a scenario's puppets:
    ``table`` (len(ACTOR_FIELDS), N) float64 with one row per field (also readable as attributes ``x``, ``y``,
    ...), ``kind`` (N,) int8: -1 ego, else an index into sim.traffic.actor_classes.ACTOR_CLASSES, and ``valid``
    (N,) bool (a replay puppet exists only during its track)."""

    table: np.ndarray
    kind: np.ndarray
    valid: np.ndarray
    puppets: int = 0
    """How many of the last actors are a scenario's puppets."""

    x = property(lambda self: self.table[0])
    y = property(lambda self: self.table[1])
    heading = property(lambda self: self.table[2])
    speed = property(lambda self: self.table[3])
    length = property(lambda self: self.table[4])
    width = property(lambda self: self.table[5])
    height = property(lambda self: self.table[6])


@dataclass(frozen=True, eq=False)
class SimState:
    """Full simulation state after ``step_index`` control steps (``t`` s)."""

    t: float
    step_index: int
    ego: VehicleState
    traffic: TrafficState
    semis: Semis
    """Trailers of the semis in traffic (sim.traffic.semis)."""
    vrus: VruState
    """Pedestrians and cyclists (sim.traffic.vru)."""
    actors: Actors
    route: Route
    route_index: int
    progress_m: float
    route_offset_m: float
    lane: int
    accel: float
    jerk: float
    lat_accel: float
    collision: str
    off_road: bool
    plan: Plan | None = None
    """The scenario being played, if any."""
    fired: frozenset = frozenset()
    """Indices of the scenario's one-shot events (lane changes) already applied."""
    notes: tuple[str, ...] = ()
    """What happened this step that an event could not do (e.g. a lane change with no lane there)."""


@dataclass(frozen=True, eq=False)
class Scene:
    """Per-world objects shared by all episodes on that world.

    ``prop_lane``/``prop_s`` locate every prop on the lane graph (-1 for props off the lanes);
    ``obstacle_*`` are the on-lane props (M,) as traffic and observations see them, ``obstacle_table``
    the same as rows of ACTOR_FIELDS (speed 0)."""

    world: World
    world_seed: int
    lane_map: LaneMap
    prop_lane: np.ndarray
    prop_s: np.ndarray
    obstacle_xy: np.ndarray
    obstacle_heading: np.ndarray
    obstacle_size: np.ndarray
    obstacle_table: np.ndarray

    @cached_property
    def walks(self):
        """The world's sidewalks, crossings and cycling lanes (sim.traffic.vru.walk_network), built on first use."""
        return walk_network(self.world)

    @cached_property
    def raster(self) -> WorldRaster:
        """The world prepared for BEV and top-down drawing, built on first use."""
        return WorldRaster(self.world)


def build_scene(world: World, world_seed: int, controls: dict[int, str] | None = None) -> Scene:
    """Precompute the tables traffic and queries need for ``world`` (generated from ``world_seed``); ``controls``
    {junction id: kind} replaces drawn junction controls (ValueError where one does not fit)."""
    props = world.props
    lane = np.full(len(props), -1, dtype=np.int64)
    s = np.zeros(len(props))
    on = np.flatnonzero(props.on_lane)
    if on.size:
        lane[on], s[on], _ = world.lanes.locate(props.xy[on], props.heading[on])
    table = np.stack([props.xy[on, 0], props.xy[on, 1], props.heading[on], np.zeros(on.size), props.size[on, 0],
                      props.size[on, 1], props.size[on, 2]])
    return Scene(world, world_seed, LaneMap(world, controls), lane, s, props.xy[on], props.heading[on], props.size[on],
                 table)


def contact_world(world: World) -> ContactWorld:
    """A pybullet contact world holding the props and curbs of ``world``."""
    p = world.props
    round_kinds = [PROP_KINDS.index(k) for k in ("tree", "pole", "cone")]
    return ContactWorld(p.xy, p.heading, p.size, world.curbs, props_round=np.isin(p.kind, round_kinds))


class Simulation:
    """Stepping rules for one configuration; holds no episode state."""

    def __init__(self, config: DriveConfig):
        self.config = config
        self.model = get_model(config.dynamics)
        self.ego_params = VehicleParams.car(1, length=EGO_LENGTH, width=EGO_WIDTH)
        self._scenes: dict[int, Scene] = {}

    @property
    def cached_worlds(self) -> int:
        """Worlds of the pool built so far (see DriveConfig.num_worlds)."""
        return len(self._scenes)

    def new_scene(self, rng: np.random.Generator) -> Scene:
        """The scene of the next episode: the world of a seed drawn with ``rng``, or, when ``world_seed`` or
        ``num_worlds`` is set, a cached world of seed ``(world_seed or 0) + rng.integers(num_worlds)``.
        Every world is ``generate_world(config.world, default_rng(seed))`` for an integer seed, so that an
        episode's world can be named in a scenario."""
        cfg = self.config
        if cfg.world_seed is None and cfg.num_worlds is None:
            seed = int(rng.integers(2**63))
            return build_scene(generate_world(cfg.world, np.random.default_rng(seed)), seed)
        seed = (cfg.world_seed or 0) + (int(rng.integers(cfg.num_worlds)) if cfg.num_worlds else 0)
        if seed not in self._scenes:
            self._scenes[seed] = build_scene(generate_world(cfg.world, np.random.default_rng(seed)), seed)
        return self._scenes[seed]

    def reset(self, scene: Scene, rng: np.random.Generator) -> SimState:
        cfg = self.config
        world = scene.world
        lanes = world.sample_route(rng, cfg.route_length_m + EGO_START_S + ROUTE_BEYOND_GOAL_M)
        route = Route.from_lanes(world.lanes, lanes, cfg.route_length_m + EGO_START_S)
        (xy,), (heading,) = route.sample(np.array([EGO_START_S]))
        limit = world.lanes.speed_limit[lanes[0]]
        speed = limit * rng.uniform(0.3, 0.7)
        ego = VehicleState.from_pose([xy[0]], [xy[1]], [heading], [speed])
        traffic = spawn_traffic(scene.lane_map, cfg.traffic, rng, xy, EGO_LENGTH)
        semis = attach(traffic.kind, _traffic_rows(scene, traffic))
        vrus = NO_VRUS
        if _has_vrus(cfg.vru):
            occupied = np.concatenate([[xy], np.stack(traffic_poses(scene.lane_map, traffic)[:2], axis=1)])
            vrus = fill_vrus(vru_slots(_vru_capacity(cfg.vru)),
                             spawn_vrus(scene.world, scene.walks, cfg.vru, rng, xy, VRU_RADIUS_M, occupied))
            traffic = slow_for(scene.lane_map, traffic, Obstacles(*vru_obstacles(vrus, world.lanes)))
        idx, progress, offset, _ = route.project(xy, 0)
        return SimState(
            t=0.0, step_index=0, ego=ego, traffic=traffic, semis=semis, vrus=vrus,
            actors=_actors(scene, ego, traffic, semis, vrus), route=route,
            route_index=idx, progress_m=progress, route_offset_m=offset, lane=int(lanes[0]), accel=0.0, jerk=0.0,
            lat_accel=0.0, collision="", off_road=False,
        )

    def scenario_scene(self, scenario) -> Scene:
        """The (cached) scene of a scenario's world."""
        ws = scenario.world
        key = ("scenario", ws.seed, ws.spec, ws.controls)
        if key not in self._scenes:
            world = generate_world(ws.spec, np.random.default_rng(ws.seed))
            try:
                self._scenes[key] = build_scene(world, ws.seed, dict(ws.controls))
            except ValueError as e:
                raise ScenarioError(str(e).removeprefix("plan_signals: "), "world.controls") from None
        return self._scenes[key]

    def reset_scenario(self, scene: Scene, scenario, rng: np.random.Generator) -> SimState:
        """The first state of ``scenario`` (checked against the world; ScenarioError names what is wrong)."""
        world = scene.world
        plan = make_plan(scenario, world, rng)
        route, x, y, h = ego_route(plan, world, rng, ROUTE_BEYOND_GOAL_M)
        ego = VehicleState.from_pose([x], [y], [h], [scenario.ego.speed])
        scripted = place_vehicles(scene.lane_map, rng, **idm_vehicles(plan, world, rng))
        background = spawn_traffic(scene.lane_map, scenario.traffic, rng, (x, y), EGO_LENGTH)
        traffic = concat_traffic(scripted, background)
        semis = attach(traffic.kind, _traffic_rows(scene, traffic))
        hint = int(np.argmin(np.hypot(route.points[:, 0] - x, route.points[:, 1] - y)))
        idx, progress, offset, _ = route.project((x, y), hint)
        return SimState(
            t=0.0, step_index=0, ego=ego, traffic=traffic, semis=semis, vrus=NO_VRUS,
            actors=_actors(scene, ego, traffic, semis, NO_VRUS, plan, 0.0),
            route=route, route_index=idx, progress_m=progress, route_offset_m=offset,
            lane=int(route.point_lane[idx]), accel=0.0, jerk=0.0, lat_accel=0.0, collision="", off_road=False,
            plan=plan,
        )

    def controls(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map a normalised action in [-1, 1]^2 to (steer target rad, acceleration m/s^2).

        steer = action[0] * max_steer (positive = left); acceleration = action[1] * max_accel when
        action[1] >= 0, else action[1] * max_brake.
        """
        p = self.ego_params
        steer = action[0:1] * p.max_steer
        accel = np.where(action[1:2] >= 0, action[1:2] * p.max_accel, action[1:2] * p.max_brake)
        return steer, accel

    def step(self, scene: Scene, contacts: ContactWorld, state: SimState, action: np.ndarray,
             rng: np.random.Generator) -> SimState:
        cfg = self.config
        steer, accel = self.controls(action)
        ego = self.model.forward(state.ego, self.ego_params, steer, accel, cfg.dt, cfg.substeps)
        move = self.before_traffic(scene, state, ego, rng)
        traffic = step_traffic(scene.lane_map, move.traffic, move.obstacles, cfg.dt, rng, move.ego_xy, cfg.traffic,
                               state.step_index, move.forced, move.walkers)
        return self.after_traffic(scene, contacts, state, move, traffic, rng)

    def before_traffic(self, scene: Scene, state: SimState, ego: VehicleState, rng: np.random.Generator) -> Move:
        """The part of a step between the ego's motion (``ego``, moved) and the traffic's: where the ego is on
        its route and lanes, the scenario's events due, and what traffic must respect (``step_traffic``'s
        inputs)."""
        ex, ey, eh = float(ego.x[0]), float(ego.y[0]), float(ego.heading[0])
        idx, progress, offset, along = state.route.project((ex, ey), state.route_index)
        lane, lane_s, in_lane = _ego_lane(scene.world.lanes, state.route, idx, offset, along, ex, ey, eh)
        plan, fired, notes = state.plan, state.fired, ()
        before = state.traffic
        forced = None
        if plan is not None:
            before, fired, notes = _fire_lane_changes(scene, plan, before, state.t, fired, rng)
            forced = forced_accel(plan, state.t, before.speed)
        return Move(ego, (ex, ey), eh, idx, progress, offset, lane, lane_s, in_lane, before,
                    _obstacles(scene, lane, lane_s, ego, state.actors, state.vrus),
                    walkers(state.vrus, scene.walks) if state.vrus.n else None, forced, fired, notes)

    def after_traffic(self, scene: Scene, contacts: ContactWorld, state: SimState, move: Move, traffic: TrafficState,
                      rng: np.random.Generator) -> SimState:
        """The rest of a step once traffic has moved: trailers, pedestrians and cyclists, the actor table,
        collisions and the new state."""
        cfg = self.config
        dt = cfg.dt
        ego, plan = move.ego, state.plan
        (ex, ey), eh = move.ego_xy, move.heading
        rows = _traffic_rows(scene, traffic)
        semis = follow(state.semis, rows)
        vrus = state.vrus
        if vrus.n:
            moved = _actors(scene, ego, traffic, semis, NO_VRUS, plan, state.t + dt, rows)
            vehicles = (moved.kind < 0) | np.isin(moved.kind, VEHICLE_CODES)
            vrus = step_vrus(vrus, scene.walks, scene.world, Vehicles.from_table(moved.table[:, vehicles & moved.valid]),
                             dt, rng)
            if state.step_index % VRU_RECYCLE_EVERY == VRU_RECYCLE_EVERY - 1:
                vrus = _recycle_vrus(scene, cfg.vru, vrus, rng, (ex, ey), moved.table[:2, vehicles].T)
            actors = _with_vrus(moved, vrus)
        else:
            actors = _actors(scene, ego, traffic, semis, vrus, plan, state.t + dt, rows)

        collision = ""
        if _hits_vehicle(ego, actors):
            collision = "vehicle"
        else:
            hit = contacts.query_box(ex, ey, eh, EGO_LENGTH, EGO_WIDTH, EGO_HEIGHT)
            collision = "prop" if hit.prop_ids else ("curb" if hit.curb else "")
        off_road = not (move.in_lane or bool(scene.world.lanes.in_areas(np.array([[ex, ey]]))[0]))
        a = float(ego.accel[0])
        return SimState(
            t=state.t + dt, step_index=state.step_index + 1, ego=ego, traffic=traffic, semis=semis, vrus=vrus,
            actors=actors,
            route=state.route, route_index=move.route_index, progress_m=move.progress_m,
            route_offset_m=move.route_offset_m, lane=int(move.lane[0]),
            accel=a, jerk=(a - state.accel) / dt, lat_accel=float(ego.speed[0] * ego.yaw_rate[0]),
            collision=collision, off_road=off_road, plan=plan, fired=move.fired, notes=move.notes,
        )


class Move(NamedTuple):
    """What ``Simulation.before_traffic`` found: the moved ``ego`` at ``ego_xy`` (m) and ``heading`` (rad), its
    route point, progress and offset (m), ``lane`` (1,) / ``lane_s`` (1,) m and whether it is in that lane, and the
    inputs of ``step_traffic``: ``traffic`` (after a scenario's events), ``obstacles``, ``walkers`` (None: no
    pedestrians or cyclists) and ``forced`` accelerations (None: none); the scenario events ``fired`` so far and
    ``notes``."""

    ego: VehicleState
    ego_xy: tuple[float, float]
    heading: float
    route_index: int
    progress_m: float
    route_offset_m: float
    lane: np.ndarray
    lane_s: np.ndarray
    in_lane: bool
    traffic: TrafficState
    obstacles: Obstacles
    walkers: object
    forced: np.ndarray | None
    fired: frozenset
    notes: tuple


def _has_vrus(spec: VruSpec) -> bool:
    return bool(spec.pedestrians or spec.cyclists or spec.crowd_size)


def _vru_capacity(spec: VruSpec) -> int:
    """Rows of the VRU state (and columns of the actor table) an episode keeps for pedestrians and cyclists."""
    return spec.pedestrians + spec.cyclists + spec.crowd_size


def _recycle_vrus(scene: Scene, spec: VruSpec, vrus: VruState, rng: np.random.Generator, ego_xy,
                  occupied_xy: np.ndarray) -> VruState:
    """Fill the free rows with new pedestrians (in groups) and cyclists placed around the ego, clear of
    ``occupied_xy`` (the vehicles), up to the spec's numbers; then free the rows of the groups whose leader is
    farther than VRU_RECYCLE_RADIUS_M from it. A freed row stays free until the next call, so that a row never
    changes person from one step to the next."""
    if not vrus.valid.all():
        walking, riding = (int((vrus.valid & (vrus.kind == k)).sum()) for k in (0, 1))
        fresh = replace(spec, pedestrians=max(spec.pedestrians + spec.crowd_size - walking, 0),
                        cyclists=max(spec.cyclists - riding, 0), crowd_size=0)
        if fresh.pedestrians or fresh.cyclists:
            vrus = fill_vrus(vrus, spawn_vrus(scene.world, scene.walks, fresh, rng, ego_xy, VRU_RADIUS_M, occupied_xy))
    far = (np.hypot(vrus.x - ego_xy[0], vrus.y - ego_xy[1]) > VRU_RECYCLE_RADIUS_M) & vrus.valid & ~vrus.scripted
    return free_groups(vrus, far) if far.any() else vrus


def _fire_lane_changes(scene: Scene, plan: Plan, traffic: TrafficState, t: float, fired: frozenset, rng):
    """Apply the scenario's lane changes due at ``t``; returns (traffic, fired, notes)."""
    notes = []
    for k, i, direction in due_lane_changes(plan, t, fired):
        traffic, done = force_lane_change(scene.lane_map, traffic, i, direction, rng)
        fired = fired | {k}
        if not done:
            notes.append(f"event {k}: lane_change {direction} of {plan.scenario.events[k].actor} skipped: "
                         f"no lane on that side of lane {int(traffic.lane[i])}")
    return traffic, fired, tuple(notes)


def _ego_lane(graph, route: Route, idx: int, offset: float, along: float, x: float, y: float, heading: float):
    """The ego's lane, arc length on it and whether it is inside that lane: read off the route when the
    ego is within its route lane or the neighbour on the side it drifted to (the common cases), else
    located on the whole lane graph."""
    lane = int(route.point_lane[idx])
    s = float(route.point_lane_s[idx]) + along
    if abs(offset) <= 0.5 * graph.lane_width[lane] and 0.0 <= s <= graph.lane_length[lane]:
        return np.array([lane]), np.array([s]), True
    side = int(graph.left[lane] if offset > 0 else graph.right[lane])
    if side >= 0:
        d = offset - math.copysign(0.5 * (graph.lane_width[lane] + graph.lane_width[side]), offset)
        s_side = s * graph.lane_length[side] / graph.lane_length[lane]
        if abs(d) <= 0.5 * graph.lane_width[side] and 0.0 <= s_side <= graph.lane_length[side]:
            return np.array([side]), np.array([s_side]), True
    lanes, ss, d = graph.locate(np.array([[x, y]]), np.array([heading]))
    ln = int(lanes[0])
    return lanes, ss, abs(float(d[0])) <= 0.5 * graph.lane_width[ln] and 0.0 <= ss[0] <= graph.lane_length[ln]


def _hits_vehicle(ego: VehicleState, actors: Actors) -> bool:
    """Oriented-box overlap of the ego with any other actor present (SAT only for those close enough)."""
    reach = 0.5 * (np.hypot(EGO_LENGTH, EGO_WIDTH) + np.hypot(actors.length[1:], actors.width[1:]))
    near = np.flatnonzero((np.hypot(actors.x[1:] - ego.x[0], actors.y[1:] - ego.y[0]) <= reach) & actors.valid[1:]) + 1
    if near.size == 0:
        return False
    return bool(boxes_overlap(
        (ego.x, ego.y, ego.heading, np.array([EGO_LENGTH]), np.array([EGO_WIDTH])),
        (actors.x[near], actors.y[near], actors.heading[near], actors.length[near], actors.width[near]),
    ).any())


def _obstacles(scene: Scene, lane, lane_s, ego: VehicleState, previous: Actors, vrus: VruState) -> Obstacles:
    """The ego, on-lane props, pedestrians and cyclists on the carriageway, trailers reaching into the lane beside
    theirs and a scenario's puppets (where they were last step) as obstacles for traffic."""
    on = scene.prop_lane >= 0
    v_lane, v_lane2, v_s, v_speed, v_length, v_xy = (vru_obstacles(vrus, scene.world.lanes) if vrus.n
                                                      else NO_VRU_OBSTACLES)
    obstacles = Obstacles(
        lane=np.concatenate([lane, scene.prop_lane[on], v_lane]),
        lane2=np.concatenate([np.full(1 + scene.obstacle_xy.shape[0], -1, dtype=np.int64), v_lane2]),
        s=np.concatenate([lane_s, scene.prop_s[on], v_s]),
        speed=np.concatenate([ego.speed, np.zeros(scene.obstacle_xy.shape[0]), v_speed]),
        length=np.concatenate([[EGO_LENGTH], scene.obstacle_size[:, 0], v_length]),
        xy=np.concatenate([[[ego.x[0], ego.y[0]]], scene.obstacle_xy, v_xy]),
        width=np.concatenate([[EGO_WIDTH], scene.obstacle_size[:, 1], np.full(v_lane.size, np.nan)]),
        heading=np.concatenate([ego.heading[:1], scene.obstacle_heading, np.full(v_lane.size, np.nan)]),
    )
    trailers = np.flatnonzero(previous.kind == ACTOR_CODE["trailer"])
    if trailers.size:
        t_lane, t_s, t_speed, t_length, t_xy = trailer_intrusions(
            scene.world.lanes, previous.table[:, previous.kind == ACTOR_CODE["tractor"]], previous.table[:, trailers])
        obstacles = Obstacles(
            lane=np.concatenate([obstacles.lane, np.full(t_lane.size, -1)]),
            lane2=np.concatenate([obstacles.lane2, t_lane]),
            s=np.concatenate([obstacles.s, t_s]), speed=np.concatenate([obstacles.speed, t_speed]),
            length=np.concatenate([obstacles.length, t_length]), xy=np.concatenate([obstacles.xy, t_xy]),
            width=np.concatenate([obstacles.width, np.full(t_lane.size, np.nan)]),
            heading=np.concatenate([obstacles.heading, np.full(t_lane.size, np.nan)]),
        )
    n = len(previous.kind)
    puppets = np.arange(n - previous.puppets, n)
    puppets = puppets[previous.valid[puppets]]
    if puppets.size == 0:
        return obstacles
    tab = previous.table[:, puppets]
    p_lane, p_s, _ = scene.world.lanes.locate(tab[:2].T, tab[2])
    return Obstacles(
        lane=np.concatenate([obstacles.lane, p_lane]), lane2=np.concatenate([obstacles.lane2, np.full(puppets.size, -1)]),
        s=np.concatenate([obstacles.s, p_s]), speed=np.concatenate([obstacles.speed, tab[3]]),
        length=np.concatenate([obstacles.length, tab[4]]), xy=np.concatenate([obstacles.xy, tab[:2].T]),
        width=np.concatenate([obstacles.width, tab[5]]), heading=np.concatenate([obstacles.heading, tab[2]]),
    )


def _traffic_rows(scene: Scene, traffic: TrafficState) -> np.ndarray:
    """(7, N) rows of ACTOR_FIELDS of the traffic vehicles (a semi as its tractor)."""
    return traffic_rows(scene.lane_map, traffic)


def _with_vrus(actors: Actors, vrus: VruState) -> Actors:
    """``actors`` (built without pedestrians and cyclists) with ``vrus`` in their place, before the puppets."""
    w = len(actors.kind) - actors.puppets
    table, vru_kind, vru_valid = vru_table(vrus)
    return Actors(np.concatenate([actors.table[:, :w], table, actors.table[:, w:]], axis=1),
                  np.concatenate([actors.kind[:w], VRU_CODES[vru_kind], actors.kind[w:]]),
                  np.concatenate([actors.valid[:w], vru_valid, actors.valid[w:]]), actors.puppets)


def _actors(scene: Scene, ego: VehicleState, traffic: TrafficState, semis: Semis, vrus: VruState,
            plan: Plan | None = None, t: float = 0.0, rows: np.ndarray | None = None) -> Actors:
    """The actor table of a step; ``rows`` are the traffic's ``_traffic_rows`` when already computed (not
    modified)."""
    k = len(plan.puppets.ids) if plan is not None else 0
    m = 1 + traffic.n
    w = m + semis.owner.size
    n = w + vrus.n
    table = np.empty((len(ACTOR_FIELDS), n + k))
    table[:, 0] = (ego.x[0], ego.y[0], ego.heading[0], ego.speed[0], EGO_LENGTH, EGO_WIDTH, EGO_HEIGHT)
    rows = _traffic_rows(scene, traffic) if rows is None else rows.copy()
    kind = np.empty(n + k, np.int8)
    kind[0] = -1
    kind[1:m] = traffic.kind
    if semis.owner.size:
        rows[:, semis.owner], table[:, m:w] = semi_rows(semis, rows)
        kind[1 + semis.owner] = ACTOR_CODE["tractor"]
        kind[m:w] = ACTOR_CODE["trailer"]
    table[:, 1:m] = rows
    valid = np.ones(n + k, bool)
    if vrus.n:
        table[:, w:n], vru_kind, valid[w:n] = vru_table(vrus)
        kind[w:n] = VRU_CODES[vru_kind]
    if k:
        table[:, n:], valid[n:] = plan.puppets.table(t)
        kind[n:] = plan.puppets.kind
    return Actors(table, kind, valid, k)
