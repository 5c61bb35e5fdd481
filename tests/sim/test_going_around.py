"""Going around stationary obstacles (sim.traffic.passing) on a hand-built two-way street: a smooth pass of a
parked car using the oncoming lane when it is free, waiting behind it while it is not, the narrow-passage
negotiation in both directions, an in-lane pass beside oncoming traffic, and what counts as passable."""
import math

import numpy as np
import pytest

from sim.physics.collision import boxes_overlap
from sim.traffic import Obstacles, TrafficSpec, step_traffic, traffic_poses
from sim.traffic.lane_map import LaneMap
from sim.traffic.passing import PASS_WAIT_GAP_M
from tests.sim.test_traffic import DT, make_state, overlaps, two_way_world

SPEC = TrafficSpec(recycle_radius_m=1e4 - 1, spawn_radius_m=(0.0, 1000.0))
LENGTH = 300.0
"""Length of the two-way street; a point at x is at s = x on lane 0 (eastbound) and s = LENGTH - x on lane 1.
Both lanes end there (vehicles brake for the ends, so speeds are checked between x = 100 and 200 only)."""
CAR = (4.5, 1.8)
"""Length and width of the parked car, m."""


def parked(x=150.0, y=-0.6, more=()):
    """Parked cars (length 4.5 m, width 1.8 m) on lane 0 at (x, y): y -0.6 leaves 0.3 m of its 1.5 m half lane
    to the left of the car, so going around it takes the oncoming lane."""
    xy = np.array([(x, y), *more], float)
    m = len(xy)
    return Obstacles(np.zeros(m, np.int64), np.full(m, -1, np.int64), xy[:, 0].copy(), np.zeros(m),
                     np.full(m, CAR[0]), xy, width=np.full(m, CAR[1]))


def run(lmap, st, steps, obs, forced=None):
    """States after each step; asserts that no two vehicles and no vehicle and obstacle ever overlap."""
    rng = np.random.default_rng(1)
    out = []
    for k in range(steps):
        st = step_traffic(lmap, st, obs, DT, rng, (0.0, 0.0), SPEC, k, forced)
        assert not overlaps(lmap, st).any(), k
        x, y, h = traffic_poses(lmap, st)
        m = obs.lane.shape[0]
        hit = boxes_overlap((x, y, h, st.length, st.width),
                            (obs.xy[:, 0], obs.xy[:, 1], np.zeros(m), obs.length, np.full(m, CAR[1])))
        assert not hit.any(), k
        out.append(st)
    return out


def series(states, name, i):
    return np.array([getattr(s, name)[i] for s in states])


def x_of(states, i):
    """(T,) x of vehicle i's centre (both lanes are straight along x)."""
    s = series(states, "s", i)
    return s if states[0].lane[i] == 0 else LENGTH - s


def lateral_accel(lmap, states, i):
    """(T-2,) lateral acceleration (speed times yaw rate) of vehicle i, m/s^2."""
    h = np.array([traffic_poses(lmap, s)[2][i] for s in states])
    v = series(states, "speed", i)
    rate = (np.diff(h) + math.pi) % (2 * math.pi) - math.pi
    return 0.5 * (v[1:] + v[:-1]) * rate / DT


def two_way():
    return LaneMap(two_way_world(LENGTH))


def test_goes_around_a_parked_car_when_the_oncoming_lane_is_free():
    lmap = two_way()
    st = make_state(lmap, [0], [50.0], [10.0], path=[[0, -1, -1]])
    states = run(lmap, st, 250, parked())
    x, d, v = x_of(states, 0), series(states, "d", 0), series(states, "speed", 0)
    assert x[-1] > 200.0 and v[x < 200.0].min() > 5.0  # passed without stopping
    alongside = np.abs(x - 150.0) < 2.25
    # clear of the car sideways: its left edge is at 0.3 m, the passer's half width 0.9 m
    assert d[alongside].min() > 0.3 + 0.9 + 0.3
    assert abs(d[-1]) < 0.01  # back in its lane
    assert np.abs(lateral_accel(lmap, states, 0)).max() < 2.5
    assert np.abs(np.diff(series(states, "accel", 0)) / DT).max() <= 4.0 + 1e-9


def test_waits_behind_the_parked_car_while_the_oncoming_lane_is_busy():
    lmap = two_way()
    # an oncoming car about to pass the parked one, a second one right behind it
    st = make_state(lmap, [0, 1, 1], [100.0, LENGTH - 185.0, LENGTH - 215.0], [8.0, 10.0, 10.0],
                    path=[[0, -1, -1], [1, -1, -1], [1, -1, -1]])
    states = run(lmap, st, 300, parked())
    x, d = x_of(states, 0), series(states, "d", 0)
    onc_passed = max(np.argmax(x_of(states, j) < 150.0 - 10.0) for j in (1, 2))
    assert d[:onc_passed].max() < 0.1  # stayed in its lane while they came through
    assert x[:onc_passed].max() < 150.0 - 2.25 - 2.25 - PASS_WAIT_GAP_M + 1.0  # waiting with room to steer out
    assert x[-1] > 200.0 and abs(d[-1]) < 0.01  # then went around
    for j in (1, 2):
        assert series(states, "accel", j)[x_of(states, j) > 100.0].min() > -0.5  # the oncoming cars went on


@pytest.mark.parametrize("oncoming_x, passer_first", [(245.0, True), (195.0, False)])
def test_narrow_passage_is_negotiated_by_distance(oncoming_x, passer_first):
    # The passer stands waiting 8 m behind the parked car; the oncoming car comes at 10 m/s. Far enough away to
    # stop comfortably before the passage it yields; close to the passage it goes first.
    lmap = two_way()
    st = make_state(lmap, [0, 1], [150.0 - 2.25 - 8.0 - 2.25, LENGTH - oncoming_x], [0.0, 10.0],
                    path=[[0, -1, -1], [1, -1, -1]])
    states = run(lmap, st, 250, parked())
    xp, xo = x_of(states, 0), x_of(states, 1)
    passer_out = np.argmax(xp > 150.0 + 2.25 + 4.5)  # the passer's rear is past the parked car
    oncoming_in = np.argmax(xo < 150.0 + 2.25 + 2.25)  # the oncoming car's front reaches the parked car
    assert (passer_out < oncoming_in) == passer_first
    v_onc = series(states, "speed", 1)[xo > 100.0]
    if passer_first:  # the oncoming car slowed down (yielded) ...
        assert v_onc.min() < 6.0
        assert series(states, "accel", 1)[xo > 100.0].min() > -2.5  # ... comfortably
    else:  # the passer did not move out until the oncoming car was through
        assert series(states, "d", 0)[:oncoming_in].max() < 0.1
        assert v_onc.min() > 9.0


def test_passes_within_its_lane_beside_oncoming_traffic():
    # a parked car at the curb (left edge -0.9 m) leaves room in the lane: a small offset, no need to wait
    lmap = two_way()
    st = make_state(lmap, [0, 1], [100.0, LENGTH - 200.0], [10.0, 10.0], path=[[0, -1, -1], [1, -1, -1]])
    states = run(lmap, st, 120, parked(y=-1.8))
    d = series(states, "d", 0)
    assert 0.4 < d.max() < 0.55  # the car's edge at -0.9 + 0.5 m clearance + 0.9 m half width = 0.5 m
    assert series(states, "speed", 0).min() > 9.0 and series(states, "speed", 1).min() > 9.0


def test_goes_around_a_row_of_parked_cars_in_one_pass():
    lmap = two_way()
    st = make_state(lmap, [0], [50.0], [10.0], path=[[0, -1, -1]])
    states = run(lmap, st, 250, parked(more=[(157.0, -0.7), (163.5, -0.6)]))
    x, d = x_of(states, 0), series(states, "d", 0)
    between = (x > 150.0) & (x < 163.5)
    assert d[between].min() > 1.0  # did not dip back between the cars
    assert x[-1] > 200.0


def test_goes_around_a_stalled_vehicle_but_not_a_queue():
    lmap = two_way()
    far = parked(x=20.0, y=5.0)  # out of the way
    # a traffic vehicle stalled in the lane (held at 0 m/s) and a car 60 m behind it
    st = make_state(lmap, [0, 0], [150.0, 90.0], [0.0, 10.0], path=[[0, -1, -1]] * 2)
    states = run(lmap, st, 250, far, forced=np.array([-1.0, np.nan]))
    assert x_of(states, 1)[-1] > 200.0 and series(states, "d", 1).max() > 2.0
    # a queue (a stopped obstacle, e.g. the ego, with two standing cars close in front of it) is not gone around
    st = make_state(lmap, [0, 0, 0], [158.0, 165.0, 90.0], [0.0, 0.0, 10.0], path=[[0, -1, -1]] * 3)
    states = run(lmap, st, 250, parked(x=150.0, y=0.0), forced=np.array([-1.0, -1.0, np.nan]))
    assert series(states, "d", 2).max() < 0.1 and series(states, "speed", 2)[-1] < 0.1
