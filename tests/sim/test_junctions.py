"""Right of way at junctions (sim.traffic.junctions, sim.traffic.signals) on hand-built junctions: lights, stop
and yield signs, all-way stops, gap acceptance for left turns, creeping, not blocking the box; control
assignment and signal states; and no gridlock in dense traffic on generated worlds."""
import numpy as np
import pytest

from sim.traffic import Obstacles, TrafficSpec, spawn_traffic, step_traffic
from sim.traffic.junctions import CREEP_EDGE_M, CREEP_SPEED, STOP_DWELL_S, STOP_LINE_M, junction_entries
from sim.traffic.lane_map import TURN_LEFT, LaneMap
from sim.traffic.signals import (
    AMBER,
    GREEN,
    RED,
    STATE_NAMES,
    plan_signals,
    signal_states,
)
from sim.world import WorldSpec, generate_world
from tests.sim.test_traffic import (
    DT,
    NO_OBSTACLES,
    junction_world,
    make_state,
    overlaps,
    through,
)

SPEC = TrafficSpec(recycle_radius_m=1e4 - 1, spawn_radius_m=(0.0, 1000.0))


def run(lmap, st, k0, steps, obs=NO_OBSTACLES, forced=None):
    """Steps ``k0`` .. ``k0 + steps - 1``; returns the states after each step (no two vehicles ever overlap)."""
    rng = np.random.default_rng(1)
    out = []
    for k in range(k0, k0 + steps):
        st = step_traffic(lmap, st, obs, DT, rng, (0.0, 0.0), SPEC, k, forced)
        assert not overlaps(lmap, st).any(), k
        out.append(st)
    return out


def series(states, name, i):
    return np.array([getattr(s, name)[i] for s in states])


def front_to_entry(lmap, states, i, path):
    """(T,) distance from vehicle i's front to the start of the connector ``path[1]`` along its path ``path``
    (negative once in)."""
    lane, s = series(states, "lane", i), series(states, "s", i)
    along = np.select([lane == path[0], lane == path[1], lane == path[2]],
                      [lmap.length[path[0]] - s, -s, -lmap.length[path[1]] - s], np.nan)
    return along - 0.5 * states[0].length[i]


def first(mask):
    return int(np.argmax(mask)) if mask.any() else None


def light_steps(lmap, lane, start, end, after=0):
    """First control step after ``after`` at which ``lane``'s light turns from ``start`` to ``end``."""
    st = np.array([lmap.signals.states(k * DT)[lane] for k in range(after + 4000)])
    return next(k for k in range(after + 1, after + 4000) if st[k] == end and st[k - 1] == start)


# ------------------------------------------------------------------------------------------ lights
def test_red_light_stops_and_green_goes():
    world = junction_world("four_way")
    lmap = LaneMap(world, {0: "lights"})
    path = through(world, 0, 1)
    k_red = light_steps(lmap, path[0], AMBER, RED)
    k_green = light_steps(lmap, path[0], RED, GREEN, after=k_red)
    st = make_state(lmap, [path[0]], [lmap.length[path[0]] - 80.0], [12.0], path=[path])
    states = run(lmap, st, k_red, k_green - k_red + 150)
    gap = front_to_entry(lmap, states, 0, path)
    red = slice(0, k_green - k_red)
    assert gap[red].min() >= STOP_LINE_M  # never past the stop line while red
    assert series(states, "speed", 0)[k_green - k_red - 1] < 0.1  # standing at the line when it turns green
    assert gap[-1] < 0.0  # and through the junction after it


def test_amber_stops_who_can_and_lets_the_committed_go():
    world = junction_world("four_way")
    lmap = LaneMap(world, {0: "lights"})
    path = through(world, 0, 1)
    k_amber = light_steps(lmap, path[0], GREEN, AMBER)
    inc = lmap.length[path[0]]
    # 14 m/s: 12 m from the entry cannot stop at 2.8 m/s^2 (needs 35 m), 80 m can.
    st = make_state(lmap, [path[0], path[0]], [inc - 2.25 - 12.0, inc - 2.25 - 80.0], [14.0, 14.0], factor=1.1,
                    path=[path, path])
    states = run(lmap, st, k_amber, 100)
    assert front_to_entry(lmap, states, 0, path)[-1] < 0.0  # went through
    assert front_to_entry(lmap, states, 1, path).min() >= STOP_LINE_M  # stopped
    assert series(states, "accel", 1).min() > -4.05  # without an emergency brake


def test_crossing_approaches_are_never_green_together():
    world = junction_world("four_way", n_lanes=2)
    lmap = LaneMap(world, {0: "lights"})
    from tests.sim.test_traffic import arm_lanes
    west, east, north, south = (arm_lanes(world, a)[0] for a in range(4))
    seen = set()
    for k in range(0, 3000, 3):
        s = lmap.signals.states(k * DT)
        assert s[west] == s[east] and s[north] == s[south]  # opposite approaches share a phase
        assert not (s[west] in (GREEN, AMBER) and s[north] in (GREEN, AMBER))
        seen.add((int(s[west]), int(s[north])))
    assert {(GREEN, RED), (AMBER, RED), (RED, RED), (RED, GREEN), (RED, AMBER)} <= seen  # all-red between phases


# ------------------------------------------------------------------------------------------ signs
def test_stop_sign_stops_then_goes_when_the_major_road_is_clear():
    world = junction_world("t_junction")
    lmap = LaneMap(world, {0: "minor_stop"})
    minor, major = through(world, 2, 1), through(world, 0, 1)
    # the minor vehicle reaches its line about when the major one passes the junction
    st = make_state(lmap, [minor[0], major[0]], [lmap.length[minor[0]] - 35.0, lmap.length[major[0]] - 100.0],
                    [8.0, 12.0], path=[minor, major])
    states = run(lmap, st, 0, 300)
    gap_minor, gap_major = front_to_entry(lmap, states, 0, minor), front_to_entry(lmap, states, 1, major)
    speed = series(states, "speed", 0)
    entered = first(gap_minor < 0.0)
    assert entered is not None
    # it stood at its line for the dwell time before entering ...
    standing = (speed < 0.3) & (gap_minor < STOP_LINE_M + 2.0 + 2.0)
    assert standing[:entered].sum() * DT >= STOP_DWELL_S
    # ... and entered only after the major vehicle had cleared the junction
    assert first(gap_major < -lmap.length[major[1]] - 5.0) < entered


def test_stop_sign_is_obeyed_on_an_empty_road():
    world = junction_world("t_junction")
    lmap = LaneMap(world, {0: "minor_stop"})
    minor = through(world, 2, 0)
    st = make_state(lmap, [minor[0]], [lmap.length[minor[0]] - 40.0], [10.0], path=[minor])
    states = run(lmap, st, 0, 250)
    gap, speed = front_to_entry(lmap, states, 0, minor), series(states, "speed", 0)
    entered = first(gap < 0.0)
    assert entered is not None and speed[:entered].min() < 0.3


def test_yield_sign_slows_but_does_not_stop_on_an_empty_road_and_yields_to_traffic():
    world = junction_world("t_junction")
    lmap = LaneMap(world, {0: "minor_yield"})
    minor, major = through(world, 2, 1), through(world, 0, 1)
    st = make_state(lmap, [minor[0]], [lmap.length[minor[0]] - 40.0], [10.0], path=[minor])
    speed = series(run(lmap, st, 0, 120), "speed", 0)
    assert 2.0 < speed.min() < 6.0  # looked (slowed down), did not stop
    st = make_state(lmap, [minor[0], major[0]], [lmap.length[minor[0]] - 40.0, lmap.length[major[0]] - 70.0],
                    [10.0, 12.0], path=[minor, major])
    states = run(lmap, st, 0, 200)
    entered = first(front_to_entry(lmap, states, 0, minor) < 0.0)
    assert entered is not None
    assert first(front_to_entry(lmap, states, 1, major) < -lmap.length[major[1]]) < entered


def test_all_way_stop_first_to_stop_goes_first():
    world = junction_world("four_way")
    lmap = LaneMap(world, {0: "all_way_stop"})
    early, late = through(world, 2, 3), through(world, 0, 1)  # crossing movements, north and west
    st = make_state(lmap, [early[0], late[0]], [lmap.length[early[0]] - 30.0, lmap.length[late[0]] - 45.0],
                    [8.0, 8.0], path=[early, late])
    states = run(lmap, st, 0, 400)
    a, b = front_to_entry(lmap, states, 0, early), front_to_entry(lmap, states, 1, late)
    assert first(a < 0.0) < first(b < 0.0)
    stood = series(states, "speed", 1) < 0.3
    assert stood[: first(b < 0.0)].any()  # the later one stopped too before going


# ------------------------------------------------------------------------------------------ gap acceptance
def _left_turn_against_stream(crit_gap):
    """A left turner standing at its line on green and an oncoming stream at 12 m/s with headways of 2 s, 2 s,
    9 s and 14 s; returns (lmap, states, left turner's path, oncoming path)."""
    world = junction_world("four_way")
    lmap = LaneMap(world, {0: "lights"})
    left, onc = through(world, 0, 2), through(world, 1, 0)
    assert lmap.turn[left[1]] == TURN_LEFT
    k_green = light_steps(lmap, left[0], RED, GREEN)
    fronts = np.cumsum([20.0, 24.0, 24.0, 108.0, 168.0])
    n = fronts.size
    st = make_state(lmap, [left[0]] + [onc[0]] * n, [lmap.length[left[0]] - 6.5] + list(lmap.length[onc[0]] - fronts
                    - 2.25), [0.0] + [12.0] * n, factor=[1.0] + [0.9] * n, path=[left] + [onc] * n, crit_gap=crit_gap)
    return lmap, run(lmap, st, k_green, 250), left, onc


@pytest.mark.parametrize("crit_gap, gap_taken", [(4.0, 3), (9.0, 4)])
def test_left_turner_waits_for_a_gap_that_fits_its_style(crit_gap, gap_taken):
    lmap, states, left, onc = _left_turn_against_stream(crit_gap)
    entered = first(front_to_entry(lmap, states, 0, left) < 0.0)
    assert entered is not None
    arrived = [first(front_to_entry(lmap, states, i, onc) < 0.0) for i in range(1, 6)]
    # it went after oncoming vehicle `gap_taken` had reached the junction (the first gap long enough for this
    # driver) and before the next one did
    assert arrived[gap_taken - 1] < entered < (arrived[gap_taken] or len(states))
    # an adequate gap: the oncoming vehicles it went ahead of did not have to brake for it
    for i in range(gap_taken + 1, 6):
        assert series(states, "accel", i)[: entered + 60].min() > -0.5


def test_waiting_at_a_stop_sign_it_creeps_up_to_the_edge():
    world = junction_world("t_junction")
    lmap = LaneMap(world, {0: "minor_stop"})
    minor, major = through(world, 2, 0), through(world, 1, 0)  # a right turn into the major stream
    fronts = 60.0 + 30.0 * np.arange(8)  # 2.5 s apart
    st = make_state(lmap, [minor[0]] + [major[0]] * 8, [lmap.length[minor[0]] - 20.0]
                    + list(lmap.length[major[0]] - fronts), [5.0] + [12.0] * 8, path=[minor] + [major] * 8)
    states = run(lmap, st, 0, 220)
    gap, speed = front_to_entry(lmap, states, 0, minor), series(states, "speed", 0)
    stopped = first((speed < 0.3) & (gap > 3.0))
    assert stopped is not None  # it stopped at its line first ...
    after = slice(stopped, first(gap < 0.0))
    assert gap[after].min() < CREEP_EDGE_M + 0.3  # ... then crept up to the edge
    assert speed[stopped:first(gap < CREEP_EDGE_M + 0.3)].max() <= CREEP_SPEED + 0.05


# ------------------------------------------------------------------------------------------ box
def test_does_not_enter_when_the_exit_has_no_room():
    world = junction_world("four_way")
    lmap = LaneMap(world, {0: "uncontrolled"})
    path = through(world, 0, 1)
    out = path[2]
    # a stopped car just inside the exit lane (an obstacle) leaves no room behind it
    jam = Obstacles(np.array([out]), np.array([-1]), np.array([3.0]), np.array([0.0]), np.array([4.5]),
                    world.lanes.cartesian([out], [3.0], [0.0])[0])
    st = make_state(lmap, [path[0]], [lmap.length[path[0]] - 50.0], [10.0], path=[path])
    states = run(lmap, st, 0, 200, obs=jam)
    gap = front_to_entry(lmap, states, 0, path)
    assert gap.min() > 0.0 and series(states, "speed", 0)[-1] < 0.05  # waits at its line, not in the box
    clear = Obstacles(np.array([out]), np.array([-1]), np.array([40.0]), np.array([0.0]), np.array([4.5]),
                      world.lanes.cartesian([out], [40.0], [0.0])[0])
    assert front_to_entry(lmap, run(lmap, states[-1], 200, 150, obs=clear), 0, path)[-1] < 0.0


def test_semi_waits_until_the_exit_has_room_for_its_whole_rig():
    # a car stands 20 m into the exit lane: room behind it for a car (4.5 m + 2 m gap), not for a 17 m rig
    world = junction_world("four_way")
    lmap = LaneMap(world, {0: "uncontrolled"})
    path = through(world, 0, 1)
    out = path[2]
    jam = Obstacles(np.array([out]), np.array([-1]), np.array([20.0]), np.array([0.0]), np.array([4.5]),
                    world.lanes.cartesian([out], [20.0], [0.0])[0])
    start = lmap.length[path[0]] - 60.0
    car = run(lmap, make_state(lmap, [path[0]], [start], [10.0], path=[path]), 0, 200, obs=jam)
    assert front_to_entry(lmap, car, 0, path)[-1] < 0.0  # the car goes
    semi = make_state(lmap, [path[0]], [start], [10.0], length=17.0, width=2.55, path=[path])
    states = run(lmap, semi, 0, 200, obs=jam)
    gap = front_to_entry(lmap, states, 0, path)
    assert gap.min() > 0.0 and series(states, "speed", 0)[-1] < 0.05  # the semi waits at its line
    clear = Obstacles(np.array([out]), np.array([-1]), np.array([60.0]), np.array([0.0]), np.array([4.5]),
                      world.lanes.cartesian([out], [60.0], [0.0])[0])
    assert front_to_entry(lmap, run(lmap, states[-1], 200, 150, obs=clear), 0, path)[-1] < 0.0


# ------------------------------------------------------------------------------------------ controls
def test_controls_are_drawn_per_junction_kind_and_deterministic():
    kinds = set()
    for seed in range(6):
        world = generate_world(WorldSpec(), np.random.default_rng(seed))
        a, b = plan_signals(world), LaneMap(world).signals
        assert a.kind == b.kind and np.array_equal(a.offset, b.offset) and np.array_equal(a.green, b.green)
        for junction, kind in zip(world.junctions, a.kind):
            allowed = {"four_way": {"lights", "all_way_stop"}, "t_junction": {"minor_stop", "minor_yield"}}
            assert kind in allowed.get(junction.kind, {"uncontrolled"})
            kinds.add(kind)
        t = 123.4
        assert signal_states(a, t) == signal_states(b, t)
        assert set(signal_states(a, t).values()) <= set(STATE_NAMES)
    assert {"lights", "minor_stop", "minor_yield", "uncontrolled"} <= kinds


def test_signals_leave_world_generation_unchanged():
    # Regression: control assignment must draw nothing from the world's generator.
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    world = generate_world(WorldSpec(), rng_a)
    LaneMap(world)
    generate_world(WorldSpec(), rng_b)
    assert rng_a.bit_generator.state == rng_b.bit_generator.state


def test_t_junction_minor_approach_is_the_one_without_a_straight_movement():
    world = junction_world("t_junction")
    signals = plan_signals(world, {0: "minor_stop"})
    names = signal_states(signals, 0.0)
    assert names[through(world, 2, 0)[0]] == "stop"
    assert names[through(world, 0, 1)[0]] == names[through(world, 1, 0)[0]] == "none"
    with pytest.raises(ValueError, match="kind"):
        plan_signals(world, {0: "roundabout"})


# ------------------------------------------------------------------------------------------ gridlock
@pytest.mark.parametrize("controls", ["drawn", "stops"])
def test_dense_traffic_keeps_flowing_through_junctions(controls):
    # A reduced bench/traffic_gridlock.py: 2 simulated minutes of 150 vehicles over a whole world.
    rng = np.random.default_rng(1)
    world = generate_world(WorldSpec(), rng)
    forced = {"four_way": "all_way_stop", "t_junction": "minor_stop"} if controls == "stops" else {}
    lmap = LaneMap(world, {j.id: forced[j.kind] for j in world.junctions if j.kind in forced})
    lo, hi = np.array(world.bounds[:2]), np.array(world.bounds[2:])
    centre, reach = 0.5 * (lo + hi), float(np.hypot(*(hi - lo)))
    spec = TrafficSpec(count=150, spawn_radius_m=(0.0, reach), recycle_radius_m=reach + 10.0)
    st = spawn_traffic(lmap, spec, rng, centre)
    moving, exits = [], []
    for k in range(1200):
        before = st
        st = step_traffic(lmap, st, NO_OBSTACLES, DT, rng, centre, spec, k)
        moving.append(np.mean(st.speed > 0.5))
        exits.append(np.sum((st.lane != before.lane) & lmap.in_junction[before.lane]))
    window = np.convolve(moving, np.ones(100) / 100, mode="valid")
    per_minute = np.add.reduceat(exits, [0, 600])
    assert st.n > 100
    # 10 s means of the moving share: measured 0.37 (drawn) and 0.38 (stops); the former first-come rules: 0.25
    assert window.min() > 0.3
    assert per_minute.min() > 65  # junction connector exits per minute: measured 83-88; formerly 79, then 61


def test_a_slow_vehicle_at_the_junction_edge_can_still_wait():
    # Regression: a vehicle rolling up to the edge at walking pace counted as committed 0.5 m before the entry,
    # so two such (trucks at two parallel, conflicting U-turn loops) entered together.
    world = junction_world("four_way")
    lmap = LaneMap(world)
    path = np.array([through(world, 0, 1)] * 3)
    inc = lmap.length[path[0, 0]]
    s = np.array([inc - 2.25 - 0.5, inc - 2.25 - 8.0, inc - 2.25 + 0.1])  # fronts 0.5 m, 8 m before, 0.1 m in
    speed = np.array([0.8, 10.0, 0.8])
    off = np.stack([-s, inc - s, inc + lmap.length[path[0, 1]] - s, np.full(3, np.inf)], axis=1)
    _, _, _, _, committed = junction_entries(lmap.li, path[:, 0], path, off, speed, np.full(3, 4.5), np.full(3, 2.0))
    assert committed.tolist() == [False, True, True]
