"""Render-rate benchmark: frames/s of sim.render with ~20 traffic vehicles driving.

    .venv/bin/python bench/render_rate.py [--frames 60] [--seed 0] [--num-traffic 20]
                                          [--max-range 150] [--msaa] [--shading lambert|pbr] [--no-cull]

Steps roadloop/Drive-v0 with a seeded random action sequence; each frame the env steps once,
WorldScene.update moves the actor nodes (timed as "update"), then every camera renders (timed as
"render": Renderer.render, i.e. culling + GL draw + readback). Configurations:

* 1 cam 320x240 and 1 cam 160x120: colour+depth, and all passes (colour, depth, semantic, instance);
* rig 8x160x120: 8 cameras at the ego, yaw 0, 45, 90, 135, 180, -135, -90, -45 deg, colour+depth
  (fps = rig frames/s).

Readback (glReadPixels inside pyrender) is not separated from the draw; NOTES measured skipping
the depth readback as saving almost nothing. Targets: 1 cam 320x240 >= 100 fps, rig >= 30.
"""
from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import sim  # noqa: F401  (registers roadloop/Drive-v0)
import sim.render as R

YAWS_DEG = (0, 45, 90, 135, 180, -135, -90, -45)
CAM_HEIGHT_M = 1.6
HFOV_DEG = 90.0


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=60, help="timed frames per configuration")
    p.add_argument("--warmup", type=int, default=5, help="untimed frames per configuration")
    p.add_argument("--seed", type=int, default=0, help="env reset seed and action-sequence seed")
    p.add_argument("--num-traffic", type=int, default=20)
    p.add_argument("--max-range", type=float, default=150.0, help="WorldScene culling range, m")
    p.add_argument("--msaa", action="store_true", help="render colour with 4x MSAA (default off)")
    p.add_argument("--no-msaa", action="store_true", help="accepted for old command lines (MSAA is off by default)")
    p.add_argument("--shading", default="lambert", choices=("lambert", "pbr"), help="colour shader")
    p.add_argument("--no-cull", action="store_true", help="draw every static chunk (no frustum culling)")
    p.add_argument("--chunk-m", type=float, default=160.0, help="static chunk size, m")
    p.add_argument("--cull-mode", default="remove", choices=("remove", "visible"),
                   help="culled chunks taken out of the pyrender scene, or kept with mesh.is_visible False")
    p.add_argument("--only", default="", help="comma list of configuration names to run (default all)")
    return p.parse_args()


def make_env(args):
    env = gym.make("roadloop/Drive-v0", num_traffic=args.num_traffic)
    env.reset(seed=args.seed)
    return env


def ego_poses(state, yaws_deg):
    x, y, h = (float(v) for v in state.actors.table[:3, 0])
    return [R.camera_pose([x, y, CAM_HEIGHT_M], h + np.radians(yd), 0.0) for yd in yaws_deg]


def run_config(env, ws, renderer, rng, K, yaws_deg, passes, args):
    t_step = t_update = t_render = 0.0
    n_draws = 0
    for i in range(args.warmup + args.frames):
        timed = i >= args.warmup
        t0 = time.perf_counter()
        _, _, term, trunc, _ = env.step(rng.uniform(-1.0, 1.0, size=env.action_space.shape).astype(np.float32))
        if term or trunc:
            env.reset(seed=int(rng.integers(1 << 31)))
        t1 = time.perf_counter()
        state = env.unwrapped.state
        if env.unwrapped.scene.world is not ws.world:  # a reset picked another world: keep ego's world
            raise RuntimeError("world changed during the benchmark; use a longer episode or fewer frames")
        ws.update(state.actors.table, state.actors.kind, state.actors.valid)
        t2 = time.perf_counter()
        for pose in ego_poses(state, yaws_deg):
            renderer.render(pose, K, passes)
        t3 = time.perf_counter()
        if timed:
            t_step += t1 - t0
            t_update += t2 - t1
            t_render += t3 - t2
            n_draws += len(yaws_deg)
    n = args.frames
    return {"fps": n / (t_update + t_render), "update_ms": 1e3 * t_update / n, "render_ms": 1e3 * t_render / n,
            "per_cam_ms": 1e3 * t_render / n_draws, "step_ms": 1e3 * t_step / n}


def main():
    args = parse_args()
    rng = np.random.default_rng(args.seed)
    env = make_env(args)
    world = env.unwrapped.scene.world
    t0 = time.perf_counter()
    ws = R.WorldScene(world, max_range=args.max_range, chunk_m=args.chunk_m, cull_mode=args.cull_mode)
    build_s = time.perf_counter() - t0
    renderer = R.Renderer(ws, msaa=args.msaa and not args.no_msaa, cull=not args.no_cull, shading=args.shading)
    configs = [
        ("1cam 320x240 c+d", 320, 240, YAWS_DEG[:1], ("colour", "depth")),
        ("1cam 320x240 all", 320, 240, YAWS_DEG[:1], R.ALL_PASSES),
        ("1cam 160x120 c+d", 160, 120, YAWS_DEG[:1], ("colour", "depth")),
        ("1cam 160x120 all", 160, 120, YAWS_DEG[:1], R.ALL_PASSES),
        ("rig 8x160x120 c+d", 160, 120, YAWS_DEG, ("colour", "depth")),
    ]
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    n_tris = sum(len(p.indices) if p.indices is not None else len(p.positions) // 3
                 for n in ws.chunk_nodes for p in n.mesh.primitives)
    print(f"world {world.spec.road_length_m:.0f} m, scene build {build_s:.2f} s, static triangles {n_tris}, "
          f"static nodes {len(ws.chunk_nodes)}, "
          f"msaa {args.msaa and not args.no_msaa}, shading {args.shading}, colour nodes {len(ws.colour_chunk_nodes)}, cull {'off' if args.no_cull else f'{args.max_range:g} m ({args.cull_mode})'}, "
          f"traffic {args.num_traffic}, seed {args.seed}")
    print(f"{'configuration':<20}{'fps':>8}{'update ms':>11}{'render ms':>11}{'per cam ms':>12}{'env step ms':>13}")
    for name, w, h, yaws, passes in configs:
        if only and not any(o in name for o in only):
            continue
        K = R.Intrinsics.from_fov(w, h, HFOV_DEG)
        res = run_config(env, ws, renderer, rng, K, yaws, passes, args)
        print(f"{name:<20}{res['fps']:>8.1f}{res['update_ms']:>11.2f}{res['render_ms']:>11.2f}"
              f"{res['per_cam_ms']:>12.2f}{res['step_ms']:>13.2f}")
    renderer.close()
    env.close()


if __name__ == "__main__":
    main()
