"""The ground-truth "vector space" of a step, as plain arrays, for ``info["vector_space"]``."""
from __future__ import annotations

import numpy as np


def vector_space(state, scene) -> dict:
    """Actors (ego first; kind -1 = ego, else a traffic class index), on-lane obstacles and the route."""
    a = state.actors
    props = scene.world.props
    on = scene.prop_lane >= 0
    return {
        "actors": {
            "kind": a.kind, "x": a.x, "y": a.y, "heading": a.heading, "speed": a.speed,
            "length": a.length, "width": a.width, "height": a.height,
            "lane": np.concatenate([[state.lane], state.traffic.lane]),
        },
        "obstacles": {"kind": props.kind[on], "xy": props.xy[on], "heading": props.heading[on], "size": props.size[on]},
        "route": {"lanes": np.asarray(state.route.lanes), "goal_s": state.route.goal_s},
        "ego": {"steer": state.ego.steer, "yaw_rate": state.ego.yaw_rate, "lateral_speed": state.ego.lateral_speed},
    }
