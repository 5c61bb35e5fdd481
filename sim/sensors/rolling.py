"""Rolling shutter: the sensor exposes and reads its rows one after another, top row first.

Row ``r`` of a ``height``-row frame is exposed at ``t_row = r * readout_s / height``. The image is
rendered at one instant, taken to be the mean row time (the middle of the frame, ``(height - 1) / 2``
rows down), so row ``r`` is ``dt_r = (r - (height - 1) / 2) * readout_s / height`` later than the
render and shows each scene point where it is ``dt_r`` later: ``out(x, r) = image(x - dt_r * vel(x))``
(first order, bilinear), with ``vel`` the image velocity field (px/s, :mod:`sim.sensors.blur`). A
vertical edge moving at ``v`` px/s leans by ``v * readout_s * (height - 1) / height`` px from the top
row to the bottom row; the middle of the frame stays where the render put it.
"""
from __future__ import annotations

import cv2
import numpy as np

from sim.sensors.multiview import Face


def row_delays(height: int, readout_s: float) -> np.ndarray:
    """``dt_r`` (height,) float32 s: each row's exposure time relative to the mean row time."""
    return ((np.arange(height) - (height - 1) / 2) * (readout_s / height)).astype(np.float32)


def rolling_shutter_maps(velocity: np.ndarray, readout_s: float, maps: tuple[np.ndarray, np.ndarray] | None = None,
                         faces: tuple[Face, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """float32 ``(map_x, map_y)`` sampling a source image so that each *destination* row sees the scene
    at its own exposure time. ``velocity`` (H_src, W_src, 2) px/s in the source image's geometry;
    ``maps``: where each destination pixel samples the source (e.g. lens or atlas maps; None: the
    same geometry), which fixes the destination rows (the real sensor's). Displaced samples are kept
    inside the source image or, given the atlas's ``faces``, inside the face they started in (the
    render's margin is only 1.5 px; beyond it the edge pixels repeat). Pixels mapped to -1 (no
    source) stay -1."""
    velocity = np.ascontiguousarray(velocity, dtype=np.float32)
    if velocity.ndim != 3 or velocity.shape[2] != 2:
        raise ValueError(f"velocity must be (H, W, 2) px/s, got {velocity.shape}")
    if not (np.isfinite(readout_s) and readout_s >= 0):
        raise ValueError(f"readout_s must be >= 0 and finite, got {readout_s}")
    if maps is None:
        v, u = np.mgrid[0:velocity.shape[0], 0:velocity.shape[1]].astype(np.float32)
        maps = (u, v)
    mx, my = (np.asarray(m, dtype=np.float32) for m in maps)
    vel = cv2.remap(velocity, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    dt = row_delays(mx.shape[0], readout_s)[:, None]
    none = (mx < 0) | (my < 0)
    if faces is None:
        lo_x, hi_x, hi_y = 0.0, velocity.shape[1] - 1.0, velocity.shape[0] - 1.0
    else:
        i = np.searchsorted([f.offset for f in faces], mx, side="right") - 1
        lo_x = np.array([f.offset for f in faces], np.float32)[i]
        hi_x = lo_x + np.array([f.spec.width - 1 for f in faces], np.float32)[i]
        hi_y = np.array([f.spec.height - 1 for f in faces], np.float32)[i]
    out_x = np.clip(mx - dt * vel[..., 0], lo_x, hi_x).astype(np.float32)
    out_y = np.clip(my - dt * vel[..., 1], 0.0, hi_y).astype(np.float32)
    out_x[none], out_y[none] = -1.0, -1.0
    return out_x, out_y


def rolling_shutter(image: np.ndarray, velocity: np.ndarray, readout_s: float) -> np.ndarray:
    """``image`` (H, W[, C]) as a rolling-shutter sensor of readout time ``readout_s`` s sees it, given
    the image velocity ``velocity`` (H, W, 2) px/s in the same geometry. Bilinear, borders replicate;
    keeps the dtype."""
    image = np.asarray(image)
    if np.shape(velocity)[:2] != image.shape[:2]:
        raise ValueError(f"velocity is {np.shape(velocity)[:2]}, the image {image.shape[:2]} (H, W)")
    mx, my = rolling_shutter_maps(velocity, readout_s)
    return cv2.remap(image, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
