"""sim.traffic.vru: pedestrians on sidewalks and crossings (gap acceptance, patience, jaywalking, groups,
crowds), cyclists near the right edge, smoothness, determinism, obstacles for traffic, crosswalk markings."""
import dataclasses
import time
from functools import lru_cache

import numpy as np
import pytest

from sim.assets.road import _zebras
from sim.traffic import vru_kernels as K
from sim.traffic.traffic import Obstacles
from sim.traffic.vru import (Vehicles, VruSpec, VruState, concat_vrus, fill_vrus, place_pedestrians, spawn_crowd,
                             spawn_vrus, step_vrus, vru_obstacles, vru_slots, vru_table)
from sim.traffic.vru_network import CORNER, CROSSWALK, CROSSWALK_WIDTH_M, MIDBLOCK, crosswalks, walk_network
from sim.world import Lane, LaneGraph, World, WorldSpec, generate_world
from sim.world.world import Props, Road, SurfaceParams

DT = 0.1
WALK, WAIT, CROSS, RIDE = K.WALK, K.WAIT, K.CROSS, K.RIDE
NO_VEHICLES = Vehicles(*(np.zeros(0) for _ in range(6)))


@lru_cache(maxsize=None)
def city():
    world = generate_world(WorldSpec(), np.random.default_rng(0))
    return world, walk_network(world)


def straight_world(length=400.0, width=3.5):
    """A straight one-way road of two lanes along +x; lane 0 at y = 0, lane 1 (the rightmost) at y = -width."""
    x = np.arange(0.0, length + 1e-9, 0.5)
    lanes = [Lane(i, 0, -1, np.stack([x, np.full_like(x, -i * width)], axis=1), x.copy(), np.zeros_like(x),
                  np.zeros_like(x), width, 14.0, ("solid", "dashed")[i], ("dashed", "solid")[i], (), (),
                  (-1, 0)[i], (1, -1)[i]) for i in range(2)]
    ref = np.stack([x, np.full_like(x, 0.5 * width)], axis=1)
    road = Road(0, ref, (0, 1), (), 14.0, ref, ref - [0.0, 2 * width])
    props = Props(np.zeros(0, np.int8), np.zeros((0, 2)), np.zeros(0), np.zeros((0, 3)), np.zeros(0, bool))
    return World(WorldSpec(), LaneGraph(lanes), [road], [], props, SurfaceParams(0.0, 0.0, 0.0, 0), [],
                 (0.0, -2 * width, length, width))


def with_style(st: VruState, **values) -> VruState:
    return dataclasses.replace(st, **{k: np.broadcast_to(np.asarray(v, getattr(st, k).dtype), (st.n,)).copy()
                                      for k, v in values.items()})


def approach(net, link: int, side: int = 0, before: float = 4.0):
    """(xy, heading) of a sidewalk spot `before` m ahead of the entry of `link` at `side`, facing it."""
    line, u = net.line[link, side], net.u_end[link, side]
    start, count = net.line_start[line], net.line_count[line]
    length = net.u[start + count - 1]
    way = 1 if u - before > 0.0 else -1
    s = u - way * before
    assert 0.0 <= s <= length
    i = start + int(np.searchsorted(net.u[start:start + count], s))
    return net.points[i], np.arctan2(*(net.points[i + way] - net.points[i])[::-1])


def car_towards(world, net, link: int, distance: float, speed: float = 10.0) -> Vehicles:
    """A car on the lane next to the kerb at end a of `link`, `distance` m before the link, driving at it."""
    a, b = net.a[link], net.b[link]
    e = (b - a) / np.hypot(*(b - a))
    lane, s, _ = world.lanes.locate(a + (net.kerb[link, 0] + 2.0) * e)
    p, h = world.lanes.cartesian(lane, s, 0.0)
    xy = p[0] - distance * np.array([np.cos(h[0]), np.sin(h[0])])
    return Vehicles(np.array([xy[0]]), np.array([xy[1]]), h, np.array([speed]), np.array([4.5]), np.array([1.8]))


def run(st, net, world, vehicles, seconds, rng, until=None):
    """Steps for `seconds` (or until `until(state)`); returns the states after each step."""
    out = []
    for _ in range(int(round(seconds / DT))):
        st = step_vrus(st, net, world, vehicles, DT, rng)
        out.append(st)
        if until is not None and until(st):
            break
    return out


def on_lanes(world, states, who) -> int:
    xy = np.concatenate([np.stack([s.x[who(s)], s.y[who(s)]], axis=1) for s in states])
    return int(world.lanes.lanes_within(xy, 0.0).sum())


def moving_vehicles(world, rng, n=20, speed=8.0):
    """n vehicles driving along random non-junction lanes at a constant speed (restarting at the lane start)."""
    g = world.lanes
    lanes = rng.choice(np.flatnonzero(g.lane_junction < 0), n)
    s0 = rng.random(n) * g.lane_length[lanes]

    def at(t):
        s = (s0 + speed * t) % g.lane_length[lanes]
        p, h = g.cartesian(lanes, s, 0.0)
        return Vehicles(p[:, 0], p[:, 1], h, np.full(n, speed), np.full(n, 4.5), np.full(n, 1.8))
    return at


# ------------------------------------------------------------------------------------------ spec, network
def test_spec_validation_names_the_field():
    VruSpec()
    for field, bad in (("pedestrians", -1), ("walk_speed_mps", (1.5, 1.0)), ("jaywalk_fraction", 1.5),
                       ("group_size_weights", (0, 0)), ("run_speed_mps", (1.5, 2.0)), ("crowd_group_size", (0, 3))):
        with pytest.raises(ValueError, match=f"VruSpec.{field}"):
            VruSpec(**{field: bad})


def test_network_links_and_zebra_markings_agree_with_crosswalks():
    world, net = city()
    cw = crosswalks(world)
    assert len(cw.left) >= 4
    walks = np.flatnonzero(net.kind == CROSSWALK)
    mid = 0.5 * (cw.left + cw.right)
    link_mid = 0.5 * (net.a[walks] + net.b[walks])
    assert len(walks) == len(cw.left)
    assert np.hypot(*(link_mid[:, None] - mid[None]).transpose(2, 0, 1)).min(axis=0).max() < 1.0
    assert (net.kind == MIDBLOCK).sum() > 0
    # Every stripe painted by sim.assets.road lies in a crosswalk band.
    centre = _zebras(world).mean(axis=1)[:, :2]
    along = np.stack([np.cos(cw.heading), np.sin(cw.heading)], axis=1)
    rel = centre[:, None] - mid[None]
    in_band = (np.abs(np.einsum("tkj,kj->tk", rel, along)) < 0.5 * CROSSWALK_WIDTH_M) & (
        np.hypot(*rel.transpose(2, 0, 1)) < 0.5 * np.hypot(*(cw.left - cw.right).T))
    assert len(centre) > 20 * len(cw.left) and in_band.any(axis=1).all()


# ------------------------------------------------------------------------------------------ pedestrians
def test_pedestrians_stay_on_sidewalks_unless_crossing():
    world, net = city()
    rng = np.random.default_rng(3)
    st = spawn_vrus(world, net, VruSpec(pedestrians=40, cyclists=0), rng, world.junctions[0].center, 150.0)
    assert st.n == 40
    states = run(st, net, world, NO_VEHICLES, 200.0, rng)
    off_road = lambda s: (s.mode != CROSS) | (net.kind[np.where(s.mode == CROSS, s.path, 0)] == CORNER)  # noqa: E731
    assert on_lanes(world, states, off_road) == 0
    crossed = np.unique(np.concatenate([s.path[s.mode == CROSS] for s in states]))
    assert (net.kind[crossed] == CROSSWALK).sum() >= 2


def test_waits_for_close_car_and_crosses_in_a_large_gap():
    world, net = city()
    rng = np.random.default_rng(0)
    link = int(np.flatnonzero(net.kind == CROSSWALK)[0])
    xy, h = approach(net, link)
    st = with_style(place_pedestrians(net, VruSpec(), rng, [xy], [h]), cross_chance=1.0, gap_acceptance=4.0,
                    patience=600.0, run_chance=0.0)
    close = run(st, net, world, car_towards(world, net, link, 25.0), 10.0, rng)
    assert close[-1].mode[0] == WAIT and close[-1].path[0] == link and close[-1].speed[0] < 0.05
    assert all(s.mode[0] != CROSS for s in close) and on_lanes(world, close, lambda s: s.mode >= 0) == 0
    far = run(close[-1], net, world, car_towards(world, net, link, 150.0), 3.0, rng)
    assert far[-1].mode[0] == CROSS
    done = run(far[-1], net, world, car_towards(world, net, link, 150.0), 40.0, rng,
               until=lambda s: s.mode[0] == WALK)
    assert done[-1].mode[0] == WALK and done[-1].path[0] == net.line[link, 1]


def test_patience_lowers_the_accepted_gap():
    world, net = city()
    rng = np.random.default_rng(1)
    link = int(np.flatnonzero(net.kind == CROSSWALK)[1])
    xy, h = approach(net, link)
    st = with_style(place_pedestrians(net, VruSpec(), rng, [xy], [h]), cross_chance=1.0, gap_acceptance=8.0,
                    patience=10.0, run_chance=0.0)
    car = car_towards(world, net, link, 62.0)  # about 6 s away, kept there
    states = run(st, net, world, car, 30.0, rng, until=lambda s: s.mode[0] == CROSS)
    assert states[-1].mode[0] == CROSS
    waited = states[-2].wait[0]
    assert 4.0 <= waited <= 8.0, waited


def test_jaywalkers_cross_mid_block_only_in_a_gap():
    world, net = city()
    rng = np.random.default_rng(2)
    link = int(np.flatnonzero(net.kind == MIDBLOCK)[0])
    xy, h = approach(net, link)
    st = place_pedestrians(net, VruSpec(), rng, [xy, xy], [h, h], group=[0, 1])
    st = with_style(st, cross_chance=0.0, gap_acceptance=4.0, patience=600.0)
    st = dataclasses.replace(st, jaywalk=np.array([1.0, 0.0]))
    close = run(st, net, world, car_towards(world, net, link, 20.0), 8.0, rng)
    assert all(s.mode[0] != CROSS for s in close) and close[-1].mode[0] == WAIT and close[-1].path[0] == link
    assert close[-1].mode[1] == WALK and close[-1].decided[1] == link  # passed by
    clear = run(close[-1], net, world, NO_VEHICLES, 30.0, rng, until=lambda s: s.mode[0] == WALK)
    assert any(s.mode[0] == CROSS for s in clear) and clear[-1].path[0] == net.line[link, 1]


def test_groups_wait_and_cross_together():
    world, net = city()
    rng = np.random.default_rng(4)
    link = int(np.flatnonzero(net.kind == CROSSWALK)[2])
    xy, h = approach(net, link, before=5.0)
    st = with_style(place_pedestrians(net, VruSpec(), rng, [xy] * 3, [h] * 3, group=[0, 0, 0]), cross_chance=1.0,
                    gap_acceptance=4.0, patience=600.0)
    assert np.array_equal(st.group, [0, 0, 0]) and np.all(st.slot_back[1:] + st.slot_side[1:] > 0.0)
    close = run(st, net, world, car_towards(world, net, link, 20.0), 10.0, rng)
    assert all((s.mode != CROSS).all() for s in close) and (close[-1].mode == WAIT).all()
    clear = run(close[-1], net, world, NO_VEHICLES, 30.0, rng)
    start = [next(k for k, s in enumerate(clear) if s.mode[i] == CROSS) for i in range(3)]
    assert max(start) - min(start) <= 3  # members start with their leader (within 0.3 s)
    end = [next(k for k, s in enumerate(clear) if s.mode[i] == WALK) for i in range(3)]
    assert all(clear[k].path[i] == net.line[link, 1] for i, k in enumerate(end))
    # members stepping off the crosswalk may wait a moment for one another (they never step into each other)
    assert max(end) - min(end) <= 60
    together = clear[max(start):min(end)]
    spread = max(np.hypot(s.x[:, None] - s.x[None], s.y[:, None] - s.y[None]).max() for s in together)
    assert len(together) > 50 and spread < 2.5
    after = clear[max(end) + 20]
    assert np.hypot(after.x - after.x[0], after.y - after.y[0]).max() < 3.0  # still together on the far side


def test_crowd_of_120_crosses_and_step_time():
    world, net = city()
    rng = np.random.default_rng(5)
    link = int(np.flatnonzero(net.kind == CROSSWALK)[0])
    crowd = spawn_crowd(net, VruSpec(), rng, link, 120)
    others = spawn_vrus(world, net, VruSpec(pedestrians=26, cyclists=4), rng, 0.5 * (net.a[link] + net.b[link]), 120.0)
    st = concat_vrus(crowd, others)
    assert st.n == 150 and (crowd.mode == WAIT).all()
    far = np.repeat(net.line[link, ::-1], 60)
    landed = np.full(120, -1)
    # Keeping their personal space, the 60 arriving at each end leave along one sidewalk (the crosswalk ends 1 m
    # before the other end): about 60 s.
    for k in range(900):
        new = step_vrus(st, net, world, NO_VEHICLES, DT, rng)
        off = (st.mode[:120] == CROSS) & (st.path[:120] == link) & (new.mode[:120] == WALK) & (landed < 0)
        landed[off] = new.path[:120][off]
        st = new
        if (landed >= 0).all():
            break
    assert np.array_equal(landed, far), "the crowd did not cross within 90 s"
    print(f"crowd of 120 across a {np.hypot(*(net.b[link] - net.a[link])):.1f} m crosswalk in {k * DT:.1f} s")
    last = st
    vehicles = moving_vehicles(world, rng, 30)(0.0)
    for n in (30, 150):
        sub = dataclasses.replace(last, **{k: v[-n:] if k != "group" else v[-n:] - (150 - n)
                                           for k, v in last.arrays().items()})
        step_vrus(sub, net, world, vehicles, DT, rng)
        t0 = time.perf_counter()
        for _ in range(200):
            sub = step_vrus(sub, net, world, vehicles, DT, rng)
        print(f"step_vrus with {n} VRUs and 30 vehicles: {(time.perf_counter() - t0) / 200 * 1e3:.3f} ms")


def test_accelerations_and_motion_stay_smooth_over_a_long_run():
    world, net = city()
    rng = np.random.default_rng(6)
    centre = world.junctions[1].center
    st = spawn_vrus(world, net, VruSpec(pedestrians=40, cyclists=8, crowd_size=20), rng, centre, 120.0)
    traffic = moving_vehicles(world, rng)
    prev = st
    ped = st.kind == 0
    worst = np.zeros(4)
    dead_stops = 0
    for k in range(1500):
        st = step_vrus(prev, net, world, traffic(k * DT), DT, rng)
        jerk = np.abs(st.accel - prev.accel) / DT
        step = np.hypot(st.x - prev.x, st.y - prev.y)
        # A pedestrian about to step into someone stops dead (that step and the next are exempt).
        dead = ((st.speed == 0.0) | (prev.speed == 0.0))[ped]
        dead_stops += int(np.sum(st.accel[ped] < -K.WALK_DECEL - 1e-9))
        assert np.all((st.accel[ped] >= -K.WALK_DECEL - 1e-9) | dead)
        assert np.all(st.accel[ped] <= np.where(st.running[ped] | prev.running[ped], K.RUN_ACCEL, K.WALK_ACCEL) + 1e-9)
        assert np.all((st.accel[~ped] >= -K.CYCLE_DECEL - 1e-9) & (st.accel[~ped] <= K.CYCLE_ACCEL + 1e-9))
        assert np.all((jerk[ped] <= K.PED_JERK + 1e-6) | dead) and np.all(jerk[~ped] <= K.CYCLE_JERK_HARD + 1e-6)
        assert np.all(step <= DT * (np.maximum(st.speed, prev.speed) + 1.5))  # no jumps
        worst = np.maximum(worst, [np.abs(st.accel[ped]).max(), np.abs(st.accel[~ped]).max(), jerk[ped].max(),
                                   jerk[~ped].max()])
        prev = st
    print("max |accel| ped %.2f cyclist %.2f m/s^2, max |jerk| ped %.1f cyclist %.1f m/s^3" % tuple(worst))
    print(f"pedestrians stopping dead: {dead_stops} of {1500 * int(ped.sum())} steps")
    assert dead_stops <= 0.002 * 1500 * ped.sum()


def test_same_seed_same_states_bit_for_bit():
    world, net = city()

    def episode(seed):
        rng = np.random.default_rng(seed)
        st = spawn_vrus(world, net, VruSpec(pedestrians=30, cyclists=6, crowd_size=10), rng, world.junctions[0].center,
                        120.0)
        traffic = moving_vehicles(world, rng)
        for k in range(300):
            st = step_vrus(st, net, world, traffic(k * DT), DT, rng)
        return st

    a, b, c = episode(11), episode(11), episode(12)
    assert all(np.array_equal(v, getattr(b, k)) for k, v in a.arrays().items())
    assert not np.array_equal(a.x, c.x)


# ------------------------------------------------------------------------------------------ cyclists
def test_cyclists_ride_near_the_right_edge_and_follow_a_slow_vehicle():
    world = straight_world()
    net = walk_network(world)
    rng = np.random.default_rng(7)
    spec = VruSpec(pedestrians=0, cyclists=1, cyclist_speed_mps=(6.0, 6.0))
    st = spawn_vrus(world, net, spec, rng, (60.0, 0.0), 30.0)
    assert st.n == 1 and st.path[0] == 1 and st.mode[0] == RIDE
    x_car, y_car = st.x[0] + 30.0, -3.5

    def car(speed):
        return Vehicles(np.array([x_car]), np.array([y_car]), np.zeros(1), np.array([speed]), np.array([4.5]),
                        np.array([1.8]))
    gaps, speeds = [], []
    for k in range(600):
        v_car = 2.0 if k < 400 else 0.0
        st = step_vrus(st, net, world, car(v_car), DT, rng)
        x_car += v_car * DT
        gaps.append(x_car - st.x[0] - 0.5 * (4.5 + st.length[0]))
        speeds.append(st.speed[0])
        assert abs(st.y[0] - (-3.5 - (1.75 - K.CYCLE_EDGE_M))) < 0.05  # 0.8 m from the right edge
    assert min(gaps) > 1.0
    assert abs(speeds[399] - 2.0) < 0.2
    assert speeds[-1] < 0.05 and gaps[-1] < 6.0


def test_cyclists_spawn_on_rightmost_lanes_clear_of_vehicles():
    world, net = city()
    rng = np.random.default_rng(10)
    vehicles = moving_vehicles(world, rng, 40)(0.0)
    occupied = np.stack([vehicles.x, vehicles.y], axis=1)
    st = spawn_vrus(world, net, VruSpec(pedestrians=0, cyclists=10), rng, world.junctions[0].center, 200.0, occupied)
    g = world.lanes
    assert st.n == 10 and (st.mode == RIDE).all()
    assert (g.right[st.path] < 0).all() and (g.lane_junction[st.path] < 0).all()
    assert np.allclose(st.offset, -(0.5 * g.lane_width[st.path] - K.CYCLE_EDGE_M))
    xy = np.stack([st.x, st.y], axis=1)
    assert np.hypot(*(xy[:, None] - occupied[None]).transpose(2, 0, 1)).min() >= 12.0


# ------------------------------------------------------------------------------------------ outputs
def test_obstacles_are_the_vrus_on_the_carriageway():
    world, net = city()
    rng = np.random.default_rng(8)
    link = int(np.flatnonzero(net.kind == CROSSWALK)[0])
    xy, h = approach(net, link)
    st = with_style(place_pedestrians(net, VruSpec(), rng, [xy], [h]), cross_chance=1.0)
    states = run(st, net, world, NO_VEHICLES, 30.0, rng,
                 until=lambda s: s.mode[0] == CROSS and s.along[0] > net.kerb[link, 0] + 3.0)
    crossing = states[-1]
    waiting = spawn_crowd(net, VruSpec(crowd_group_size=(1, 1)), rng, link, 1)
    others = spawn_vrus(world, net, VruSpec(pedestrians=10, cyclists=2), rng, world.junctions[0].center, 100.0)
    st = concat_vrus(concat_vrus(crossing, waiting), others)
    lane, lane2, s, speed, length, xy = vru_obstacles(st, world.lanes)
    expect = np.concatenate([[0], 2 + np.flatnonzero(others.kind == 1)])
    assert np.allclose(xy, np.stack([st.x[expect], st.y[expect]], axis=1))
    assert np.array_equal(lane[1:], st.path[expect[1:]])  # cyclists on their lanes
    assert abs(speed[0]) < 0.2 and np.allclose(speed[1:], st.speed[expect[1:]], atol=0.3)
    assert lane2.shape == lane.shape and np.all(length > 0.4)
    Obstacles(lane, lane2, s, speed, length, xy)


def test_vru_table_rows_and_kinds():
    world, net = city()
    st = spawn_vrus(world, net, VruSpec(), np.random.default_rng(9), world.junctions[0].center, 100.0)
    table, kind, valid = vru_table(st)
    assert table.shape == (7, st.n) and table.dtype == np.float64 and valid.all()
    assert np.array_equal(table[0], st.x) and np.array_equal(table[6], st.height)
    assert np.array_equal(kind, st.kind) and set(kind) == {0, 1}
    assert np.all((table[6][kind == 0] >= 1.5) & (table[6][kind == 0] <= 1.95))


# ------------------------------------------------------------------------------------------ issue 6 fixes
def overlaps(st) -> int:
    from sim.physics.collision import pairwise_overlap

    ped = st.valid & (st.kind == 0)
    return int(np.triu(pairwise_overlap(st.x, st.y, st.heading, st.length, st.width, ped), 1).sum())


def test_people_have_human_sizes_and_groups_and_crowds_keep_personal_space():
    world, net = city()
    rng = np.random.default_rng(12)
    link = int(np.flatnonzero(net.kind == CROSSWALK)[0])
    groups = spawn_vrus(world, net, VruSpec(pedestrians=60, cyclists=0, group_size_weights=(0, 0.5, 0.5)), rng,
                        world.junctions[0].center, 150.0)
    st = concat_vrus(groups, spawn_crowd(net, VruSpec(), rng, link, 30))
    assert np.all((st.width >= 0.42) & (st.width <= 0.56) & (st.length >= 0.26) & (st.length <= 0.36))
    assert len(set(np.round(st.width, 3))) > 20  # people differ
    member = st.group != np.arange(st.n)
    side = st.slot_side[member & (st.slot_side > 0)]
    assert side.size and np.all(side >= 0.42 + 0.2)
    assert overlaps(st) == 0
    # Groups walk, cross and meet others for 40 s: people rarely touch (only in the throng on a crosswalk; before
    # personal space, 40 to 60 pairs touched in such runs, and before pedestrians stopped dead rather than step
    # into someone, up to 8).
    from sim.physics.collision import pairwise_overlap

    st, touched = groups, set()
    for _ in range(400):
        st = step_vrus(st, net, world, NO_VEHICLES, DT, rng)
        touched |= set(zip(*np.nonzero(np.triu(pairwise_overlap(st.x, st.y, st.heading, st.length, st.width,
                                                                st.valid), 1))))
    print(f"pedestrian pairs that touched: {len(touched)} of {st.n} pedestrians in 40 s")
    assert len(touched) <= 2


def test_two_pedestrians_meeting_on_a_sidewalk_pass_each_other():
    world, net = city()
    rng = np.random.default_rng(13)
    line = int(np.argmax([net.line_length(i) for i in range(net.n_lines)]))
    start = net.line_start[line]
    i, j = start + 10, start + 40  # about 15 m apart along the line
    h = np.arctan2(*(net.points[i + 1] - net.points[i])[::-1])
    st = place_pedestrians(net, VruSpec(), rng, net.points[[i, j]], [h, h + np.pi])
    st = with_style(st, keep_right=0.2, cross_chance=0.0, jaywalk=0.0)
    assert np.array_equal(st.direction, [1, -1])
    gap = []
    for _ in range(200):
        st = step_vrus(st, net, world, NO_VEHICLES, DT, rng)
        assert overlaps(st) == 0
        gap.append((st.along[1] - st.along[0]))
    assert gap[-1] < -3.0  # they went past each other


def test_pedestrians_wait_for_a_fast_car_that_could_not_stop_but_cross_before_a_slow_one():
    world, net = city()
    link = int(np.flatnonzero(net.kind == CROSSWALK)[0])
    xy, h = approach(net, link)
    modes = {}
    for speed in (25.0, 8.0):  # both arrive in 5 s; only the slow one could stop for the pedestrian
        rng = np.random.default_rng(14)
        st = with_style(place_pedestrians(net, VruSpec(), rng, [xy], [h]), cross_chance=1.0, gap_acceptance=2.0,
                        patience=600.0, run_chance=0.0)
        car = car_towards(world, net, link, 5.0 * speed, speed)  # kept there
        modes[speed] = [s.mode[0] for s in run(st, net, world, car, 12.0, rng)]
    assert WAIT in modes[25.0] and CROSS not in modes[25.0]
    assert CROSS in modes[8.0]


def test_cyclists_never_ride_u_turn_loops_and_leave_at_dead_ends():
    world, net = city()
    loops = np.zeros(len(world.lanes.lanes), bool)
    for j in world.junctions:
        if j.kind == "cul_de_sac":
            loops[list(j.connector_lanes)] = True
    assert loops.any() and np.all(net.ride_room[loops] < 0) and not net.ride_ok[loops].any()
    rng = np.random.default_rng(15)
    st = spawn_vrus(world, net, VruSpec(pedestrians=0, cyclists=12), rng, world.junctions[0].center, 400.0)
    assert st.n == 12
    start = world.lanes.lane_length[st.path] - st.along + np.array(
        [net.ride_room[t] if t >= 0 else 0.0 for t in st.target])
    assert np.all(start >= 100.0)  # room to ride before any dead end
    ridden = set()
    for _ in range(1500):
        st = step_vrus(st, net, world, NO_VEHICLES, DT, rng)
        ridden |= set(st.path[st.valid].tolist()) | set(st.target[st.valid & (st.target >= 0)].tolist())
    assert not loops[list(ridden)].any()
    assert len(ridden) > 12


def test_rows_keep_their_person_across_recycling():
    """Regression: recycling compacted the VRU rows, so an actor-table column changed person between steps."""
    import gymnasium as gym

    import sim  # noqa: F401
    from agents import make_agent

    env = gym.make("roadloop/Drive-v0", num_traffic=0, num_pedestrians=24, num_cyclists=4, route_length_m=1500.0,
                   episode_seconds=60.0)
    obs, info = env.reset(seed=5)
    agent = make_agent("lane_keeping")
    agent.reset(obs, info)
    u = env.unwrapped
    n = u.state.actors.valid.size
    first = u.state.vrus.n
    prev, freed, refilled = u.state.actors, 0, 0
    for _ in range(300):
        obs, _, term, trunc, info = env.step(agent.act(obs, info))
        a = u.state.actors
        assert a.valid.size == n and u.state.vrus.n == first  # fixed rows
        both = prev.valid & a.valid
        assert np.array_equal(a.table[4:, both], prev.table[4:, both])  # same size: the same person
        jump = np.hypot(a.x[both] - prev.x[both], a.y[both] - prev.y[both])
        assert np.all(jump <= np.maximum(a.speed[both], prev.speed[both]) * 0.1 + 0.3)
        freed += int((prev.valid & ~a.valid).sum())
        refilled += int((~prev.valid & a.valid).sum())
        prev = a
        if term or trunc:
            break
    assert freed > 0 and refilled > 0
    env.close()


def test_cyclist_stops_for_a_vehicle_standing_at_an_angle_across_its_path():
    # Regression (traffic_sanity seeds 312, 762): a cyclist judged what was in its way by the other's width only
    # and rode into a vehicle standing at an angle in a junction, whose centre lay beside its line but whose body
    # reached across it.
    world = straight_world()
    net = walk_network(world)
    rng = np.random.default_rng(3)
    st = with_style(spawn_vrus(world, net, VruSpec(pedestrians=0, cyclists=1), rng, (60.0, 0.0), 30.0),
                    desired_speed=5.0)
    line_y = -3.5 - (1.75 - K.CYCLE_EDGE_M)
    heading = np.radians(35.0)
    car = Vehicles(np.array([st.x[0] + 25.0]), np.array([line_y + 1.9]), np.array([heading]), np.zeros(1),
                   np.array([4.6]), np.array([1.9]))
    assert 1.9 > 0.5 * (1.9 + st.width[0]) + K.CYCLE_LAT_MARGIN_M  # its centre is clear of the cyclist's line
    from sim.physics.collision import boxes_overlap

    for _ in range(150):
        st = step_vrus(st, net, world, car, DT, rng)
        assert not boxes_overlap((st.x, st.y, st.heading, st.length, st.width),
                                 (car.x, car.y, car.heading, car.length, car.width)).any()
    assert st.speed[0] < 0.05 and st.x[0] < car.x[0]


def test_people_placed_into_a_running_episode_keep_clear_of_those_there():
    # Regression (traffic_sanity seed 79): a recycled cyclist was placed 2 m behind one riding there.
    world = straight_world()
    net = walk_network(world)
    rng = np.random.default_rng(5)
    spec = VruSpec(pedestrians=0, cyclists=1)
    there = fill_vrus(vru_slots(3), spawn_vrus(world, net, spec, rng, (100.0, 0.0), 5.0))
    assert there.valid.sum() == 1
    near = spawn_vrus(world, net, spec, rng, (there.x[0] + 3.0, there.y[0]), 2.0)
    far = spawn_vrus(world, net, spec, rng, (there.x[0] + 60.0, there.y[0]), 2.0)
    assert near.n == far.n == 1
    assert fill_vrus(there, near).valid.sum() == 1
    assert fill_vrus(there, far).valid.sum() == 2
