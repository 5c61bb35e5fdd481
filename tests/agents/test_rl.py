"""Reinforcement learning: the meta-action wrapper drives as asked, the training scripts run, repeat for a seed
and write checkpoints that load with weights_only and drive the env, and frame-stacked BEV feeds the CNN."""
from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import sim  # noqa: F401  (registers the environments)
from agents.rl import dqn, ppo
from agents.rl.common import load_checkpoint, parse_args
from agents.rl.networks import ActorCritic, QNetwork
from agents.rl.policy import PolicyAgent
from sim.env.wrappers import META_ACTIONS, MetaActions

QUIET = dict(num_traffic=0, num_pedestrians=0, num_cyclists=0)


def _meta_env(**kwargs):
    return MetaActions(gym.make("roadloop/Drive-v0", obs_mode="vector", **{**QUIET, **kwargs}))


def _drive(env, actions):
    infos = []
    for a in actions:
        *_, terminated, truncated, info = env.step(META_ACTIONS.index(a))
        infos.append(info)
        assert not (terminated or truncated), info
    return infos


def test_meta_actions_change_speed_and_lane():
    env = _meta_env()
    env.reset(seed=3)
    lanes = env.unwrapped.scene.world.lanes
    start_lane = env.unwrapped.state.lane
    assert lanes.left[start_lane] >= 0  # seed 3 starts on a road with a lane to the left
    infos = _drive(env, ["faster"] * 30 + ["keep_lane"] * 20)
    limit = lanes.speed_limit[start_lane]
    assert infos[-1]["meta_action"] == "keep_lane" and abs(infos[-1]["speed"] - limit) < 0.3
    infos = _drive(env, ["change_left"] + ["keep_lane"] * 40)
    assert infos[-1]["lane_id"] == lanes.left[start_lane] and infos[-1]["route_offset_m"] > 2.5
    infos = _drive(env, ["change_right"] + ["keep_lane"] * 40 + ["slower"] * 3 + ["keep_lane"] * 60)
    assert infos[-1]["lane_id"] == start_lane and abs(infos[-1]["route_offset_m"]) < 0.3
    assert abs(infos[-1]["speed"] - (limit - 6.0)) < 0.3
    assert max(abs(i["jerk"]) for i in infos) < 4.5
    with pytest.raises(ValueError, match="MetaActions: action must be an int"):
        env.step(7)


def test_meta_actions_pass_check_env():
    check_env(_meta_env(), skip_render_check=True)


def test_parse_args_reads_dataclass_flags():
    args = parse_args(ppo.Args, ["--num-envs", "3", "--obs-mode", "bev", "--learning-rate", "0.001"])
    assert (args.num_envs, args.obs_mode, args.learning_rate, args.seed) == (3, "bev", 0.001, 1)
    with pytest.raises(SystemExit):
        parse_args(ppo.Args, ["--no-such-flag", "1"])


TINY = dict(num_traffic=2, num_worlds=2, episode_seconds=5.0, num_envs=2, seed=3)


def test_ppo_trains_repeats_and_its_checkpoint_drives(tmp_path):
    runs = []
    for k in range(2):
        args = ppo.Args(**TINY, total_timesteps=128, num_steps=32, num_minibatches=2, update_epochs=2,
                        out=str(tmp_path / f"run{k}"))
        runs.append(ppo.train(args))
    a, b = (load_checkpoint(p)[1] for p in runs)
    assert all(torch.equal(a[k], b[k]) for k in a)  # same seed, same weights
    rows = json.loads((tmp_path / "run0" / "metrics.json").read_text())
    assert [r["update"] for r in rows] == [1, 2] and rows[-1]["global_step"] == 128
    assert (tmp_path / "run0" / "learning_curve.png").stat().st_size > 1000
    config, state = load_checkpoint(runs[0])
    assert config["algo"] == "ppo" and float(state["norm.count"]) > 100  # normaliser statistics travel along

    agent = PolicyAgent(runs[0])
    env = gym.make("roadloop/Drive-v0", obs_mode="vector", num_traffic=2)
    obs, info = env.reset(seed=0)
    agent.reset(obs, info)
    for _ in range(5):
        action = agent.act(obs, info)
        assert action.shape == (2,) and action.dtype == np.float32 and np.all(np.abs(action) <= 1)
        obs, *_, info = env.step(action)
    with pytest.raises(ValueError, match="not a roadloop checkpoint"):
        torch.save({"weights": torch.zeros(1)}, tmp_path / "bad.pt")
        PolicyAgent(tmp_path / "bad.pt")


def test_dqn_trains_on_meta_actions(tmp_path):
    args = dqn.Args(**TINY, total_timesteps=200, learning_starts=60, batch_size=16, buffer_size=500,
                    log_every=50, out=str(tmp_path))
    path = dqn.train(args)
    config, state = load_checkpoint(path)
    assert config["algo"] == "dqn" and config["actions"] == len(META_ACTIONS)
    q = QNetwork(config["obs_mode"], config["obs_shape"], config["actions"])
    q.load_state_dict(state)
    rows = json.loads((tmp_path / "metrics.json").read_text())
    assert rows[-1]["global_step"] >= 190 and np.isfinite(rows[-1]["loss"])


def test_frame_stacked_bev_feeds_the_cnn():
    env = gym.wrappers.FrameStackObservation(
        gym.make("roadloop/Drive-v0", obs_mode="bev", bev_size=64, **QUIET), 3, padding_type="reset")
    obs, _ = env.reset(seed=0)
    assert obs.shape[0] == 3 and np.array_equal(obs[0], obs[2])
    obs, *_ = env.step(np.array([0.0, 0.5], np.float32))
    model = ActorCritic("bev", obs.shape, 2)
    action, logp, entropy, value = model.act(model.normalise(obs[None]))
    assert action.shape == (1, 2) and value.shape == (1,) and torch.isfinite(logp).all()
