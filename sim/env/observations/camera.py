"""``camera`` observation: one image per camera of a rig mounted on the ego, rendered and captured.

Per camera and step::

    sim.render.Renderer colour pass (linear float32, pinhole faces)  ->  sim.sensors.capture
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
* Lenses (``CameraConfig.distortion``, default on): each camera is rendered as one or more pinhole
  *faces* (``sim.sensors.multiview.render_faces``: one for an ordinary lens, at its centre focal length
  or less where the render would exceed ``MAX_RENDER_SCALE`` times the image on a side; three for the
  140 deg fisheye ``wide_forward``, no face wider than ``MAX_PINHOLE_HFOV_DEG``) and the faces, side by
  side, are warped into the real distorted camera by ``atlas_maps`` (bilinear, inside
  ``sim.sensors.capture``). Label passes are warped with the same maps by nearest-neighbour sampling,
  so they stay aligned with the image; each face's depth is first turned into z along the real camera's
  axis and its normals rotated into the real camera's frame. ``K`` plus ``distortion``/``dist_coeffs`` in
  the labels describe the real camera. With ``distortion=False`` every camera is an undistorted pinhole
  of its own HFOV, capped at ``MAX_PINHOLE_HFOV_DEG``. Vignetting and sensor noise are always applied.
* Motion (``CameraConfig.motion_blur``, default off; ``rolling_shutter_s``, default 0): each face's
  image velocity comes from ``sim.sensors.blur.scene_velocity_field``: the camera rides the ego (its
  speed, lateral speed and yaw rate), actors move along their heading at their speed (their yaw rate is
  not tracked: 0), the rest of the world is still. Blur integrates it over the exposure; the rolling
  shutter shifts each row by its readout delay.
* Render scenes: one ``WorldScene`` per world, cached on the observation object (which the env owns)
  keyed by the Scene, at most ``MAX_CACHED_RENDER_SCENES``; actor instances are moved each step. One
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
from sim.sensors.blur import ActorMotion, scene_velocity_field
from sim.sensors.camera import K as camera_K
from sim.sensors.camera import CameraSpec
from sim.sensors.multiview import Face, atlas_depth_scale, atlas_maps, render_faces
from sim.sensors.pipeline import capture
from sim.sensors.rectify import apply_maps, rectification_maps
from sim.sensors.rig import RIGS

REAR_AXLE_BEHIND_CENTRE_M = 1.45
"""Vehicle-frame origin (below the rear axle) behind the ego's box centre, m."""
MAX_PINHOLE_HFOV_DEG = 120.0
"""Widest field of one pinhole render (a face), deg; wider lenses get several faces."""
MAX_RENDER_SCALE = 2.0
"""With ``distortion``, the pinhole render is at most this many times the image's width and height."""
MAX_CACHED_RENDER_SCENES = 4
LANE_RADIUS_M = 80.0
"""``info["labels"]["lanes"]`` holds the lanes within this distance of the ego, m."""
ZNEAR_M, ZFAR_M = 0.1, 1000.0


@dataclass(frozen=True, eq=False)
class CameraSetup:
    """One configured camera: ``cam`` the (jittered) RigCamera; ``spec`` the camera the observation
    images are in (the real lens, or the capped pinhole without ``distortion``); ``faces`` the pinhole
    renders side by side in the camera's atlas (``sim.sensors.multiview``; one face unless the lens is
    wider than one capped pinhole) and ``intrs`` their renderer Intrinsics; ``lens_maps`` warp the atlas
    into ``spec`` (None: the render is the image)."""

    name: str
    cam: object
    spec: CameraSpec
    faces: tuple
    intrs: tuple
    lens_maps: tuple | None

    def __iter__(self):  # (name, RigCamera, spec), as before
        return iter((self.name, self.cam, self.spec))

    def face_poses(self, pose: np.ndarray) -> list[np.ndarray]:
        """World-from-face 4x4 of each face, for the camera at world-from-camera ``pose``."""
        out = []
        for f in self.faces:
            T = np.eye(4)
            T[:3, :3] = f.R_cam_from_face
            out.append(pose @ T)
        return out


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
            spec = replace(cam.spec, rolling_shutter_s=c.rolling_shutter_s)
            faces = render_faces(spec, MAX_PINHOLE_HFOV_DEG, MAX_RENDER_SCALE)
            lens_maps = atlas_maps(spec, faces)
        else:
            hfov = min(float(cam.spec.hfov_deg), MAX_PINHOLE_HFOV_DEG)
            spec = replace(cam.spec, width=c.width, height=c.height, hfov_deg=hfov, fx=None, fy=None, cx=None,
                           cy=None, distortion="none", dist_coeffs=(), rolling_shutter_s=c.rolling_shutter_s)
            faces = (Face(np.eye(3), replace(spec, rolling_shutter_s=0.0), 0),)
            lens_maps = None
        intrs = []
        for f in faces:
            k = camera_K(f.spec)  # renderer intrinsics: pixel edges at integers (cx + 0.5)
            intrs.append(Intrinsics(k[0, 0], k[1, 1], k[0, 2] + 0.5, k[1, 2] + 0.5, f.spec.width, f.spec.height))
        out.append(CameraSetup(name, cam, spec, faces, tuple(intrs), lens_maps))
    return out


def _atlas(parts: list, fill) -> np.ndarray:
    """Face images (H_i, W_i[, C]) side by side, top-aligned, padded below with ``fill``."""
    if len(parts) == 1:
        return parts[0]
    h = max(p.shape[0] for p in parts)
    return np.concatenate([np.pad(p, ((0, h - p.shape[0]),) + ((0, 0),) * (p.ndim - 1), constant_values=fill)
                           for p in parts], axis=1)


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
        moving = c.motion_blur or c.rolling_shutter_s > 0
        passes = ("colour", "depth", "semantic", "instance", "normal") if want_labels else (
            ("colour", "depth", "instance") if moving else ("colour",))
        face_poses = {s.name: s.face_poses(poses[s.name]) for s in self.cameras}
        views = [(p, k) for s in self.cameras for p, k in zip(face_poses[s.name], s.intrs)]
        renders = iter(renderer.render_views(views, passes, linear=True))
        motion = self._motion(st) if moving else None
        obs, per_camera = {}, {}
        for s in self.cameras:
            name, spec = s.name, s.spec
            faces = [next(renders) for _ in s.faces]
            velocity = None
            if moving:
                v_world, w_world = motion[1][name]
                velocity = _atlas([scene_velocity_field(f.spec, out["depth"], out["instance"], fp,
                                                        (v_world, w_world), motion[0])
                                   for f, out, fp in zip(s.faces, faces, face_poses[name])], 0.0)
            flow = velocity * np.float32(spec.exposure_s) if c.motion_blur else None
            img, raw = capture(spec, _atlas([f["colour"] for f in faces], 0.0), rng, flow=flow, velocity=velocity,
                               lens_maps=s.lens_maps, faces=s.faces if s.lens_maps is not None else None,
                               return_raw=True)
            obs[name] = raw if c.raw12 else img
            if want_labels:
                scale = atlas_depth_scale(s.faces) if len(s.faces) > 1 else (1.0,)
                depth = _atlas([f["depth"] * k for f, k in zip(faces, scale)], np.inf)
                semantic = _atlas([f["semantic"] for f in faces], 0)
                instance = _atlas([f["instance"] for f in faces], -1)
                normal = _atlas([f["normal"] @ face.R_cam_from_face.T.astype(np.float32)
                                 for f, face in zip(faces, s.faces)], 0.0)
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

    def _motion(self, st) -> tuple:
        """(ActorMotion of every actor column, {camera: (v, w) world-frame velocity of the camera centre and
        its angular velocity}) this step: actors move along their heading at their speed (traffic yaw rates
        are not tracked: 0); the cameras ride the ego (its speed, lateral speed and yaw rate)."""
        a, e = st.actors, st.ego
        x, y, h, speed, height = a.table[0], a.table[1], a.table[2], a.table[3], a.table[6]
        velocity = np.stack([speed * np.cos(h), speed * np.sin(h), np.zeros_like(speed)], axis=1)
        actors = ActorMotion(velocity, np.zeros_like(speed), np.stack([x, y, 0.5 * height], axis=1))
        cams = {}
        poses = ego_camera_poses(a.table, self.cameras)
        for s in self.cameras:
            v_cam, w_cam = camera_velocity(s.cam, float(e.speed[0]), float(e.lateral_speed[0]), float(e.yaw_rate[0]))
            R = poses[s.name][:3, :3]
            cams[s.name] = (R @ v_cam, R @ w_cam)
        return actors, cams

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
