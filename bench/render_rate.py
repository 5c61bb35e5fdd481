"""Camera benchmark: steps/s of roadloop/Drive-v0 in camera mode (render + sensor model), where the time
goes, and the renderer against stock pyrender drawing the same geometry in the same run.

    .venv/bin/python bench/render_rate.py [--steps 60] [--warmup 5] [--seed 0] [--num-traffic 20] [--only NAME]

Configurations (default CameraConfig otherwise: lens distortion, calibration jitter, 4x MSAA, full
sensor model):

* ``1cam 320x240``: the rig's main_forward camera only;
* ``rig 8x160x120``: the default 8-camera rig;

each without and with labels (depth, semantic, instance, normal passes, 2D boxes, cuboids, lanes).
A step is one ``env.step`` with a constant action (the episode is reset when it ends). Breakdown per
step, ms: ``sim`` (the env step without the observation), ``draw`` (Renderer: culling + GL command
submission, which on llvmpipe includes vertex processing), ``readback`` (MSAA resolve and glReadPixels: they wait
for the rasteriser; copies), ``sensor`` (sim.sensors capture: blur, lens warp, photon transfer, develop),
``labels`` (label warps, boxes, cuboids, lanes) and ``other``.

Peer, same run: pyrender 0.1.45's own render loop (``OffscreenRenderer.render``, MSAA off, flat colours)
drawing the same static geometry (one node per static chunk in view) from the main camera's pose at
320x240, against ``Renderer.render`` of the same view (colour + depth).
Targets (issue 5): rig >= 30 steps/s; one camera 320x240 >= 100 steps/s.
"""
from __future__ import annotations

import argparse
import time
from contextlib import contextmanager

import gymnasium as gym
import numpy as np

import sim  # noqa: F401  (registers roadloop/Drive-v0)
import sim.env.observations.camera as camera_obs
import sim.render as R
import sim.render.passes as passes
from sim.env.config import CameraConfig

CONFIGS = {
    "1cam 320x240": dict(width=320, height=240, cameras=("main_forward",)),
    "rig 8x160x120": dict(width=160, height=120),
}


class Timers:
    """Accumulated seconds per name."""

    def __init__(self):
        self.t: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.t[name] = self.t.get(name, 0.0) + time.perf_counter() - t0

    def wrap(self, owner, attr: str, name: str):
        fn = getattr(owner, attr)

        def timed(*a, **k):
            with self(name):
                return fn(*a, **k)
        setattr(owner, attr, timed)
        return fn


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=60, help="timed steps per configuration")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps per configuration")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-traffic", type=int, default=20)
    p.add_argument("--only", default="", help="run only configurations whose name contains this")
    p.add_argument("--no-msaa", action="store_true", help="CameraConfig(msaa=False): no anti-aliasing")
    return p.parse_args()


def run_config(name: str, camera: dict, labels: bool, args) -> dict:
    env = gym.make("roadloop/Drive-v0", obs_mode="camera", num_traffic=args.num_traffic,
                   camera=CameraConfig(labels=labels, msaa=not args.no_msaa, **camera))
    env.reset(seed=args.seed)
    action = np.zeros(env.action_space.shape, np.float32)
    timers = Timers()
    obs_type = env.unwrapped.obs_type
    originals = [(passes.Renderer, "_draw", timers.wrap(passes.Renderer, "_draw", "draw")),
                 (passes.Renderer, "_read", timers.wrap(passes.Renderer, "_read", "readback")),
                 (passes.G.Framebuffer, "resolve_into", timers.wrap(passes.G.Framebuffer, "resolve_into", "readback")),
                 (camera_obs, "capture", timers.wrap(camera_obs, "capture", "sensor")),
                 (camera_obs, "_warp_label", timers.wrap(camera_obs, "_warp_label", "labels")),
                 (camera_obs, "boxes2d", timers.wrap(camera_obs, "boxes2d", "labels")),
                 (obs_type, "_vector_labels", timers.wrap(obs_type, "_vector_labels", "labels")),
                 (obs_type, "capture", timers.wrap(obs_type, "capture", "observation"))]
    try:
        for i in range(args.warmup + args.steps):
            if i == args.warmup:
                timers.t.clear()
                t0 = time.perf_counter()
            _, _, term, trunc, _ = env.step(action)
            if term or trunc:
                env.reset(seed=args.seed + i)
        total = time.perf_counter() - t0
    finally:
        for owner, attr, fn in originals:
            setattr(owner, attr, fn)
        env.close()
    n = args.steps
    t = {k: 1e3 * v / n for k, v in timers.t.items()}
    obs_ms = t.pop("observation", 0.0)
    out = {"steps/s": n / total, "sim": 1e3 * total / n - obs_ms}
    out.update({k: t.get(k, 0.0) for k in ("draw", "readback", "sensor", "labels")})
    out["other"] = obs_ms - sum(out[k] for k in ("draw", "readback", "sensor", "labels"))
    return out


def peer_pyrender(args) -> tuple[float, float]:
    """(stock pyrender frames/s, our Renderer frames/s) for one 320x240 view of the same static geometry."""
    import pyrender

    env = gym.make("roadloop/Drive-v0", num_traffic=0)
    env.reset(seed=args.seed)
    world = env.unwrapped.scene.world
    table = env.unwrapped.state.actors.table
    env.close()
    ws = R.WorldScene(world)
    x, y, h = (float(v) for v in table[:3, 0])
    pose = R.camera_pose([x, y, 1.4], h)
    k = R.Intrinsics.from_fov(320, 240, 60.0)
    visible = ws.chunks_in_view(pose, k.fx, k.fy, k.cx, k.cy, k.width, k.height)
    scene = pyrender.Scene(bg_color=(*R.scene.SKY, 1.0), ambient_light=(0.35, 0.35, 0.35))
    v = ws.static.vertices
    for first, count in ws.chunk_ranges[visible]:
        idx = ws.static.indices[first:first + count]
        used, local = np.unique(idx, return_inverse=True)
        prim = pyrender.Primitive(positions=v[used, :3], normals=v[used, 3:6],
                                  color_0=np.concatenate([v[used, 6:9], np.ones((len(used), 1))], 1),
                                  indices=local.reshape(-1, 3).astype(np.uint32), mode=4)
        scene.add(pyrender.Mesh([prim]))
    scene.add(pyrender.DirectionalLight(intensity=3.0), pose=np.eye(4))
    cam = pyrender.IntrinsicsCamera(k.fx, k.fy, k.cx, k.cy, znear=0.1, zfar=1000.0)
    scene.add(cam, pose=pose @ np.diag([1.0, -1.0, -1.0, 1.0]))
    ours = R.Renderer(ws)
    ours.render(pose, k, ("colour", "depth"))
    t0 = time.perf_counter()
    for _ in range(args.steps):
        ours.render(pose, k, ("colour", "depth"))
    ours_fps = args.steps / (time.perf_counter() - t0)
    ours.close()
    stock = R.offscreen_renderer(k.width, k.height)
    passes_flags = pyrender.RenderFlags.SKIP_CULL_FACES
    stock.render(scene, flags=passes_flags)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        stock.render(scene, flags=passes_flags)
    stock_fps = args.steps / (time.perf_counter() - t0)
    R.backend.release(stock)
    return stock_fps, ours_fps


def main():
    args = parse_args()
    cols = ("steps/s", "sim", "draw", "readback", "sensor", "labels", "other")
    print(f"camera mode, {args.steps} steps per configuration, seed {args.seed}, traffic {args.num_traffic}, "
          f"msaa {not args.no_msaa}")
    print(f"{'configuration':<24}" + "".join(f"{c:>10}" for c in cols) + "   (ms per step after steps/s)")
    for name, camera in CONFIGS.items():
        if args.only and args.only not in name:
            continue
        for labels in (False, True):
            res = run_config(name, camera, labels, args)
            label = f"{name}{' +labels' if labels else ''}"
            print(f"{label:<24}" + "".join(f"{res[c]:>10.2f}" for c in cols))
    stock, ours = peer_pyrender(args)
    print(f"peer: stock pyrender render loop {stock:.1f} fps vs roadloop Renderer {ours:.1f} fps on the same "
          f"320x240 view (colour+depth): ratio {ours / stock:.2f}x")


if __name__ == "__main__":
    main()
