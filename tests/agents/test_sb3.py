"""Stable-Baselines3 trains on roadloop unchanged: PPO on one Drive-v0 env and on SB3's vector env of several."""
from __future__ import annotations

import gymnasium as gym
import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.env_checker import check_env
from stable_baselines3.common.env_util import make_vec_env

import sim  # noqa: F401  (registers the environments)

OPTIONS = dict(obs_mode="vector", num_traffic=4, num_worlds=2, episode_seconds=10.0)


def _weights(model) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in model.policy.parameters()])


def test_sb3_checks_and_trains_ppo_on_one_env():
    env = gym.make("roadloop/Drive-v0", **OPTIONS)
    check_env(env, warn=False)
    model = PPO("MlpPolicy", env, n_steps=256, batch_size=64, n_epochs=2, seed=0, device="cpu")
    before = _weights(model)
    model.learn(total_timesteps=1024)
    assert model.num_timesteps == 1024 and not np.allclose(before, _weights(model))
    action, _ = model.predict(env.reset(seed=0)[0], deterministic=True)
    assert env.action_space.contains(action)


def test_sb3_trains_ppo_on_a_vector_env():
    venv = make_vec_env("roadloop/Drive-v0", n_envs=4, seed=0, env_kwargs=OPTIONS)
    model = PPO("MlpPolicy", venv, n_steps=128, batch_size=128, n_epochs=2, seed=0, device="cpu")
    model.learn(total_timesteps=1024)
    assert model.num_timesteps == 1024
    assert len(model.ep_info_buffer) > 0  # episodes ended and were reset inside the vector env
