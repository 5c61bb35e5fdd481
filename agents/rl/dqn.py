"""DQN on discrete meta-actions (``sim.env.wrappers.MetaActions``) of roadloop/Drive-v0, in one file (CleanRL's
dqn layout: replay buffer, target network, linear epsilon schedule; double-Q targets).

    .venv/bin/python -m agents.rl.dqn --total-timesteps 200000 --num-envs 4 --out runs/dqn-meta

Writes ``checkpoint.pt`` (loadable with ``weights_only=True``), ``metrics.csv``/``metrics.json`` (a row every
``log_every`` steps) and ``learning_curve.png`` into ``out``. Observation modes ``vector`` and ``bev``.
Seeding: torch, exploration and env i's first reset (seed + i) follow ``seed``.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from tqdm import tqdm

import sim  # noqa: F401  (registers the environments)
from agents.rl.common import MetricsLog, episode_stats, parse_args, save_checkpoint
from agents.rl.networks import QNetwork
from sim.env.wrappers import MetaActions


@dataclass
class Args:
    """DQN on meta-actions of roadloop/Drive-v0."""

    obs_mode: str = "vector"
    num_traffic: int = 20
    num_worlds: int = 64
    """episodes draw their world from this many cached worlds (0: a new world every episode)"""
    episode_seconds: float = 30.0
    total_timesteps: int = 200_000
    num_envs: int = 4
    learning_rate: float = 2.5e-4
    buffer_size: int = 100_000
    gamma: float = 0.99
    target_every: int = 1000
    """steps between target-network copies"""
    batch_size: int = 128
    start_e: float = 1.0
    end_e: float = 0.05
    exploration_fraction: float = 0.3
    learning_starts: int = 5000
    train_every: int = 4
    seed: int = 1
    threads: int = 1
    vectorization: str = "sync"
    log_every: int = 2000
    out: str = "runs/dqn"


def make_envs(args: Args) -> gym.vector.VectorEnv:
    options = dict(obs_mode=args.obs_mode, num_traffic=args.num_traffic, episode_seconds=args.episode_seconds)
    if args.num_worlds:
        options["num_worlds"] = args.num_worlds
    return gym.make_vec("roadloop/Drive-v0", num_envs=args.num_envs, vectorization_mode=args.vectorization,
                        wrappers=[MetaActions],
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}, **options)


def train(args: Args) -> Path:
    out = Path(args.out)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    envs = make_envs(args)
    obs_shape = envs.single_observation_space.shape
    actions = int(envs.single_action_space.n)
    q = QNetwork(args.obs_mode, obs_shape, actions)
    target = QNetwork(args.obs_mode, obs_shape, actions)
    target.load_state_dict(q.state_dict())
    optim = torch.optim.Adam(q.parameters(), lr=args.learning_rate)
    config = {"algo": "dqn", "obs_mode": args.obs_mode, "obs_shape": list(obs_shape), "actions": actions,
              "wrapper": "MetaActions", "args": asdict(args)}
    log = MetricsLog(out)

    size = args.buffer_size
    buf_obs = np.zeros((size, *obs_shape), np.float32)
    buf_next = np.zeros((size, *obs_shape), np.float32)
    buf_act = np.zeros(size, np.int64)
    buf_rew = np.zeros(size, np.float32)
    buf_done = np.zeros(size, np.float32)
    filled = pos = 0

    n = args.num_envs
    obs, _ = envs.reset(seed=[args.seed + i for i in range(n)])
    episodes, returns, ep_return = [], [], np.zeros(n)
    start, loss = time.perf_counter(), float("nan")
    steps = args.total_timesteps // n
    for k in tqdm(range(steps), desc="dqn", unit="step"):
        global_step = k * n
        eps = max(args.end_e, args.start_e + (args.end_e - args.start_e) * global_step /
                  (args.exploration_fraction * args.total_timesteps))
        q.norm.update(obs)
        with torch.no_grad():
            greedy = q(q.normalise(obs)).argmax(1).numpy()
        explore = rng.random(n) < eps
        action = np.where(explore, rng.integers(actions, size=n), greedy)
        next_obs, reward, term, trunc, infos = envs.step(action)
        ended = np.logical_or(term, trunc)
        real_next = next_obs.copy()
        if ended.any():
            final = infos["final_obs"]
            for i in np.flatnonzero(ended):
                real_next[i] = final[i]
            episodes += episode_stats(infos, ended)
        ep_return += reward
        returns += ep_return[ended].tolist()
        ep_return[ended] = 0.0
        for i in range(n):
            buf_obs[pos], buf_next[pos], buf_act[pos] = obs[i], real_next[i], action[i]
            buf_rew[pos], buf_done[pos] = reward[i], float(term[i])
            pos, filled = (pos + 1) % size, min(filled + 1, size)
        obs = next_obs

        if global_step >= args.learning_starts and k % args.train_every == 0:
            idx = rng.integers(filled, size=args.batch_size)
            z, z_next = q.normalise(buf_obs[idx]), q.normalise(buf_next[idx])
            with torch.no_grad():
                best = q(z_next).argmax(1, keepdim=True)
                y = torch.as_tensor(buf_rew[idx]) + args.gamma * target(z_next).gather(1, best).squeeze(1) * (
                    1.0 - torch.as_tensor(buf_done[idx]))
            pred = q(z).gather(1, torch.as_tensor(buf_act[idx])[:, None]).squeeze(1)
            l = torch.nn.functional.smooth_l1_loss(pred, y)
            optim.zero_grad()
            l.backward()
            torch.nn.utils.clip_grad_norm_(q.parameters(), 10.0)
            optim.step()
            loss = l.item()
        if k % max(1, args.target_every // n) == 0:
            target.load_state_dict(q.state_dict())
        if k % max(1, args.log_every // n) == 0 or k == steps - 1:
            recent = episodes[-50:]
            log.add(global_step=global_step, wall_s=time.perf_counter() - start, epsilon=eps, loss=loss,
                    episodes=len(episodes), **{"return": float(np.mean(returns[-50:])) if returns else None},
                    route_completion=float(np.mean([e["route_completion"] for e in recent])) if recent else None,
                    collision_rate=float(np.mean([e["collision"] for e in recent])) if recent else None)
            save_checkpoint(out / "checkpoint.pt", q, config)
    envs.close()
    save_checkpoint(out / "checkpoint.pt", q, config)
    log.plot("global_step", ("return", "route_completion", "collision_rate"), f"DQN on meta-actions ({args.obs_mode})")
    return out / "checkpoint.pt"


if __name__ == "__main__":
    train(parse_args(Args))
