"""roadloop/Drive-v0's native batched env (vectorization_mode="vector_entry_point"): spaces, bit-identity with
N single envs under Gymnasium's autoreset rules, seeding and errors."""
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

import sim  # noqa: F401
from sim.env.batched import BatchedDriveEnv

SMALL = dict(num_traffic=8, world={"road_length_m": 800.0}, num_worlds=2)


def _batched(n, **kw):
    return gym.make_vec("roadloop/Drive-v0", num_envs=n, vectorization_mode="vector_entry_point", **{**SMALL, **kw})


def _actions(rng, n):
    return np.stack([rng.normal(0.0, 0.15, n), rng.uniform(-0.3, 1.0, n)], axis=1).astype(np.float32)


def test_make_vec_gives_the_batched_env_with_batched_spaces():
    env = _batched(3)
    single = gym.make("roadloop/Drive-v0", **SMALL)
    assert isinstance(env.unwrapped, BatchedDriveEnv)
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert env.single_observation_space == single.observation_space
    assert env.observation_space == batch_space(single.observation_space, 3)
    assert env.action_space == batch_space(single.action_space, 3)
    obs, info = env.reset(seed=0)
    assert obs.shape == (3,) + single.observation_space.shape and obs.dtype == np.float32
    assert info["t"].shape == (3,) and info["_t"].all()
    env.close()


@pytest.mark.parametrize("kw, steps", [({}, 45), ({"num_pedestrians": 0, "num_cyclists": 0, "num_traffic": 20}, 45),
                                       ({"obs_mode": "bev", "bev_size": 48}, 25)])
def test_bit_identical_to_single_envs_with_autoresets(kw, steps):
    """Same seeds and actions: the batched env and gymnasium's SyncVectorEnv over N single envs (its default
    NEXT_STEP autoreset) give the same observations, rewards, terminations, truncations and metrics bit for bit,
    across autoresets, traffic recycling and (default options) pedestrians and cyclists."""
    n = 3
    opts = {**SMALL, **kw, "episode_seconds": 2.0}
    batched = _batched(n, **opts)
    sync = gym.make_vec("roadloop/Drive-v0", num_envs=n, vectorization_mode="sync", **opts)
    a, b = batched.reset(seed=11), sync.reset(seed=11)
    assert np.array_equal(a[0], b[0])
    assert not np.array_equal(a[0][0], a[0][1])  # the worlds differ
    rng = np.random.default_rng(0)
    ended = 0
    for k in range(steps):
        action = _actions(rng, n)
        a, b = batched.step(action), sync.step(action)
        for x, y, name in zip(a[:4], b[:4], ("obs", "reward", "terminated", "truncated")):
            assert x.dtype == y.dtype and np.array_equal(x, y), f"step {k}: {name} differs"
        for key, value in a[4].items():
            assert np.array_equal(value, b[4][key]), f"step {k}: info[{key!r}] differs"
        ended += int((a[2] | a[3]).sum())
    assert ended >= n  # every world went through at least one autoreset
    batched.close()
    sync.close()


def test_seeding():
    env = _batched(2)
    first, _ = env.reset(seed=4)
    same, _ = env.reset(seed=[4, 5])
    assert np.array_equal(first, same)
    other, _ = env.reset(seed=[5, 4])
    assert np.array_equal(other[0], first[1]) and np.array_equal(other[1], first[0])
    env.reset(seed=4)
    env.step(np.zeros((2, 2), np.float32))
    again, _ = env.reset()  # no seed: each world's generator goes on
    assert not np.array_equal(again, first)
    env.close()


def test_unsupported_mode_is_named():
    with pytest.raises(ValueError, match="obs_mode 'camera' is not supported"):
        _batched(2, obs_mode="camera")


def test_bad_input_raises():
    with pytest.raises(ValueError, match="num_envs"):
        BatchedDriveEnv(num_envs=0)
    with pytest.raises(ValueError, match="colour"):
        _batched(2, colour="red")
    env = _batched(2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros((2, 2), np.float32))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([[0.0, np.nan], [0.0, 0.0]], np.float32))
    with pytest.raises(ValueError, match="seeds"):
        env.reset(seed=[1, 2, 3])
    env.close()


def test_observe_many_equals_observe_per_frame():
    """The batched vector observation of frames from worlds with different actor counts (no traffic, pedestrians
    or cyclists: fewer actors than reported; more actors than reported) is the single observation of each, bit
    for bit."""
    frames = []
    for count, steps in ((0, 3), (8, 12), (20, 6)):
        people = {"num_pedestrians": 0, "num_cyclists": 0} if count == 0 else {}
        env = gym.make("roadloop/Drive-v0", **{**SMALL, "num_traffic": count, **people}).unwrapped
        env.reset(seed=count)
        for _ in range(steps):
            env.step(np.array([0.0, 0.6], np.float32))
            frames.append(env._frame())
    obs_type = env.obs_type
    many = obs_type.observe_many(frames)
    assert many.dtype == np.float32 and many.shape == (len(frames), obs_type.size)
    for j, frame in enumerate(frames):
        assert np.array_equal(many[j], obs_type.observe(frame)), f"frame {j} differs"
    reported = many[:, obs_type.layout()["actors"]].reshape(len(frames), obs_type.n, -1)[:, :, 0].sum(axis=1)
    assert reported.min() < obs_type.n and reported.max() == obs_type.n  # partly filled and full actor rows
