"""Driving planners compared over random ``roadloop/Drive-v0`` episodes with traffic (issue 7's first target).

    .venv/bin/python bench/planner_eval.py [--episodes 200] [--workers 2] [--seed 0]
                                           [--agents hybrid_planner,lane_keeping,constant_velocity] [--out summary.json]

Episode i of every agent resets the default ``roadloop/Drive-v0`` (a new random world, default traffic,
pedestrians and cyclists) with seed ``seed + i``, so every agent drives the same episodes. Per agent: at-fault
collisions (nuPlan rules, ``sim.eval.metrics.first_collision``) and all collisions, mean route completion and the
share of routes completed, the share of steps within the comfort bounds (the smoothed longitudinal acceleration
in [MIN_LON_ACCEL, MAX_LON_ACCEL], |lateral acceleration| <= MAX_ABS_LAT_ACCEL and |jerk| <= MAX_ABS_LON_JERK,
smoothed as ``sim.eval.metrics.episode_metrics`` does), mean progress along the route, and the wall time of
``agent.act`` per step (median, p99). Targets for the hybrid planner: 0 at-fault collisions, >= 95% route
completion, comfort on >= 99% of steps, more progress than lane_keeping (the IDM baseline).
"""

import argparse
import json
import multiprocessing
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass

import gymnasium as gym
import numpy as np
from tqdm import tqdm

import sim  # noqa: F401  (registers the environments)
from agents import agent_obs_mode, make_agent
from sim.eval.metrics import (
    ACCEL_WINDOW_S,
    JERK_WINDOW_S,
    MAX_ABS_LAT_ACCEL,
    MAX_ABS_LON_JERK,
    MAX_LON_ACCEL,
    MIN_LON_ACCEL,
    episode_metrics,
    smooth,
)
from sim.eval.trace import TraceCollector


@dataclass
class Args:
    episodes: int = 200
    workers: int = 2
    seed: int = 0
    agents: str = "hybrid_planner,lane_keeping,constant_velocity"
    """comma-separated registered agent names"""
    out: str = ""
    """JSON path for the summary and every episode's results, to merge runs over other seeds ("" for none)"""


_envs: dict = {}


def comfort_steps(trace) -> np.ndarray:
    """(T+1,) bool: the state is within every comfort bound (smoothed like episode_metrics)."""
    dt = float(trace.dt)
    accel = smooth(trace.column("accel"), dt, ACCEL_WINDOW_S)
    lat = smooth(trace.column("lat_accel"), dt, ACCEL_WINDOW_S)
    jerk = smooth(accel, dt, JERK_WINDOW_S, deriv=1)
    return ((accel >= MIN_LON_ACCEL) & (accel <= MAX_LON_ACCEL) & (np.abs(lat) <= MAX_ABS_LAT_ACCEL)
            & (np.abs(jerk) <= MAX_ABS_LON_JERK))


def run_episode(agent_name: str, seed: int) -> dict:
    """One episode: the metrics of sim.eval, comfortable steps and the agent's time per step."""
    mode = agent_obs_mode(agent_name)
    if mode not in _envs:
        _envs[mode] = gym.make("roadloop/Drive-v0", obs_mode=mode)
    env = _envs[mode]
    agent = make_agent(agent_name)
    obs, info = env.reset(seed=seed)
    agent.reset(obs, info)
    collector = TraceCollector(env, agent)
    collector.add(info)
    act_s = []
    done = False
    while not done:
        t0 = time.perf_counter()
        action = agent.act(obs, info)
        act_s.append(time.perf_counter() - t0)
        obs, _, terminated, truncated, info = env.step(action)
        collector.add(info, terminated, truncated)
        done = terminated or truncated
    trace = collector.trace(case="drive", seed=seed)
    return {"agent": agent_name, "seed": seed, "metrics": episode_metrics(trace),
            "comfort_steps": int(comfort_steps(trace).sum()), "states": trace.steps + 1, "act_s": act_s}


def summarise(results: list[dict]) -> dict:
    """Figures per agent (see the module docstring)."""
    out = {}
    for name in dict.fromkeys(r["agent"] for r in results):
        rs = [r for r in results if r["agent"] == name]
        m = [r["metrics"] for r in rs]
        act = np.concatenate([r["act_s"] for r in rs])
        out[name] = {
            "episodes": len(rs),
            "at_fault_collisions": sum(x["at_fault_collision"] for x in m),
            "collisions": sum(x["collision"] for x in m),
            "off_road": sum(x["off_road"] for x in m),
            "route_completion": float(np.mean([x["route_completion"] for x in m])),
            "routes_completed": float(np.mean([x["route_completion"] >= 0.999 for x in m])),
            "comfort_step_share": sum(r["comfort_steps"] for r in rs) / sum(r["states"] for r in rs),
            "comfortable_episodes": float(np.mean([x["comfortable"] for x in m])),
            "progress_m": float(np.mean([x["progress_m"] for x in m])),
            "act_ms_median": 1000.0 * float(np.median(act)),
            "act_ms_p99": 1000.0 * float(np.percentile(act, 99)),
            "at_fault_seeds": [r["seed"] for r in rs if r["metrics"]["at_fault_collision"]],
        }
    return out


def report(summary: dict) -> None:
    cols = ("at_fault_collisions", "collisions", "off_road", "route_completion", "routes_completed",
            "comfort_step_share", "comfortable_episodes", "progress_m", "act_ms_median", "act_ms_p99")
    print(f"{'agent':20s}" + "".join(f"{c:>22s}" for c in cols))
    for name, s in summary.items():
        print(f"{name:20s}" + "".join(f"{s[c]:22.3f}" if isinstance(s[c], float) else f"{s[c]:22d}" for c in cols))
    for name, s in summary.items():
        if s["at_fault_seeds"]:
            print(f"{name}: at-fault collisions in seeds {s['at_fault_seeds']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, value in asdict(Args()).items():
        parser.add_argument(f"--{name}", type=type(value), default=value)
    args = Args(**vars(parser.parse_args()))
    names = [a.strip() for a in args.agents.split(",") if a.strip()]

    # ---- seeding: episode i of every agent resets with seed args.seed + i
    jobs = [(name, args.seed + i) for i in range(args.episodes) for name in names]
    t0 = time.perf_counter()
    results = []
    with tqdm(total=len(jobs), unit="episode") as bar:
        if args.workers == 1:
            for job in jobs:
                results.append(run_episode(*job))
                bar.update(1)
        else:
            with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                pending = {pool.submit(run_episode, *job) for job in jobs}
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        results.append(future.result())
                        bar.update(1)
    summary = summarise(sorted(results, key=lambda r: (r["agent"], r["seed"])))
    report(summary)
    print(f"wall {time.perf_counter() - t0:.0f} s, {args.episodes} episodes per agent, seeds {args.seed}.."
          f"{args.seed + args.episodes - 1}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": asdict(args), "summary": summary, "episodes": results}, f,
                      default=lambda x: x.item() if hasattr(x, "item") else str(x))


if __name__ == "__main__":
    main()
