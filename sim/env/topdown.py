"""Top-down colour images: the ego view of ``render_mode="rgb_array"`` and whole-world maps."""
from __future__ import annotations

import cv2
import numpy as np

from sim.env.raster import SHIFT, View, WorldRaster, boxes_px, polyline_px
from sim.traffic.actor_classes import ACTOR_CLASSES
from sim.world import PROP_KINDS

GRASS = (70, 110, 55)
ASPHALT = (80, 80, 84)
LINE = (235, 235, 235)
ROUTE = (60, 140, 255)
EGO = (220, 40, 40)
PUPPET = (190, 150, 230)
"""Static and replayed scenario actors."""
CLASS_RGB = {"pedestrian": (255, 200, 40), "cyclist": (40, 220, 220), "dog": (160, 100, 50)}
"""Road users on foot, on bicycles, animals."""
PROP_RGB = {"tree": (35, 90, 35), "pole": (150, 150, 150), "cone": (255, 120, 0), "parked_car": (110, 110, 160),
            "barrier": (175, 172, 165)}
PROP_COLOURS = np.array([PROP_RGB[k] for k in PROP_KINDS], np.uint8)
"""Top-down colour per prop kind code (row = index into PROP_KINDS)."""


def actor_colours(state) -> list[tuple[int, int, int]]:
    """Top-down colour of each actor column: the ego, traffic vehicles in their body colour, road users on
    foot, cyclists and animals by class, anything else (a scenario's vehicles, trailers) PUPPET."""
    kind = state.actors.kind
    out = [CLASS_RGB.get(ACTOR_CLASSES[k], PUPPET) if k >= 0 else EGO for k in kind]
    for i, col in enumerate(state.traffic.colour, start=1):
        out[i] = tuple(int(c) for c in col)
    return out


def render_topdown(frame, size: int, m_per_px: float) -> np.ndarray:
    """(size, size, 3) uint8 RGB image centred ahead of the ego, forward up."""
    st, raster = frame.state, frame.scene.raster
    a = st.actors
    view = View(float(a.x[0]), float(a.y[0]), float(a.heading[0]), size, size, m_per_px, 0.65)
    m = view.affine()
    img = np.empty((size, size, 3), np.uint8)
    img[:] = GRASS
    img[raster.drivable_mask(view, m) > 0] = ASPHALT
    thickness = max(1, int(round(0.15 / m_per_px)))
    img[raster.lines_mask(view, m, thickness) > 0] = LINE
    pts, _ = st.route.sample(np.arange(st.progress_m, st.route.goal_s, 1.0))
    if len(pts) > 1:
        overlay = img.copy()
        cv2.polylines(overlay, [polyline_px(m, pts)], False, ROUTE, max(1, int(round(1.2 / m_per_px))),
                      cv2.LINE_AA, SHIFT)
        img = cv2.addWeighted(overlay, 0.45, img, 0.55, 0)
    polys, kinds = raster.props_in_view(view, m)
    for poly, kind in zip(polys, kinds):
        cv2.fillPoly(img, [poly], tuple(int(c) for c in PROP_COLOURS[kind]), cv2.LINE_AA, SHIFT)
    shown = np.flatnonzero(a.valid)
    boxes = boxes_px(m, a.x[shown], a.y[shown], a.heading[shown], a.length[shown], a.width[shown])
    colours = actor_colours(st)
    for poly, colour in zip(boxes, [colours[i] for i in shown]):
        cv2.fillPoly(img, [poly], colour, cv2.LINE_AA, SHIFT)
        cv2.polylines(img, [poly], True, (20, 20, 20), 1, cv2.LINE_AA, SHIFT)
    text = f"t={st.t:5.1f}s  v={float(st.ego.speed[0]):4.1f} m/s  progress={st.progress_m:5.0f} m"
    cv2.putText(img, text, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return img


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
