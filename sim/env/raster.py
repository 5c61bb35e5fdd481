"""Ego-centred rasters of the world (forward is up): drivable area, lane lines, actors, route.

World geometry is cut once into fixed-size chunks indexed by a KD-tree, so a frame draws only
the chunks in view with one ``cv2.fillPoly`` / ``cv2.polylines`` call per layer.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import cKDTree

CHUNK = 16
"""Points per chunk of a polyline or polygon side (after decimation: 30 m at 2 m spacing)."""
DECIMATE = 4
"""Keep every this many points of the 0.5 m-spaced world polylines (2 m; on a 50 m radius the chord
error is 1 cm, far below a BEV pixel)."""
DASH_ON, DASH_PERIOD = 3.0, 9.0
"""Dashed lane lines: 3 m painted every 9 m."""
SHIFT = 2
"""Sub-pixel bits used by OpenCV drawing."""


@dataclass(frozen=True)
class View:
    """A raster window: ego pose (m, rad), size (px), resolution (m/px), ego row as a fraction of height."""

    x: float
    y: float
    heading: float
    height: int
    width: int
    m_per_px: float
    ego_row: float

    def affine(self) -> np.ndarray:
        """(2,3) matrix taking world (x, y, 1) to pixel (col, row)."""
        c, s = np.cos(self.heading), np.sin(self.heading)
        k = 1.0 / self.m_per_px
        row0, col0 = self.ego_row * self.height, 0.5 * self.width
        # ego frame: fx = c*dx + s*dy (forward), fy = -s*dx + c*dy (left); col = col0 - fy*k, row = row0 - fx*k
        m = np.array([[s * k, -c * k, 0.0], [-c * k, -s * k, 0.0]])
        m[:, 2] = [col0, row0] - m[:, :2] @ [self.x, self.y]
        return m

    def radius(self) -> float:
        """Distance from the ego to the farthest view corner, m."""
        far_row = max(self.ego_row, 1.0 - self.ego_row) * self.height
        return float(np.hypot(far_row, 0.5 * self.width) * self.m_per_px)


def _index_chunks(n: int, size: int) -> list[np.ndarray]:
    """Index runs of ``size`` into n points, overlapping by one; the last run padded by repetition."""
    return [np.minimum(np.arange(start, start + size), n - 1) for start in range(0, max(n - 1, 1), size - 1)]


def _chunks(lines: list[np.ndarray], size: int) -> np.ndarray:
    """Cut polylines into (K, size, 2) pieces (see _index_chunks)."""
    out = [line[i] for line in lines for i in _index_chunks(len(line), size)]
    return np.asarray(out, dtype=np.float64).reshape(-1, size, 2)


def _decimate(line: np.ndarray) -> np.ndarray:
    """Every DECIMATE-th point of a polyline, its last point kept."""
    keep = np.arange(0, len(line), DECIMATE)
    if keep[-1] != len(line) - 1:
        keep = np.append(keep, len(line) - 1)
    return line[keep]


def _dashes(line: np.ndarray) -> list[np.ndarray]:
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(line, axis=0).T))])
    on = (s % DASH_PERIOD) < DASH_ON
    starts = np.flatnonzero(on & ~np.concatenate([[False], on[:-1]]))
    ends = np.flatnonzero(on & ~np.concatenate([on[1:], [False]]))
    return [line[a : b + 1] for a, b in zip(starts, ends) if b > a]


class _Layer:
    """Fixed-size chunks of one kind of geometry with a spatial index."""

    def __init__(self, chunks: np.ndarray):
        self.chunks = chunks
        if len(chunks):
            centre = chunks.mean(axis=1)
            self.reach = float(np.max(np.hypot(*(chunks - centre[:, None]).transpose(2, 0, 1))))
            self.tree = cKDTree(centre)
        else:
            self.reach, self.tree = 0.0, None

    def in_view(self, view: View, m: np.ndarray) -> list[np.ndarray]:
        """The chunks near ``view`` as int32 pixel arrays (with SHIFT sub-pixel bits)."""
        if self.tree is None:
            return []
        idx = self.tree.query_ball_point((view.x, view.y), view.radius() + self.reach, return_sorted=False)
        if not idx:
            return []
        scaled = m * (1 << SHIFT)
        pts = self.chunks[idx] @ scaled[:, :2].T + scaled[:, 2]
        return list(np.rint(pts, out=pts).astype(np.int32))


class WorldRaster:
    """Static world geometry prepared for fast ego-centred drawing."""

    def __init__(self, world):
        """Drivable area as road-wide polygons (outer edges of each road) plus junction connector lanes;
        lane lines once per boundary (each lane's right line, and the left line of leftmost lanes)."""
        graph = world.lanes
        sides = [(road.left_edge, road.right_edge) for road in world.roads]
        solid, dashed = [], []
        for lane in graph.lanes:
            left = graph.boundary_polyline(lane.id, "left")
            right = graph.boundary_polyline(lane.id, "right")
            if lane.junction_id >= 0:
                sides.append((left, right))
            lines = [(lane.right_boundary, right)] + ([(lane.left_boundary, left)] if lane.left_neighbor < 0 else [])
            for kind, line in lines:
                if kind == "solid":
                    solid.append(_decimate(line))
                elif kind == "dashed":
                    dashed.extend(_dashes(line))
        polys = []
        for left, right in sides:
            left, right = _decimate(left), _decimate(right)
            polys.extend(np.concatenate([left[i], right[i][::-1]]) for i in _index_chunks(len(left), CHUNK))
        self.drivable = _Layer(np.asarray(polys).reshape(-1, 2 * CHUNK, 2))
        self.solid = _Layer(_chunks(solid, CHUNK))
        self.dashed = _Layer(np.asarray([[d[0], d[-1]] for d in dashed]).reshape(-1, 2, 2))
        self.areas = [np.asarray(j.polygon) for j in world.junctions if len(j.polygon) >= 3]
        self.area_centre = np.array([a.mean(axis=0) for a in self.areas]).reshape(-1, 2)
        self.area_reach = np.array([np.hypot(*(a - a.mean(axis=0)).T).max() for a in self.areas])
        props = world.props
        self.prop_corners = props.corners() if len(props) else np.zeros((0, 4, 2))
        self.prop_kind = props.kind
        self.prop_tree = cKDTree(props.xy) if len(props) else None

    def drivable_mask(self, view: View, m: np.ndarray) -> np.ndarray:
        img = np.zeros((view.height, view.width), np.uint8)
        cv2.fillPoly(img, self.drivable.in_view(view, m), 255, cv2.LINE_8, SHIFT)
        near = np.hypot(self.area_centre[:, 0] - view.x, self.area_centre[:, 1] - view.y) < view.radius() + self.area_reach
        areas = [np.round((self.areas[i] @ m[:, :2].T + m[:, 2]) * (1 << SHIFT)).astype(np.int32)
                 for i in np.flatnonzero(near)]
        if areas:
            cv2.fillPoly(img, areas, 255, cv2.LINE_8, SHIFT)
        return img

    def lines_mask(self, view: View, m: np.ndarray, thickness: int = 1) -> np.ndarray:
        img = np.zeros((view.height, view.width), np.uint8)
        for layer in (self.solid, self.dashed):
            pts = layer.in_view(view, m)
            if pts:
                cv2.polylines(img, pts, False, 255, thickness, cv2.LINE_8, SHIFT)
        return img

    def props_in_view(self, view: View, m: np.ndarray):
        """(pixel polygons list, kinds) of props near the view."""
        if self.prop_tree is None:
            return [], np.zeros(0, np.int8)
        idx = np.sort(self.prop_tree.query_ball_point((view.x, view.y), view.radius() + 10.0))
        if idx.size == 0:
            return [], np.zeros(0, np.int8)
        pts = self.prop_corners[idx] @ m[:, :2].T + m[:, 2]
        return list(np.round(pts * (1 << SHIFT)).astype(np.int32)), self.prop_kind[idx]


def boxes_px(m: np.ndarray, x, y, heading, length, width) -> list[np.ndarray]:
    """Rotated boxes as int32 pixel polygons (with SHIFT sub-pixel bits)."""
    c, s = np.cos(heading), np.sin(heading)
    hl, hw = 0.5 * np.asarray(length), 0.5 * np.asarray(width)
    lx = np.array([1, 1, -1, -1])[None, :] * hl[:, None]
    ly = np.array([1, -1, -1, 1])[None, :] * hw[:, None]
    corners = np.stack([x[:, None] + c[:, None] * lx - s[:, None] * ly,
                        y[:, None] + s[:, None] * lx + c[:, None] * ly], axis=-1)
    return list(np.round((corners @ m[:, :2].T + m[:, 2]) * (1 << SHIFT)).astype(np.int32))


def polyline_px(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    return np.round((points @ m[:, :2].T + m[:, 2]) * (1 << SHIFT)).astype(np.int32)
