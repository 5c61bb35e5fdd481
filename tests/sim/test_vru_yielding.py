"""Traffic yielding to pedestrians and cyclists (sim.traffic.yielding) in hand-built situations: a car stops for
a pedestrian crossing in front of it and goes once they have crossed, passes one who has already crossed or is
walking away, stops for one waiting at a zebra only when it can do so comfortably, follows a cyclist ahead in its
lane, and waits at the junction line (not in the box) while someone crosses the road it turns into."""
import numpy as np

from sim.physics.collision import boxes_overlap
from sim.traffic import TrafficSpec, step_traffic, traffic_poses
from sim.traffic.lane_map import LaneMap
from sim.traffic.yielding import Walkers
from tests.sim.test_traffic import (
    DT,
    NO_OBSTACLES,
    junction_world,
    make_state,
    through,
    two_way_world,
)

SPEC = TrafficSpec(recycle_radius_m=1e4 - 1, spawn_radius_m=(0.0, 1000.0))
PED = (0.5, 0.6)
"""Length and width of a pedestrian's box, m."""
BIKE = (1.75, 0.6)


def walkers(xy, vel, size=PED, waiting=False) -> Walkers:
    xy = np.atleast_2d(np.asarray(xy, float))
    vel = np.atleast_2d(np.asarray(vel, float))
    m = len(xy)
    heading = np.where(np.hypot(vel[:, 0], vel[:, 1]) > 0, np.arctan2(vel[:, 1], vel[:, 0]), 0.5 * np.pi)
    return Walkers(xy, vel, heading, np.full(m, size[0]), np.full(m, size[1]), np.full(m, waiting))


def drive(lmap, st, steps, walk):
    """Traffic states after each step, with ``walk(k)`` the Walkers at step k; asserts that no vehicle ever
    touches a walker."""
    rng = np.random.default_rng(0)
    out = []
    for k in range(steps):
        w = walk(k)
        st = step_traffic(lmap, st, NO_OBSTACLES, DT, rng, (0.0, 0.0), SPEC, k, walkers=w)
        x, y, h = traffic_poses(lmap, st)
        hit = boxes_overlap((x, y, h, st.length, st.width), (w.xy[:, 0], w.xy[:, 1], w.heading, w.length, w.width))
        assert not hit.any(), k
        out.append(st)
    return out


def first(mask):
    return int(np.argmax(mask)) if mask.any() else None


def series(states, name, i=0):
    return np.array([getattr(s, name)[i] for s in states])


def crossing(x, y0, speed, start=0, stop_y=np.inf):
    """A pedestrian crossing the street at x from y0 towards +y at ``speed`` from step ``start`` (standing
    before), standing still again at ``stop_y``."""
    def walk(k):
        y = min(y0 + speed * DT * max(k - start, 0), stop_y)
        moving = start <= k and y < stop_y
        return walkers((x, y), (0.0, speed if moving else 0.0))
    return walk


def test_car_waits_for_a_pedestrian_crossing_and_goes_once_they_have_crossed():
    lmap = LaneMap(two_way_world())
    st = make_state(lmap, [0], [40.0], [12.0], path=[[0, -1, -1]])
    walk = crossing(100.0, -2.5, 1.0, start=25, stop_y=8.0)  # steps out when the car is 30 m away
    states = drive(lmap, st, 200, walk)
    s, v = series(states, "s"), series(states, "speed")
    y = np.array([walk(k).xy[0, 1] for k in range(200)])
    in_lane = (y > -1.5 - 0.3) & (y < 1.5 + 0.3)
    assert (s[in_lane] + 2.25 < 100.0 - 0.25 - 1.0).all()  # short of the pedestrian while in its lane
    assert v[in_lane].min() < 2.0
    assert s[-1] > 180.0 and v[-1] > 11.0  # and on its way again


def test_car_keeps_going_past_a_pedestrian_who_has_crossed_or_walks_away():
    lmap = LaneMap(two_way_world())
    st = make_state(lmap, [0], [40.0], [12.0], path=[[0, -1, -1]])
    states = drive(lmap, st, 80, lambda k: walkers([(100.0, 4.0), (110.0, -2.2)], [(0.0, 1.2), (0.0, -1.2)]))
    assert series(states, "speed").min() > 11.0


def test_car_stops_for_a_pedestrian_waiting_at_a_zebra_only_when_it_can_stop_comfortably():
    lmap = LaneMap(two_way_world())
    kerb = walkers((100.0, -2.0), (0.0, 1.0), waiting=True)
    far = drive(lmap, make_state(lmap, [0], [40.0], [12.0], path=[[0, -1, -1]]), 200, lambda k: kerb)
    assert series(far, "speed").min() < 0.05 and series(far, "s").max() + 2.25 < 100.0 - 0.3
    # 20 m away at 12 m/s it would need 3.6 m/s^2 (comfort 2): it goes on and the pedestrian waits
    near = drive(lmap, make_state(lmap, [0], [78.0], [12.0], path=[[0, -1, -1]]), 30, lambda k: kerb)
    assert series(near, "speed").min() > 11.0


def test_car_follows_a_cyclist_in_its_lane():
    lmap = LaneMap(two_way_world(length=600.0))
    st = make_state(lmap, [0], [20.0], [12.0], path=[[0, -1, -1]])
    bike = lambda k: walkers((60.0 + 5.0 * DT * k, -0.9), (5.0, 0.0), size=BIKE)
    states = drive(lmap, st, 400, bike)
    v, s = series(states, "speed"), series(states, "s")
    gap = 60.0 + 5.0 * DT * 399 - s[-1] - 0.5 * (4.5 + 1.75)
    assert abs(v[-1] - 5.0) < 0.2 and 2.0 < gap < 15.0


def test_turning_car_waits_at_the_line_while_someone_crosses_the_road_it_turns_into():
    world = junction_world("four_way")
    lmap = LaneMap(world, {0: "uncontrolled"})
    path = through(world, 0, 2)  # west arm, left turn into the north arm
    out = path[2]
    # a pedestrian on the north arm's crosswalk (2 m into the road), walking across both of its lanes
    start, _ = lmap.graph.cartesian(np.array([out]), np.array([2.0]), np.array([-3.0]))
    end, _ = lmap.graph.cartesian(np.array([out]), np.array([2.0]), np.array([6.5]))
    direction = (end[0] - start[0]) / np.hypot(*(end[0] - start[0]))

    def walk(k):
        done = min(1.0 * DT * k, float(np.hypot(*(end[0] - start[0]))))
        moving = done < np.hypot(*(end[0] - start[0]))
        return walkers(start[0] + done * direction, direction * (1.0 if moving else 0.0))

    st = make_state(lmap, [path[0]], [lmap.length[path[0]] - 30.0], [8.0], path=[path])
    states = drive(lmap, st, 250, walk)
    lane, s = series(states, "lane"), series(states, "s")
    front = np.where(lane == path[0], lmap.length[path[0]] - s, -1.0) - 2.25
    offset = np.array([walk(k).xy[0] - start[0] for k in range(250)]) @ direction - 3.0  # its d on the out lane
    assert front[offset < 0.5].min() > 0.0  # not into the junction while they come into or walk its lane
    at_crosswalk = first((lane == out) & (s + 2.25 > 2.0 - 0.3))
    assert at_crosswalk is not None and offset[at_crosswalk] > 1.75 + 0.3  # they were clear of it when it got there
