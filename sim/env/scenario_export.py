"""From an episode to a scenario, and a scenario's verdict on an episode."""
from __future__ import annotations

from sim.scenario.behaviours import IdmBehaviour
from sim.scenario.schema import Actor, Ego, LanePose, RouteSpec, Scenario, Size, Success, WorldSection, XYPose
from sim.traffic.vehicle_classes import CLASS_NAMES


def export_scenario(state, scene, config, name: str, description: str) -> Scenario:
    """``state`` as a Scenario: its world by seed, the ego on its route, traffic as IDM actors (styles kept).
    Pedestrians and cyclists are left out: the schema has no reactive road users on foot yet (only scripted
    walks), so a scenario brings its own."""
    ego = state.ego
    tr = state.traffic
    actors = tuple(
        Actor(id=f"vehicle{i}", vehicle_class=CLASS_NAMES[int(tr.kind[i])],
              size=Size(float(tr.length[i]), float(tr.width[i]), float(tr.height[i])),
              start=LanePose(int(tr.lane[i]), float(tr.s[i]), float(tr.d[i])), speed=float(tr.speed[i]),
              behaviour=IdmBehaviour(speed_factor=float(tr.speed_factor[i]), time_headway=float(tr.time_headway[i]),
                                     min_gap=float(tr.min_gap[i]), max_accel=float(tr.max_accel[i]),
                                     comfort_decel=float(tr.comfort_decel[i]), politeness=float(tr.politeness[i])))
        for i in range(tr.n)
    )
    lanes = state.route.lanes[list(state.route.lanes).index(int(state.route.point_lane[state.route_index])):]
    return Scenario(
        name=name, description=description or f"Exported at t={state.t:.1f} s of a roadloop/Drive-v0 episode.",
        world=WorldSection(seed=int(scene.world_seed), spec=config.world),
        ego=Ego(route=RouteSpec(lanes=tuple(int(x) for x in lanes)),
                start=XYPose(float(ego.x[0]), float(ego.y[0]), float(ego.heading[0])), speed=float(ego.speed[0])),
        actors=actors,
        success=Success(max_seconds=float(config.episode_seconds), min_route_completion=1.0),
    )


def scenario_outcome(scenario: Scenario, state) -> dict:
    """Whether the episode met the scenario's success criteria, and which ones it missed."""
    s = scenario.success
    goal = state.route.goal_s
    completion = min(max(state.progress_m / goal, 0.0), 1.0) if goal > 0 else 1.0
    failed = []
    if completion < s.min_route_completion:
        failed.append(f"route completion {completion:.2f} < {s.min_route_completion:.2f}")
    if s.no_collision and state.collision:
        failed.append(f"collision ({state.collision})")
    if s.no_off_road and state.off_road:
        failed.append("off road")
    return {"name": scenario.name, "success": not failed, "failed": tuple(failed)}
