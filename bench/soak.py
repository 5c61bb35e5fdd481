"""Soak test: a million env steps across many resets, watching resident memory for leaks.

    .venv/bin/python bench/soak.py [--steps 1000000] [--out runs/soak.json]

Steps roadloop/Drive-v0 (vector observations, 20 traffic cars) with seeded random actions near "straight ahead, moderate throttle" (so episodes last long enough to
exercise traffic, junctions and recycling, not only resets), resetting
with a new seed whenever an episode ends, and reads the process's resident memory (VmRSS in
/proc/self/status) every --sample-every steps. Passes when the RSS at the end exceeds the RSS after
the first sample by less than --max-growth percent (5) and nothing crashed; otherwise exits 1.
The RSS series goes to --out as JSON (written atomically).
"""

import argparse
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from tqdm import tqdm

import sim  # noqa: F401  (registers roadloop/Drive-v0)


@dataclass
class Args:
    steps: int = 1_000_000
    sample_every: int = 10_000
    """steps between RSS samples; the first sample is the baseline"""
    max_growth: float = 5.0
    """largest allowed RSS growth after the first sample, in percent"""
    num_traffic: int = 20
    seed: int = 0
    out: str = "runs/soak.json"


def parse_args() -> Args:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in vars(Args()).items():
        p.add_argument("--" + name.replace("_", "-"), type=type(default), default=default)
    return Args(**vars(p.parse_args()))


def rss_mb() -> float:
    """Resident memory of this process in MiB, from /proc/self/status."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmRSS in /proc/self/status")


def write_json(path: str, data: dict) -> None:
    """Write data to path atomically: a temp file beside it, then os.replace."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def main() -> None:
    args = parse_args()

    steps_at, rss, episodes, error = [], [], 0, None
    t0 = time.perf_counter()
    try:
        env = gym.make("roadloop/Drive-v0", obs_mode="vector", num_traffic=args.num_traffic)
        rng = np.random.default_rng(args.seed)
        env.reset(seed=args.seed)
        bar = tqdm(range(1, args.steps + 1), unit="step", mininterval=1.0, smoothing=0.05)
        for step in bar:
            action = np.array([rng.normal(0.0, 0.05), rng.uniform(-0.2, 0.6)], dtype=np.float32)
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                episodes += 1
                env.reset(seed=args.seed + episodes)  # every episode a new world
            if step % args.sample_every == 0 or step == args.steps:
                steps_at.append(step)
                rss.append(round(rss_mb(), 1))
                bar.set_postfix(rss_mb=rss[-1], resets=episodes, refresh=False)
        bar.close()
        env.close()
    except Exception:  # report the crash, keep the series measured so far
        error = traceback.format_exc()
        print(error, file=sys.stderr)

    baseline = rss[0] if rss else None
    final = rss[-1] if rss else None
    growth = 100.0 * (final - baseline) / baseline if rss else None
    passed = error is None and growth is not None and growth < args.max_growth
    write_json(
        args.out,
        dict(
            args=vars(args),
            steps=steps_at,
            rss_mb=rss,
            episodes=episodes,
            seconds=round(time.perf_counter() - t0, 1),
            baseline_rss_mb=baseline,
            final_rss_mb=final,
            growth_pct=None if growth is None else round(growth, 2),
            passed=passed,
            error=error,
        ),
    )

    if rss:
        print(f"RSS after first {steps_at[0]:,} steps: {baseline:.1f} MiB")
        print(f"RSS after {steps_at[-1]:,} steps:      {final:.1f} MiB ({episodes:,} resets)")
        print(f"growth: {growth:+.2f}% (target < {args.max_growth:g}%)")
    print(f"soak {'PASSED' if passed else 'FAILED'}{' (crashed)' if error else ''}; series in {args.out}")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
