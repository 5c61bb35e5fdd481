"""Gridlock check: dense traffic on a generated world keeps moving for 10 simulated minutes.

    .venv/bin/python bench/traffic_gridlock.py [--minutes 10] [--count 160] [--seeds 0 1 2] [--road-length 1500]
                                               [--four-way KIND] [--t-junction KIND]

For each seed: a world (WorldSpec with ``road_length_m``) and ``count`` traffic vehicles spawned over all of it
(no ego: the spawn and recycle radii cover the world, so vehicles are recycled only when stuck at a dead end).
The junctions keep their drawn controls (lights, all-way stops, stop and yield signs) unless ``--four-way``
(lights, all_way_stop) or ``--t-junction`` (minor_stop, minor_yield, lights) sets them all. Each control step
records the fraction of vehicles moving (faster than MOVING_MPS) and how many vehicles left a junction
connector. Prints per seed: vehicles placed, controls, mean fraction moving, the minimum over time of the
fraction moving (per step, and of its 10 s means), throughput (junction connector exits per minute, all
junctions and the four-way/T ones, mean and minimum over the minutes), and the share of vehicle-steps within
the comfort bounds (raw per-step acceleration and jerk, no smoothing). Figures are printed, never asserted
(tests/sim/test_junctions.py runs a reduced version with bounds).
"""

import argparse
import time
from dataclasses import dataclass

import numpy as np

from sim.traffic import Obstacles, TrafficSpec, spawn_traffic, step_traffic
from sim.traffic.lane_map import LaneMap
from sim.world import WorldSpec, generate_world

MOVING_MPS = 0.5
"""A vehicle faster than this is moving, m/s."""
WINDOW_S = 10.0
"""Window of the smoothed moving fraction, s."""
NO_OBSTACLES = Obstacles(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0),
                         np.zeros((0, 2)))


@dataclass
class Args:
    minutes: float = 10.0
    """simulated minutes per seed"""
    count: int = 160
    """traffic vehicles (spawned at least 15 m apart over the whole world)"""
    seeds: tuple = (0, 1, 2)
    road_length: float = 1500.0
    """WorldSpec.road_length_m"""
    four_way: str = ""
    """control of every four-way junction ("" drawn)"""
    t_junction: str = ""
    """control of every T junction ("" drawn)"""
    dt: float = 0.1


def run(seed: int, args: Args) -> dict:
    """One world for ``args.minutes``; returns the per-step series and the world's figures."""
    # ---- seeding: one Generator for the world and the traffic
    rng = np.random.default_rng(seed)
    world = generate_world(WorldSpec(road_length_m=args.road_length), rng)
    forced = {"four_way": args.four_way, "t_junction": args.t_junction}
    lmap = LaneMap(world, {j.id: forced[j.kind] for j in world.junctions if forced.get(j.kind)})
    lo, hi = np.array(world.bounds[:2]), np.array(world.bounds[2:])
    centre, reach = 0.5 * (lo + hi), float(np.hypot(*(hi - lo)))
    spec = TrafficSpec(count=args.count, spawn_radius_m=(0.0, reach), recycle_radius_m=reach + 10.0)
    st = spawn_traffic(lmap, spec, rng, centre)
    major = np.zeros(len(world.lanes.lanes), bool)
    for j in world.junctions:
        if j.kind in ("four_way", "t_junction"):
            major[list(j.connector_lanes)] = True
    steps = round(args.minutes * 60.0 / args.dt)
    moving = np.empty(steps)
    exits = np.zeros(steps, np.int64)
    exits_major = np.zeros(steps, np.int64)
    comfy = np.zeros(2, np.int64)
    t0 = time.perf_counter()
    for k in range(steps):
        before = st
        st = step_traffic(lmap, st, NO_OBSTACLES, args.dt, rng, centre, spec, k)
        moving[k] = np.mean(st.speed > MOVING_MPS)
        left = (st.lane != before.lane) & lmap.in_junction[before.lane] & (st.prev_lane == before.lane)
        exits[k] = left.sum()
        exits_major[k] = (left & major[before.lane]).sum()
        same = (st.lane == before.lane) | (st.prev_lane == before.lane)  # not respawned this step
        jerk = (st.accel - before.accel) / args.dt
        ok = (st.accel >= -4.05) & (st.accel <= 2.4) & (np.abs(jerk) <= 4.13)
        comfy += ((ok & same).sum(), same.sum())
    per_min = exits.reshape(-1, round(60.0 / args.dt)).sum(axis=1) if steps >= 600 else exits.sum(keepdims=True)
    major_min = exits_major.reshape(per_min.size, -1).sum(axis=1)
    w = round(WINDOW_S / args.dt)
    smoothed = np.convolve(moving, np.ones(w) / w, mode="valid")
    return {"n": st.n, "controls": [k for k in lmap.signals.kind if k != "uncontrolled"], "moving": moving,
            "smoothed": smoothed, "per_min": per_min, "major_min": major_min,
            "comfort": comfy[0] / max(comfy[1], 1), "wall": time.perf_counter() - t0, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=Args.minutes)
    parser.add_argument("--count", type=int, default=Args.count)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(Args.seeds))
    parser.add_argument("--road-length", type=float, default=Args.road_length)
    parser.add_argument("--four-way", default=Args.four_way, choices=("", "lights", "all_way_stop"))
    parser.add_argument("--t-junction", default=Args.t_junction, choices=("", "lights", "minor_stop", "minor_yield"))
    ns = parser.parse_args()
    args = Args(minutes=ns.minutes, count=ns.count, seeds=tuple(ns.seeds), road_length=ns.road_length,
                four_way=ns.four_way, t_junction=ns.t_junction)
    for seed in args.seeds:
        r = run(seed, args)
        print(f"seed {seed}: {r['n']} vehicles, controls {r['controls']}, {args.minutes:g} min "
              f"({1e6 * r['wall'] / r['steps']:.0f} us/step)")
        print(f"  moving: mean {r['moving'].mean():.3f}, min per step {r['moving'].min():.3f}, "
              f"min of {WINDOW_S:g} s means {r['smoothed'].min():.3f}, last minute {r['moving'][-600:].mean():.3f}")
        print(f"  throughput (junction exits/min): mean {r['per_min'].mean():.1f}, min {r['per_min'].min()}, "
              f"four-way/T mean {r['major_min'].mean():.1f}, min {r['major_min'].min()}")
        print(f"  comfort (raw per step: accel in [-4.05, 2.4], |jerk| <= 4.13): {r['comfort']:.4f}")


if __name__ == "__main__":
    main()
