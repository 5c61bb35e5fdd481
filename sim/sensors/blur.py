"""Motion blur over the exposure and the image motion that causes it: the camera's own motion in a
static scene (``ego_*``) or the camera's and the actors' (``scene_*``).

Velocity fields are ``(du/dt, dv/dt)`` px/s of the scene point seen at each pixel at mid-exposure;
flow = velocity * exposure (first order in the exposure time).

Flow convention: ``flow[i, j] = (du, dv)`` px is how far the scene point seen at pixel ``(i, j)``
(at mid-exposure) moves in the image from the start to the end of the exposure. The blurred image
averages ``N`` sub-exposures sampled at ``t in linspace(-1/2, 1/2, N)``:
``out(x) = mean_t image(x - t * flow(x))`` (cv2.remap, bilinear), so a point moving ``L`` px
leaves a streak ``L`` px long.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import cv2
import numpy as np

from sim.sensors.camera import CameraSpec, K, pixel_rays, project


@functools.lru_cache(maxsize=16)
def _grid(height: int, width: int) -> np.ndarray:
    v, u = np.mgrid[0:height, 0:width].astype(np.float32)
    grid = np.stack([u, v], axis=-1)  # (H, W, 2): a CV_32FC2 map
    grid.flags.writeable = False
    return grid


def blur_samples(flow: np.ndarray, max_samples: int = 16) -> int:
    """Sub-exposures needed for spacing <= 1 px along the longest motion: ``ceil(max |flow|) + 1``,
    capped at ``max_samples``."""
    longest = float(np.sqrt((np.asarray(flow, dtype=np.float32) ** 2).sum(axis=-1)).max(initial=0.0))
    return int(min(max(math.ceil(longest) + 1, 1), max_samples))


def motion_blur(image: np.ndarray, flow: np.ndarray, n_samples: int | None = None,
                max_samples: int = 16) -> np.ndarray:
    """Average of ``n_samples`` remapped copies of ``image`` (H, W[, C], float32 recommended) along
    ``flow`` (H, W, 2) px over the exposure. ``n_samples`` defaults to :func:`blur_samples`.
    Borders replicate. Returns float32 of the image's shape."""
    image = np.asarray(image)
    flow = np.asarray(flow, dtype=np.float32)
    h, w = image.shape[:2]
    if flow.shape != (h, w, 2):
        raise ValueError(f"flow must be (H, W, 2) = {(h, w, 2)}, got {flow.shape}")
    n = blur_samples(flow, max_samples) if n_samples is None else int(n_samples)
    if n < 1:
        raise ValueError(f"n_samples must be >= 1, got {n}")
    src = image.astype(np.float32, copy=False)
    if n == 1:
        return src.copy()
    grid = _grid(h, w)
    flow = np.ascontiguousarray(flow)
    acc = np.zeros(src.shape, dtype=np.float32)
    xy = np.empty((h, w, 2), dtype=np.float32)
    for t in np.linspace(-0.5, 0.5, n, dtype=np.float32):
        np.multiply(flow, -t, out=xy)
        xy += grid
        acc += cv2.remap(src, xy, None, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    acc *= np.float32(1.0 / n)
    return acc


def _points(spec: CameraSpec, depth: np.ndarray, far_m: float) -> np.ndarray:
    """Camera-frame points (H * W, 3) m of a z-depth image (0, inf or NaN: sky, put at ``far_m``)."""
    depth = np.asarray(depth, dtype=np.float64)
    if depth.shape != (spec.height, spec.width):
        raise ValueError(f"depth must be (H, W) = {(spec.height, spec.width)}, got {depth.shape}")
    rays = pixel_rays(spec)
    z = rays[..., 2]
    far = ~np.isfinite(depth) | (depth <= 0) | (z <= 1e-6)
    dist_along_ray = np.where(far, far_m, depth / np.where(z > 1e-6, z, 1.0))
    return (rays * dist_along_ray[..., None]).reshape(-1, 3)


def image_velocity(spec: CameraSpec, points: np.ndarray, velocities: np.ndarray) -> np.ndarray:
    """Image velocity (N, 2) float64 px/s of camera-frame points (N, 3) m moving at (N, 3) m/s in the
    camera frame: ``d/dt project(spec, P + t V)`` at ``t = 0`` (analytic for a pinhole, a central
    difference through the lens otherwise). 0 where the point has no image."""
    P = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    V = np.asarray(velocities, dtype=np.float64).reshape(-1, 3)
    if spec.distortion == "none":
        k = K(spec)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(P[:, 2] > 0, P[:, 2], np.nan)
            vel = np.stack([k[0, 0] * (V[:, 0] - P[:, 0] / z * V[:, 2]) / z,
                            k[1, 1] * (V[:, 1] - P[:, 1] / z * V[:, 2]) / z], axis=1)
    else:
        speed = np.linalg.norm(V, axis=1, keepdims=True)
        h = 1e-6 * np.linalg.norm(P, axis=1, keepdims=True) / np.maximum(speed, 1e-300)  # s: moves 1e-6 |P|
        vel = (project(spec, P + V * h)[0] - project(spec, P - V * h)[0]) / (2 * h)
    return np.nan_to_num(vel, nan=0.0, posinf=0.0, neginf=0.0)


def ego_velocity_field(spec: CameraSpec, depth: np.ndarray, v_cam, w_cam, far_m: float = 1e6) -> np.ndarray:
    """Image velocity (H, W, 2) float32 px/s that the camera's own motion gives a static scene.

    ``depth`` (H, W): z-depth along the optical axis, m, of the image at mid-exposure (as a
    rasteriser's depth buffer; 0, inf or NaN = sky, treated as ``far_m``). ``v_cam`` (3,) m/s and
    ``w_cam`` (3,) rad/s: the camera's linear and angular velocity in its own frame (x right, y down,
    z forward). A static point moves as ``dP/dt = -v_cam - w_cam x P`` in the camera frame."""
    P = _points(spec, depth, far_m)
    V = -np.asarray(v_cam, dtype=np.float64) - np.cross(np.asarray(w_cam, dtype=np.float64), P)
    return image_velocity(spec, P, V).reshape(spec.height, spec.width, 2).astype(np.float32)


def ego_flow(spec: CameraSpec, depth: np.ndarray, v_cam, w_cam, exposure_s: float | None = None,
             far_m: float = 1e6) -> np.ndarray:
    """Image motion (H, W, 2) float32 px over the exposure caused by the camera's own motion in a
    static scene: :func:`ego_velocity_field` times ``exposure_s`` (default ``spec.exposure_s``; first
    order in the exposure)."""
    exposure_s = spec.exposure_s if exposure_s is None else float(exposure_s)
    return ego_velocity_field(spec, depth, v_cam, w_cam, far_m) * np.float32(exposure_s)


class ActorMotion(NamedTuple):
    """Rigid planar motion of the actors, indexed like the ``instance`` image (actor column)."""

    velocity: np.ndarray
    """(N, 3) m/s, world-frame velocity of each actor's ``centre``"""
    yaw_rate: np.ndarray
    """(N,) rad/s, turn rate about the world's +z (up) axis through ``centre``"""
    centre: np.ndarray
    """(N, 3) m, world-frame point the yaw turns about (e.g. the box centre)"""


def scene_velocity_field(spec: CameraSpec, depth: np.ndarray, instance: np.ndarray, T_world_from_cam: np.ndarray,
                         cam_velocity_world, actor_motion: ActorMotion, far_m: float = 1e6) -> np.ndarray:
    """Image velocity (H, W, 2) float32 px/s of every pixel's 3-D point, from the camera's motion and
    the actors' own (world frame, z up).

    ``depth`` (H, W) z-depth (as :func:`ego_velocity_field`); ``instance`` (H, W) int actor index per
    pixel (-1: static world, zero velocity); ``T_world_from_cam`` 4x4 (OpenCV camera axes);
    ``cam_velocity_world`` = ``(v (3,) m/s, w (3,) rad/s)``, the camera centre's linear and the camera's
    angular velocity in the world frame. A pixel on actor ``i`` at world point ``X`` moves at
    ``velocity[i] + yaw_rate[i] * z_hat x (X - centre[i])``; relative to the camera its point moves
    ``dP/dt = R^T (V_X - v - w x (X - c))`` (``R``, ``c``: the camera's rotation and centre)."""
    P = _points(spec, depth, far_m)
    inst = np.asarray(instance).reshape(-1)
    if inst.size != len(P):
        raise ValueError(f"instance must be (H, W) = {(spec.height, spec.width)}, got {np.shape(instance)}")
    vel = np.asarray(actor_motion.velocity, dtype=np.float64).reshape(-1, 3)
    yaw_rate = np.asarray(actor_motion.yaw_rate, dtype=np.float64).reshape(-1)
    centre = np.asarray(actor_motion.centre, dtype=np.float64).reshape(-1, 3)
    if not len(vel) == len(yaw_rate) == len(centre):
        raise ValueError("actor_motion: velocity, yaw_rate and centre must have one row per actor")
    if inst.size and (inst.min() < -1 or inst.max() >= len(vel)):
        raise ValueError(f"instance ids must be in [-1, {len(vel)}), got [{inst.min()}, {inst.max()}]")
    T = np.asarray(T_world_from_cam, dtype=np.float64)
    R, c = T[:3, :3], T[:3, 3]
    X = P @ R.T + c
    V_X = np.zeros_like(X)
    on = inst >= 0
    i = inst[on]
    r = X[on] - centre[i]
    V_X[on] = vel[i] + yaw_rate[i, None] * np.stack([-r[:, 1], r[:, 0], np.zeros(len(r))], axis=1)
    v, w = (np.asarray(a, dtype=np.float64) for a in cam_velocity_world)
    V = (V_X - v - np.cross(w, X - c)) @ R  # rows: R^T (...)
    return image_velocity(spec, P, V).reshape(spec.height, spec.width, 2).astype(np.float32)


def scene_flow(spec: CameraSpec, depth: np.ndarray, instance: np.ndarray, T_world_from_cam: np.ndarray,
               cam_velocity_world, actor_motion: ActorMotion, exposure_s: float | None = None,
               far_m: float = 1e6) -> np.ndarray:
    """Image motion (H, W, 2) float32 px over the exposure (default ``spec.exposure_s``) of the camera
    and the actors: :func:`scene_velocity_field` times the exposure. Pass the render's pinhole spec."""
    exposure_s = spec.exposure_s if exposure_s is None else float(exposure_s)
    return scene_velocity_field(spec, depth, instance, T_world_from_cam, cam_velocity_world, actor_motion,
                                far_m) * np.float32(exposure_s)
