"""PPO with continuous actions on roadloop/Drive-v0, in one file (CleanRL's ppo_continuous_action layout).

    .venv/bin/python -m agents.rl.ppo --total-timesteps 1000000 --num-envs 8 --out runs/ppo-vector

Writes ``checkpoint.pt`` (every ``save_every`` updates and at the end; ``agents.rl.policy`` loads it with
``weights_only=True``), ``metrics.csv``/``metrics.json`` (one row per update) and ``learning_curve.png``
into ``out``. Observation modes ``vector`` (an MLP) and ``bev`` (a small CNN); observations are normalised
by running statistics that are saved with the weights. Seeding: torch, the action noise and env i's first
reset (seed + i) follow ``seed``; later resets continue each env's own generator, so a run repeats.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

import sim  # noqa: F401  (registers the environments)
from agents.rl.common import MetricsLog, episode_stats, parse_args, save_checkpoint
from agents.rl.networks import ActorCritic


@dataclass
class Args:
    """PPO (continuous actions) on roadloop/Drive-v0."""

    obs_mode: str = "vector"
    num_traffic: int = 20
    num_worlds: int = 64
    """episodes draw their world from this many cached worlds (0: a new world every episode)"""
    episode_seconds: float = 30.0
    total_timesteps: int = 1_000_000
    num_envs: int = 8
    num_steps: int = 256
    """steps per env per update"""
    learning_rate: float = 3e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    num_minibatches: int = 8
    update_epochs: int = 6
    clip_coef: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    target_kl: float = 0.03
    seed: int = 1
    threads: int = 1
    """torch CPU threads (the envs use the other cores)"""
    vectorization: str = "sync"
    """gymnasium vectorization mode: sync or async"""
    save_every: int = 10
    out: str = "runs/ppo"


def make_envs(args: Args) -> gym.vector.VectorEnv:
    options = dict(obs_mode=args.obs_mode, num_traffic=args.num_traffic, episode_seconds=args.episode_seconds)
    if args.num_worlds:
        options["num_worlds"] = args.num_worlds
    return gym.make_vec("roadloop/Drive-v0", num_envs=args.num_envs, vectorization_mode=args.vectorization,
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}, **options)


def train(args: Args) -> Path:
    out = Path(args.out)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    envs = make_envs(args)
    obs_shape = envs.single_observation_space.shape
    model = ActorCritic(args.obs_mode, obs_shape, envs.single_action_space.shape[0])
    optim = torch.optim.Adam(model.parameters(), lr=args.learning_rate, eps=1e-5)
    config = {"algo": "ppo", "obs_mode": args.obs_mode, "obs_shape": list(obs_shape), "args": asdict(args)}
    log = MetricsLog(out)
    n, T = args.num_envs, args.num_steps
    batch = n * T
    updates = max(1, args.total_timesteps // batch)
    obs_buf = torch.zeros((T, n, *obs_shape))
    act_buf = torch.zeros((T, n, envs.single_action_space.shape[0]))
    logp_buf, rew_buf, done_buf, val_buf = (torch.zeros((T, n)) for _ in range(4))

    obs, _ = envs.reset(seed=[args.seed + i for i in range(n)])
    done = torch.zeros(n)
    episodes: list[dict] = []
    returns, ep_return = [], np.zeros(n)
    start, step = time.perf_counter(), 0
    bar = tqdm(range(1, updates + 1), desc="ppo", unit="update")
    for update in bar:
        optim.param_groups[0]["lr"] = args.learning_rate * (1.0 - (update - 1) / updates)
        for t in range(T):
            model.norm.update(obs)
            x = model.normalise(obs)
            obs_buf[t], done_buf[t] = x, done
            with torch.no_grad():
                action, logp, _, value = model.act(x)
            act_buf[t], logp_buf[t], val_buf[t] = action, logp, value
            obs, reward, term, trunc, infos = envs.step(action.numpy())
            rew_buf[t] = torch.as_tensor(reward, dtype=torch.float32)
            ended = np.logical_or(term, trunc)
            done = torch.as_tensor(ended, dtype=torch.float32)
            ep_return += reward
            if ended.any():
                episodes += episode_stats(infos, ended)
                returns += ep_return[ended].tolist()
                ep_return[ended] = 0.0
            step += n

        with torch.no_grad():
            next_value = model.value(model.normalise(obs))
            adv = torch.zeros((T, n))
            last = torch.zeros(n)
            for t in reversed(range(T)):
                nonterminal = 1.0 - (done if t == T - 1 else done_buf[t + 1])
                nv = next_value if t == T - 1 else val_buf[t + 1]
                delta = rew_buf[t] + args.gamma * nv * nonterminal - val_buf[t]
                last = delta + args.gamma * args.gae_lambda * nonterminal * last
                adv[t] = last
            ret = adv + val_buf

        b_obs, b_act = obs_buf.reshape(batch, *obs_shape), act_buf.reshape(batch, -1)
        b_logp, b_adv, b_ret = logp_buf.reshape(-1), adv.reshape(-1), ret.reshape(-1)
        mb = batch // args.num_minibatches
        for _ in range(args.update_epochs):
            perm = torch.randperm(batch)
            for k in range(0, batch, mb):
                idx = perm[k:k + mb]
                _, logp, entropy, value = model.act(b_obs[idx], b_act[idx])
                ratio = (logp - b_logp[idx]).exp()
                a = b_adv[idx]
                a = (a - a.mean()) / (a.std() + 1e-8)
                pg = torch.max(-a * ratio, -a * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)).mean()
                v_loss = 0.5 * (value - b_ret[idx]).square().mean()
                loss = pg - args.ent_coef * entropy.mean() + args.vf_coef * v_loss
                optim.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
                optim.step()
            with torch.no_grad():
                kl = float(((ratio - 1) - ratio.log()).mean())
            if kl > args.target_kl:
                break

        recent = episodes[-50:]
        row = {"update": update, "global_step": step, "wall_s": time.perf_counter() - start,
               "steps_per_s": step / (time.perf_counter() - start), "episodes": len(episodes),
               "return": float(np.mean(returns[-50:])) if returns else None,
               "route_completion": float(np.mean([e["route_completion"] for e in recent])) if recent else None,
               "collision_rate": float(np.mean([e["collision"] for e in recent])) if recent else None,
               "off_road_rate": float(np.mean([e["off_road"] for e in recent])) if recent else None,
               "value_loss": v_loss.item(), "policy_loss": pg.item(), "approx_kl": kl}
        log.add(**row)
        bar.set_postfix(ret=row["return"], rc=row["route_completion"], col=row["collision_rate"])
        if update % args.save_every == 0 or update == updates:
            save_checkpoint(out / "checkpoint.pt", model, config)
    envs.close()
    log.plot("global_step", ("return", "route_completion", "collision_rate"), f"PPO on {args.obs_mode}")
    return out / "checkpoint.pt"


if __name__ == "__main__":
    train(parse_args(Args))
