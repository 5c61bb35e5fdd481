"""The ego's route polyline."""
import numpy as np

from sim.env.route import LANE_CHANGE_M, Route
from sim.world import WorldSpec, generate_world


def test_route_with_a_lane_change_blends_across_halfway():
    world = generate_world(WorldSpec(road_length_m=800.0, lanes_per_direction=(2, 2)), np.random.default_rng(12))
    g = world.lanes
    a = next(i for i in range(len(g.lanes)) if g.right[i] >= 0 and g.lane_length[i] > 60 and g.succ[g.right[i], 0] >= 0)
    b = int(g.right[a])
    route = Route.from_lanes(g, [a, b, int(g.succ[b, 0])], np.inf)
    on_a = route.point_lane == a
    assert on_a[: on_a.sum()].all()  # a first, then b, then b's successor
    assert abs(route.point_lane_s[on_a][-1] - 0.5 * g.lane_length[a]) <= 1.0  # switches lane halfway along a
    xy, _ = g.cartesian(route.point_lane, route.point_lane_s, np.zeros(len(route.s)))
    off = np.hypot(*(xy - route.points).T)
    blending = np.abs(route.point_lane_s - 0.5 * g.lane_length[route.point_lane]) <= LANE_CHANGE_M / 2 + 0.5
    blending &= np.isin(route.point_lane, (a, b))
    np.testing.assert_allclose(off[~blending], 0.0, atol=1e-6)  # outside the blend every point is on its lane
    assert off[blending].max() > 1.0  # inside it the route crosses between the lanes, continuously:
    assert np.max(np.hypot(*np.diff(route.points, axis=0).T)) < 1.0  # no sideways jump (a lane is ~3.5 m)
    assert np.all(np.diff(route.s) > 0)


def test_route_of_successors_is_the_concatenated_centerlines():
    world = generate_world(WorldSpec(road_length_m=800.0), np.random.default_rng(3))
    lanes = world.sample_route(np.random.default_rng(0), 200.0)
    route = Route.from_lanes(world.lanes, lanes, 150.0)
    total = sum(world.lanes.lane_length[lane] for lane in lanes)
    assert abs(route.s[-1] - total) < 1e-6 * total + 1e-3 * len(lanes)
    assert route.goal_s == 150.0 and route.lanes == tuple(lanes)
