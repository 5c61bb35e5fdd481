"""sim.traffic.prediction: modes at a fork follow the route choice, one mode on a straight road equal to a
plain rollout, stopping behind an obstacle (parked, or the ego by its plan), and the contract (current poses
first, probabilities summing to 1, determinism) on the env's state."""
import gymnasium as gym
import numpy as np
import pytest

import sim  # noqa: F401  (registers the environments)
from sim.traffic import Obstacles, TrafficSpec, TrafficState, step_traffic, traffic_poses
from sim.traffic.lane_map import LaneMap
from sim.traffic.prediction import predict
from sim.traffic.traffic import _fill_path
from sim.world import Lane, LaneGraph, World, WorldSpec
from sim.world.world import Props, SurfaceParams

DT = 0.1


def lane(i, points, succ=(), junction=-1, left=-1, right=-1, limit=20.0) -> Lane:
    """Lane ``i`` along a polyline resampled every 0.5 m."""
    points = np.asarray(points, float)
    seg = np.hypot(*np.diff(points, axis=0).T)
    s_in = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.linspace(0.0, s_in[-1], int(np.ceil(s_in[-1] / 0.5)) + 1)
    line = np.stack([np.interp(s, s_in, points[:, 0]), np.interp(s, s_in, points[:, 1])], axis=1)
    d = np.gradient(line, axis=0)
    heading = np.unwrap(np.arctan2(d[:, 1], d[:, 0]))
    return Lane(i, 0, junction, line, s, heading, np.gradient(heading, s), 3.5, limit, "solid", "solid",
                tuple(succ), (), left, right)


def world(lanes) -> World:
    props = Props(np.zeros(0, np.int8), np.zeros((0, 2)), np.zeros(0), np.zeros((0, 3)), np.zeros(0, bool))
    return World(WorldSpec(), LaneGraph(lanes), [], [], props, SurfaceParams(0.0, 0.0, 0.0, 0), [],
                 (-10.0, -10.0, 700.0, 400.0))


def straight(n_lanes=1, length=1500.0):
    """One-way road along +x; lane 0 leftmost at y = 0."""
    return world([lane(i, [[0.0, -3.5 * i], [length, -3.5 * i]], left=i - 1 if i else -1,
                       right=i + 1 if i + 1 < n_lanes else -1) for i in range(n_lanes)])


def fork():
    """Lane 0 (x 0..200) enters a junction: connector 1 goes straight on to lane 3, connector 2 turns left
    (radius 20 m) to lane 4."""
    a = np.linspace(-np.pi / 2, 0.0, 64)
    return world([
        lane(0, [[0.0, 0.0], [200.0, 0.0]], succ=(1, 2)),
        lane(1, [[200.0, 0.0], [230.0, 0.0]], succ=(3,), junction=0, limit=10.0),
        lane(2, np.stack([200.0 + 20.0 * np.cos(a), 20.0 + 20.0 * np.sin(a)], axis=1), succ=(4,), junction=0,
             limit=10.0),
        lane(3, [[230.0, 0.0], [700.0, 0.0]]),
        lane(4, [[220.0, 20.0], [220.0, 400.0]]),
    ])


def vehicles(lmap, lane_ids, s, speed) -> TrafficState:
    """Cars with fixed driver styles (T 1.5 s, s0 2 m, a 1.5, b 2, politeness 0.3, desired speed = limit)."""
    lane_ids = np.asarray(lane_ids, np.int64)
    n = lane_ids.size
    full = lambda v: np.broadcast_to(np.asarray(v, float), (n,)).copy()  # noqa: E731
    return TrafficState(
        lane=lane_ids, prev_lane=np.full(n, -1, np.int64), path=_fill_path(lmap, lane_ids, np.random.default_rng(0)),
        s=full(s), d=np.zeros(n), d_rate=np.zeros(n), speed=full(speed), accel=np.zeros(n),
        lc_from=np.full(n, -1, np.int64), lc_cooldown=np.zeros(n), kind=np.zeros(n, np.int8), length=np.full(n, 4.5),
        width=np.full(n, 1.8), height=np.full(n, 1.5), colour=np.zeros((n, 3), np.uint8), speed_factor=np.ones(n),
        time_headway=np.full(n, 1.5), min_gap=np.full(n, 2.0), max_accel=np.full(n, 1.5),
        comfort_decel=np.full(n, 2.0), politeness=np.full(n, 0.3), scripted=np.zeros(n, bool),
    )


def obstacles(lane_ids=(), s=(), speed=(), xy=()) -> Obstacles:
    m = len(lane_ids)
    return Obstacles(np.asarray(lane_ids, np.int64), np.full(m, -1, np.int64), np.asarray(s, float),
                     np.asarray(speed, float), np.full(m, 4.6), np.asarray(xy, float).reshape(m, 2))


def test_fork_gives_two_modes_with_the_route_choice_probabilities():
    lmap = LaneMap(fork())
    st = vehicles(lmap, [0], [150.0], [10.0])
    p = predict(None, (lmap, st, obstacles()), rng=np.random.default_rng(0), horizon_s=6.0, samples=64)
    assert p.probabilities.shape == (1, 3)
    assert p.probabilities[0, 2] == 0.0  # only two futures exist: the third mode is padding
    assert p.probabilities[0, :2] == pytest.approx([0.5, 0.5], abs=0.15)  # uniform choice of 2 exits
    ends = p.trajectories[0, :2, -1, :2]
    turned = ends[:, 1] > 3.0
    assert turned.sum() == 1  # one mode turns left, the other goes straight on
    assert abs(ends[~turned][0, 1]) < 0.1 and ends[~turned][0, 0] > 205.0


def rollout(lmap, st, obs, steps):
    rng = np.random.default_rng(5)
    poses = [np.stack(traffic_poses(lmap, st), axis=1)]
    for k in range(steps):
        st = step_traffic(lmap, st, obs, DT, rng, (0.0, 0.0), TrafficSpec(), k)
        poses.append(np.stack(traffic_poses(lmap, st), axis=1))
    return np.stack(poses, axis=1)  # (N, T, 3)


def test_straight_road_gives_one_mode_equal_to_a_plain_rollout():
    lmap = LaneMap(straight(n_lanes=2))
    st = vehicles(lmap, [1], [100.0], [15.0])
    p = predict(None, (lmap, st, obstacles()), rng=np.random.default_rng(1))
    assert p.t.shape == (51,) and p.t[-1] == pytest.approx(5.0)
    assert p.probabilities[0].tolist() == [1.0, 0.0, 0.0]
    np.testing.assert_allclose(p.trajectories[0, 0], rollout(lmap, st, obstacles(), 50)[0], atol=1e-9)
    # unknown driver styles spread the samples along the road but keep one mode close to the nominal one
    q = predict(None, (lmap, st, obstacles()), rng=np.random.default_rng(1), style_spread=0.3)
    assert q.probabilities[0].tolist() == [1.0, 0.0, 0.0]
    assert np.abs(q.trajectories[0, 0, -1, :2] - p.trajectories[0, 0, -1, :2]).max() < 6.0


def test_predicted_vehicle_stops_behind_a_parked_obstacle():
    lmap = LaneMap(straight())
    st = vehicles(lmap, [0], [50.0], [15.0])
    p = predict(None, (lmap, st, obstacles([0], [130.0], [0.0], [[130.0, 0.0]])), rng=np.random.default_rng(2),
                horizon_s=15.0)
    x = p.trajectories[0, 0, :, 0]
    assert x.max() < 130.0 - 2.3 - 2.25  # never reaches the obstacle's rear bumper
    assert x[-1] - x[-11] < 0.05  # standing still over the last second
    assert x[-1] > 130.0 - 2.3 - 2.25 - 4.0  # about the standstill gap behind it


def test_ego_plan_that_stops_makes_the_follower_stop():
    lmap = LaneMap(straight())
    st = vehicles(lmap, [0], [50.0], [15.0])
    ego = obstacles([0], [90.0], [15.0], [[90.0, 0.0]])

    def brake_to_stop(t):  # the ego brakes at 5 m/s^2 from 15 m/s and stands at x = 112.5
        v = np.maximum(15.0 - 5.0 * t, 0.0)
        x = 90.0 + (15.0 * t - 2.5 * t**2) * (v > 0) + 22.5 * (v == 0)
        return np.stack([x, np.zeros_like(t), np.zeros_like(t), v], axis=1)

    cruising = predict(None, (lmap, st, ego), rng=np.random.default_rng(3), horizon_s=15.0)
    braking = predict(None, (lmap, st, ego), rng=np.random.default_rng(3), horizon_s=15.0, ego_plan=brake_to_stop)
    assert cruising.trajectories[0, 0, -1, 0] > 150.0  # follows the ego moving on
    x = braking.trajectories[0, 0, :, 0]
    assert x.max() < 112.5 - 2.3 - 2.25 and x[-1] - x[-11] < 0.05


@pytest.fixture(scope="module")
def env_state():
    env = gym.make("roadloop/Drive-v0", obs_mode="vector")
    env.reset(seed=3)
    for _ in range(20):
        env.step(np.zeros(2))
    yield env.unwrapped.scene, env.unwrapped.state
    env.close()


def test_prediction_contract_on_the_env_state(env_state):
    scene, state = env_state
    p = predict(scene, state, rng=np.random.default_rng(0), samples=8, style_spread=0.2)
    n = state.traffic.n
    assert p.trajectories.shape == (n, 3, 51, 3) and p.probabilities.shape == (n, 3)
    np.testing.assert_array_equal(p.actor_index, np.arange(1, n + 1))
    now = state.actors.table[:3, p.actor_index].T  # (n, 3) x, y, heading in the actor table
    np.testing.assert_allclose(p.trajectories[:, :, 0], np.broadcast_to(now[:, None], (n, 3, 3)))
    np.testing.assert_allclose(p.probabilities.sum(axis=1), 1.0)
    assert np.all(np.diff(p.probabilities, axis=1) <= 0)  # most likely first
    assert np.isfinite(p.trajectories).all()
    q = predict(scene, state, rng=np.random.default_rng(0), samples=8, style_spread=0.2)
    np.testing.assert_array_equal(p.trajectories, q.trajectories)
    np.testing.assert_array_equal(p.probabilities, q.probabilities)


def test_bad_arguments_are_refused(env_state):
    scene, state = env_state
    with pytest.raises(ValueError, match="samples >= 1"):
        predict(scene, state, rng=np.random.default_rng(0), samples=0)


def test_vru_futures_keep_going_cross_now_or_stop():
    import dataclasses
    from types import SimpleNamespace

    from sim.traffic import vru_kernels as VK
    from sim.traffic.prediction import VRU_WAIT_CROSS, predict_vrus
    from sim.traffic.vru import VruSpec, concat_vrus, spawn_vrus, step_vrus
    from sim.traffic.vru_network import CROSSWALK
    from tests.sim.test_vru import NO_VEHICLES, approach, car_towards, city, place_pedestrians, run, with_style

    w, net = city()
    rng = np.random.default_rng(4)
    link = int(np.flatnonzero(net.kind == CROSSWALK)[0])
    xy, h = approach(net, link)
    ped = with_style(place_pedestrians(net, VruSpec(), rng, [xy], [h]), cross_chance=1.0, gap_acceptance=4.0,
                     patience=20.0)
    waiting = run(ped, net, w, car_towards(w, net, link, 20.0), 10.0, rng)[-1]  # a car comes: it waits
    assert waiting.mode[0] == VK.WAIT and waiting.wait[0] < 10.0  # under half its patience
    bike = spawn_vrus(w, net, VruSpec(pedestrians=0, cyclists=1), rng, w.junctions[0].center, 150.0)
    bike = step_vrus(bike, net, w, NO_VEHICLES, DT, rng)
    scene = SimpleNamespace(walks=net, world=w)

    def futures(vrus):
        state = SimpleNamespace(vrus=vrus, traffic=SimpleNamespace(n=5), semis=SimpleNamespace(owner=np.arange(2)))
        return predict_vrus(scene, state, horizon_s=4.0, dt=0.5)

    p = futures(concat_vrus(waiting, bike))
    assert p.trajectories.shape == (2, 3, 9, 3) and np.allclose(p.probabilities.sum(axis=1), 1.0)
    assert np.array_equal(p.actor_index, 1 + 5 + 2 + np.arange(2))  # after the ego, traffic and trailers
    assert np.all(np.diff(p.probabilities, axis=1) <= 0.0)  # most likely first
    # The waiting pedestrian: keeps waiting, or crosses now towards the link's far end (two modes, one padding).
    assert np.count_nonzero(p.probabilities[0]) == 2 and np.allclose(p.trajectories[0, 2], p.trajectories[0, 0])
    far = net.b[link] if waiting.direction[0] > 0 else net.a[link]
    gone = [np.hypot(*(p.trajectories[0, k, 0, :2] - far)) - np.hypot(*(p.trajectories[0, k, -1, :2] - far))
            for k in range(2)]
    assert max(gone) > 0.9 * 4.0 * waiting.desired_speed[0] and min(gone) < 0.1
    assert gone[0] < 0.1  # not long there: most likely it keeps waiting
    patient = futures(concat_vrus(dataclasses.replace(waiting, wait=np.full(1, 20.0)), bike))
    assert patient.probabilities[0, 0] == pytest.approx(VRU_WAIT_CROSS[1])  # waited its patience: most likely goes
    # The cyclist: rides on at its speed along its lane, or brakes to a stand.
    v = float(bike.speed[0])
    keep, stop = p.trajectories[1, 0], p.trajectories[1, 1]
    assert p.probabilities[1, 0] > 0.5 and abs(np.hypot(*(keep[2, :2] - keep[0, :2])) - v * 1.0) < 0.3
    assert np.hypot(*(stop[-1, :2] - stop[0, :2])) == pytest.approx(0.5 * v * v / VK.CYCLE_IDM_DECEL, abs=0.3)
