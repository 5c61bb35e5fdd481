"""Step-rate benchmark: roadloop's env against MetaDrive and highway-env, measured in one run.

    .venv/bin/python bench/step_rate.py [--steps 5000] [--bev-steps 2000] [--no-peers] [--check]

Times roadloop/Drive-v0 in vector and BEV observation mode with a fixed, seeded random action
sequence (a new seed at each reset), then runs bench/peer_rates.py in the peers' venv
(bench/.peers/venv, built by bench/peers.sh when missing) and prints a table with each env's
ratio to MetaDrive. Targets: vector >= 10x MetaDrive, BEV >= 3x. With --check the exit status is 1
when a target is missed.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

import sim  # noqa: F401  (registers roadloop/Drive-v0)

BENCH = Path(__file__).resolve().parent
PEERS_PYTHON = BENCH / ".peers" / "venv" / "bin" / "python"
TARGETS = {"vector": 10.0, "bev": 3.0}  # minimum steps/s ratio to MetaDrive


@dataclass
class Args:
    steps: int = 5000
    """timed steps in vector mode (0 skips it)"""
    bev_steps: int = 2000
    """timed steps in BEV mode (0 skips it)"""
    warmup: int = 100
    """untimed steps before timing"""
    num_traffic: int = 20
    bev_size: int = 128
    num_worlds: int = 10
    """worlds cycled through, each built once (MetaDrive's run cycles through 10 cached scenarios)"""
    seed: int = 0
    peer_steps: int = 3000
    """timed MetaDrive steps (passed to peer_rates.py --steps)"""
    metadrive_densities: str = "0.1,0.25"
    """MetaDrive traffic densities: its default (~8 vehicles) and one near our 20 vehicles"""
    no_peers: bool = False
    """time roadloop only"""
    check: bool = False
    """exit 1 when a ratio target is missed"""
    out: str = ""
    """optional JSON file for all results"""


def parse_args() -> Args:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in vars(Args()).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(default, bool):
            p.add_argument(flag, action="store_true")
        else:
            p.add_argument(flag, type=type(default), default=default)
    return Args(**vars(p.parse_args()))


def bench_roadloop(obs_mode: str, steps: int, args: Args) -> dict:
    """Steps/s of roadloop/Drive-v0 over `steps` steps after warm-up, resets included."""
    kwargs = dict(obs_mode=obs_mode, num_traffic=args.num_traffic, num_worlds=args.num_worlds)
    if obs_mode == "bev":
        kwargs["bev_size"] = args.bev_size
    env = gym.make("roadloop/Drive-v0", **kwargs)
    # the peers' policy: zero steer, half throttle, small seeded noise so episodes differ
    rng = np.random.default_rng(args.seed)
    actions = (np.array([0.0, 0.5]) + rng.normal(0.0, 0.02, (args.warmup + steps, 2))).astype(np.float32)

    episodes = 0
    k = 0
    while env.unwrapped.sim.cached_worlds < args.num_worlds:  # build every world once (steady state)
        env.reset(seed=args.seed + 10_000 + k)
        k += 1
    env.reset(seed=args.seed)
    t0 = None
    for i, action in enumerate(actions):
        if i == args.warmup:
            t0 = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            episodes += 1
            env.reset(seed=args.seed + episodes)
    seconds = time.perf_counter() - t0
    env.close()
    return dict(
        env=f"roadloop-{obs_mode}",
        steps_per_s=round(steps / seconds, 1),
        steps=steps,
        seconds=round(seconds, 2),
        episodes=episodes,
        vehicles=args.num_traffic,
    )


def run_peers(args: Args) -> list[dict]:
    """Run peer_rates.py in the peers' venv (building it first if missing); its JSON lines."""
    if not PEERS_PYTHON.exists():
        print("step_rate: peers venv missing, building it with bench/peers.sh (about a minute)", file=sys.stderr)
        subprocess.run(["bash", str(BENCH / "peers.sh")], check=True)
    cmd = [str(PEERS_PYTHON), str(BENCH / "peer_rates.py"), "--json", "--steps", str(args.peer_steps)]
    cmd += ["--seed", str(args.seed), "--metadrive-densities", args.metadrive_densities]
    proc = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
    peers = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    for p in peers:
        p["env"] = p.pop("peer")
    return peers


def main() -> None:
    args = parse_args()
    np.random.seed(args.seed)

    results = [bench_roadloop(mode, n, args) for mode, n in (("vector", args.steps), ("bev", args.bev_steps)) if n > 0]
    if args.no_peers:
        print("step_rate: --no-peers: skipping MetaDrive/highway-env, so no ratios (build them with bench/peers.sh)")
    else:
        results += run_peers(args)

    metadrive = [r for r in results if r["env"].startswith("metadrive")]
    # the targets are judged against the MetaDrive run whose traffic is closest to ours ("comparable traffic")
    matched = min(metadrive, key=lambda r: abs(r["vehicles"] - args.num_traffic), default=None)
    base = matched["steps_per_s"] if matched else None
    missed = []
    header = "".join(f"{'x ' + m['env']:>20}" for m in metadrive)
    print(f"\n{'env':<18}{'steps/s':>10}{'vehicles':>10}{header}{'target':>9}  note")
    for r in results:
        ratios = [r["steps_per_s"] / m["steps_per_s"] for m in metadrive]
        r["ratio_to_metadrive"] = {m["env"]: round(x, 2) for m, x in zip(metadrive, ratios)}
        mode = r["env"].removeprefix("roadloop-")
        target = TARGETS.get(mode) if r["env"].startswith("roadloop-") else None
        note = ""
        if target and base:
            ok = r["steps_per_s"] / base >= target
            note = f"{'ok' if ok else 'MISSED'} vs {matched['env']}"
            if not ok:
                missed.append(r["env"])
        cells = "".join(f"{x:>19.2f}x" for x in ratios)
        target_s = f">={target:g}x" if target else ""
        print(f"{r['env']:<18}{r['steps_per_s']:>10.1f}{r['vehicles']:>10}{cells}{target_s:>9}  {note}")

    if args.out:
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(dict(args=vars(args), results=results), f, indent=2)
        os.replace(tmp, args.out)
    if args.check and (missed or base is None):
        sys.exit(1)


if __name__ == "__main__":
    main()
