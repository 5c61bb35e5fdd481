"""The constant-velocity and random baselines: seeded, deterministic, registered."""
import gymnasium as gym
import numpy as np
import pytest

import sim  # noqa: F401
from agents import agent_names, make_agent
from agents.baselines import RandomAgent


def _episode(agent, seed, steps=60):
    env = gym.make("roadloop/Drive-v0", num_traffic=4, route_length_m=150.0)
    obs, info = env.reset(seed=seed)
    agent.reset(obs, info)
    actions, speeds = [], [info["speed"]]
    for _ in range(steps):
        action = agent.act(obs, info)
        obs, _, term, trunc, info = env.step(action)
        actions.append(action)
        speeds.append(info["speed"])
        if term or trunc:
            break
    env.close()
    return np.array(actions), np.array(speeds)


def test_registered():
    assert {"constant_velocity", "random", "lane_keeping", "hybrid_planner"} <= set(agent_names())


def test_constant_velocity_keeps_its_speed_and_is_deterministic():
    a1, v1 = _episode(make_agent("constant_velocity"), 5)
    a2, _ = _episode(make_agent("constant_velocity"), 5)
    assert np.array_equal(a1, a2)
    assert (a1[:, 1] == 0.0).all() and np.abs(a1[:, 0]).max() < 1.0
    assert np.abs(v1 - v1[0]).max() < 0.05


def test_random_is_seeded():
    a1, _ = _episode(make_agent("random", seed=3), 0, 30)
    a2, _ = _episode(make_agent("random", seed=3), 0, 30)
    a3, _ = _episode(make_agent("random", seed=4), 0, 30)
    assert np.array_equal(a1, a2) and not np.array_equal(a1, a3)
    assert np.abs(a1).max() <= 1.0 and a1.std() > 0.3
    agent = RandomAgent(seed=3)  # a second episode of the same agent draws anew, the same way every run
    agent.reset(None, {})
    first = agent.act(None)
    agent.reset(None, {})
    assert not np.array_equal(first, agent.act(None))
    with pytest.raises(ValueError, match="seed"):
        RandomAgent(seed=-1)
    with pytest.raises(RuntimeError, match="reset"):
        RandomAgent().act(None)
