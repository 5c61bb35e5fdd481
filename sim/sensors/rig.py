"""Camera rigs: named cameras with extrinsics, a default 8-camera rig, per-vehicle jitter.

Vehicle frame: x forward, y left, z up, origin on the ground below the centre of the rear axle, m.
``T_vehicle_from_cam`` (4x4 float64) maps camera-frame points (x right, y down, z forward) to the
vehicle frame: ``p_vehicle = T[:3, :3] @ p_cam + T[:3, 3]``.

Each camera has a *nominal* mount (the design) and an *actual* one (nominal + calibration jitter of
one vehicle, :meth:`Rig.jittered`); rectification warps the actual camera's image into its nominal
virtual pinhole camera (``RigCamera.virtual``), so a network sees the same geometry on every car.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from sim.registry import Registry
from sim.sensors.camera import CameraSpec
from sim.sensors.rectify import rectification_maps

# camera axes expressed in the vehicle frame when looking straight ahead: x_cam = -y_veh,
# y_cam = -z_veh, z_cam = +x_veh
_R_FORWARD = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def mount(x: float, y: float, z: float, yaw_deg: float = 0.0, pitch_down_deg: float = 0.0,
          roll_deg: float = 0.0) -> np.ndarray:
    """4x4 ``T_vehicle_from_cam`` for a camera at ``(x, y, z)`` m in the vehicle frame, turned
    ``yaw_deg`` to the left (about +z), tilted ``pitch_down_deg`` down and rolled ``roll_deg``
    clockwise about its optical axis."""
    yaw, pitch, roll = (math.radians(a) for a in (yaw_deg, pitch_down_deg, roll_deg))
    cz, sz, cy, sy = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch)
    Rz = np.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]])
    Ry = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])  # +pitch tips +x towards -z
    cr, sr = math.cos(roll), math.sin(roll)
    Rroll = np.array([[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]])  # about the camera's z
    T = np.eye(4)
    T[:3, :3] = Rz @ Ry @ _R_FORWARD @ Rroll
    T[:3, 3] = (x, y, z)
    return T


def _check_transform(name: str, T) -> np.ndarray:
    T = np.asarray(T, dtype=np.float64)
    if T.shape != (4, 4) or not np.allclose(T[3], (0, 0, 0, 1)):
        raise ValueError(f"{name} must be a 4x4 rigid transform, got {T!r}")
    R = T[:3, :3]
    if not np.allclose(R @ R.T, np.eye(3), atol=1e-6) or np.linalg.det(R) < 0:
        raise ValueError(f"{name}[:3, :3] must be a rotation")
    T = T.copy()
    T.flags.writeable = False
    return T


@dataclass(frozen=True, eq=False)
class RigCamera:
    """One mounted camera."""

    name: str
    """unique name within the rig"""
    spec: CameraSpec
    """the real camera (lens, sensor)"""
    T_vehicle_from_cam: np.ndarray
    """actual mount, 4x4 float64 camera -> vehicle (m)"""
    T_vehicle_from_nominal: np.ndarray
    """nominal (design) mount, 4x4 float64; equals the actual mount until jittered"""
    virtual: CameraSpec
    """the virtual pinhole "common" camera images are rectified into (nominal orientation)"""

    def __post_init__(self):
        if not self.name:
            raise ValueError("RigCamera.name must be non-empty")
        object.__setattr__(self, "T_vehicle_from_cam", _check_transform("T_vehicle_from_cam", self.T_vehicle_from_cam))
        object.__setattr__(self, "T_vehicle_from_nominal",
                           _check_transform("T_vehicle_from_nominal", self.T_vehicle_from_nominal))
        if self.virtual.distortion != "none":
            raise ValueError(f"virtual camera of {self.name!r} must be a pinhole (distortion 'none')")

    def rectification_maps(self) -> tuple[np.ndarray, np.ndarray]:
        """float32 maps (virtual H, W) warping this camera's image into its nominal virtual camera."""
        return rectification_maps(self.spec, self.virtual, self.T_vehicle_from_cam, self.T_vehicle_from_nominal)


@dataclass(frozen=True, eq=False)
class Rig:
    """A set of cameras with distinct names."""

    cameras: tuple[RigCamera, ...]

    def __post_init__(self):
        object.__setattr__(self, "cameras", tuple(self.cameras))
        if not self.cameras:
            raise ValueError("a rig needs at least one camera")
        names = [c.name for c in self.cameras]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"camera names must be distinct, repeated: {dupes}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cameras)

    def camera(self, name: str) -> RigCamera:
        for c in self.cameras:
            if c.name == name:
                return c
        raise KeyError(f"no camera {name!r}; the rig has {list(self.names)}")

    def jittered(self, rng: np.random.Generator, rot_std_deg: float = 0.5, trans_std_m: float = 0.01,
                 serial_base: int | None = None) -> "Rig":
        """This rig as mounted on one vehicle: each camera's actual mount is its nominal mount
        perturbed by a random rotation (axis uniform, angle ~ N(0, rot_std_deg)) and translation
        (N(0, trans_std_m) per axis), both in the camera frame. Draws only from ``rng``.
        ``serial_base``: if given, camera ``i`` gets sensor serial ``serial_base + i`` (a
        different fixed pattern per vehicle)."""
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        if rot_std_deg < 0 or trans_std_m < 0:
            raise ValueError("rot_std_deg and trans_std_m must be >= 0")
        out = []
        for i, c in enumerate(self.cameras):
            axis = rng.standard_normal(3)
            axis /= np.linalg.norm(axis)
            angle = math.radians(rot_std_deg) * rng.standard_normal()
            delta = np.eye(4)
            delta[:3, :3] = cv2.Rodrigues((axis * angle).reshape(3, 1))[0]
            delta[:3, 3] = trans_std_m * rng.standard_normal(3)
            spec = c.spec if serial_base is None else replace(c.spec, serial=int(serial_base) + i)
            out.append(replace(c, spec=spec, T_vehicle_from_cam=c.T_vehicle_from_nominal @ delta))
        return Rig(tuple(out))


RIGS: Registry = Registry("camera rig")


def _cam(name, spec, T, virtual_hfov=None) -> RigCamera:
    hfov = min(spec.hfov_deg, 110.0) if virtual_hfov is None else virtual_hfov
    virtual = CameraSpec(width=spec.width, height=spec.height, hfov_deg=hfov)
    return RigCamera(name, spec, T, T, virtual)


def default_rig(width: int = 320, height: int = 240) -> Rig:
    """Eight cameras placed like a production car's (values approximate, for a ~4.7 m sedan with a
    2.9 m wheelbase; origin below the rear axle):

    ====================  ===========================  =====  ===========================
    name                  position x, y, z (m)         HFOV   faces
    ====================  ===========================  =====  ===========================
    main_forward          1.60, 0.00, 1.35 windshield  50     ahead, 2 deg down
    narrow_forward        1.60, 0.04, 1.35             35     ahead, 1 deg down
    wide_forward          1.60, -0.04, 1.35            140    ahead (Kannala-Brandt fisheye)
    left_pillar           1.05, 0.85, 1.20 B-pillar    90     55 deg left, 10 deg down
    right_pillar          1.05, -0.85, 1.20            90     55 deg right, 10 deg down
    left_repeater         2.75, 0.92, 0.90 fender      75     backwards-left (yaw 145 deg)
    right_repeater        2.75, -0.92, 0.90            75     backwards-right (yaw -145 deg)
    rear                  -0.95, 0.00, 1.00 plate      120    back, 20 deg down (barrel)
    ====================  ===========================  =====  ===========================
    """
    def spec(hfov, serial, **kw):
        return CameraSpec(width=width, height=height, hfov_deg=hfov, serial=serial, **kw)

    bc = dict(distortion="brown_conrady")
    return Rig((
        _cam("main_forward", spec(50.0, 1, **bc, dist_coeffs=(-0.05, 0.01)), mount(1.60, 0.00, 1.35, 0, 2)),
        _cam("narrow_forward", spec(35.0, 2, **bc, dist_coeffs=(-0.02,)), mount(1.60, 0.04, 1.35, 0, 1)),
        _cam("wide_forward", spec(140.0, 3, distortion="kannala_brandt", dist_coeffs=(0.02, -0.005),
                                  vignetting="poly", vignetting_coeffs=(-0.3,)),
             mount(1.60, -0.04, 1.35, 0, 3), virtual_hfov=110.0),
        _cam("left_pillar", spec(90.0, 4, **bc, dist_coeffs=(-0.12, 0.02)), mount(1.05, 0.85, 1.20, 55, 10)),
        _cam("right_pillar", spec(90.0, 5, **bc, dist_coeffs=(-0.12, 0.02)), mount(1.05, -0.85, 1.20, -55, 10)),
        _cam("left_repeater", spec(75.0, 6, **bc, dist_coeffs=(-0.08, 0.01)), mount(2.75, 0.92, 0.90, 145, 5)),
        _cam("right_repeater", spec(75.0, 7, **bc, dist_coeffs=(-0.08, 0.01)), mount(2.75, -0.92, 0.90, -145, 5)),
        _cam("rear", spec(120.0, 8, **bc, dist_coeffs=(-0.18, 0.03)), mount(-0.95, 0.00, 1.00, 180, 20)),
    ))


RIGS.add("default8", default_rig)
