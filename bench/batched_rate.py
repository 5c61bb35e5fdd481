"""Batched env rate: agent-steps/s of roadloop/Drive-v0's native vector env against the single env and
Gymnasium's SyncVectorEnv over it, measured in one run.

    .venv/bin/python bench/batched_rate.py [--ns 1,8,64,256] [--agent-steps 3000] [--sync-max 8]

Agent-steps are ego steps summed over all worlds (autoresets included). Each env cycles through the same
``num_worlds`` cached worlds (built, with their sidewalks and contact worlds, before timing) with seeded random
actions. SyncVectorEnv builds every world
once per sub-env, so it is timed only up to ``--sync-max`` sub-envs. Target (issue 8): >= 100,000 agent-steps/s
in vector mode with 20 traffic vehicles per world.
"""

import argparse
import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from tqdm import tqdm

import sim  # noqa: F401  (registers roadloop/Drive-v0)

TARGET = 100_000


@dataclass
class Args:
    ns: str = "1,8,64,256"
    """numbers of worlds of the batched env"""
    agent_steps: int = 3000
    """timed agent-steps per measurement (at least 20 batched steps)"""
    warmup: int = 5
    """untimed batched steps before timing"""
    sync_max: int = 8
    """largest SyncVectorEnv timed"""
    num_traffic: int = 20
    num_pedestrians: int = 20
    num_cyclists: int = 4
    num_worlds: int = 10
    seed: int = 0


def parse_args() -> Args:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in vars(Args()).items():
        p.add_argument("--" + name.replace("_", "-"), type=type(default), default=default)
    return Args(**vars(p.parse_args()))


def env_kwargs(args: Args) -> dict:
    return dict(obs_mode="vector", num_traffic=args.num_traffic, num_pedestrians=args.num_pedestrians,
                num_cyclists=args.num_cyclists, num_worlds=args.num_worlds)


def time_vector_env(env, n: int, args: Args, label: str) -> dict:
    """Agent-steps/s of a vector env of ``n`` worlds (every world of the pool built before timing)."""
    env.reset(seed=args.seed)
    rng = np.random.default_rng(args.seed)
    steps = max(args.agent_steps // n, 20)

    def actions():
        return np.stack([rng.normal(0.0, 0.05, n), 0.5 + rng.normal(0.0, 0.1, n)], axis=1).astype(np.float32)

    for _ in range(args.warmup):
        env.step(actions())
    t0 = time.perf_counter()
    for _ in tqdm(range(steps), desc=f"{label} N={n}", leave=False):
        env.step(actions())
    seconds = time.perf_counter() - t0
    env.close()
    return dict(env=label, n=n, agent_steps_per_s=n * steps / seconds, seconds=seconds)


def time_single(args: Args) -> dict:
    env = gym.make("roadloop/Drive-v0", **env_kwargs(args))
    k = 0
    while env.unwrapped.sim.cached_worlds < args.num_worlds:
        env.reset(seed=args.seed + 10_000 + k)
        k += 1
    env.reset(seed=args.seed)
    rng = np.random.default_rng(args.seed)
    steps = args.agent_steps
    t0 = time.perf_counter()
    for _ in tqdm(range(steps), desc="single", leave=False):
        action = np.array([rng.normal(0.0, 0.05), 0.5 + rng.normal(0.0, 0.1)], np.float32)
        _, _, term, trunc, _ = env.step(action)
        if term or trunc:
            env.reset()
    seconds = time.perf_counter() - t0
    env.close()
    return dict(env="single", n=1, agent_steps_per_s=steps / seconds, seconds=seconds)


def warm(env, sims: list, args: Args) -> None:
    """Reset ``env`` until each of ``sims`` (its Simulations) has built every world of the pool, with what resets
    build on a world's first use (sidewalks, contact world), as ``time_single`` does."""
    k = 0
    while any(s.cached_worlds < args.num_worlds for s in sims):
        env.reset(seed=args.seed + 10_000 + 1_000 * k)
        k += 1


def main() -> None:
    args = parse_args()
    ns = [int(x) for x in args.ns.split(",")]
    results = [time_single(args)]
    for n in ns:
        env = gym.make_vec("roadloop/Drive-v0", num_envs=n, vectorization_mode="vector_entry_point", **env_kwargs(args))
        warm(env, [env.unwrapped.sim], args)
        results.append(time_vector_env(env, n, args, "batched"))
    for n in [n for n in ns if n <= args.sync_max]:
        env = gym.make_vec("roadloop/Drive-v0", num_envs=n, vectorization_mode="sync", **env_kwargs(args))
        warm(env, [sub.unwrapped.sim for sub in env.envs], args)
        results.append(time_vector_env(env, n, args, "sync"))
    single = results[0]["agent_steps_per_s"]
    print(f"\nroadloop/Drive-v0 vector mode, {args.num_traffic} vehicles, {args.num_pedestrians} pedestrians, "
          f"{args.num_cyclists} cyclists per world, {args.num_worlds} cached worlds")
    print(f"{'env':<10}{'N':>6}{'agent-steps/s':>16}{'x single':>10}")
    for r in results:
        print(f"{r['env']:<10}{r['n']:>6}{r['agent_steps_per_s']:>16.0f}{r['agent_steps_per_s'] / single:>10.2f}")
    best = max(r["agent_steps_per_s"] for r in results if r["env"] == "batched")
    print(f"best batched: {best:.0f} agent-steps/s (target >= {TARGET:,}: {'ok' if best >= TARGET else 'MISSED'})")


if __name__ == "__main__":
    main()
