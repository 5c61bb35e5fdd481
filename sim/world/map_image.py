"""A whole-world map image: lanes, lane lines, junctions and props, north up."""
from __future__ import annotations

import cv2
import numpy as np

from sim.env.raster import SHIFT, View, WorldRaster
from sim.env.topdown import ASPHALT, GRASS, LINE, PROP_COLOURS


def world_map(world, m_per_px: float = 0.5, margin_m: float = 20.0) -> np.ndarray:
    """(H, W, 3) uint8 RGB map of ``world`` at ``m_per_px``."""
    xmin, ymin, xmax, ymax = world.bounds
    w = int(np.ceil((xmax - xmin + 2 * margin_m) / m_per_px))
    h = int(np.ceil((ymax - ymin + 2 * margin_m) / m_per_px))
    # a view looking "north" (heading pi/2) centred on the bounds with the ego row at the middle
    view = View(0.5 * (xmin + xmax), 0.5 * (ymin + ymax), np.pi / 2, h, w, m_per_px, 0.5)
    raster = WorldRaster(world)
    m = view.affine()
    img = np.empty((h, w, 3), np.uint8)
    img[:] = GRASS
    img[raster.drivable_mask(view, m) > 0] = ASPHALT
    img[raster.lines_mask(view, m) > 0] = LINE
    polys, kinds = raster.props_in_view(view, m)
    for poly, kind in zip(polys, kinds):
        cv2.fillPoly(img, [poly], tuple(int(c) for c in PROP_COLOURS[kind]), cv2.LINE_AA, SHIFT)
    return img
