"""Step rates of roadloop's peers: MetaDrive (state observations) and highway-env.

Runs with the peers' venv (built by bench/peers.sh), not roadloop's:

    bench/.peers/venv/bin/python bench/peer_rates.py [--steps 3000] [--json]

Every peer runs a fixed action, resets whenever an episode ends, and is timed over its steps after a
short warm-up (resets included). One line per peer; with --json one JSON object per line, e.g.
{"peer": "metadrive", "steps_per_s": 360.1, "steps": 3000, "vehicles": 9.5, ...}, where
"vehicles" is the mean number of traffic vehicles per episode and "control_dt_s" the simulated
seconds one env step covers (MetaDrive 0.1 s; highway-env 1 s at its default policy frequency).
"""

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import dataclass

import numpy as np


@dataclass
class Args:
    steps: int = 3000
    """timed MetaDrive steps (per traffic density)"""
    metadrive_densities: str = "0.1"
    """comma-separated MetaDrive traffic densities, one run each (0.1 is its default, ~8 vehicles)"""
    highway_fast_steps: int = 600
    """timed highway-fast-v0 steps (0 skips it)"""
    highway_steps: int = 60
    """timed highway-v0 steps (0 skips it)"""
    warmup: int = 100
    """untimed steps before timing (scaled down for the slow highway-env envs)"""
    seed: int = 0
    json: bool = False
    """print one JSON object per line"""


def parse_args() -> Args:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in vars(Args()).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(default, bool):
            p.add_argument(flag, action="store_true")
        else:
            p.add_argument(flag, type=type(default), default=default)
    return Args(**vars(p.parse_args()))


def run_loop(env, action, steps: int, warmup: int, seeds, count_vehicles, prebuild: int = 0):
    """Step env with a fixed action; reset on episode end, episode k with seed seeds(k); the first
    ``prebuild`` seeds are reset once before the warm-up.

    Returns (timed seconds, episodes ended, traffic vehicle count of each reset)."""
    for k in range(prebuild):  # build every map once before timing (steady state, as roadloop's run does)
        env.reset(seed=seeds(k))
    env.reset(seed=seeds(0))
    episodes, vehicles, t0 = 0, [], None
    for i in range(warmup + steps):
        if i == warmup:
            t0 = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            episodes += 1
            env.reset(seed=seeds(episodes))
            vehicles.append(count_vehicles(env))
    seconds = time.perf_counter() - t0
    if not vehicles:  # one episode never ended: count what is there now
        vehicles.append(count_vehicles(env))
    return seconds, episodes, vehicles


def bench_metadrive(args: Args, density: float) -> dict:
    from importlib.metadata import version

    from metadrive.envs.metadrive_env import MetaDriveEnv

    num_scenarios = 10
    env = MetaDriveEnv(
        dict(
            use_render=False,
            image_observation=False,  # state (lidar + ego) vector observation
            traffic_density=density,
            decision_repeat=5,  # 5 x 0.02 s physics steps: 10 Hz control
            physics_world_step_size=0.02,
            num_scenarios=num_scenarios,
            start_seed=args.seed,
            horizon=1000,
            log_level=logging.ERROR,
        )
    )

    def count_vehicles(e):
        return len(e.engine.traffic_manager.spawned_objects)

    action = np.array([0.0, 0.5], dtype=np.float32)  # zero steer, half throttle
    try:
        seconds, episodes, vehicles = run_loop(
            env, action, args.steps, args.warmup, lambda k: args.seed + k % num_scenarios, count_vehicles,
            prebuild=num_scenarios,
        )  # MetaDrive's seeds are scenario indices: cycle through its num_scenarios maps
        obs_dim = int(np.prod(env.observation_space.shape))
    finally:
        env.close()
    return dict(
        peer=f"metadrive-d{density:g}",
        traffic_density=density,
        version=version("metadrive-simulator"),
        steps_per_s=round(args.steps / seconds, 1),
        steps=args.steps,
        seconds=round(seconds, 2),
        episodes=episodes,
        vehicles=round(float(np.mean(vehicles)), 1),
        control_dt_s=0.1,
        obs_dim=obs_dim,
    )


def bench_highway(env_id: str, steps: int, warmup: int, seed: int) -> dict:
    from importlib.metadata import version

    import gymnasium as gym
    import highway_env  # noqa: F401  (registers the ids)

    env = gym.make(env_id)
    cfg = env.unwrapped.config

    def count_vehicles(e):
        u = e.unwrapped
        return len(u.road.vehicles) - len(u.controlled_vehicles)

    action = 1  # DiscreteMetaAction "IDLE": keep lane and speed
    try:
        seconds, episodes, vehicles = run_loop(env, action, steps, warmup, lambda k: seed + k, count_vehicles)
    finally:
        env.close()
    return dict(
        peer=env_id,
        version=version("highway-env"),
        steps_per_s=round(steps / seconds, 1),
        steps=steps,
        seconds=round(seconds, 2),
        episodes=episodes,
        vehicles=round(float(np.mean(vehicles)), 1),
        control_dt_s=1.0 / cfg["policy_frequency"],
    )


def main() -> None:
    args = parse_args()
    # Panda3D and MetaDrive write banners to stdout; keep stdout for our lines only.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    def report(r: dict) -> None:
        if args.json:
            print(json.dumps(r), file=out)
        else:
            print(
                f"{r['peer']:<16} {r['steps_per_s']:>8.1f} steps/s  ({r['steps']} steps, {r['episodes']} resets, "
                f"{r['vehicles']} traffic vehicles, {r['control_dt_s']} s/step)",
                file=out,
            )

    for density in args.metadrive_densities.split(","):
        report(bench_metadrive(args, float(density)))
    if args.highway_fast_steps > 0:
        report(bench_highway("highway-fast-v0", args.highway_fast_steps, max(args.warmup // 10, 1), args.seed))
    if args.highway_steps > 0:
        report(bench_highway("highway-v0", args.highway_steps, max(args.warmup // 50, 1), args.seed))


if __name__ == "__main__":
    main()
