"""Remap maps between cameras that share an optical centre (pure rotation + different lenses).

``warp_maps(src, dst, R_src_from_dst)`` gives, for every pixel of the *destination* camera, the
pixel of the *source* image it samples: ``cv2.remap(src_image, map_u, map_v, INTER_LINEAR)`` is then
the destination image. Two uses:

- rectification: source = a real (distorted, jittered) camera, destination = its virtual pinhole
  "common" camera with the nominal orientation (:func:`rectification_maps`);
- lens simulation: source = the renderer's pinhole image, destination = the distorted real camera.

Maps are float32 (H_dst, W_dst) and cached per (specs, rotation). Pixels with no source (ray outside
the source lens's field) map to -1 and come out as the border value. Translation between the two
cameras is ignored: a 1 cm offset leaves a parallax of ``fx * 0.01 / Z`` px at depth ``Z`` m.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

from sim.sensors.camera import CameraSpec, pixel_rays, project


def _as_rotation(R) -> tuple[float, ...]:
    R = np.asarray(R, dtype=np.float64)
    if R.shape == (4, 4):
        R = R[:3, :3]
    if R.shape != (3, 3) or not np.allclose(R @ R.T, np.eye(3), atol=1e-6) or np.linalg.det(R) < 0:
        raise ValueError(f"R_src_from_dst must be a 3x3 rotation (or 4x4 transform), got {R!r}")
    return tuple(R.ravel().tolist())


@functools.lru_cache(maxsize=64)
def _warp_maps(src: CameraSpec, dst: CameraSpec, R_flat: tuple[float, ...]):
    R = np.array(R_flat).reshape(3, 3)
    rays = pixel_rays(dst).reshape(-1, 3) @ R.T  # dst-frame rays expressed in the src frame
    uv, valid = project(src, rays)
    uv[~valid] = -1.0
    map_u = uv[:, 0].reshape(dst.height, dst.width).astype(np.float32)
    map_v = uv[:, 1].reshape(dst.height, dst.width).astype(np.float32)
    map_u.flags.writeable = False
    map_v.flags.writeable = False
    return map_u, map_v


def warp_maps(src: CameraSpec, dst: CameraSpec, R_src_from_dst=np.eye(3)) -> tuple[np.ndarray, np.ndarray]:
    """float32 ``(map_u, map_v)``, each (dst.height, dst.width), px in the source image.

    ``R_src_from_dst``: 3x3 rotation (or 4x4 transform, whose translation is ignored) taking
    destination-camera-frame vectors to the source camera frame. Cached; the maps are read-only."""
    return _warp_maps(src, dst, _as_rotation(R_src_from_dst))


def rectification_maps(real: CameraSpec, virtual: CameraSpec, T_vehicle_from_real: np.ndarray,
                       T_vehicle_from_virtual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maps that warp the real camera's image into the virtual pinhole camera's image.

    ``T_vehicle_from_*``: 4x4 float64 camera-to-vehicle transforms (vehicle frame x forward, y left,
    z up, m). Only their rotations are used (see the module docstring on translation)."""
    R_real = np.asarray(T_vehicle_from_real, dtype=np.float64)[:3, :3]
    R_virtual = np.asarray(T_vehicle_from_virtual, dtype=np.float64)[:3, :3]
    return warp_maps(real, virtual, R_real.T @ R_virtual)


def apply_maps(image: np.ndarray, maps: tuple[np.ndarray, np.ndarray], border_value: float = 0.0) -> np.ndarray:
    """``cv2.remap`` with bilinear interpolation and a constant border; keeps the dtype."""
    return cv2.remap(image, maps[0], maps[1], interpolation=cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=border_value)
