"""The per-frame camera chain, in physical order:

    linear irradiance from the renderer's pinhole camera (H, W, 3) float32
      -> motion blur over the exposure (optional flow, px)
      -> lens: warp the pinhole image into the distorted real camera (optional precomputed maps)
      -> photon transfer: vignetting, PRNU/DSNU, shot/read/dark noise, 12-bit ADC  (uint16 DN)
      -> develop: black level, gamma -> uint8
      -> (optional) rectification into the virtual common camera (maps from RigCamera)

Maps come from :mod:`sim.sensors.rectify` and are computed once per spec pair; the per-frame work is
a few cv2.remap calls, one normal draw and a lookup table.
"""
from __future__ import annotations

import numpy as np

from sim.sensors.blur import motion_blur
from sim.sensors.camera import CameraSpec
from sim.sensors.exposure import develop, expose
from sim.sensors.rectify import apply_maps


def capture(spec: CameraSpec, irradiance: np.ndarray, rng: np.random.Generator, *, flow: np.ndarray | None = None,
            lens_maps: tuple[np.ndarray, np.ndarray] | None = None,
            rectify_maps: tuple[np.ndarray, np.ndarray] | None = None, return_raw: bool = False):
    """One camera frame. ``irradiance``: (H, W) or (H, W, C) linear, in the render camera's geometry
    (the real camera's if ``lens_maps`` is None). ``flow``: (H, W, 2) px over the exposure in that
    same geometry. ``lens_maps``: ``warp_maps(render_spec, spec)``. ``rectify_maps``: maps from the
    real camera to a virtual one, applied to the developed image.

    Returns the uint8 image (H, W, C) (plus the uint16 raw DN if ``return_raw``)."""
    img = np.asarray(irradiance, dtype=np.float32)
    if flow is not None:
        img = motion_blur(img, flow)
    if lens_maps is not None:
        img = apply_maps(img, lens_maps)
    raw = expose(spec, img, rng)
    out = develop(spec, raw)
    if rectify_maps is not None:
        out = apply_maps(out, rectify_maps)
        if out.ndim == 2:
            out = out[..., None]
    return (out, raw) if return_raw else out
