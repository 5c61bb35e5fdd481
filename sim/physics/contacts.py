"""Contacts of actor boxes with static props and curbs, and ray queries, through pybullet (DIRECT).

Only collision queries use pybullet; no rigid-body stepping (see NOTES.md). Props are static
boxes (or upright cylinders), curbs are static triangle meshes grouped by square tiles so the
broadphase skips far-away curbs. Everything stands on the ground plane z = 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pybullet

CURB_TILE = 64.0
"""Side of the square tiles (m) that group curb segments into one mesh body each."""
_MAX_SEGMENTS_PER_MESH = 8192  # 8 vertices each; pybullet refuses meshes near 2**17 vertices
_RAY_BATCH = 8192  # pybullet 3.2.7 silently drops rays past 16383 in one rayTestBatch
# Triangles of one curb segment (vertices: 0-3 bottom, 4-7 top; 0,1 left side, 2,3 right side,
# 0,3 at the segment start); the bottom face lies on the road and is left out.
_SEGMENT_TRIANGLES = np.array([
    [4, 5, 6], [4, 6, 7],  # top
    [0, 1, 5], [0, 5, 4],  # left side
    [3, 7, 6], [3, 6, 2],  # right side
    [0, 4, 7], [0, 7, 3],  # start cap
    [1, 2, 6], [1, 6, 5],  # end cap
])


@dataclass(frozen=True)
class ContactResult:
    """What a box touches: ``prop_ids`` (indices into the props arrays, ascending) and ``curb``."""

    prop_ids: tuple[int, ...]
    curb: bool


def _array(name: str, value, shape: tuple) -> np.ndarray:
    """``value`` as a finite float64 array of ``shape`` (-1 = any length); ValueError naming ``name``."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != len(shape) or any(s != -1 and s != a for s, a in zip(shape, arr.shape)):
        raise ValueError(f"{name} must have shape {tuple('N' if s == -1 else s for s in shape)}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite")
    return arr


def _yaw_quaternion(heading: float) -> tuple[float, float, float, float]:
    return (0.0, 0.0, math.sin(0.5 * heading), math.cos(0.5 * heading))


class ContactWorld:
    """Static props and curbs in one pybullet DIRECT client; close it with :meth:`close`.

    Args:
        props_xy: (P, 2) prop centres, m.
        props_heading: (P,) prop headings, rad.
        props_size: (P, 3) prop [length, width, height], m; a round prop is an upright cylinder
            of diameter ``length``.
        curbs: list of (K, 2) polylines (K >= 2), m, the curb's centre line.
        curb_height: curb height above the road, m.
        curb_width: curb width across the polyline, m.
        props_round: optional (P,) bool, True for round props.
    """

    def __init__(self, props_xy, props_heading, props_size, curbs, curb_height: float = 0.15,
                 curb_width: float = 0.3, props_round=None):
        props_xy = _array("props_xy", props_xy, (-1, 2))
        n_props = props_xy.shape[0]
        props_heading = _array("props_heading", props_heading, (n_props,))
        props_size = _array("props_size", props_size, (n_props, 3))
        if not (props_size > 0).all():
            raise ValueError("props_size must be > 0")
        props_round = (np.zeros(n_props, dtype=bool) if props_round is None else np.asarray(props_round))
        if props_round.shape != (n_props,) or props_round.dtype != np.bool_:
            raise ValueError(f"props_round must be a bool array of shape ({n_props},), got "
                             f"{props_round.dtype} {props_round.shape}")
        curbs = [_array(f"curbs[{i}]", c, (-1, 2)) for i, c in enumerate(curbs)]
        for i, c in enumerate(curbs):
            if c.shape[0] < 2:
                raise ValueError(f"curbs[{i}] needs at least 2 points, got {c.shape[0]}")
        if not (curb_height > 0 and math.isfinite(curb_height)):
            raise ValueError(f"curb_height must be a finite number > 0 m, got {curb_height}")
        if not (curb_width > 0 and math.isfinite(curb_width)):
            raise ValueError(f"curb_width must be a finite number > 0 m, got {curb_width}")

        self.n_props = n_props
        self._client = pybullet.connect(pybullet.DIRECT)
        self._query_shapes: dict[tuple[float, float, float], int] = {}
        kinds = []  # per body id: prop index, or n_props for a curb
        for i in range(n_props):
            length, width, height = props_size[i]
            if props_round[i]:
                shape = pybullet.createCollisionShape(pybullet.GEOM_CYLINDER, radius=0.5 * length,
                                                      height=height, physicsClientId=self._client)
            else:
                shape = pybullet.createCollisionShape(
                    pybullet.GEOM_BOX, halfExtents=[0.5 * length, 0.5 * width, 0.5 * height],
                    physicsClientId=self._client)
            body = pybullet.createMultiBody(
                0.0, shape, basePosition=[props_xy[i, 0], props_xy[i, 1], 0.5 * height],
                baseOrientation=_yaw_quaternion(props_heading[i]), physicsClientId=self._client)
            kinds.append((body, i))
        for vertices, triangles in _curb_meshes(curbs, curb_height, curb_width):
            shape = pybullet.createCollisionShape(
                pybullet.GEOM_MESH, vertices=vertices.tolist(), indices=triangles.ravel().tolist(),
                flags=pybullet.GEOM_FORCE_CONCAVE_TRIMESH, physicsClientId=self._client)
            if shape < 0:
                raise RuntimeError("pybullet refused a curb mesh")
            body = pybullet.createMultiBody(0.0, shape, physicsClientId=self._client)
            kinds.append((body, n_props))
        self._kind = np.full(max((b for b, _ in kinds), default=-1) + 1, -1, dtype=np.int64)
        for body, kind in kinds:
            self._kind[body] = kind

    def _client_id(self) -> int:
        if self._client is None:
            raise RuntimeError("ContactWorld is closed")
        return self._client

    def query_box(self, x: float, y: float, heading: float, length: float, width: float,
                  height: float = 1.5) -> ContactResult:
        """Props and curbs that a box standing on the road touches or overlaps.

        The box (centre ``x, y`` in m, ``heading`` in rad, sizes in m) spans z in [0, height].
        The broadphase picks bodies whose bounding boxes meet the box's; each is then tested
        exactly with ``getClosestPoints(distance=0)``.
        """
        client = self._client_id()
        values = (x, y, heading, length, width, height)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"query_box needs finite x, y, heading, length, width, height, got {values}")
        if not (length > 0 and width > 0 and height > 0):
            raise ValueError(f"query_box sizes must be > 0 m, got {length}, {width}, {height}")
        c, s = abs(math.cos(heading)), abs(math.sin(heading))
        half_x = 0.5 * (length * c + width * s)
        half_y = 0.5 * (length * s + width * c)
        near = pybullet.getOverlappingObjects([x - half_x, y - half_y, 0.0], [x + half_x, y + half_y, height],
                                              physicsClientId=client)
        if not near:
            return ContactResult((), False)
        key = (float(length), float(width), float(height))
        shape = self._query_shapes.get(key)
        if shape is None:
            shape = pybullet.createCollisionShape(
                pybullet.GEOM_BOX, halfExtents=[0.5 * length, 0.5 * width, 0.5 * height], physicsClientId=client)
            self._query_shapes[key] = shape
        position = [x, y, 0.5 * height]
        orientation = _yaw_quaternion(heading)
        props, curb = [], False
        for body, _ in near:
            kind = self._kind[body]
            if kind == self.n_props and curb:
                continue
            if pybullet.getClosestPoints(bodyA=-1, bodyB=body, distance=0.0, collisionShapeA=shape,
                                         collisionShapePositionA=position,
                                         collisionShapeOrientationA=orientation, physicsClientId=client):
                if kind == self.n_props:
                    curb = True
                else:
                    props.append(int(kind))
        return ContactResult(tuple(sorted(props)), curb)

    def raycast(self, origins, ends) -> tuple[np.ndarray, np.ndarray]:
        """Cast M rays from ``origins`` (M, 3) to ``ends`` (M, 3), m.

        Returns ``fraction`` (M,) float64, the hit's distance as a fraction of the ray (1.0 when
        nothing is hit), and ``hit_kind`` (M,) int64: -1 nothing, 0..P-1 the prop index, P a curb.
        """
        client = self._client_id()
        origins = _array("origins", origins, (-1, 3))
        ends = _array("ends", ends, (origins.shape[0], 3))
        m = origins.shape[0]
        fraction = np.ones(m)
        body = np.full(m, -1, dtype=np.int64)
        for start in range(0, m, _RAY_BATCH):
            stop = min(start + _RAY_BATCH, m)
            hits = pybullet.rayTestBatch(origins[start:stop].tolist(), ends[start:stop].tolist(),
                                         physicsClientId=client)
            if len(hits) != stop - start:
                raise RuntimeError(f"rayTestBatch returned {len(hits)} results for {stop - start} rays")
            body[start:stop] = [h[0] for h in hits]
            fraction[start:stop] = [h[2] for h in hits]
        hit = body >= 0
        hit_kind = np.full(m, -1, dtype=np.int64)
        hit_kind[hit] = self._kind[body[hit]]
        fraction[~hit] = 1.0
        return fraction, hit_kind

    def close(self) -> None:
        """Disconnect the pybullet client; safe to call more than once."""
        if self._client is not None:
            pybullet.disconnect(physicsClientId=self._client)
            self._client = None

    def __enter__(self) -> ContactWorld:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        if getattr(self, "_client", None) is not None and pybullet is not None:
            try:
                self.close()
            except pybullet.error:
                pass


def _curb_meshes(curbs: list[np.ndarray], height: float, width: float):
    """Yield (vertices (V, 3), triangles (T, 3)) meshes of curb segments, one or more per tile."""
    segments = [np.stack([c[:-1], c[1:]], axis=1) for c in curbs]
    if not segments:
        return
    segments = np.concatenate(segments)  # (S, 2 ends, 2)
    direction = segments[:, 1] - segments[:, 0]
    seg_length = np.hypot(direction[:, 0], direction[:, 1])
    segments, direction, seg_length = segments[seg_length > 0], direction[seg_length > 0], seg_length[seg_length > 0]
    normal = np.stack([-direction[:, 1], direction[:, 0]], axis=1) * (0.5 * width / seg_length)[:, None]
    a, b = segments[:, 0], segments[:, 1]
    corners = np.stack([a + normal, b + normal, b - normal, a - normal], axis=1)  # (S, 4, 2)
    vertices = np.concatenate([
        np.concatenate([corners, np.zeros(corners.shape[:2] + (1,))], axis=2),
        np.concatenate([corners, np.full(corners.shape[:2] + (1,), height)], axis=2),
    ], axis=1)  # (S, 8, 3)
    tile = np.floor(0.5 * (a + b) / CURB_TILE).astype(np.int64)
    _, tile_id = np.unique(tile, axis=0, return_inverse=True)
    order = np.argsort(tile_id.ravel(), kind="stable")
    bounds = np.flatnonzero(np.diff(tile_id.ravel()[order])) + 1
    for group in np.split(order, bounds):
        for start in range(0, len(group), _MAX_SEGMENTS_PER_MESH):
            chunk = group[start:start + _MAX_SEGMENTS_PER_MESH]
            triangles = (_SEGMENT_TRIANGLES[None] + 8 * np.arange(len(chunk))[:, None, None]).reshape(-1, 3)
            yield vertices[chunk].reshape(-1, 3), triangles
