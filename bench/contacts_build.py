"""Benchmark: ContactWorld build time for generated worlds, and the lazy tile cost after it.

Run: .venv/bin/python bench/contacts_build.py [--worlds 16] [--road-length-m 1500]

Prints per world (median over worlds): construction (what env.reset pays), the first ego-sized
query_box (builds the tiles around it), the cost of building every tile (what an eager build
would pay), and an ego drive of ``--drive-m`` metres along a random route with one query_box
every 0.5 m (the tiles a whole episode builds).
"""
import argparse
import time
from dataclasses import dataclass

import numpy as np

from sim.physics import ContactWorld
from sim.world import WorldSpec, generate_world


@dataclass
class Args:
    worlds: int = 16
    road_length_m: float = 1500.0
    drive_m: float = 300.0
    seed: int = 0


def main(args: Args):
    # Seeding: world i uses default_rng(seed + i); routes use default_rng(seed + 1000 + i).
    worlds = [generate_world(WorldSpec(road_length_m=args.road_length_m), np.random.default_rng(args.seed + i))
              for i in range(args.worlds)]
    ContactWorld(np.zeros((0, 2)), np.zeros(0), np.zeros((0, 3)), []).close()  # first connect, pooled
    build, first, full, drive = [], [], [], []
    for i, w in enumerate(worlds):
        p = w.props
        t0 = time.perf_counter()
        cw = ContactWorld(p.xy, p.heading, p.size, w.curbs)
        t1 = time.perf_counter()
        x, y = w.lanes.points[0]
        cw.query_box(x, y, 0.0, 4.7, 1.85)
        t2 = time.perf_counter()
        route = w.sample_route(np.random.default_rng(args.seed + 1000 + i), args.drive_m)
        pts = np.concatenate([w.lanes.lanes[lane].centerline for lane in route])
        step = np.hypot(*np.diff(pts, axis=0).T)
        pts = pts[np.searchsorted(np.cumsum(step), np.arange(0.0, min(args.drive_m, step.sum()), 0.5))]
        heading = np.arctan2(*np.diff(pts, axis=0, append=pts[-1:] * 2 - pts[-2:-1]).T[::-1])
        t3 = time.perf_counter()
        for (x, y), h in zip(pts, heading):
            cw.query_box(x, y, h, 4.7, 1.85)
        t4 = time.perf_counter()
        lo, hi = np.array(w.bounds[:2]), np.array(w.bounds[2:])
        cw.query_box(*(0.5 * (lo + hi)), 0.0, *(hi - lo + 10.0))  # touches every tile
        t5 = time.perf_counter()
        cw.close()
        build.append(t1 - t0)
        first.append(t2 - t1)
        drive.append(t4 - t3)
        full.append(t5 - t4)
        n_tiles = len(cw._tiles)
    med = lambda v: 1e3 * float(np.median(v))  # noqa: E731
    print(f"{args.worlds} worlds of {args.road_length_m / 1000:g} km, {len(worlds[-1].props)} props and "
          f"{sum(len(c) for c in worlds[-1].curbs)} curb points in the last ({n_tiles} tiles)")
    print(f"ContactWorld construction: median {med(build):6.2f} ms (max {1e3 * max(build):.2f})")
    print(f"first ego query_box:       median {med(first):6.2f} ms")
    print(f"ego drive {args.drive_m:g} m, 0.5 m steps: median {med(drive):6.2f} ms in all")
    print(f"build all remaining tiles: median {med(full):6.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in vars(Args()).items():
        parser.add_argument("--" + name.replace("_", "-"), type=type(default), default=default)
    main(Args(**vars(parser.parse_args())))
