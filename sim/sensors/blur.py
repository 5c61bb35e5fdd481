"""Motion blur over the exposure and the image motion a moving camera sees in a static scene.

Flow convention: ``flow[i, j] = (du, dv)`` px is how far the scene point seen at pixel ``(i, j)``
(at mid-exposure) moves in the image from the start to the end of the exposure. The blurred image
averages ``N`` sub-exposures sampled at ``t in linspace(-1/2, 1/2, N)``:
``out(x) = mean_t image(x - t * flow(x))`` (cv2.remap, bilinear), so a point moving ``L`` px
leaves a streak ``L`` px long.
"""
from __future__ import annotations

import functools
import math

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


def _rotation(rotvec: np.ndarray) -> np.ndarray:
    return cv2.Rodrigues(np.asarray(rotvec, dtype=np.float64).reshape(3, 1))[0]


def ego_flow(spec: CameraSpec, depth: np.ndarray, v_cam, w_cam, exposure_s: float | None = None,
             far_m: float = 1e6) -> np.ndarray:
    """Image motion (H, W, 2) float32 px over the exposure caused by the camera's own motion in a
    static scene.

    ``depth`` (H, W): z-depth along the optical axis, m, of the image at mid-exposure (as a
    rasteriser's depth buffer; 0, inf or NaN = sky, treated as ``far_m``). ``v_cam`` (3,) m/s and
    ``w_cam`` (3,) rad/s: the camera's linear and angular velocity in its own frame (x right, y down,
    z forward), assumed constant over the exposure. ``exposure_s`` defaults to ``spec.exposure_s``."""
    exposure_s = spec.exposure_s if exposure_s is None else float(exposure_s)
    depth = np.asarray(depth, dtype=np.float64)
    if depth.shape != (spec.height, spec.width):
        raise ValueError(f"depth must be (H, W) = {(spec.height, spec.width)}, got {depth.shape}")
    rays = pixel_rays(spec)
    z = rays[..., 2]
    far = ~np.isfinite(depth) | (depth <= 0) | (z <= 1e-6)
    dist_along_ray = np.where(far, far_m, depth / np.where(z > 1e-6, z, 1.0))
    P = (rays * dist_along_ray[..., None]).reshape(-1, 3)
    v = np.asarray(v_cam, dtype=np.float64)
    w = np.asarray(w_cam, dtype=np.float64)
    uvs = []
    for t in (-exposure_s / 2, exposure_s / 2):
        R = _rotation(w * t)  # camera orientation at t relative to mid-exposure
        Pt = (P - v * t) @ R  # = R^T (P - v t) row-wise
        if spec.distortion == "none":
            k = K(spec)
            with np.errstate(divide="ignore", invalid="ignore"):
                uv = np.stack([k[0, 0] * Pt[:, 0] / Pt[:, 2] + k[0, 2], k[1, 1] * Pt[:, 1] / Pt[:, 2] + k[1, 2]], axis=1)
            uv[Pt[:, 2] <= 0] = np.nan
        else:
            uv = project(spec, Pt)[0]
        uvs.append(uv)
    flow = (uvs[1] - uvs[0]).reshape(spec.height, spec.width, 2)
    return np.nan_to_num(flow, nan=0.0).astype(np.float32)
