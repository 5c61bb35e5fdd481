"""``camera`` observation: one image per camera of a rig mounted on the ego, rendered and captured.

Per camera and step::

    sim.render.Renderer colour pass (linear float32, pinhole)  ->  sim.sensors.capture
    (vignetting, fixed-pattern and temporal noise from the env's RNG, 12-bit ADC, gamma)  ->  uint8 sRGB
    (or the uint16 raw DN with ``CameraConfig.raw12``)

Assumptions (documented, not modelled):

* Mounting: rig poses are in the vehicle frame (x forward, y left, z up, origin on the ground below the
  rear axle). The ego's pose in the actors table (column 0) is the centre of its box, so the vehicle
  origin is put ``REAR_AXLE_BEHIND_CENTRE_M`` behind it along the heading (half the rig's 2.9 m design
  wheelbase: equal front and rear overhangs). The ego body is not drawn (the cameras sit inside it).
  Nominal mounts are used (no per-vehicle calibration jitter).
* Lenses: every camera is rendered as an undistorted pinhole of its own HFOV, capped at
  ``MAX_PINHOLE_HFOV_DEG`` (the 140 deg fisheye ``wide_forward`` becomes a 120 deg pinhole). Lens
  distortion is skipped so that images and label passes (depth, semantic, instance) share one geometry;
  vignetting and sensor noise are applied.
* Render scenes: one ``WorldScene`` per world, cached on the observation object (which the env owns)
  keyed by the Scene, at most ``MAX_CACHED_RENDER_SCENES``; actor nodes are moved each step. One
  ``Renderer`` (GL context) per env draws every world. The cache is dropped on pickling and rebuilt on
  the next observation. The context is released without ``eglTerminate`` (pyrender's ``delete`` would
  terminate the EGL display every other live context in the process shares).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

import gymnasium as gym
import numpy as np

from sim.env.observations.base import Frame, ObservationType, register_observation
from sim.labels.boxes2d import boxes2d, camera_pose
from sim.labels.cuboids import cuboids
from sim.labels.lanes import lane_polylines
from sim.sensors.pipeline import capture
from sim.sensors.rig import RIGS

REAR_AXLE_BEHIND_CENTRE_M = 1.45
"""Vehicle-frame origin (below the rear axle) behind the ego's box centre, m."""
MAX_PINHOLE_HFOV_DEG = 120.0
"""Widest HFOV rendered (wider lenses are rendered as pinholes of this HFOV), deg."""
MAX_CACHED_RENDER_SCENES = 4
LANE_RADIUS_M = 80.0
"""``info["labels"]["lanes"]`` holds the lanes within this distance of the ego, m."""
ZNEAR_M, ZFAR_M = 0.1, 1000.0


def make_rig(config):
    """The configured cameras: list of (name, RigCamera, pinhole sensor CameraSpec)."""
    c = config.camera
    rig = RIGS.get(c.rig)(c.width, c.height)
    names = rig.names if c.cameras is None else c.cameras
    out = []
    for name in names:
        try:
            cam = rig.camera(name)
        except KeyError:
            raise ValueError(f"CameraConfig.cameras: rig {c.rig!r} has no camera {name!r}; "
                             f"it has {list(rig.names)}") from None
        hfov = min(float(cam.spec.hfov_deg), MAX_PINHOLE_HFOV_DEG)
        spec = replace(cam.spec, width=c.width, height=c.height, hfov_deg=hfov, fx=None, fy=None, cx=None, cy=None,
                       distortion="none", dist_coeffs=())
        out.append((name, cam, spec))
    return out


def ego_camera_poses(table: np.ndarray, cameras) -> dict[str, np.ndarray]:
    """World-from-camera 4x4 (OpenCV axes) of each camera, for the ego in column 0 of ``table``."""
    x, y, h = (float(v) for v in table[:3, 0])
    ox, oy = x - REAR_AXLE_BEHIND_CENTRE_M * np.cos(h), y - REAR_AXLE_BEHIND_CENTRE_M * np.sin(h)
    return {name: camera_pose(ox, oy, h, cam.T_vehicle_from_cam) for name, cam, _ in cameras}


@register_observation
class CameraObservation(ObservationType):
    """Dict {camera name: (H, W, 3)} uint8 sRGB, or uint16 raw DN in 0..4095 with ``raw12``; cameras and
    size from ``DriveConfig.camera``. ``observe(frame, rng)`` needs the env's RNG (sensor noise);
    ``capture(frame, rng)`` also returns the labels (``labels()`` documents them) when asked for."""

    name = "camera"

    def __init__(self, config):
        super().__init__(config)
        self.cameras = make_rig(config)
        self._cache: OrderedDict[int, tuple] = OrderedDict()
        self._gl = None  # sim.render.Renderer: one GL context for every world
        self._prev = None  # (step_index, table, valid) of the previous observation, for kinematics labels

    def space(self) -> gym.Space:
        c = self.config.camera
        dtype, hi = (np.uint16, 4095) if c.raw12 else (np.uint8, 255)
        return gym.spaces.Dict({name: gym.spaces.Box(0, hi, shape=(c.height, c.width, 3), dtype=dtype)
                                for name, _, _ in self.cameras})

    # ------------------------------------------------------------------ rendering
    def _renderer(self, scene):
        key = id(scene)
        if key in self._cache:
            self._cache.move_to_end(key)
        else:
            from sim.render import WorldScene  # imported here: selects the GL platform

            self._cache[key] = (scene, WorldScene(scene.world, draw_ego=False))
            while len(self._cache) > MAX_CACHED_RENDER_SCENES:
                self._cache.popitem(last=False)
        ws = self._cache[key][1]
        if self._gl is None:
            from sim.render import Renderer

            self._gl = Renderer(ws, znear=ZNEAR_M, zfar=ZFAR_M, msaa=self.config.camera.msaa)
        self._gl.world_scene = ws
        return self._gl

    def observe(self, frame: Frame, rng: np.random.Generator | None = None):
        return self.capture(frame, rng, labels=False)[0]

    def capture(self, frame: Frame, rng: np.random.Generator | None, labels: bool | None = None):
        """(observation dict, labels dict or None). Draws the sensor noise of every camera from ``rng``."""
        if not isinstance(rng, np.random.Generator):
            raise TypeError("camera observation: observe(frame, rng) needs the env's numpy Generator for sensor "
                            f"noise, got {type(rng).__name__}")
        from sim.render import Intrinsics

        c = self.config.camera
        want_labels = c.labels if labels is None else labels
        st = frame.state
        a = st.actors
        renderer = self._renderer(frame.scene)
        renderer.world_scene.update(a.table, a.kind, a.valid)
        poses = ego_camera_poses(a.table, self.cameras)
        passes = ("colour", "depth", "semantic", "instance") if want_labels else ("colour",)
        obs, per_camera = {}, {}
        for name, _, spec in self.cameras:
            intr = Intrinsics.from_fov(c.width, c.height, spec.hfov_deg)
            out = renderer.render(poses[name], intr, passes, linear=True)
            img, raw = capture(spec, out["colour"], rng, return_raw=True)
            obs[name] = raw if c.raw12 else img
            if want_labels:
                per_camera[name] = {
                    "depth": out["depth"], "semantic": out["semantic"], "instance": out["instance"],
                    "T_world_from_cam": poses[name], "K": np.array([[intr.fx, 0, intr.cx - 0.5],
                                                                   [0, intr.fy, intr.cy - 0.5], [0, 0, 1.0]]),
                    "boxes2d": boxes2d(out["instance"], a.table, a.kind, spec, poses[name], a.valid, znear=ZNEAR_M),
                }
        result_labels = self._vector_labels(frame, per_camera) if want_labels else None
        self._prev = (st.step_index, st.t, a.table.copy(), a.valid.copy())
        return obs, result_labels

    def _vector_labels(self, frame: Frame, per_camera: dict) -> dict:
        st = frame.state
        a = st.actors
        prev = self._prev
        usable = (prev is not None and prev[0] == st.step_index - 1 and prev[2].shape == a.table.shape
                  and st.t > prev[1])
        dt = st.t - prev[1] if usable else self.config.dt
        cub = cuboids(prev[2] if usable else None, a.table, None, a.kind, a.valid, dt,
                      prev_valid=prev[3] if usable else None)
        x, y, h = (float(v) for v in a.table[:3, 0])
        return {"cameras": per_camera, "cuboids": cub,
                "lanes": lane_polylines(frame.scene.world, (x, y), LANE_RADIUS_M, h)}

    def labels(self) -> str:
        return ('info["labels"] = {"cameras": {name: {"depth" (H,W) float32 m (z along the optical axis, inf: '
                'sky), "semantic" (H,W) uint8 ids into sim.render.SEMANTIC_CLASSES, "instance" (H,W) int32 actor '
                'column (-1 none), "T_world_from_cam" 4x4, "K" 3x3 (OpenCV pixel centres), "boxes2d" dict}}, '
                '"cuboids": sim.labels.cuboids (backward differences), "lanes": sim.labels.lane_polylines '
                '(ego frame)}')

    # ------------------------------------------------------------------ lifetime
    def close(self):
        if self._gl is not None:
            _release(self._gl)
            self._gl = None
        self._cache.clear()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = OrderedDict()
        state["_gl"] = None
        return state


def _release(renderer) -> None:
    """Free a Renderer's GL objects and context. Under EGL the display is left initialised: pyrender's
    ``OffscreenRenderer.delete`` calls ``eglTerminate``, which breaks every other context on that display."""
    r = getattr(renderer, "_r", None)
    if r is None:
        return
    platform = getattr(r, "_platform", None)
    if type(platform).__name__ != "EGLPlatform":
        renderer.close()
        return
    from OpenGL.EGL import eglDestroyContext

    try:
        platform.make_current()
        r._renderer.delete()
    finally:
        if platform._egl_context is not None:
            eglDestroyContext(platform._egl_display, platform._egl_context)
        platform._egl_context = None
        platform._egl_display = None
        r._renderer = None
        renderer._r = None
