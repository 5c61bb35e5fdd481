"""Second validation stage: a Scenario against the World its seed and spec generate."""
from __future__ import annotations

import numpy as np

from sim.physics.collision import boxes_overlap
from sim.traffic.actor_classes import size_range
from sim.traffic.vehicle_classes import CLASS_NAMES
from sim.world import World, generate_world
from sim.world.lanes import LaneGraph

from .behaviours import CrowdBehaviour, ReplayBehaviour, WalkBehaviour
from .parking import ParkingScenario
from .schema import LanePose, Pose, Scenario, XYPose
from .values import ScenarioError, join

EGO_BOX_M = (4.7, 1.85)
"""Length and width of the env's ego, m (sim.env.simulation EGO_LENGTH, EGO_WIDTH)."""


def make_world(scenario: Scenario) -> World:
    """The scenario's world: ``generate_world(spec, np.random.default_rng(seed))``; ScenarioError for a parking
    scenario (its lot comes from sim.scenario.lot_plan.make_lot)."""
    if isinstance(scenario, ParkingScenario):
        raise ScenarioError(f"{scenario.name!r} is a parking-lot scenario: it has a lot (sim.scenario.lot_plan."
                            "make_lot), not a road world", "world.kind")
    return generate_world(scenario.world.spec, np.random.default_rng(scenario.world.seed))


def resolve_pose(pose: Pose, lanes: LaneGraph, path: str = "") -> tuple[float, float, float]:
    """(x m, y m, heading rad) of a pose; a lane pose must name an existing lane and s within it."""
    if isinstance(pose, XYPose):
        return pose.x, pose.y, pose.heading
    n = len(lanes.lanes)
    if pose.lane >= n:
        raise ScenarioError(f"no lane {pose.lane} in this world (lanes 0..{n - 1})", join(path, "lane"))
    length = float(lanes.lane_length[pose.lane])
    if pose.s > length:
        raise ScenarioError(f"expected s <= {length:.2f}, the length of lane {pose.lane} (m), got {pose.s:g}",
                            join(path, "s"))
    xy, heading = lanes.cartesian([pose.lane], [pose.s], [pose.d])
    return float(xy[0, 0]), float(xy[0, 1]), float(heading[0])


def check_in_world(scenario: Scenario, world: World, ego_size: tuple[float, float] = EGO_BOX_M,
                   file: str = "") -> None:
    """ScenarioError unless: route lanes exist and connect (successor or left/right neighbour), the
    ego starts on the route's first lane, lane poses lie within their lanes, every vehicle's start
    (a replay actor's first sample) is on the drivable area, and no two boxes present at t=0 (the
    ego's ``ego_size`` (length, width) m; an actor without a size the largest of its class) overlap."""
    try:
        _check(scenario, world.lanes, ego_size)
    except ScenarioError as e:
        raise e.in_file(file) if file else e


def _check(scenario: Scenario, lanes: LaneGraph, ego_size) -> None:
    ego = scenario.ego
    route = ego.route.lanes
    for i, lane in enumerate(route or ()):
        path = f"ego.route.lanes[{i}]"
        if lane >= len(lanes.lanes):
            raise ScenarioError(f"no lane {lane} in this world (lanes 0..{len(lanes.lanes) - 1})", path)
        if i:
            prev = route[i - 1]
            succ = [int(j) for j in lanes.succ[prev] if j >= 0]
            if lane not in succ and lane not in (lanes.left[prev], lanes.right[prev]):
                raise ScenarioError(f"lane {lane} does not follow lane {prev} (successors {succ}, left neighbour "
                                    f"{lanes.left[prev]}, right neighbour {lanes.right[prev]})", path)
    pose = resolve_pose(ego.start, lanes, "ego.start")
    _check_on_road(pose, "ego.start", lanes)
    boxes = [("ego.start", "the ego", *pose, *ego_size)]
    if route is not None:
        _check_on_lane(ego.start, boxes[0], route[0], lanes)
    for i, actor in enumerate(scenario.actors):
        (_, l_max), (_, w_max), _ = size_range(actor.vehicle_class)
        length, width = (actor.size.length, actor.size.width) if actor.size else (l_max, w_max)
        b = actor.behaviour
        if isinstance(b, ReplayBehaviour):
            path, pose = f"actors[{i}].behaviour.track", (b.track.x[0], b.track.y[0], b.track.heading[0])
        elif isinstance(b, (WalkBehaviour, CrowdBehaviour)):
            path = f"actors[{i}].behaviour.path"
            pose = [resolve_pose(p, lanes, f"{path}[{j}]") for j, p in enumerate(b.path)][0]
        else:
            path = f"actors[{i}].start"
            pose = resolve_pose(actor.start, lanes, path)
        if actor.vehicle_class in CLASS_NAMES:  # road users on foot (or a dog) may start on the sidewalk
            _check_on_road(pose, path, lanes)
        if not (isinstance(b, CrowdBehaviour) or (isinstance(b, ReplayBehaviour) and b.track.t[0] > 0.0)):
            boxes.append((path, f"actor {actor.id!r}", *pose, length, width))
    x, y, heading, length, width = (np.array([b[k] for b in boxes], float) for k in range(2, 7))
    hit = np.triu(boxes_overlap((x, y, heading, length, width), (x, y, heading, length, width)), k=1)
    if hit.any():
        i, j = min(zip(*np.nonzero(hit)), key=lambda ij: (ij[1], ij[0]))
        raise ScenarioError(f"overlaps {boxes[i][1]} at t=0", boxes[j][0])


def _check_on_road(pose, path: str, lanes: LaneGraph) -> None:
    if not lanes.is_on_road(np.array([pose[:2]], float))[0]:
        raise ScenarioError(f"({pose[0]:.2f}, {pose[1]:.2f}) is off the drivable area", path)


def _check_on_lane(start: Pose, box, lane: int, lanes: LaneGraph) -> None:
    """The ego's start lies on the route's first lane."""
    if isinstance(start, LanePose):
        if start.lane != lane:
            raise ScenarioError(f"expected the route's first lane {lane}, got {start.lane}", "ego.start.lane")
        return
    s, d = lanes.frenet(lane, [box[2:4]])
    if abs(d[0]) > 0.5 * lanes.lane_width[lane] or not 0.0 < s[0] < lanes.lane_length[lane]:
        raise ScenarioError(f"({box[2]:.2f}, {box[3]:.2f}) is not on the route's first lane {lane}", "ego.start")
