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
* Calibration (``CameraConfig.jitter``, default on): the env's cameras are mounted as
  ``rig.jittered(np.random.default_rng(calibration_seed))`` (0.5 deg rotation, 1 cm translation std):
  fixed for the env instance (a car keeps its calibration), independent of the episode seed. Images
  are rendered from the actual (jittered) mounts. ``CameraObservation.rectification_maps(name)`` /
  ``rectify(image, name)`` warp an observation image into the camera's nominal virtual pinhole
  (``RigCamera.virtual``), as a perception stack would with the car's calibration.
* Lenses (``CameraConfig.distortion``, default on): each camera is rendered as a pinhole covering its
  lens's field (same centre focal length as the lens, or less where the render would exceed
  ``MAX_RENDER_SCALE`` times the image on a side) and the render is warped into the real distorted
  camera by ``sim.sensors.rectify.warp_maps`` (bilinear, inside ``sim.sensors.capture``). Pinholes
  cannot see 180 deg, so the render's half-angles are capped at ``MAX_PINHOLE_HFOV_DEG / 2``
  horizontally and vertically: the 140 deg fisheye ``wide_forward`` (and the corners of any lens
  reaching beyond 60 deg off axis) is clipped; pixels whose ray lies outside the render are black in
  the image (and "nothing" in the labels: depth inf, semantic 0, instance -1). Label passes (depth,
  semantic, instance) are warped with the same maps by nearest-neighbour sampling, so they stay aligned
  with the image; ``K`` plus ``distortion``/``dist_coeffs`` in the labels describe the real camera, and
  depth stays z along its optical axis (the render and the real camera share an orientation). With
  ``distortion=False`` every camera is an undistorted pinhole of its own HFOV, capped at
  ``MAX_PINHOLE_HFOV_DEG``. Vignetting and sensor noise are always applied.
* Motion blur (``CameraConfig.motion_blur``, default off: ~8 ms per 320x240 frame plus a depth pass):
  the pinhole render is blurred by the flow of the camera's own motion over its exposure
  (``sim.sensors.blur.ego_flow``) from the ego's speed, lateral speed and yaw rate (planar rigid-body
  motion of the vehicle frame, static scene: other actors' motion is not blurred).
* Render scenes: one ``WorldScene`` per world, cached on the observation object (which the env owns)
  keyed by the Scene, at most ``MAX_CACHED_RENDER_SCENES``; actor nodes are moved each step. One
  ``Renderer`` (GL context) per env draws every world; all cameras of a step are drawn in one call
  (``Renderer.render_views``: side by side in one framebuffer, one readback per pass). The cache is
  dropped on pickling and rebuilt on the next observation.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

import cv2
import gymnasium as gym
import numpy as np

from sim.env.observations.base import Frame, ObservationType, register_observation
from sim.labels.boxes2d import boxes2d, camera_pose
from sim.labels.cuboids import cuboids
from sim.labels.lanes import lane_polylines
from sim.sensors.blur import ego_flow
from sim.sensors.camera import K as camera_K
from sim.sensors.camera import CameraSpec, pixel_rays
from sim.sensors.pipeline import capture
from sim.sensors.rectify import apply_maps, rectification_maps, warp_maps
from sim.sensors.rig import RIGS

REAR_AXLE_BEHIND_CENTRE_M = 1.45
"""Vehicle-frame origin (below the rear axle) behind the ego's box centre, m."""
MAX_PINHOLE_HFOV_DEG = 120.0
"""Widest HFOV rendered (wider lenses are rendered as pinholes of this HFOV), deg."""
MAX_RENDER_SCALE = 2.0
"""With ``distortion``, the pinhole render is at most this many times the image's width and height."""
MAX_CACHED_RENDER_SCENES = 4
LANE_RADIUS_M = 80.0
"""``info["labels"]["lanes"]`` holds the lanes within this distance of the ego, m."""
ZNEAR_M, ZFAR_M = 0.1, 1000.0


@dataclass(frozen=True, eq=False)
class CameraSetup:
    """One configured camera: ``cam`` the (jittered) RigCamera; ``spec`` the camera the observation
    images are in (the real lens, or the capped pinhole without ``distortion``); ``render`` the pinhole
    that is drawn (OpenCV pixel centres) and ``intr`` its renderer Intrinsics; ``lens_maps`` warp the
    render into ``spec`` (None: the render is the image)."""

    name: str
    cam: object
    spec: CameraSpec
    render: CameraSpec
    intr: object
    lens_maps: tuple | None

    def __iter__(self):  # (name, RigCamera, spec), as before
        return iter((self.name, self.cam, self.spec))


def render_pinhole(spec: CameraSpec, max_hfov_deg: float = MAX_PINHOLE_HFOV_DEG,
                   max_scale: float = MAX_RENDER_SCALE) -> CameraSpec:
    """Centred square-pixel pinhole (same optical axis) whose image covers the field of every pixel of
    ``spec`` (plus a 1.5 px margin for bilinear sampling), half-angles capped at ``max_hfov_deg / 2``."""
    rays = pixel_rays(spec)
    front = rays[..., 2] > 1e-9
    cap = np.tan(np.radians(max_hfov_deg) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        tx = min(float(np.max(np.abs(rays[..., 0][front] / rays[..., 2][front]))), cap)
        ty = min(float(np.max(np.abs(rays[..., 1][front] / rays[..., 2][front]))), cap)
    k = camera_K(spec)
    f = min(k[0, 0], k[1, 1], (max_scale * spec.width / 2 - 1.5) / tx, (max_scale * spec.height / 2 - 1.5) / ty)
    w, h = int(np.ceil(2 * (f * tx + 1.5))), int(np.ceil(2 * (f * ty + 1.5)))
    return CameraSpec(width=w, height=h, fx=f, fy=f, cx=(w - 1) / 2, cy=(h - 1) / 2, exposure_s=spec.exposure_s)


def make_rig(config) -> list[CameraSetup]:
    """The configured cameras (jittered with ``CameraConfig.jitter``), one CameraSetup each."""
    from sim.render import Intrinsics

    c = config.camera
    rig = RIGS.get(c.rig)(c.width, c.height)
    names = rig.names if c.cameras is None else c.cameras
    for name in names:
        if name not in rig.names:
            raise ValueError(f"CameraConfig.cameras: rig {c.rig!r} has no camera {name!r}; "
                             f"it has {list(rig.names)}")
    if c.jitter:
        rig = rig.jittered(np.random.default_rng(c.calibration_seed))
    out = []
    for name in names:
        cam = rig.camera(name)
        if c.distortion:
            spec = cam.spec
            render = render_pinhole(spec)
            lens_maps = warp_maps(render, spec)
        else:
            hfov = min(float(cam.spec.hfov_deg), MAX_PINHOLE_HFOV_DEG)
            spec = render = replace(cam.spec, width=c.width, height=c.height, hfov_deg=hfov, fx=None, fy=None,
                                    cx=None, cy=None, distortion="none", dist_coeffs=())
            lens_maps = None
        k = camera_K(render)  # renderer intrinsics: pixel edges at integers (cx + 0.5)
        intr = Intrinsics(k[0, 0], k[1, 1], k[0, 2] + 0.5, k[1, 2] + 0.5, render.width, render.height)
        out.append(CameraSetup(name, cam, spec, render, intr, lens_maps))
    return out


def _warp_label(label: np.ndarray, maps, fill) -> np.ndarray:
    return cv2.remap(label, maps[0], maps[1], interpolation=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                     borderValue=fill)


def camera_velocity(cam, speed: float, lateral_speed: float, yaw_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """(v_cam m/s, w_cam rad/s) in the camera frame of a camera rigidly mounted on a vehicle moving in
    the plane with ``speed``/``lateral_speed`` (vehicle-frame x/y at its origin) and ``yaw_rate``."""
    T = cam.T_vehicle_from_cam
    R, p = T[:3, :3], T[:3, 3]
    v_veh = np.array([speed - yaw_rate * p[1], lateral_speed + yaw_rate * p[0], 0.0])
    return R.T @ v_veh, R.T @ np.array([0.0, 0.0, yaw_rate])


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
        self._setups = {s.name: s for s in self.cameras}
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
        c = self.config.camera
        want_labels = c.labels if labels is None else labels
        st = frame.state
        a = st.actors
        renderer = self._renderer(frame.scene)
        renderer.world_scene.update(a.table, a.kind, a.valid)
        poses = ego_camera_poses(a.table, self.cameras)
        passes = ("colour", "depth", "semantic", "instance", "normal") if want_labels else (
            ("colour", "depth") if c.motion_blur else ("colour",))
        renders = renderer.render_views([(poses[s.name], s.intr) for s in self.cameras], passes, linear=True)
        obs, per_camera = {}, {}
        for s, out in zip(self.cameras, renders):
            name, spec = s.name, s.spec
            flow = None
            if c.motion_blur:
                e = st.ego
                v_cam, w_cam = camera_velocity(s.cam, float(e.speed[0]), float(e.lateral_speed[0]),
                                               float(e.yaw_rate[0]))
                flow = ego_flow(s.render, out["depth"], v_cam, w_cam, exposure_s=spec.exposure_s)
            img, raw = capture(spec, out["colour"], rng, flow=flow, lens_maps=s.lens_maps, return_raw=True)
            obs[name] = raw if c.raw12 else img
            if want_labels:
                depth, semantic, instance, normal = out["depth"], out["semantic"], out["instance"], out["normal"]
                if s.lens_maps is not None:
                    depth = _warp_label(depth, s.lens_maps, float("inf"))
                    semantic = _warp_label(semantic, s.lens_maps, 0)
                    instance = _warp_label(instance, s.lens_maps, -1)
                    normal = _warp_label(normal, s.lens_maps, 0.0)
                per_camera[name] = {
                    "depth": depth, "semantic": semantic, "instance": instance, "normal": normal,
                    "T_world_from_cam": poses[name], "K": camera_K(spec),
                    "distortion": spec.distortion, "dist_coeffs": spec.dist_coeffs,
                    "boxes2d": boxes2d(instance, a.table, a.kind, spec, poses[name], a.valid, znear=ZNEAR_M),
                }
        result_labels = self._vector_labels(frame, per_camera) if want_labels else None
        self._prev = (st.step_index, st.t, a.table.copy(), a.valid.copy())
        return obs, result_labels

    # ------------------------------------------------------------------ rectification
    def rectification_maps(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """float32 ``(map_u, map_v)`` (virtual H, W) that warp camera ``name``'s observation image into
        its nominal virtual pinhole camera (``RigCamera.virtual``: nominal orientation, no distortion),
        undoing this vehicle's mount jitter and (with ``distortion``) the lens. Cached, read-only; use
        with ``cv2.remap`` or ``sim.sensors.rectify.apply_maps`` (or :meth:`rectify`)."""
        try:
            s = self._setups[name]
        except KeyError:
            raise KeyError(f"no camera {name!r}; this env has {list(self._setups)}") from None
        return rectification_maps(s.spec, s.cam.virtual, s.cam.T_vehicle_from_cam, s.cam.T_vehicle_from_nominal)

    def rectify(self, image: np.ndarray, name: str) -> np.ndarray:
        """Camera ``name``'s observation image (H, W[, C], any cv2 dtype) in its virtual camera
        (virtual H, W[, C]); pixels outside the real camera's view are 0."""
        out = apply_maps(np.asarray(image), self.rectification_maps(name))
        return out[..., None] if out.ndim == 2 and np.ndim(image) == 3 else out

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
                'column (-1 none), "normal" (H,W,3) float32 unit normals in the camera frame (OpenCV axes; 0: sky), '
                '"T_world_from_cam" 4x4, "K" 3x3 (OpenCV pixel centres), "distortion" lens model, '
                '"dist_coeffs" tuple (sim.sensors.CameraSpec), "boxes2d" dict}}, '
                '"cuboids": sim.labels.cuboids (backward differences), "lanes": sim.labels.lane_polylines '
                '(ego frame)}')

    # ------------------------------------------------------------------ lifetime
    def close(self):
        if self._gl is not None:
            self._gl.close()
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
