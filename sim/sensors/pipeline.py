"""The per-frame camera chain, in physical order:

    linear irradiance from the renderer's pinhole camera(s) (H, W, 3) float32 (one pinhole, or the
    atlas of :mod:`sim.sensors.multiview`)
      -> motion blur over the exposure (optional flow, px)
      -> rolling shutter (optional velocity, px/s, with ``spec.rolling_shutter_s > 0``) and lens: one
         warp of the render into the distorted real camera (optional precomputed maps)
      -> photon transfer: vignetting, PRNU/DSNU, shot/read/dark noise, 12-bit ADC  (uint16 DN)
      -> develop: black level, gamma -> uint8
      -> (optional) rectification into the virtual common camera (maps from RigCamera)

Maps come from :mod:`sim.sensors.rectify` / :mod:`sim.sensors.multiview` and are computed once per spec
pair; the per-frame work is a few cv2.remap calls and one compiled pass (noise, ADC, lookup table).
"""
from __future__ import annotations

import numpy as np

from sim.sensors.blur import motion_blur
from sim.sensors.camera import CameraSpec
from sim.sensors.exposure import expose_and_develop
from sim.sensors.multiview import Face
from sim.sensors.rectify import apply_maps
from sim.sensors.rolling import rolling_shutter, rolling_shutter_maps


def capture(spec: CameraSpec, irradiance: np.ndarray, rng: np.random.Generator, *, flow: np.ndarray | None = None,
            velocity: np.ndarray | None = None, lens_maps: tuple[np.ndarray, np.ndarray] | None = None,
            faces: tuple[Face, ...] | None = None, rectify_maps: tuple[np.ndarray, np.ndarray] | None = None,
            return_raw: bool = False, backend: str = "numba"):
    """One camera frame. ``irradiance``: (H, W) or (H, W, C) linear, in the render's geometry (the real
    camera's if ``lens_maps`` is None). ``flow``: (H, W, 2) px over the exposure, and ``velocity``:
    (H, W, 2) px/s (rolling shutter, with ``spec.rolling_shutter_s > 0``; None: a still scene), both in
    that same geometry. ``lens_maps``: ``warp_maps(render_spec, spec)`` or ``atlas_maps(spec, faces)``
    (then pass ``faces`` too: rolling shutter keeps each sample in its face).
    ``rectify_maps``: maps from the real camera to a virtual one, applied to the developed image.
    ``backend``: how the noise is drawn (:func:`sim.sensors.exposure.expose`).

    Returns the uint8 image (H, W, C) (plus the uint16 raw DN if ``return_raw``)."""
    img = np.asarray(irradiance, dtype=np.float32)
    if flow is not None:
        img = motion_blur(img, flow)
    if velocity is not None and spec.rolling_shutter_s > 0:
        if lens_maps is None:
            img = rolling_shutter(img, velocity, spec.rolling_shutter_s)
        else:
            lens_maps = rolling_shutter_maps(velocity, spec.rolling_shutter_s, lens_maps, faces)
    if lens_maps is not None:
        img = apply_maps(img, lens_maps)
    raw, out = expose_and_develop(spec, img, rng, backend)
    if rectify_maps is not None:
        out = apply_maps(out, rectify_maps)
        if out.ndim == 2:
            out = out[..., None]
    return (out, raw) if return_raw else out
