"""Benchmark: world generation time and locate() latency.

Run: .venv/bin/python bench/world_gen.py
"""
import time
from dataclasses import dataclass

import numpy as np

from sim.world import WorldSpec, generate_world


@dataclass
class Args:
    lengths_m: tuple[float, ...] = (1000.0, 2000.0, 5000.0)
    repeats: int = 5
    seed: int = 0
    locate_calls: int = 2000


def main(args: Args = Args()):
    for length in args.lengths_m:
        spec = WorldSpec(road_length_m=length)
        times = []
        for r in range(args.repeats):
            rng = np.random.default_rng(args.seed + r)
            t0 = time.perf_counter()
            world = generate_world(spec, rng)
            times.append(time.perf_counter() - t0)
        print(f"{length / 1000:.0f} km: generate_world median {1000 * np.median(times):.0f} ms "
              f"(min {1000 * min(times):.0f}, max {1000 * max(times):.0f}) over {args.repeats} seeds; "
              f"last world: {len(world.lanes.lanes)} lanes, {len(world.props)} props")
    graph = world.lanes
    rng = np.random.default_rng(args.seed)
    pts = graph.points[rng.integers(len(graph.points), size=args.locate_calls)] + rng.normal(0, 1, (args.locate_calls, 2))
    t0 = time.perf_counter()
    for p in pts:
        graph.locate(p[None])
    per_call = (time.perf_counter() - t0) / args.locate_calls
    t0 = time.perf_counter()
    graph.locate(pts)
    batch = (time.perf_counter() - t0) / args.locate_calls
    print(f"locate: {1e6 * per_call:.1f} us for one point, {1e6 * batch:.1f} us per point in a batch of "
          f"{args.locate_calls}")


if __name__ == "__main__":
    main()
