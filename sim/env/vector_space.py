"""The ground-truth "vector space" of a step, as fixed-shape arrays with ``valid`` masks,
for ``info["vector_space"]`` (fixed shapes so that vector envs can batch them)."""
from __future__ import annotations

import numpy as np

MAX_OBSTACLES = 32
"""On-lane obstacles reported, nearest to the ego first."""


def _pad(values: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n,) + values.shape[1:], dtype=values.dtype)
    out[: min(len(values), n)] = values[:n]
    return out


def vector_space(state, scene, max_actors: int) -> dict:
    """Actors (ego first; kind -1 = ego, else a traffic class index) padded to ``max_actors``,
    on-lane obstacles padded to MAX_OBSTACLES, and the ego's route."""
    a = state.actors
    n = len(a.x)
    actors = {
        "valid": _pad(np.ones(n, bool), max_actors),
        "kind": _pad(a.kind, max_actors), "x": _pad(a.x, max_actors), "y": _pad(a.y, max_actors),
        "heading": _pad(a.heading, max_actors), "speed": _pad(a.speed, max_actors),
        "length": _pad(a.length, max_actors), "width": _pad(a.width, max_actors),
        "height": _pad(a.height, max_actors),
        "lane": _pad(np.concatenate([[state.lane], state.traffic.lane]), max_actors),
    }
    props = scene.world.props
    on = np.flatnonzero(scene.prop_lane >= 0)
    on = on[np.argsort(np.hypot(props.xy[on, 0] - a.x[0], props.xy[on, 1] - a.y[0]), kind="stable")]
    obstacles = {
        "valid": _pad(np.ones(on.size, bool), MAX_OBSTACLES), "kind": _pad(props.kind[on], MAX_OBSTACLES),
        "xy": _pad(props.xy[on], MAX_OBSTACLES), "heading": _pad(props.heading[on], MAX_OBSTACLES),
        "size": _pad(props.size[on], MAX_OBSTACLES),
    }
    return {
        "actors": actors,
        "obstacles": obstacles,
        "route": {"lanes": state.route.lanes, "goal_s": state.route.goal_s},
        "ego": {"steer": float(state.ego.steer[0]), "yaw_rate": float(state.ego.yaw_rate[0]),
                "lateral_speed": float(state.ego.lateral_speed[0])},
    }
