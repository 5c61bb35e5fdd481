"""roadloop/Parking-v0 and its lots: generation, Gymnasium contract, determinism, gears, terminations, errors."""
import dataclasses
import math
import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import sim  # noqa: F401
from sim.env.parking import Ego, ParkingConfig, ParkingEnv, compose, ego_params, ego_step, invert
from sim.env.registration import GOAL_ENV_IDS
from sim.parking import KIND_NAMES, LotSpec, generate_lot
from sim.parking.lot import goal_box_overlap
from sim.physics import pairwise_overlap
from tests.conftest import assert_same

ENV_ID = "roadloop/Parking-v0"


def test_registered():
    assert ENV_ID in GOAL_ENV_IDS and ENV_ID in gym.registry


def test_lot_deterministic():
    a = generate_lot(LotSpec(), np.random.default_rng(5))
    b = generate_lot(LotSpec(), np.random.default_rng(5))
    c = generate_lot(LotSpec(), np.random.default_rng(6))
    for f in dataclasses.fields(a):
        assert_same(getattr(a, f.name), getattr(b, f.name), f.name)
    assert a.obstacles.shape != c.obstacles.shape or not np.array_equal(a.obstacles, c.obstacles)


@pytest.mark.parametrize("seed", range(40))
def test_lot_valid(seed):
    lot = generate_lot(LotSpec(), np.random.default_rng(seed))
    assert not goal_box_overlap(lot).any(), "goal bay is not free"
    assert not lot.collides(*lot.entry)[0] and not lot.collides(*lot.goal)[0]
    cars = lot.obstacles[lot.kind == KIND_NAMES.index("car")]
    assert len(cars) > 0
    assert not pairwise_overlap(*cars.T, np.ones(len(cars), bool)).any(), "parked cars overlap"
    # every parked car and cone lies inside the lot
    inner = lot.obstacles[np.isin(lot.kind, [KIND_NAMES.index("car"), KIND_NAMES.index("cone")])]
    assert ((inner[:, 0] > 0) & (inner[:, 0] < lot.size[0]) & (inner[:, 1] > 0) & (inner[:, 1] < lot.size[1])).all()
    # goal heading points along its bay's axis, one way or the other
    bay = lot.bays[lot.goal_bay]
    assert math.isclose(abs(math.cos(lot.goal[2] - bay[2])), 1.0, abs_tol=1e-9)
    assert (math.cos(lot.goal[2] - bay[2]) < 0) == lot.reverse_in


def test_lots_vary():
    lots = [generate_lot(LotSpec(), np.random.default_rng(s)) for s in range(30)]
    assert {lot.reverse_in for lot in lots} == {True, False}
    assert len({len(lot.bays) for lot in lots}) > 2
    assert any((lot.kind == KIND_NAMES.index("cone")).any() for lot in lots)
    assert any((lot.kind == KIND_NAMES.index("island")).any() for lot in lots)


def test_check_env():
    env = gym.make(ENV_ID, render_mode="rgb_array")
    check_env(env.unwrapped)
    env.close()


def _rollout(env, seed, steps):
    rng = np.random.default_rng(seed)
    out = [env.reset(seed=seed)]
    for _ in range(steps):
        step = env.step(rng.uniform(-1, 1, 2).astype(np.float32))
        out.append(step)
        if step[2] or step[3]:
            out.append(env.reset())
    return out


def test_same_seed_same_episode():
    a, b = _rollout(gym.make(ENV_ID), 3, 150), _rollout(gym.make(ENV_ID), 3, 150)
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b)):
        for u, v in zip(x, y):
            assert_same(u, v, f"step {i}")
    c = gym.make(ENV_ID).reset(seed=4)[0]
    assert not np.array_equal(c["desired_goal"], a[0][0]["desired_goal"])


def test_observation_layout():
    env = gym.make(ENV_ID)
    obs, info = env.reset(seed=0)
    lot = env.unwrapped.lot
    np.testing.assert_allclose(obs["desired_goal"], [lot.goal[0], lot.goal[1], math.cos(lot.goal[2]),
                                                     math.sin(lot.goal[2])], rtol=1e-6)
    np.testing.assert_allclose(obs["achieved_goal"][:2], lot.entry[:2], rtol=1e-6)
    occ = obs["occupancy"]
    assert occ.shape == (2, 48, 48) and occ.dtype == np.uint8
    s = occ.shape[1] // 2
    assert occ[0, s - 2:s + 2, s - 2:s + 2].sum() == 0, "the ego's own cell is free"
    assert occ[0].any()


def test_render_shows_lot_and_ego():
    env = gym.make(ENV_ID, render_mode="rgb_array")
    env.reset(seed=1)
    img = env.render()
    w, h = env.unwrapped.lot.size
    assert img.dtype == np.uint8 and img.shape == (math.ceil((h + 2) / 0.1), math.ceil((w + 2) / 0.1), 3)
    assert (img == (220, 40, 40)).all(axis=2).sum() > 100, "the ego is drawn"


def test_forward_and_reverse_gear():
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=0)
    x0 = obs["observation"][0]
    for _ in range(10):
        obs, *_ = env.step(np.array([0.0, -1.0], np.float32))
    assert obs["observation"][2] < -0.5, "full negative accel from rest drives backwards (entry heading +x)"
    assert obs["observation"][0] < x0
    for _ in range(25):
        obs, *_ = env.step(np.array([0.0, 1.0], np.float32))
    assert obs["observation"][2] > 0.0, "positive accel brakes the reverse motion, then drives forward"


def test_reverse_step_retraces_forward_arc():
    """A reverse step moves back along the arc a forward step with the same steer and speed drives."""
    params = ego_params(ParkingConfig())
    start = Ego(np.array([3.0, 2.0, 0.4]), 1.0, 0.3)
    fwd = ego_step(start, 0.3, 0.0, params, 0.5)
    back = ego_step(Ego(fwd.pose, -1.0, 0.3), 0.3, 0.0, params, 0.5)
    np.testing.assert_allclose(back.pose, start.pose, atol=1e-12)
    assert back.speed == -1.0
    d = np.array([0.7, -0.2, 0.3])
    np.testing.assert_allclose(compose(compose(start.pose, d), invert(d)), start.pose, atol=1e-12)


def test_speed_limited():
    env = gym.make(ENV_ID, max_speed_mps=1.5)
    env.reset(seed=0)
    for _ in range(30):
        obs, *_ = env.step(np.array([0.0, 1.0], np.float32))
    assert abs(obs["observation"][2]) <= 1.5 + 1e-6


def test_collision_terminates():
    env = gym.make(ENV_ID, collision_reward=-7.0)
    env.reset(seed=0)
    for _ in range(400):
        obs, r, term, trunc, info = env.step(np.array([0.0, 1.0], np.float32))
        if term:
            break
    assert term and info["collision"] in (*KIND_NAMES, "boundary") and not info["is_success"]
    assert r == pytest.approx(float(env.unwrapped.compute_reward(obs["achieved_goal"], obs["desired_goal"], info)) - 7)


def test_success_terminates():
    env = gym.make(ENV_ID)
    lot = generate_lot(LotSpec(), np.random.default_rng(2))
    near_goal = lot.goal + np.array([0.2, 0.0, 0.0])
    env.reset(seed=0, options={"lot": dataclasses.replace(lot, entry=near_goal)})
    obs, r, term, trunc, info = env.step(np.zeros(2, np.float32))
    assert term and info["is_success"] and info["collision"] == ""
    assert info["distance_m"] == pytest.approx(0.2)


def test_truncates_on_time():
    env = gym.make(ENV_ID, episode_seconds=1.0)
    env.reset(seed=0)
    for i in range(10):
        *_, term, trunc, _ = env.step(np.zeros(2, np.float32))
    assert trunc and not term


def test_compute_reward_batched():
    env = gym.make(ENV_ID).unwrapped
    a = np.zeros((5, 4))
    d = np.tile([1.0, 0.0, 0.0, 0.5], (5, 1))
    r = env.compute_reward(a, d, {})
    assert r.shape == (5,) and np.allclose(r, -2.0)
    assert env.compute_reward(d[0], d[0], {}) == 0


@pytest.mark.parametrize("kwargs, match", [
    ({"parking_speed": 2.0}, "unknown options"),
    ({"lot": {"bays": 4}}, "unknown options"),
    ({"lot": {"aisles": (0, 1)}}, "aisles"),
    ({"lot": {"occupancy": 1.5}}, "occupancy"),
    ({"max_speed_mps": -1.0}, "max_speed_mps"),
    ({"occupancy_size": 4}, "occupancy_size"),
])
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gym.make(ENV_ID, **kwargs)


def test_bad_reset_and_action():
    with pytest.raises(ValueError, match="render_mode"):
        ParkingEnv(render_mode="human")
    env = gym.make(ENV_ID).unwrapped
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(2))
    with pytest.raises(ValueError, match="lot"):
        env.reset(seed=0, options={"level": 3})
    env.reset(seed=0)
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([np.nan, 0.0]))
    with pytest.raises(ValueError, match="2 values"):
        env.step(np.zeros(3))


def test_pickle_roundtrip_continues_identically():
    env = gym.make(ENV_ID).unwrapped
    env.reset(seed=3)
    for _ in range(5):
        env.step(np.array([0.2, 0.5], np.float32))
    twin = pickle.loads(pickle.dumps(env))
    for _ in range(20):
        a = env.step(np.array([-0.3, -0.4], np.float32))
        b = twin.step(np.array([-0.3, -0.4], np.float32))
        for u, v in zip(a, b):
            assert_same(u, v)


def test_no_moving_actors_without_a_scenario():
    env = gym.make(ENV_ID)
    _, info = env.reset(seed=0)
    vs = info["vector_space"]
    assert vs["actors"].shape == (0, 5) and vs["actor_speed"].shape == (0,) and vs["actor_kind"].shape == (0,)
    _, _, _, _, info = env.step(np.zeros(2, np.float32))
    assert "scenario" not in info and env.unwrapped.collision == ""


def test_config_to_dict_rebuilds_the_config():
    cfg = ParkingConfig(episode_seconds=30.0, lot=LotSpec(aisles=(2, 2), occupancy=0.5))
    d = cfg.to_dict()
    assert d["lot"]["aisles"] == [2, 2] and d["episode_seconds"] == 30.0
    assert ParkingConfig.from_kwargs(**d) == cfg


def test_reset_with_a_seed_draws_the_lot_of_that_seed():
    """The lot after ``reset(seed=k)`` is ``generate_lot(spec, default_rng(k))``: parking scenarios name lots so."""
    env = gym.make(ENV_ID).unwrapped
    env.reset(seed=11)
    lot = generate_lot(LotSpec(), np.random.default_rng(11))
    assert_same(env.lot.obstacles, lot.obstacles)
    assert env.lot.goal_bay == lot.goal_bay and env.lot_seed == 11
    env.reset()
    assert env.lot_seed is None
