"""sim.mining.detectors: each detector fires on a hand-built failure and stays quiet on a clean episode;
cluster keys; danger grows as an episode gets closer to a failure."""
from __future__ import annotations

import json

import numpy as np
import pytest

from sim.eval.metrics import episode_metrics
from sim.mining.detectors import DETECTORS, Failure, danger, detect_failures, first_run
from sim.registry import UnknownNameError
from tests.sim.test_eval_metrics import (
    CAR_L,
    EGO_L,
    TRUCK,
    make_trace,
    move,
    run_episode,
)

NAMES = ["collision", "harsh_braking", "near_miss", "off_road", "perception_miss", "route_failure", "timeout",
         "traffic_control"]


def fired(trace, names=None) -> list[Failure]:
    return detect_failures(trace, episode_metrics(trace), names)


def only(trace, name: str) -> Failure | None:
    found = fired(trace, [name])
    assert len(found) <= 1
    return found[0] if found else None


def clean_trace(steps=50):
    """The ego at 10 m/s, a car 40 m ahead at the same speed, another in the next lane: nothing happens."""
    others = [move(steps, x0=40.0, v0=10.0), move(steps, x0=-5.0, y0=3.5, v0=10.0)]
    return make_trace(move(steps, v0=10.0), others)


def test_registry_holds_the_eight_detectors():
    assert DETECTORS.names() == NAMES
    with pytest.raises(UnknownNameError):
        fired(clean_trace(), ["no_such_detector"])


def test_clean_episode_has_no_failure():
    trace = clean_trace()
    lead = move(50, x0=40.0, v0=10.0)
    predicted = np.stack([lead.x, lead.y], axis=1)[:, None, :]
    trace_with_perception = make_trace(move(50, v0=10.0), [lead], predicted=predicted)
    assert fired(trace) == [] and fired(trace_with_perception) == []
    assert danger(trace, episode_metrics(trace)) < 0.5


def test_collision_detector_and_cluster_key():
    truck = move(30, x0=3.05 + 0.5 * (EGO_L + 8.0), v0=0.0, kind=TRUCK, length=8.0, width=2.5)
    trace = make_trace(move(30, v0=10.0), [truck], route_length=10.0, road_type=3)
    f = only(trace, "collision")
    assert f.step == 4 and f.road_type == "t_junction" and f.actors == ("truck",)
    assert "stopped_track" in f.detail and "at fault" in f.detail and "10.0 m/s" in f.detail
    assert f.cluster_key() == "collision|t_junction|truck"
    d = f.to_dict()
    assert json.loads(json.dumps(d)) == d and d["actors"] == ["truck"] and d["cluster_key"] == f.cluster_key()
    # a collision is not also a near miss or harsh braking
    assert [g.detector for g in fired(trace)] == ["collision"]


def test_rear_end_collision_names_the_fault():
    car = move(30, x0=-(0.5 * (EGO_L + CAR_L) + 2.05), v0=10.0)
    f = only(make_trace(move(30, v0=5.0), [car], route_length=2.5), "collision")
    assert "active_rear" in f.detail and "not at fault" in f.detail and f.actors == ("car",)


def test_off_road_detector():
    off = np.zeros(31, bool)
    off[12:] = True
    f = only(make_trace(move(30), off_road=off), "off_road")
    assert f.step == 12 and f.actors == () and f.cluster_key() == "off_road|straight|-"
    assert only(clean_trace(), "off_road") is None


def test_near_miss_detector():
    # A stopped car 9.05 m ahead; the ego at 10 m/s brakes at 8 m/s^2 from state 1 and stops short of it.
    car = move(30, x0=9.05 + 0.5 * (EGO_L + CAR_L), v0=0.0)
    ego = move(30, v0=10.0, accel=-8.0)
    trace = make_trace(ego, [car], accel=np.r_[0.0, np.full(30, -8.0)])
    m = episode_metrics(trace)
    assert not m["collision"] and m["min_ttc_s"] < 1.0
    f = only(trace, "near_miss")
    assert f.step == 1 and f.actors == ("car",) and "time to collision 0.9 s" in f.detail  # state 0: exactly 1.0 s
    assert only(clean_trace(), "near_miss") is None


def test_harsh_braking_needs_two_consecutive_states():
    accel = np.zeros(31)
    accel[[3, 4]] = -6.0
    f = only(make_trace(move(30, v0=20.0, accel=accel), accel=accel), "harsh_braking")
    assert f.step == 3 and "-6.0 m/s^2" in f.detail
    accel = np.zeros(31)
    accel[[3, 5]] = -6.0
    assert only(make_trace(move(30, v0=20.0, accel=accel), accel=accel), "harsh_braking") is None


def test_route_failure_on_leaving_the_route():
    offset = np.zeros(41)
    offset[10:20] = 4.5  # 10 states = 1 s
    f = only(make_trace(move(40), route_offset=offset), "route_failure")
    assert f.step == 10 and "left the route" in f.detail
    offset[19] = 0.0  # 0.9 s
    assert only(make_trace(move(40), route_offset=offset), "route_failure") is None
    offset[10:20] = 4.5
    off = offset > 0  # off road: that is off_road's failure, not the route's
    assert only(make_trace(move(40), route_offset=offset, off_road=off), "route_failure") is None


def test_route_failure_on_a_standstill_with_nothing_ahead():
    still = move(110, v0=0.0)
    f = only(make_trace(still, route_length=100.0), "route_failure")
    assert f.step == 0 and "stood still" in f.detail
    # waiting behind a stopped car is not a failure, nor is standing at the end of the route
    assert only(make_trace(still, [move(110, x0=15.0, v0=0.0)], route_length=100.0), "route_failure") is None
    assert only(make_trace(still, route_length=2.0), "route_failure") is None
    assert only(make_trace(move(90, v0=0.0), route_length=100.0), "route_failure") is None  # 9 s only


def test_timeout_detector():
    assert only(make_trace(move(30), route_length=100.0, truncated=True), "timeout").step == 30
    assert only(make_trace(move(30), truncated=True), "timeout") is None  # route completed
    assert only(make_trace(move(30), route_length=100.0), "timeout") is None  # not truncated
    short = {"name": "s", "success": False, "failed": ["route completion 0.03 < 0.25"]}
    f = only(make_trace(move(30), route_length=100.0, truncated=True, scenario=short), "timeout")
    assert "0.03 < 0.25" in f.detail
    crash = {"name": "s", "success": False, "failed": ["off road"]}
    assert only(make_trace(move(30), route_length=100.0, truncated=True, scenario=crash), "timeout") is None
    ok = {"name": "s", "success": True, "failed": []}
    assert only(make_trace(move(30), route_length=100.0, truncated=True, scenario=ok), "timeout") is None


def test_perception_miss_detector():
    car = move(20, x0=20.0, v0=10.0)
    far = move(20, x0=80.0, v0=10.0)  # beyond 30 m: need not be perceived
    seen = np.stack([car.x, car.y], axis=1)[:, None, :] + 0.5
    pred = np.concatenate([seen, np.full((21, 1, 2), np.nan)], axis=1)
    assert only(make_trace(move(20), [car, far], predicted=pred), "perception_miss") is None
    assert only(make_trace(move(20), [car, far]), "perception_miss") is None  # no perception output
    missed = pred.copy()
    missed[6:11, 0] = np.nan  # 5 states
    f = only(make_trace(move(20), [car, far], predicted=missed), "perception_miss")
    assert f.step == 6 and f.actors == ("car",) and "20.0 m away" in f.detail
    missed[10, 0] = seen[10, 0]  # 4 states
    assert only(make_trace(move(20), [car, far], predicted=missed), "perception_miss") is None


def test_failures_are_ordered_by_step():
    off = np.zeros(31, bool)
    off[25:] = True
    accel = np.zeros(31)
    accel[[3, 4]] = -6.0
    found = fired(make_trace(move(30, v0=20.0, accel=accel), accel=accel, off_road=off))
    assert [(f.detector, f.step) for f in found] == [("harsh_braking", 3), ("off_road", 25)]


def test_first_run():
    assert first_run([0, 1, 1, 0, 1, 1, 1], 3) == (4, 3)
    assert first_run([1, 1, 1, 1], 2) == (0, 4)
    assert first_run([1, 0, 1], 2) is None and first_run([], 1) is None


def test_danger_grows_as_a_pass_gets_closer_and_is_one_on_failure():
    """The ego passes a parked car at a lateral gap that shrinks: danger must rise, and be 1 on contact."""
    values = []
    for lateral in (6.0, 4.0, 3.0, 2.5, 2.0):
        car = move(40, x0=20.0, y0=lateral, v0=0.0)
        trace = make_trace(move(40, v0=10.0), [car])
        values.append(danger(trace, episode_metrics(trace)))
    assert all(0.0 <= v < 1.0 for v in values)
    assert values == sorted(values) and values[-1] > values[0]
    hit = make_trace(move(40, v0=10.0), [move(40, x0=20.0, y0=1.0, v0=0.0)])
    assert danger(hit, episode_metrics(hit)) == 1.0


def test_danger_grows_as_the_time_to_collision_shrinks():
    """Half a second at 10 m/s towards a stopped car: the last TTC is (gap - 5 m) / 10 m/s."""
    values = []
    for gap, ttc in ((40.0, None), (25.05, 2.1), (20.05, 1.6), (15.05, 1.1)):
        car = move(5, x0=gap + 0.5 * (EGO_L + CAR_L), v0=0.0)
        trace = make_trace(move(5, v0=10.0), [car], route_length=5.0)
        m = episode_metrics(trace)
        assert detect_failures(trace, m) == [] and m["min_ttc_s"] == pytest.approx(ttc)
        values.append(danger(trace, m))
    assert 0.0 < values[0] < values[1] < values[2] < values[3] < 1.0  # closing in demands braking from afar
    assert values[3] == pytest.approx(0.99 * (1 - 1.1 / 3.0))


def test_danger_counts_only_the_mined_detectors():
    """10 m/s towards a stopped car 10 m ahead (box gap), 9 m after one step: collision closeness is the
    deceleration needed then, 10^2 / (2 x 9) m/s^2, over DANGER_DRAC_MPS2; harsh braking sees no braking."""
    car = move(1, x0=10.0 + 0.5 * (EGO_L + CAR_L), v0=0.0)
    trace = make_trace(move(1, v0=10.0), [car], route_length=50.0)
    m = episode_metrics(trace)
    assert m["max_drac_mps2"] == pytest.approx(100.0 / 18.0)
    assert danger(trace, m, ["collision"]) == pytest.approx(0.99 * 100.0 / 18.0 / 10.0)
    assert danger(trace, m, ["harsh_braking"]) == 0.0


def test_danger_of_a_quiet_episode_is_zero():
    trace = make_trace(move(30))
    assert danger(trace, episode_metrics(trace)) == 0.0


def test_detectors_on_a_real_episode():
    trace = run_episode("four_way_crossing_traffic")
    m = episode_metrics(trace)
    found = detect_failures(trace, m)
    for f in found:
        assert f.detector in NAMES and 0 <= f.step <= trace.steps
        json.dumps(f.to_dict())
    assert (m["collision"]) == any(f.detector == "collision" for f in found)
    d = danger(trace, m)
    assert 0.0 <= d <= 1.0 and (d == 1.0) == bool(found)



def _junction_entry(speed, state, steps=60, enter=40):
    """The ego on approach lane 3 (controlled: ``state``) until state ``enter``, then on junction lane 9."""
    lane = np.where(np.arange(steps + 1) < enter, 3, 9)
    signal = np.where(lane == 3, state, 0)
    road = np.where(lane == 3, 0, 2)  # straight, then four_way
    return make_trace(speed, lane=lane, signal=signal, road_type=road, route_length=1e3)


def test_traffic_control_flags_a_red_light_but_not_amber_or_green():
    f = only(_junction_entry(move(60, v0=8.0), 3), "traffic_control")
    assert f.step == 40 and "red light" in f.detail and "lane 3" in f.detail
    assert only(_junction_entry(move(60, v0=8.0), 2), "traffic_control") is None
    assert only(_junction_entry(move(60, v0=8.0), 1), "traffic_control") is None
    assert only(clean_trace(), "traffic_control") is None  # a trace without lanes and signals


def test_traffic_control_needs_a_stop_at_a_stop_sign():
    rolling = move(60, v0=8.0, accel=np.r_[np.zeros(20), np.full(15, -0.4), np.full(26, 0.4)])
    assert rolling.speed.min() > 1.0
    f = only(_junction_entry(rolling, 4), "traffic_control")
    assert f.step == 40 and "stop sign" in f.detail
    stop = move(60, v0=8.0, accel=np.r_[np.zeros(10), np.full(20, -4.0), np.full(31, 1.0)])
    assert stop.speed.min() < 0.5
    assert only(_junction_entry(stop, 4), "traffic_control") is None
    changing = make_trace(move(60, v0=8.0), lane=np.where(np.arange(61) < 40, 3, 4), signal=3, road_type=0)
    assert only(changing, "traffic_control") is None  # a lane change between two red approach lanes


def test_waiting_at_a_red_light_is_not_a_standstill_failure():
    still = move(150, v0=0.0)
    red = make_trace(still, lane=3, signal=3, route_length=100.0)
    assert only(red, "route_failure") is None and only(red, "timeout") is None
    stop_sign = make_trace(still, lane=3, signal=4, route_length=100.0)
    assert only(stop_sign, "route_failure") is not None
