"""Traffic step rate: microseconds per control step of step_traffic + traffic_poses.

    .venv/bin/python bench/traffic_rate.py [--steps 3000] [--counts 20 100] [--seed 0]

Builds one generated world per count, spawns traffic around an ego obstacle that drives a route at
8 m/s, runs untimed warm-up steps (numba compiles or loads its cache there), then times only the traffic
calls (step_traffic + traffic_poses, recycling included) and prints us/step. Timings are printed,
never asserted.
"""

import argparse
import time
from dataclasses import dataclass

import numpy as np

from sim.env.route import Route
from sim.traffic import Obstacles, TrafficSpec, spawn_traffic, step_traffic, traffic_poses
from sim.traffic.lane_map import LaneMap
from sim.world import WorldSpec, generate_world


@dataclass
class Args:
    steps: int = 3000
    """timed control steps per count"""
    warmup: int = 50
    """untimed steps first"""
    counts: tuple = (20, 100)
    """traffic.count values to time"""
    seed: int = 0
    dt: float = 0.1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=Args.steps)
    parser.add_argument("--warmup", type=int, default=Args.warmup)
    parser.add_argument("--counts", type=int, nargs="+", default=list(Args.counts))
    parser.add_argument("--seed", type=int, default=Args.seed)
    args = Args(**{**vars(parser.parse_args()), "counts": tuple(parser.parse_args().counts)})

    # ---- seeding: one Generator per count, for the world, the route and traffic
    for count in args.counts:
        rng = np.random.default_rng(args.seed)
        world = generate_world(WorldSpec(road_length_m=3000.0), rng)
        lmap = LaneMap(world)
        spec = TrafficSpec(count=count, spawn_radius_m=(10.0, 400.0), recycle_radius_m=450.0)
        lanes = world.sample_route(rng, 1500.0)
        route = Route.from_lanes(world.lanes, lanes, 1500.0)
        total = args.warmup + args.steps
        ego_s = 5.0 + 8.0 * args.dt * np.arange(1, total + 1)
        xy, heading = route.sample(ego_s)
        ego_lane, ego_lane_s, _ = world.lanes.locate(xy, heading)  # precomputed: not part of the timing
        st = spawn_traffic(lmap, spec, rng, xy[0], 4.7)
        obstacles = [Obstacles(ego_lane[k:k + 1].astype(np.int64), np.full(1, -1, np.int64), ego_lane_s[k:k + 1],
                               np.array([8.0]), np.array([4.7]), xy[k:k + 1]) for k in range(total)]
        elapsed = 0.0
        for k in range(total):
            t0 = time.perf_counter()
            st = step_traffic(lmap, st, obstacles[k], args.dt, rng, (xy[k, 0], xy[k, 1]), spec, k)
            traffic_poses(lmap, st)
            if k >= args.warmup:
                elapsed += time.perf_counter() - t0
        print(f"traffic count={count:4d} (placed {st.n:4d}): {1e6 * elapsed / args.steps:8.1f} us/step "
              f"(step_traffic + traffic_poses, mean over {args.steps} steps)")


if __name__ == "__main__":
    main()
