"""Timings of sim.physics hot paths: dynamics forward, box overlap, pybullet contact queries.

Run: .venv/bin/python bench/physics_rate.py [--repeats N]
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass

import numpy as np

from sim.physics import ContactWorld, VehicleParams, VehicleState, boxes_overlap, get_model, pairwise_overlap


@dataclass
class Args:
    seed: int = 0
    repeats: int = 5000
    """calls per timing (fewer for the slow ones)"""
    dt: float = 0.1
    """control step, s"""
    substeps: int = 5
    props: int = 2000
    curb_km: float = 10.0
    world_size: float = 1000.0
    """side of the square the props and curbs are spread over, m"""


def per_call_us(fn, repeats: int) -> float:
    """Best of 3 rounds of ``repeats`` calls, microseconds per call."""
    fn()
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best * 1e6


def main(args: Args) -> None:
    rng = np.random.default_rng(args.seed)

    for name in ("kinematic", "dynamic"):
        model = get_model(name)
        for n in (1, 100):
            params = VehicleParams.car(n)
            state = VehicleState.from_pose(rng.uniform(0, 100, n), rng.uniform(0, 100, n),
                                           rng.uniform(-3, 3, n), rng.uniform(5, 20, n))
            steer, accel = rng.uniform(-0.1, 0.1, n), rng.uniform(-2, 2, n)
            t = per_call_us(lambda: model.forward(state, params, steer, accel, args.dt, args.substeps),
                            args.repeats)
            print(f"forward {name:9s} N={n:<4d} substeps={args.substeps}: {t:8.1f} us/call")

    def boxes(n):
        return (rng.uniform(0, 60, n), rng.uniform(0, 60, n), rng.uniform(-3, 3, n),
                rng.uniform(4, 5, n), rng.uniform(1.8, 2.0, n))

    a = boxes(21)
    print(f"boxes_overlap 21x21: {per_call_us(lambda: boxes_overlap(a, a), args.repeats):8.1f} us/call")
    e = boxes(1)
    print(f"boxes_overlap 1x21: {per_call_us(lambda: boxes_overlap(e, a), args.repeats):8.1f} us/call")
    b = boxes(100)
    valid = np.ones(100, dtype=bool)
    print(f"pairwise_overlap N=100: {per_call_us(lambda: pairwise_overlap(*b, valid), args.repeats // 10):8.1f} us/call")

    # Props and ~curb_km of curbs: straight 100 m polylines sampled every 2 m, random headings.
    props_xy = rng.uniform(0, args.world_size, (args.props, 2))
    props_size = np.column_stack([rng.uniform(0.3, 2, args.props), rng.uniform(0.3, 2, args.props),
                                  rng.uniform(0.5, 2, args.props)])
    curbs = []
    for _ in range(int(args.curb_km * 10)):
        start = rng.uniform(100, args.world_size - 100, 2)
        angle = rng.uniform(0, 2 * math.pi)
        s = np.arange(0, 100.0 + 1e-9, 2.0)
        curbs.append(start + s[:, None] * np.array([math.cos(angle), math.sin(angle)]))
    t0 = time.perf_counter()
    world = ContactWorld(props_xy, rng.uniform(-3, 3, args.props), props_size, curbs)
    print(f"ContactWorld build ({args.props} props, {args.curb_km:g} km curbs): "
          f"{(time.perf_counter() - t0) * 1e3:8.1f} ms")
    # A spot with nothing within 20 m, and a box sitting on prop 0 and one on a curb.
    far = None
    for x, y in rng.uniform(0, args.world_size, (1000, 2)):
        if world.query_box(x, y, 0.0, 40.0, 40.0) == world.query_box(-1e4, -1e4, 0.0, 1.0, 1.0):
            far = (x, y)
            break
    if far is None:
        raise RuntimeError("no empty spot found for the benchmark")
    print(f"query_box nothing near: "
          f"{per_call_us(lambda: world.query_box(far[0], far[1], 0.3, 4.7, 1.85), args.repeats):8.1f} us/call")
    px, py = props_xy[0]
    assert 0 in world.query_box(px, py, 0.3, 4.7, 1.85).prop_ids
    print(f"query_box touching a prop: "
          f"{per_call_us(lambda: world.query_box(px, py, 0.3, 4.7, 1.85), args.repeats):8.1f} us/call")
    cx, cy = curbs[0][10]
    assert world.query_box(cx, cy, 0.3, 4.7, 1.85).curb
    print(f"query_box on a curb: "
          f"{per_call_us(lambda: world.query_box(cx, cy, 0.3, 4.7, 1.85), args.repeats):8.1f} us/call")
    origins = np.column_stack([rng.uniform(0, args.world_size, (1000, 2)), np.full(1000, 0.5)])
    angles = rng.uniform(0, 2 * math.pi, 1000)
    ends = origins + 50.0 * np.column_stack([np.cos(angles), np.sin(angles), np.zeros(1000)])
    print(f"raycast 1000 rays x 50 m: {per_call_us(lambda: world.raycast(origins, ends), 20) / 1e3:8.2f} ms/call")
    world.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=Args.repeats)
    main(Args(repeats=parser.parse_args().repeats))
