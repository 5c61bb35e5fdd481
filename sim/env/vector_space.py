"""The ground-truth "vector space" of a step, as fixed-shape arrays with ``valid`` masks,
for ``info["vector_space"]`` (fixed shapes so that vector envs can batch them)."""
from __future__ import annotations

import numpy as np

MAX_OBSTACLES = 32
"""On-lane obstacles reported (the first MAX_OBSTACLES of the world)."""
from sim.env.simulation import ACTOR_FIELDS


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


def vector_space(state, obstacles: dict, max_actors: int) -> dict:
    """Actors (ego first; kind -1 = ego, else a traffic class index) padded to ``max_actors``,
    the scene's on-lane obstacles, and the ego's route."""
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
    return {
        "actors": actors,
        "obstacles": {k: v.copy() for k, v in obstacles.items()},
        "route": {"lanes": state.route.lanes, "goal_s": state.route.goal_s},
        "ego": {"steer": float(state.ego.steer[0]), "yaw_rate": float(state.ego.yaw_rate[0]),
                "lateral_speed": float(state.ego.lateral_speed[0])},
    }
