"""Candidate maneuvers and their rollouts: comfort bounds, stops, the map the planner reads."""
import gymnasium as gym
import numpy as np
import pytest

import sim  # noqa: F401
from agents.planning.costs import total_cost
from agents.planning.forecast import forecast
from agents.planning.maneuvers import (
    MANEUVERS,
    EgoState,
    allowed_speed,
    make_candidates,
    rollout,
)
from agents.planning.roadmap import ReferencePath, RoadMap
from sim.eval.metrics import (
    MAX_ABS_LAT_ACCEL,
    MAX_ABS_LON_JERK,
    MAX_LON_ACCEL,
    MIN_LON_ACCEL,
)


@pytest.fixture(scope="module")
def drive():
    env = gym.make("roadloop/Drive-v0", num_traffic=0, world={"lanes_per_direction": [2, 2]})
    obs, info = env.reset(seed=3)
    yield env, info
    env.close()


def test_map_in_info_rebuilds_the_env_route(drive):
    env, info = drive
    road = RoadMap(info["map"])
    vs = info["vector_space"]
    ref = ReferencePath.build(road, vs["route"]["lanes"], vs["route"]["goal_s"])
    route = env.unwrapped.state.route
    assert ref.xy.shape == route.points.shape and np.allclose(ref.xy, route.points)
    assert road.n == len(info["map"]["width"]) and (ref.left >= ref.own_left).all()
    with pytest.raises(ValueError, match="lacks"):
        RoadMap({"points": info["map"]["points"]})


def _ego(v=12.0):
    return EgoState(s=20.0, d=0.0, psi=0.0, v=v, a=0.0, length=4.7, width=1.85)


@pytest.mark.parametrize("v", [0.0, 6.0, 14.0])
def test_rollouts_respect_the_comfort_bounds(drive, v):
    _, info = drive
    vs = info["vector_space"]
    ref = ReferencePath.build(RoadMap(info["map"]), vs["route"]["lanes"], vs["route"]["goal_s"])
    ego = _ego(v)
    desired = float(ref.speed_limit[0])
    cands = make_candidates(ref, ego, desired, [ego.s + 40.0], around=True)
    r = rollout(ref, ego, cands, allowed_speed(ref, desired))
    kinds = {MANEUVERS[k] for k in cands.kind}
    assert {"keep", "change_left", "nudge", "go_around", "stop", "emergency"} <= kinds
    calm = cands.kind != MANEUVERS.index("emergency")
    dt = r.t[1] - r.t[0]
    assert (r.v >= 0).all()
    assert r.a[calm].min() >= MIN_LON_ACCEL and r.a[calm].max() <= MAX_LON_ACCEL
    moving = (r.v[:, 1:] > 0) & (r.v[:, :-1] > 0)  # coming to a standstill ends the braking at once
    assert np.abs(np.diff(r.a, axis=1) / dt)[calm[:, None] & moving].max() <= MAX_ABS_LON_JERK
    # the search may roll out candidates that turn too hard (a go-around sped up); the costs rule them out
    f = forecast(RoadMap(info["map"]), vs, r.t, np.zeros(0, int))
    cost, _ = total_cost(cands, r, f, ref, ego, None)
    best = int(np.argmin(cost))
    assert np.abs(r.lat_accel[best]).max() <= MAX_ABS_LAT_ACCEL
    too_hard = np.abs(r.lat_accel).max(axis=1) > MAX_ABS_LAT_ACCEL
    assert (cost[too_hard] > cost[best] + 100.0).all()
    stops = np.isfinite(cands.stop_s)
    front = r.s[stops].max(axis=1) + 0.5 * ego.length
    assert (front <= cands.stop_s[stops] + 0.5 * ego.length + 0.5).all()


def test_no_lane_change_near_a_junction(drive):
    _, info = drive
    vs = info["vector_space"]
    ref = ReferencePath.build(RoadMap(info["map"]), vs["route"]["lanes"], vs["route"]["goal_s"])
    entry = float(ref.s[np.flatnonzero(ref.junction)[0]])
    near = EgoState(s=entry - 5.0, d=0.0, psi=0.0, v=8.0, a=0.0, length=4.7, width=1.85)
    kinds = set(make_candidates(ref, near, 10.0, [], around=True).kind.tolist())
    assert kinds <= {MANEUVERS.index(k) for k in ("keep", "yield", "emergency")}
