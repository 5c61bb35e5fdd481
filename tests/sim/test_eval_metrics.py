"""sim.eval.metrics and sim.eval.aggregate on hand-built traces with known answers, and on one real episode."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace

import numpy as np
import pytest

from sim.eval.aggregate import aggregate, aggregate_by, bootstrap_mean, counts, wilson
from sim.eval.metrics import (
    MAX_OVERSPEED,
    METRICS,
    box_gap,
    episode_metrics,
    first_collision,
    smooth,
    ttc_series,
)
from sim.eval.trace import EpisodeTrace
from sim.physics.collision import boxes_overlap

DT = 0.1
EGO_L, EGO_W = 4.7, 1.85
CAR_L, CAR_W = 4.5, 1.8
CAR, TRUCK = 0, 4
"""Indices into sim.traffic.vehicle_classes.CLASS_NAMES."""


@dataclass
class Mover:
    """One actor's kinematics over a trace: (E,) arrays."""

    x: np.ndarray
    y: np.ndarray
    heading: np.ndarray
    speed: np.ndarray
    kind: int = CAR
    length: float = CAR_L
    width: float = CAR_W
    valid: np.ndarray | None = None


def move(steps: int, x0: float = 0.0, v0: float = 10.0, y0: float = 0.0, heading: float = 0.0, accel=0.0,
         kind: int = CAR, length: float = CAR_L, width: float = CAR_W) -> Mover:
    """A straight motion over ``steps`` + 1 states from (x0, y0) along ``heading`` with speed v0 and
    acceleration ``accel`` (scalar or (steps+1,), m/s^2, applied from state 1 on, speed clipped at 0);
    positions by the trapezoid rule, so constant speeds give exact positions."""
    E = steps + 1
    a = np.broadcast_to(np.asarray(accel, dtype=float), (E,))
    v = np.empty(E)
    v[0] = v0
    for k in range(1, E):
        v[k] = max(v[k - 1] + a[k] * DT, 0.0)
    s = np.concatenate(([0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) * DT)))
    return Mover(x0 + math.cos(heading) * s, y0 + math.sin(heading) * s, np.full(E, heading), v, kind, length,
                 width)


def make_trace(ego: Mover, others=(), *, route_length=None, progress=None, speed_limit=30.0, accel=None,
               lat_accel=None, collision=None, off_road=None, wrong_way=None, route_offset=None, road_type=0,
               predicted=None, truncated=False, scenario=None, stop_at_collision=True, lane=None,
               signal=None) -> EpisodeTrace:
    """An EpisodeTrace of the ego (sized EGO_L x EGO_W) and ``others`` (Movers). Without an explicit
    ``collision`` (E,) int8 array, vehicle collisions come from box overlap, and the trace ends at the first one
    (as the env terminates).
    ``progress`` defaults to the distance driven, ``route_length`` to the final progress (route completed)."""
    ego = replace(ego, kind=-1, length=EGO_L, width=EGO_W)
    E = len(ego.x)
    valid = [np.ones(E, bool)] + [np.ones(E, bool) if m.valid is None else np.asarray(m.valid) for m in others]
    if collision is None:
        collision = np.zeros(E, np.int8)
        for k in range(E):
            live = [m for m, v in zip(others, valid[1:]) if v[k]]
            if live and boxes_overlap(
                    ([ego.x[k]], [ego.y[k]], [ego.heading[k]], [ego.length], [ego.width]),
                    ([m.x[k] for m in live], [m.y[k] for m in live], [m.heading[k] for m in live],
                     [m.length for m in live], [m.width for m in live])).any():
                collision[k] = 1
                break
    collision = np.asarray(collision, np.int8)
    end = int(np.flatnonzero(collision)[0]) + 1 if stop_at_collision and collision.any() else E

    def col(v, default):
        v = np.broadcast_to(np.asarray(default if v is None else v), (E,))
        return v[:end]

    movers = [ego, *others]
    table = np.stack([np.stack([m.x, m.y, m.heading, m.speed, np.full(E, m.length), np.full(E, m.width),
                                np.full(E, 1.5)], axis=1) for m in movers], axis=-1)
    acc = col(accel, np.concatenate(([0.0], np.diff(ego.speed) / DT)))
    dist = np.concatenate(([0.0], np.cumsum(np.hypot(np.diff(ego.x), np.diff(ego.y)))))
    prog = col(progress, dist)
    ego_rows = np.stack([ego.x[:end], ego.y[:end], ego.heading[:end], ego.speed[:end], acc,
                         np.concatenate(([0.0], np.diff(acc) / DT)), col(lat_accel, 0.0), np.zeros(end)], axis=1)
    return EpisodeTrace(
        dt=DT, route_length_m=float(prog[-1] if route_length is None else route_length), max_seconds=(E - 1) * DT,
        ego=ego_rows, actors=table[:end], kind=np.array([-1] + [m.kind for m in others], np.int8),
        valid=np.stack(valid, axis=1)[:end], progress_m=prog.astype(float),
        route_offset_m=col(route_offset, 0.0).astype(float), speed_limit=col(speed_limit, 30.0).astype(float),
        wrong_way=col(wrong_way, False).astype(bool), road_type=col(road_type, 0).astype(np.int8),
        collision=collision[:end], off_road=col(off_road, False).astype(bool),
        predicted=None if predicted is None else np.asarray(predicted, float)[:end],
        lane=None if lane is None else col(lane, 0).astype(np.int64),
        signal=None if signal is None else col(signal, 0).astype(np.int8),
        terminated=bool(collision[:end].any()), truncated=truncated, scenario=scenario)


def _assert_json_clean(m: dict):
    text = json.dumps(m, allow_nan=False)
    assert json.loads(text) == m
    for k, v in m.items():
        assert v is None or isinstance(v, (bool, int, float, str)), k


# --- episode metrics -----------------------------------------------------------------------------------------

def test_clean_complete_episode_scores_one():
    trace = make_trace(move(100, v0=10.0), speed_limit=15.0)
    m = episode_metrics(trace)
    _assert_json_clean(m)
    assert m["route_completion"] == 1.0 and m["progress_m"] == pytest.approx(100.0)
    assert m["seconds"] == pytest.approx(10.0) and m["steps"] == 100 and m["mean_speed"] == pytest.approx(10.0)
    assert not m["collision"] and m["collision_kind"] == m["collision_type"] == m["collision_actor_class"] == ""
    assert m["min_ttc_s"] is None and m["min_distance_m"] is None and not m["ttc_violation"]
    assert m["speed_limit_compliance"] == 1.0 and m["max_overspeed_mps"] == 0.0
    assert m["comfortable"] and m["making_progress"] and m["passed"] and not m["wrong_way"]
    assert m["score"] == pytest.approx(1.0)
    assert m["road_types"] == "straight"
    numeric = {k for k, v in m.items() if v is None or isinstance(v, (bool, int, float))}
    assert numeric <= set(METRICS), numeric - set(METRICS)


def test_ttc_to_a_stopped_car_ahead():
    # Gap (bumper to bumper) 25.05 m at state 0, closing at 10 m/s: TTC = 2.6 s (first 0.1 s step with
    # 10 tau >= gap); 4 steps later the gap is 21.05 m and the TTC 2.2 s.
    gap0 = 25.05
    car = move(4, x0=gap0 + 0.5 * (EGO_L + CAR_L), v0=0.0)
    trace = make_trace(move(4, v0=10.0), [car], route_length=100.0)
    ttc, who = ttc_series(trace)
    np.testing.assert_allclose(ttc, [2.6, 2.5, 2.4, 2.3, 2.2])
    assert (who == 1).all()
    m = episode_metrics(trace)
    assert m["min_ttc_s"] == pytest.approx(2.2) and m["min_ttc_step"] == 4 and m["min_ttc_actor_class"] == "car"
    assert not m["ttc_violation"] and not m["collision"]
    assert m["min_distance_m"] == pytest.approx(gap0 - 4.0)


def test_ttc_violation_below_nuplan_bound():
    car = move(1, x0=9.05 + 0.5 * (EGO_L + CAR_L), v0=0.0)
    m = episode_metrics(make_trace(move(1, v0=10.0), [car], route_length=100.0))
    assert m["min_ttc_s"] == pytest.approx(0.9) and m["ttc_violation"]
    assert m["score"] == pytest.approx(0.0)  # route completion 0.01 < 0.2: not making progress


def test_ttc_ignores_cars_behind_and_parallel_traffic():
    behind = move(20, x0=-30.0, v0=15.0)       # faster car behind: not the ego's TTC (nuPlan)
    beside = move(20, x0=0.0, y0=3.5, v0=10.0)  # same speed, next lane
    m = episode_metrics(make_trace(move(20, v0=10.0), [behind, beside]))
    assert m["min_ttc_s"] is None
    assert m["min_distance_m"] == pytest.approx(3.5 - 0.5 * (EGO_W + CAR_W))


def test_rear_end_by_faster_car_is_active_rear_not_at_fault():
    car = move(30, x0=-(0.5 * (EGO_L + CAR_L) + 2.05), v0=10.0)
    trace = make_trace(move(30, v0=5.0), [car], route_length=2.5)
    m = episode_metrics(trace)
    assert m["collision"] and m["collision_kind"] == "vehicle" and m["collision_type"] == "active_rear"
    assert not m["at_fault_collision"] and m["collision_actor_class"] == "car"
    assert m["collision_step"] == trace.steps == 5 and m["collision_rel_speed_mps"] == pytest.approx(5.0)
    assert m["score"] == pytest.approx(1.0)  # not at fault, route done: nuPlan does not penalise it
    assert not m["passed"]


def test_ego_hits_stopped_truck_is_stopped_track_at_fault():
    truck = move(30, x0=3.05 + 0.5 * (EGO_L + 8.0), v0=0.0, kind=TRUCK, length=8.0, width=2.5)
    trace = make_trace(move(30, v0=10.0), [truck], route_length=10.0)
    m = episode_metrics(trace)
    assert m["collision_step"] == 4 and m["collision_type"] == "stopped_track" and m["at_fault_collision"]
    assert m["collision_actor_class"] == "truck" and m["collision_rel_speed_mps"] == pytest.approx(10.0)
    assert m["score"] == 0.0 and not m["passed"]


def test_active_front_lateral_and_stopped_ego_collisions():
    slower = move(30, x0=1.05 + 0.5 * (EGO_L + CAR_L), v0=5.0)
    m = episode_metrics(make_trace(move(30, v0=10.0), [slower], route_length=10.0))
    assert m["collision_type"] == "active_front" and m["at_fault_collision"]
    # A car beside the ego, 1 m behind it, steering into its side at 0.3 rad.
    merging = move(30, x0=-1.0, y0=2.4, v0=10.0, heading=-0.3)
    m = episode_metrics(make_trace(move(30, v0=10.0), [merging], route_length=10.0))
    assert m["collision_type"] == "active_lateral" and m["at_fault_collision"]  # simplified: lateral is at fault
    crossing = move(30, x0=0.0, y0=6.0, v0=5.0, heading=-math.pi / 2)
    m = episode_metrics(make_trace(move(30, v0=0.0), [crossing], route_length=10.0))
    assert m["collision_type"] == "stopped_ego" and not m["at_fault_collision"]


def test_prop_collision_is_static_and_halves_the_score():
    collision = np.zeros(51, np.int8)
    collision[50] = 2
    m = episode_metrics(make_trace(move(50, v0=10.0), collision=collision))
    assert m["collision"] and m["collision_kind"] == "prop" and m["collision_type"] == "static"
    assert m["at_fault_collision"] and m["collision_actor_class"] == "prop" and m["collision_step"] == 50
    assert m["score"] == pytest.approx(0.5)
    assert first_collision(make_trace(move(5))) is None


def test_comfort_against_nuplan_bounds():
    m = episode_metrics(make_trace(move(20, v0=30.0, accel=-5.0), accel=-5.0))
    assert m["min_accel"] == pytest.approx(-5.0) and m["max_abs_jerk"] == pytest.approx(0.0, abs=1e-9)
    assert not m["comfortable"] and m["score"] == pytest.approx((5 + 5 + 4) / 16)
    m = episode_metrics(make_trace(move(20, v0=5.0, accel=1.0), accel=1.0))
    assert m["max_accel"] == pytest.approx(1.0) and m["comfortable"]
    # Acceleration ramping at 6 m/s^3 for 0.8 s: within the accel bounds, jerk above 4.13.
    ramp = 6.0 * np.arange(9) * DT - 2.0
    m = episode_metrics(make_trace(move(8, v0=10.0, accel=ramp), accel=ramp))
    assert m["max_abs_jerk"] == pytest.approx(6.0) and not m["comfortable"]
    m = episode_metrics(make_trace(move(20), lat_accel=5.0))
    assert m["max_abs_lat_accel"] == pytest.approx(5.0) and not m["comfortable"]


def test_smoothing_removes_one_step_spikes():
    a = np.zeros(31)
    a[15] = -6.0  # one-step spike: raw jerk +-60 m/s^3
    assert smooth(a, DT, 0.7).min() > -4.05
    assert np.allclose(smooth(np.ones(2), DT, 0.7, deriv=1), 0.0)
    assert smooth(np.ones(1), DT, 1.5, deriv=1).shape == (1,)


def test_speed_limit_compliance_nuplan_formula():
    m = episode_metrics(make_trace(move(50, v0=12.0), speed_limit=11.0))
    assert m["max_overspeed_mps"] == pytest.approx(1.0)
    assert m["speed_limit_compliance"] == pytest.approx(1.0 - 1.0 / MAX_OVERSPEED)
    m = episode_metrics(make_trace(move(50, v0=20.0), speed_limit=11.0))
    assert m["speed_limit_compliance"] == 0.0


@pytest.mark.parametrize("rows, metres, flag, multiplier", [(2, 2.0, False, 1.0), (3, 3.0, True, 0.5),
                                                            (7, 7.0, True, 0.0)])
def test_wrong_way_distance(rows, metres, flag, multiplier):
    wrong = np.zeros(21, bool)
    wrong[1:1 + rows] = True  # the steps arriving in those states, 1 m each at 10 m/s
    m = episode_metrics(make_trace(move(20, v0=10.0), wrong_way=wrong))
    assert m["wrong_way_m"] == pytest.approx(metres) and m["wrong_way"] == flag
    assert m["score"] == pytest.approx(multiplier)


def test_off_road_and_no_progress_score_zero():
    off = np.zeros(21, bool)
    off[20] = True
    m = episode_metrics(make_trace(move(20), off_road=off))
    assert m["off_road"] and m["score"] == 0.0 and not m["passed"]
    m = episode_metrics(make_trace(move(20), route_length=200.0))
    assert m["route_completion"] == pytest.approx(0.1) and not m["making_progress"] and m["score"] == 0.0


def test_passed_follows_the_scenario_outcome():
    fail = {"name": "x", "success": False, "failed": ["route completion 0.10 < 0.25"]}
    assert not episode_metrics(make_trace(move(20), scenario=fail))["passed"]
    ok = {"name": "x", "success": True, "failed": []}
    assert episode_metrics(make_trace(move(20), route_length=200.0, scenario=ok))["passed"]


def test_box_gap_agrees_with_boxes_overlap_and_measures_aligned_gaps():
    rng = np.random.default_rng(3)
    a = [rng.uniform(-3, 3, 500), rng.uniform(-3, 3, 500), rng.uniform(-4, 4, 500), rng.uniform(1, 6, 500),
         rng.uniform(1, 3, 500)]
    b = [rng.uniform(-3, 3, 500), rng.uniform(-3, 3, 500), rng.uniform(-4, 4, 500), rng.uniform(1, 6, 500),
         rng.uniform(1, 3, 500)]
    over = np.diagonal(boxes_overlap(a, b))
    assert over.any() and not over.all()
    np.testing.assert_array_equal(box_gap(*a, *b) <= 0, over)
    assert box_gap(0.0, 0.0, 0.0, 4.0, 2.0, 10.0, 0.0, math.pi, 4.0, 2.0) == pytest.approx(6.0)


def test_twenty_actors_three_hundred_steps_are_handled():
    others = [move(300, x0=20.0 + 12 * k, y0=3.5 * (k % 3 - 1), v0=8.0 + k % 4) for k in range(20)]
    m = episode_metrics(make_trace(move(300, v0=10.0, y0=0.0), others, stop_at_collision=False,
                                   collision=np.zeros(301, np.int8)))
    _assert_json_clean(m)
    assert m["min_ttc_s"] is not None and m["min_ttc_s"] > 0


# --- aggregation -----------------------------------------------------------------------------------------------

def test_wilson_interval_known_value():
    lo, hi = wilson(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    agg = aggregate([{"collision": i < 5} for i in range(10)])
    assert agg["collision"] == {"mean": 0.5, "ci_low": lo, "ci_high": hi, "n": 10}
    lo0, hi0 = wilson(0, 20)
    assert lo0 == 0.0 and hi0 == pytest.approx(0.1611, abs=1e-4)


def test_aggregate_means_skip_none_and_strings_and_are_deterministic():
    rng = np.random.default_rng(1)
    rows = [{"score": float(x), "min_ttc_s": (None if i % 3 == 0 else float(x)), "collision_type": "static",
             "steps": i} for i, x in enumerate(rng.uniform(0, 1, 30))]
    a, b = aggregate(rows), aggregate(rows)
    assert a == b and "collision_type" not in a
    scores = np.array([r["score"] for r in rows])
    assert a["score"]["n"] == 30 and a["score"]["mean"] == pytest.approx(scores.mean())
    assert a["score"]["ci_low"] < a["score"]["mean"] < a["score"]["ci_high"]
    # the bootstrap interval of a mean is about +-1.96 standard errors wide
    se = scores.std(ddof=1) / math.sqrt(30)
    assert a["score"]["ci_high"] - a["score"]["ci_low"] == pytest.approx(2 * 1.96 * se, rel=0.15)
    assert a["min_ttc_s"]["n"] == 20
    assert a["steps"]["mean"] == pytest.approx(14.5)
    assert bootstrap_mean(scores) == bootstrap_mean(scores)


def test_aggregate_single_and_empty_values():
    agg = aggregate([{"score": 0.7, "min_ttc_s": None, "passed": True}])
    assert agg["score"] == {"mean": 0.7, "ci_low": 0.7, "ci_high": 0.7, "n": 1}
    assert agg["min_ttc_s"] == {"mean": None, "ci_low": None, "ci_high": None, "n": 0}
    assert agg["passed"]["mean"] == 1.0 and agg["passed"]["n"] == 1
    assert aggregate([]) == {}


def test_aggregate_by_and_counts():
    rows = [{"case": "a", "score": 1.0, "collision_type": ""}, {"case": "b", "score": 0.0, "collision_type": "static"},
            {"case": "a", "score": 0.5, "collision_type": "active_front"},
            {"case": "b", "score": 0.2, "collision_type": "static"}]
    by = aggregate_by(rows, "case")
    assert list(by) == ["a", "b"] and by["a"]["score"]["mean"] == pytest.approx(0.75)
    assert by["b"]["score"]["n"] == 2
    assert counts(rows, "collision_type") == {"static": 2, "": 1, "active_front": 1}
    assert list(counts(rows, "collision_type")) == ["static", "", "active_front"]


# --- a real episode -------------------------------------------------------------------------------------------

def run_episode(scenario: str, seed: int = 0) -> EpisodeTrace:
    import gymnasium as gym

    import sim  # noqa: F401
    from agents import make_agent
    from sim.eval.trace import TraceCollector

    env = gym.make("roadloop/Scenario-v0", scenario=scenario)
    agent = make_agent("lane_keeping")
    obs, info = env.reset(seed=seed)
    agent.reset(obs, info)
    c = TraceCollector(env, agent)
    c.add(info)
    done = False
    while not done:
        obs, _, te, tr, info = env.step(agent.act(obs, info))
        c.add(info, te, tr)
        done = te or tr
    env.close()
    return c.trace(seed=seed)


def test_metrics_of_a_real_episode_are_consistent():
    trace = run_episode("lead_car_hard_brake")
    m = episode_metrics(trace)
    _assert_json_clean(m)
    assert m["collision"] == bool(np.any(trace.collision)) and m["collision_kind"] == trace.collision_kind
    assert 0.0 <= m["route_completion"] <= 1.0 and 0.0 <= m["score"] <= 1.0
    assert m["steps"] == trace.steps and m["off_road"] == bool(trace.off_road.any())
    assert m["passed"] == trace.scenario["success"]
    assert m["min_ttc_s"] is None or m["min_ttc_s"] > 0
    assert m["min_distance_m"] is not None and m["min_distance_m"] >= 0
