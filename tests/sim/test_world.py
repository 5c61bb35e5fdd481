"""sim.world: network structure over many seeds, determinism, queries, spec validation."""
import dataclasses
from functools import lru_cache

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

from sim.world import PROP_KINDS, WorldSpec, generate_world
from sim.world.geometry import trace, turn, wrap_angle
from sim.world.layout import ACCEL_LENGTH_M

SEEDS = range(30)


@lru_cache(maxsize=None)
def world(seed: int, **overrides):
    return generate_world(WorldSpec(**overrides), np.random.default_rng(seed))


def worlds():
    return [world(seed) for seed in SEEDS]


# ------------------------------------------------------------------------- network structure
def test_lane_graph_strongly_connected_with_lane_changes():
    for w in worlds():
        n, _ = connected_components(w.lanes.graph, directed=True, connection="strong")
        assert n == 1


def test_every_lane_but_acceleration_lanes_has_a_successor_and_a_predecessor():
    for w in worlds():
        merges = [j for j in w.junctions if j.kind == "merge"]
        accel = {w.roads[w.lanes.lanes[j.outgoing_lanes[-1]].road_id].forward_lanes[-1] for j in merges}
        for lane in w.lanes.lanes:
            assert lane.predecessors
            assert lane.successors or lane.id in accel
        for lane_id in accel:  # ends with no successor, beside the main road's rightmost lane
            lane = w.lanes.lanes[lane_id]
            assert not lane.successors and lane.left_neighbor >= 0 and lane.right_neighbor == -1


def test_successors_continue_position_and_heading():
    for w in worlds():
        for lane in w.lanes.lanes:
            for nxt in lane.successors:
                other = w.lanes.lanes[nxt]
                assert np.hypot(*(other.centerline[0] - lane.centerline[-1])) < 1e-6
                assert abs(wrap_angle(other.heading[0] - lane.heading[-1])) < 1e-3
                assert lane.id in other.predecessors


def test_lane_sampling_and_curvature_within_spec():
    spec = WorldSpec()
    for w in worlds():
        for lane in w.lanes.lanes:
            step = np.hypot(*np.diff(lane.centerline, axis=0).T)
            assert step.max() <= 0.5 + 1e-9
            assert np.allclose(lane.s, np.concatenate([[0], np.cumsum(step)]))
            if lane.junction_id < 0:
                assert np.abs(lane.curvature).max() <= spec.curvature_max * 1.02
                turn_rate = np.diff(np.unwrap(lane.heading)) / step  # geometry agrees with curvature
                assert np.abs(turn_rate).max() <= spec.curvature_max * 1.1


def test_lanes_per_direction_and_neighbours_within_spec():
    for spec_lanes in [(1, 3), (2, 2), (4, 4)]:
        for seed in range(8):
            w = world(seed, lanes_per_direction=spec_lanes)
            for road in w.roads:
                if road.kind == "ramp":
                    assert len(road.forward_lanes) == 1 and not road.backward_lanes
                    continue
                n_fwd = len(road.forward_lanes) - int(_is_accel_road(w, road))
                assert spec_lanes[0] <= n_fwd <= spec_lanes[1]
                assert spec_lanes[0] <= len(road.backward_lanes) <= spec_lanes[1]
                for group in (road.forward_lanes, road.backward_lanes):
                    for i, lane_id in enumerate(group):
                        lane = w.lanes.lanes[lane_id]
                        assert lane.left_neighbor == (group[i - 1] if i else -1)
                        assert lane.left_boundary == ("solid" if i == 0 else "dashed")


def _is_accel_road(w, road):
    return any(j.kind == "merge" and road.forward_lanes[-1] in j.outgoing_lanes for j in w.junctions)


def test_lane_offsets_from_reference():
    w = world(0)
    road = next(r for r in w.roads if r.kind == "road" and len(r.backward_lanes) >= 1)
    width = w.lanes.lanes[road.forward_lanes[0]].width
    _, d_fwd = w.lanes.frenet(road.forward_lanes[0], road.reference[5:-5])
    _, d_bwd = w.lanes.frenet(road.backward_lanes[-1], road.reference[5:-5])
    assert np.allclose(d_fwd, 0.5 * width, atol=1e-3)  # the reference is left of forward lanes
    assert np.allclose(d_bwd, (len(road.backward_lanes) - 0.5) * width, atol=1e-3)


def test_all_junction_kinds_appear_with_default_mix():
    kinds = {j.kind for w in worlds() for j in w.junctions}
    assert {"four_way", "t_junction", "merge", "cul_de_sac"} <= kinds


def test_junction_connectors_are_flagged_and_join_incoming_to_outgoing():
    for w in worlds()[:10]:
        for j in w.junctions:
            for c in j.connector_lanes:
                lane = w.lanes.lanes[c]
                assert lane.junction_id == j.id and lane.road_id == -1
                assert lane.left_boundary == lane.right_boundary == "none"
                assert set(lane.predecessors) <= set(j.incoming_lanes)
                assert set(lane.successors) <= set(j.outgoing_lanes)
            assert w.lanes.in_areas(j.center[None])[0]


def test_four_way_has_straight_left_and_right_movements():
    w = next(w for w in worlds() if any(j.kind == "four_way" for j in w.junctions))
    j = next(j for j in w.junctions if j.kind == "four_way")
    turns = [wrap_angle(w.lanes.lanes[c].heading[-1] - w.lanes.lanes[c].heading[0]) for c in j.connector_lanes]
    assert any(abs(t) < 0.2 for t in turns) and any(t > 1.2 for t in turns) and any(t < -1.2 for t in turns)


def test_merge_ramp_feeds_acceleration_lane_that_ends():
    found = 0
    for w in worlds():
        for j in (j for j in w.junctions if j.kind == "merge"):
            ramp = next(r for r in w.roads if r.kind == "ramp" and r.forward_lanes[0] in j.incoming_lanes)
            accel = w.lanes.lanes[ramp.forward_lanes[0]].successors
            assert len(accel) == 1
            lane = w.lanes.lanes[accel[0]]
            assert ACCEL_LENGTH_M[0] - 1 <= lane.length <= ACCEL_LENGTH_M[1] + 1
            assert lane.successors == () and lane.left_neighbor >= 0
            found += 1
    assert found


def test_roads_do_not_cross_outside_junctions():
    for w in worlds()[:10]:
        for i, a in enumerate(w.roads):
            for b in w.roads[i + 1:]:
                d = np.hypot(*(a.reference[::4, None] - b.reference[None, ::4]).transpose(2, 0, 1))
                touching = np.any(np.hypot(*(a.reference[[0, -1], None] - b.reference[None, [0, -1]])
                                           .transpose(2, 0, 1)) < 80)
                if not touching and "ramp" not in (a.kind, b.kind):
                    assert d.min() > 10.0


# ------------------------------------------------------------------------- props
def test_roadside_props_clear_of_every_lane():
    for w in worlds():
        off = ~w.props.on_lane
        corners = w.props.corners()[off].reshape(-1, 2)
        assert not w.lanes.is_on_road(corners).any()
        assert not w.lanes.is_on_road(w.props.xy[off]).any()
        assert set(np.unique(w.props.kind)) <= set(range(len(PROP_KINDS)))
        assert len(w.props) > 0


def test_obstacles_placed_on_lanes_when_asked():
    for seed in range(5):
        assert not world(seed).props.on_lane.any()
        w = world(seed, obstacles_on_lanes_per_km=10.0)
        on = w.props.on_lane
        assert on.sum() >= 5
        assert w.lanes.is_on_road(w.props.xy[on]).all()
        assert set(np.array(PROP_KINDS)[w.props.kind[on]]) <= {"cone", "parked_car"}


def test_barriers_line_the_outside_of_tight_curves():
    count = 0
    for w in worlds()[:10]:
        sel = w.props.kind == PROP_KINDS.index("barrier")
        count += sel.sum()
        lane, s, d = w.lanes.locate(w.props.xy[sel])
        kappa = np.array([np.interp(si, w.lanes.lanes[i].s, w.lanes.lanes[i].curvature) for i, si in zip(lane, s)])
        along = np.array([np.interp(si, w.lanes.lanes[i].s, w.lanes.lanes[i].heading) for i, si in zip(lane, s)])
        assert np.mean(d * kappa < 0) > 0.9  # on the side away from the centre of curvature
        assert np.mean(np.abs(np.sin(w.props.heading[sel] - along)) < 0.2) > 0.9
    assert count > 50


def test_barriers_leave_the_other_props_and_the_generator_stream_alone(monkeypatch):
    import sim.world.props as props_module
    a = world(3)
    empty = (np.zeros(0, np.int8), np.zeros((0, 2)), np.zeros(0), np.zeros((0, 3)))
    monkeypatch.setattr(props_module, "_barriers", lambda *args: empty)
    b = generate_world(WorldSpec(), np.random.default_rng(3))
    rest = a.props.kind != PROP_KINDS.index("barrier")
    assert rest.sum() == len(b.props) < len(a.props)
    assert np.array_equal(a.props.xy[rest], b.props.xy) and np.array_equal(a.props.kind[rest], b.props.kind)
    assert np.flatnonzero(~rest).min() == len(b.props)  # appended after every other prop
    assert a.surface == b.surface


# ------------------------------------------------------------------------- determinism
def _arrays(w):
    out = [lane.centerline for lane in w.lanes.lanes] + [lane.curvature for lane in w.lanes.lanes]
    out += [w.props.xy, w.props.heading, w.props.size, w.props.kind] + list(w.curbs)
    return out


def test_same_seed_same_world_bit_for_bit():
    a = generate_world(WorldSpec(), np.random.default_rng(7))
    b = generate_world(WorldSpec(), np.random.default_rng(7))
    assert len(a.lanes.lanes) == len(b.lanes.lanes)
    assert all(np.array_equal(x, y) for x, y in zip(_arrays(a), _arrays(b)))
    assert [lane.successors for lane in a.lanes.lanes] == [lane.successors for lane in b.lanes.lanes]
    assert a.surface == b.surface


def test_seed_info_replays_the_world():
    a = world(5)
    rng = np.random.default_rng()
    rng.bit_generator.state = a.seed_info["bit_generator_state"]
    b = generate_world(a.spec, rng)
    assert all(np.array_equal(x, y) for x, y in zip(_arrays(a), _arrays(b)))


def test_different_seed_different_world():
    a, b = world(0), world(1)
    assert len(a.lanes.lanes) != len(b.lanes.lanes) or not all(
        np.array_equal(x, y) for x, y in zip(_arrays(a), _arrays(b)))


def test_generation_uses_only_the_given_generator():
    np.random.seed(0)
    a = generate_world(WorldSpec(), np.random.default_rng(3))
    np.random.seed(1)
    b = generate_world(WorldSpec(), np.random.default_rng(3))
    assert all(np.array_equal(x, y) for x, y in zip(_arrays(a), _arrays(b)))
    with pytest.raises(TypeError):
        generate_world(WorldSpec(), 3)


def test_road_length_close_to_spec():
    for length in (1500.0, 3000.0):
        ratios = []
        for seed in range(6):
            w = generate_world(WorldSpec(road_length_m=length), np.random.default_rng(seed))
            ratios.append(sum(np.hypot(*np.diff(r.reference, axis=0).T).sum() for r in w.roads) / length)
        assert 0.8 <= np.mean(ratios) <= 1.2
        assert 0.6 <= min(ratios) and max(ratios) <= 1.4


def test_five_km_world_builds():
    w = generate_world(WorldSpec(road_length_m=5000.0), np.random.default_rng(0))
    n, _ = connected_components(w.lanes.graph, directed=True, connection="strong")
    assert n == 1 and len(w.roads) > 10


# ------------------------------------------------------------------------- queries
def _curved_lane(w):
    return max((lane for lane in w.lanes.lanes if lane.junction_id < 0),
               key=lambda lane: np.abs(lane.curvature).max())


def test_frenet_cartesian_round_trip_on_curved_lane():
    w = world(0)
    lane = _curved_lane(w)
    assert np.abs(lane.curvature).max() > 0.005
    rng = np.random.default_rng(0)
    s = rng.uniform(1.0, lane.length - 1.0, 200)
    d = rng.uniform(-0.5 * lane.width, 0.5 * lane.width, 200)
    xy, _ = w.lanes.cartesian(np.full(200, lane.id), s, d)
    s2, d2 = w.lanes.frenet(lane.id, xy)
    assert np.allclose(s2, s, atol=1e-6) and np.allclose(d2, d, atol=1e-6)
    xy2, _ = w.lanes.cartesian(np.full(200, lane.id), s2, d2)
    assert np.allclose(xy2, xy, atol=1e-6)


def test_cartesian_on_centerline_and_clamped():
    w = world(0)
    lane = w.lanes.lanes[3]
    xy, h = w.lanes.cartesian([lane.id] * 3, [-5.0, lane.s[10], lane.length + 5.0], [0.0, 0.0, 0.0])
    assert np.allclose(xy, lane.centerline[[0, 10, -1]], atol=1e-9)
    assert np.allclose(wrap_angle(h - lane.heading[[0, 10, -1]]), 0.0, atol=1e-9)
    xy_left, _ = w.lanes.cartesian([lane.id], [lane.s[10]], [1.0])
    normal = np.array([-np.sin(lane.heading[10]), np.cos(lane.heading[10])])
    assert np.allclose(xy_left[0], lane.centerline[10] + normal, atol=1e-9)


def test_locate_finds_the_lane_and_respects_heading():
    w = world(2)
    rng = np.random.default_rng(1)
    lanes = [lane for lane in w.lanes.lanes if lane.junction_id < 0 and lane.length > 20]
    ids = np.array([lanes[i].id for i in rng.integers(len(lanes), size=100)])
    s = rng.uniform(0.1, 0.9, 100) * w.lanes.lane_length[ids]
    d = rng.uniform(-0.4, 0.4, 100) * w.lanes.lane_width[ids]
    xy, h = w.lanes.cartesian(ids, s, d)
    got, s2, d2 = w.lanes.locate(xy, h)
    ok = got == ids
    # the ramp's first metres overlap the main road's rightmost lane: either lane is right there
    assert ok.mean() > 0.95
    assert np.allclose(s2[ok], s[ok], atol=1e-2) and np.allclose(d2[ok], d[ok], atol=1e-2)
    road = next(r for r in w.roads if r.backward_lanes)  # on the centre line both directions touch
    mid = len(road.reference) // 2
    h_ref = np.arctan2(*(road.reference[mid + 1] - road.reference[mid])[::-1])
    fwd, _, _ = w.lanes.locate(road.reference[mid:mid + 1], np.array([h_ref]))
    bwd, _, _ = w.lanes.locate(road.reference[mid:mid + 1], np.array([h_ref + np.pi]))
    assert fwd[0] == road.forward_lanes[0] and bwd[0] == road.backward_lanes[0]
    far, _, _ = w.lanes.locate(np.array([[1e5, 1e5]]))
    assert 0 <= far[0] < len(w.lanes.lanes)


def test_is_on_road():
    w = world(0)
    lane = w.lanes.lanes[0]
    xy, _ = w.lanes.cartesian([0, 0, 0], [lane.length / 2] * 3, [0.0, 0.49 * lane.width, 0.0])
    assert w.lanes.is_on_road(xy).all()
    j = next(j for j in w.junctions if j.kind == "four_way" or j.kind == "t_junction")
    assert w.lanes.is_on_road(j.center[None])[0]
    assert not w.lanes.is_on_road(np.array([[w.bounds[2] + 50.0, w.bounds[3] + 50.0]]))[0]


def test_route_is_connected_sequence_from_start_to_goal():
    for seed in range(5):
        w = world(seed)
        rng = np.random.default_rng(seed)
        lanes = [lane for lane in w.lanes.lanes if lane.junction_id < 0]
        for _ in range(5):
            a, b = rng.choice(len(lanes), 2, replace=False)
            start, goal = lanes[a].centerline[len(lanes[a].s) // 2], lanes[b].centerline[len(lanes[b].s) // 2]
            route = w.lanes.route(start, goal)
            assert route[0] == lanes[a].id and route[-1] == lanes[b].id
            for u, v in zip(route, route[1:]):
                lu = w.lanes.lanes[u]
                assert v in lu.successors or v in (lu.left_neighbor, lu.right_neighbor)


def test_lane_polygon_and_boundaries():
    w = world(0)
    lane = w.lanes.lanes[0]
    left, right = w.lanes.boundary_polyline(0, "left"), w.lanes.boundary_polyline(0, "right")
    assert np.allclose(np.hypot(*(left - right).T), lane.width)
    poly = w.lanes.lane_polygon(0)
    assert poly.shape == (2 * len(lane.s), 2)
    assert np.array_equal(poly[:len(lane.s)], left) and np.array_equal(poly[len(lane.s):], right[::-1])
    with pytest.raises(ValueError):
        w.lanes.boundary_polyline(0, "up")


def test_sample_route_follows_successors_without_revisits():
    w = world(4)
    rng = np.random.default_rng(0)
    for _ in range(10):
        route = w.sample_route(rng, 500.0)
        assert w.lanes.lanes[route[0]].junction_id < 0
        assert len(set(route)) == len(route)
        assert sum(w.lanes.lane_length[route]) >= 500.0
        assert all(v in w.lanes.lanes[u].successors for u, v in zip(route, route[1:]))


def test_spawn_points_apart_and_on_non_junction_lanes():
    w = world(5)
    lanes, s = w.spawn_points(np.random.default_rng(0), 20, 10.0)
    assert len(lanes) == 20 and (w.lanes.lane_junction[lanes] < 0).all()
    for i in range(20):
        same = (lanes == lanes[i]) & (np.arange(20) != i)
        assert np.all(np.abs(s[same] - s[i]) >= 10.0)
    with pytest.raises(ValueError):
        w.spawn_points(np.random.default_rng(0), 10_000, 50.0)


def test_curbs_run_along_road_edges_off_junctions():
    for w in worlds()[:10]:
        assert w.curbs
        pts = np.concatenate(w.curbs)
        assert not w.lanes.in_areas(pts).any()
        edges = np.concatenate([e for r in w.roads for e in (r.left_edge, r.right_edge)])
        assert np.isin(pts.view([("", float)] * 2), edges.view([("", float)] * 2)).all()


# ------------------------------------------------------------------------- geometry by hand
def test_arc_turns_heading_by_k_times_length_and_straight_moves_length():
    k, length = 1.0 / 40.0, 50.0
    arc, _ = trace([(length, k, k)], np.zeros(2), 0.3)
    assert arc.heading[-1] == pytest.approx(0.3 + k * length, abs=1e-12)
    center = np.array([-np.sin(0.3), np.cos(0.3)]) / k
    assert np.allclose(np.hypot(*(arc.xy - center).T), 1.0 / k, atol=1e-9)
    line, _ = trace([(length, 0.0, 0.0)], np.array([1.0, 2.0]), np.pi / 2)
    assert np.allclose(line.xy[-1], [1.0, 2.0 + length], atol=1e-12)
    assert line.s[-1] == pytest.approx(length)


def test_clothoid_turn_heading_change():
    k, lc, la = 0.02, 30.0, 40.0
    curve, ends = trace(turn(k, lc, la), np.zeros(2), 0.0)
    assert curve.heading[-1] == pytest.approx(k * (lc + la), abs=1e-12)  # two half clothoids + arc
    assert curve.heading[ends[0]] == pytest.approx(0.5 * k * lc, abs=1e-12)
    assert np.diff(curve.s).max() <= 0.5


# ------------------------------------------------------------------------- spec
@pytest.mark.parametrize("field,value", [
    ("road_length_m", -1.0), ("lanes_per_direction", (0, 5)), ("lanes_per_direction", (3, 2)),
    ("lane_width_m", (3.5, 3.0)), ("curvature_max", 0.1), ("segment_length_m", (200.0, 40.0)),
    ("junction_mix", (0.0, 0.0, 0.0)), ("speed_limits_mps", ()), ("trees_per_km", -1.0),
    ("crack_density", (0.2, 1.5)), ("junctions_per_km", float("nan")),
])
def test_bad_spec_values_raise_naming_the_field(field, value):
    with pytest.raises(ValueError, match=f"WorldSpec.{field}"):
        WorldSpec(**{field: value})


def test_spec_dict_round_trip_and_unknown_key():
    spec = WorldSpec(lanes_per_direction=(2, 4), speed_limits_mps=(10.0, 20.0))
    assert WorldSpec.from_dict(spec.to_dict()) == spec
    assert WorldSpec.from_dict({"lane_width_m": [3.0, 3.5]}).lane_width_m == (3.0, 3.5)
    with pytest.raises(ValueError, match="WorldSpec.lanes_per_km"):
        WorldSpec.from_dict({"lanes_per_km": 3})
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.road_length_m = 3.0
