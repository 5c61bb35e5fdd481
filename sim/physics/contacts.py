"""Contacts of actor boxes with static props and curbs, and ray queries, through pybullet (DIRECT).

Only collision queries use pybullet; no rigid-body stepping (see NOTES.md). Props are static
boxes (or upright cylinders), curbs are static compound shapes of boxes grouped by square tiles so the
broadphase skips far-away curbs. Everything stands on the ground plane z = 0.

Building is lazy: the constructor only sorts props and curb segments into tiles (numpy); a tile's
pybullet bodies are created the first time a query (``query_box`` or ``raycast``) could touch
it. Queries are local to the ego, so most tiles of a world are never built. pybullet clients are
recycled through a small pool (``resetSimulation`` ~0.5 ms instead of ``connect`` ~13 ms).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pybullet

CURB_TILE = 32.0
"""Side of the square tiles (m) that group props and curb segments; a tile is built on first use."""
_MAX_SEGMENTS_PER_SHAPE = 64  # curb boxes per compound shape
_RAY_BATCH = 8192  # pybullet 3.2.7 silently drops rays past 16383 in one rayTestBatch
_TILE_PAD = 0.05  # m added around a tile's content box before testing it against a query
_COLLINEAR_SIN = 1e-10  # curb points whose turn |sin| is below this (and dot > 0) are merged away
_MAX_SEGMENT_M = 0.25 * CURB_TILE  # longer curb segments (after merging) are split into equal pieces
_MAX_IDLE_CLIENTS = 8
_IDLE_CLIENTS: list[int] = []  # connected DIRECT clients after resetSimulation, ready for reuse


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


def _acquire_client() -> int:
    """A DIRECT client holding nothing: an idle pooled one, else a new connection."""
    while _IDLE_CLIENTS:
        client = _IDLE_CLIENTS.pop()
        if pybullet.isConnected(physicsClientId=client):
            return client
    return pybullet.connect(pybullet.DIRECT)


def _release_client(client: int) -> None:
    """Empty ``client`` and keep it for reuse, or disconnect it when the pool is full."""
    if len(_IDLE_CLIENTS) < _MAX_IDLE_CLIENTS:
        try:
            pybullet.resetSimulation(physicsClientId=client)
        except pybullet.error:
            return
        _IDLE_CLIENTS.append(client)
    else:
        pybullet.disconnect(physicsClientId=client)


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

    Bodies are created per tile (``CURB_TILE`` m square) on the first query that may touch the
    tile; results are the same as if everything had been built up front.
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
        self._props_xy, self._props_heading, self._props_size = props_xy, props_heading, props_size
        self._props_round = props_round
        self._curb_height = float(curb_height)
        self._query_shapes: dict[tuple[float, float, float], int] = {}
        self._kind = np.full(0, -1, dtype=np.int64)  # per body id: prop index, or n_props for a curb
        self._segments = _curb_segments(curbs, curb_width)  # (S, 4, 2) footprint corners
        self._plan_tiles()
        self._client = _acquire_client()

    # ------------------------------------------------------------------ lazy tiles
    def _plan_tiles(self) -> None:
        """Sort props (by centre) and curb segments (by midpoint) into tiles; record each tile's
        content box and the largest overhang of any content beyond its tile."""
        seg = self._segments
        prop_radius = 0.5 * np.hypot(self._props_size[:, 0], self._props_size[:, 1])
        centre = np.concatenate([seg.mean(axis=1), self._props_xy])
        lo = np.concatenate([seg.min(axis=1), self._props_xy - prop_radius[:, None]])
        hi = np.concatenate([seg.max(axis=1), self._props_xy + prop_radius[:, None]])
        n_seg = len(seg)
        self._tiles: list[tuple[np.ndarray, np.ndarray]] = []  # (segment ids, prop ids) per tile
        self._tile_box = np.zeros((0, 4))
        self._pending: dict[tuple[int, int], int] = {}  # cell -> tile index, tiles not built yet
        self._margin = 0.0
        if len(centre) == 0:
            return
        cell = np.floor(centre / CURB_TILE).astype(np.int64)
        cell_lo = cell.min(axis=0)
        span = int(cell[:, 1].max() - cell_lo[1]) + 1
        key = (cell[:, 0] - cell_lo[0]) * span + (cell[:, 1] - cell_lo[1])
        order = np.argsort(key, kind="stable")
        first = np.flatnonzero(np.concatenate([[True], key[order][1:] != key[order][:-1]]))
        box_lo = np.minimum.reduceat(lo[order], first) - _TILE_PAD
        box_hi = np.maximum.reduceat(hi[order], first) + _TILE_PAD
        self._tile_box = np.concatenate([box_lo, box_hi], axis=1)
        tile_cell = cell[order[first]]
        over = np.maximum(tile_cell * CURB_TILE - box_lo, box_hi - (tile_cell + 1) * CURB_TILE)
        self._margin = float(max(over.max(), 0.0))
        for t, group in enumerate(np.split(order, first[1:])):
            self._tiles.append((group[group < n_seg], group[group >= n_seg] - n_seg))
            self._pending[(int(tile_cell[t, 0]), int(tile_cell[t, 1]))] = t

    def _ensure_box(self, xmin: float, ymin: float, xmax: float, ymax: float) -> None:
        """Build every pending tile whose content box meets [xmin, xmax] x [ymin, ymax]."""
        pending = self._pending
        if not pending:
            return
        m = self._margin
        ix0, ix1 = math.floor((xmin - m) / CURB_TILE), math.floor((xmax + m) / CURB_TILE)
        iy0, iy1 = math.floor((ymin - m) / CURB_TILE), math.floor((ymax + m) / CURB_TILE)
        if (ix1 - ix0 + 1) * (iy1 - iy0 + 1) <= len(pending):
            cells = [(ix, iy) for ix in range(ix0, ix1 + 1) for iy in range(iy0, iy1 + 1) if (ix, iy) in pending]
        else:
            cells = list(pending)
        for c in cells:
            bx0, by0, bx1, by1 = self._tile_box[pending[c]]
            if bx0 <= xmax and xmin <= bx1 and by0 <= ymax and ymin <= by1:
                self._build_tile(pending.pop(c))

    def _ensure_rays(self, origins: np.ndarray, ends: np.ndarray) -> None:
        """Build every pending tile whose content box a ray's ground projection crosses."""
        if not self._pending or len(origins) == 0:
            return
        lo = np.minimum(origins[:, :2], ends[:, :2])
        hi = np.maximum(origins[:, :2], ends[:, :2])
        cells = list(self._pending)
        idx = np.fromiter((self._pending[c] for c in cells), np.int64, len(cells))
        box = self._tile_box[idx]
        near = ((box[:, 0] <= hi[:, 0].max()) & (lo[:, 0].min() <= box[:, 2])
                & (box[:, 1] <= hi[:, 1].max()) & (lo[:, 1].min() <= box[:, 3]))
        if not near.any():
            return
        cells = [c for c, n in zip(cells, near) if n]
        box = box[near]
        hit = np.zeros(len(cells), dtype=bool)
        d = ends[:, :2] - origins[:, :2]
        for start in range(0, len(origins), _RAY_BATCH):  # slab test, (rays, tiles)
            o, dd = origins[start:start + _RAY_BATCH, :2, None], d[start:start + _RAY_BATCH, :, None]
            t_in = np.zeros((len(o), len(cells)))
            t_out = np.ones((len(o), len(cells)))
            for axis in (0, 1):
                b_lo, b_hi = box[None, :, axis], box[None, :, axis + 2]
                flat = dd[:, axis] == 0.0
                with np.errstate(divide="ignore", invalid="ignore"):
                    t1 = (b_lo - o[:, axis]) / dd[:, axis]
                    t2 = (b_hi - o[:, axis]) / dd[:, axis]
                inside = (b_lo <= o[:, axis]) & (o[:, axis] <= b_hi)
                t_in = np.maximum(t_in, np.where(flat, np.where(inside, 0.0, np.inf), np.minimum(t1, t2)))
                t_out = np.minimum(t_out, np.where(flat, np.where(inside, 1.0, -np.inf), np.maximum(t1, t2)))
            hit |= (t_in <= t_out).any(axis=0)
        for c, h in zip(cells, hit):
            if h:
                self._build_tile(self._pending.pop(c))

    def _build_tile(self, t: int) -> None:
        client = self._client_id()
        seg_ids, prop_ids = self._tiles[t]
        bodies, kinds = [], []
        for i in prop_ids:
            length, width, height = self._props_size[i]
            if self._props_round[i]:
                shape = pybullet.createCollisionShape(pybullet.GEOM_CYLINDER, radius=0.5 * length,
                                                      height=height, physicsClientId=client)
            else:
                shape = pybullet.createCollisionShape(
                    pybullet.GEOM_BOX, halfExtents=[0.5 * length, 0.5 * width, 0.5 * height],
                    physicsClientId=client)
            x, y = self._props_xy[i]
            bodies.append(pybullet.createMultiBody(
                0.0, shape, basePosition=[x, y, 0.5 * height],
                baseOrientation=_yaw_quaternion(self._props_heading[i]), physicsClientId=client))
            kinds.append(int(i))
        for start in range(0, len(seg_ids), _MAX_SEGMENTS_PER_SHAPE):
            half, position, orientation = _curb_boxes(self._segments[seg_ids[start:start + _MAX_SEGMENTS_PER_SHAPE]],
                                                      self._curb_height)
            shape = pybullet.createCollisionShapeArray(
                [pybullet.GEOM_BOX] * len(half), halfExtents=half, collisionFramePositions=position,
                collisionFrameOrientations=orientation, physicsClientId=client)
            if shape < 0:
                raise RuntimeError("pybullet refused a curb shape")
            bodies.append(pybullet.createMultiBody(0.0, shape, physicsClientId=client))
            kinds.append(self.n_props)
        top = max(bodies, default=-1) + 1
        if top > len(self._kind):
            self._kind = np.concatenate([self._kind, np.full(top - len(self._kind), -1, dtype=np.int64)])
        self._kind[bodies] = kinds

    # ------------------------------------------------------------------ queries
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
        self._ensure_box(x - half_x, y - half_y, x + half_x, y + half_y)
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
        self._ensure_rays(origins, ends)
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
        """Release the pybullet client (emptied and pooled for reuse); safe to call more than once."""
        if self._client is not None:
            client, self._client = self._client, None
            _release_client(client)

    def __enter__(self) -> ContactWorld:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        if getattr(self, "_client", None) is not None and pybullet is not None:
            try:
                self.close()
            except (pybullet.error, TypeError, AttributeError):
                pass


def _curb_segments(curbs: list[np.ndarray], width: float) -> np.ndarray:
    """(S, 4, 2) footprint corners of the curb segments (left start, left end, right end, right
    start). Zero-length segments are dropped, runs of collinear segments (turn |sin| below
    _COLLINEAR_SIN) are merged and segments longer than _MAX_SEGMENT_M split into equal pieces;
    the solid they cover is unchanged (only faces inside it go)."""
    if not curbs:
        return np.zeros((0, 4, 2))
    pts = np.concatenate(curbs)
    line = np.repeat(np.arange(len(curbs)), [len(c) for c in curbs])
    same = line[1:] == line[:-1]  # point i+1 continues the polyline of point i
    keep = np.concatenate([[True], ~same | np.any(pts[1:] != pts[:-1], axis=1)])
    pts, line = pts[keep], line[keep]
    same = line[1:] == line[:-1]
    d = np.diff(pts, axis=0)
    d /= np.where(same, np.hypot(d[:, 0], d[:, 1]), 1.0)[:, None]
    cross = d[:-1, 0] * d[1:, 1] - d[:-1, 1] * d[1:, 0]
    dot = np.einsum("ij,ij->i", d[:-1], d[1:])
    interior = same[:-1] & same[1:]
    straight_on = interior & (np.abs(cross) < _COLLINEAR_SIN) & (dot > 0)
    keep = np.concatenate([[True], ~straight_on, [True]])
    pts, line = pts[keep], line[keep]
    first = np.flatnonzero(line[1:] == line[:-1])  # segment k runs from pts[first[k]] to pts[first[k] + 1]
    a, b = pts[first], pts[first + 1]
    # Split long segments so no segment sticks far out of the tile its midpoint lies in.
    step = b - a
    pieces = np.ceil(np.hypot(step[:, 0], step[:, 1]) / _MAX_SEGMENT_M).astype(np.int64)
    if (pieces > 1).any():
        seg = np.repeat(np.arange(len(step)), pieces)
        k = np.arange(len(seg)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        a0, st, n = a[seg], step[seg], pieces[seg][:, None]
        a, b = a0 + st * (k[:, None] / n), np.where(k[:, None] + 1 == n, b[seg], a0 + st * ((k[:, None] + 1) / n))
    direction = b - a
    seg_length = np.hypot(direction[:, 0], direction[:, 1])
    normal = np.stack([-direction[:, 1], direction[:, 0]], axis=1) * (0.5 * width / seg_length)[:, None]
    return np.stack([a + normal, b + normal, b - normal, a - normal], axis=1)


def _curb_boxes(corners: np.ndarray, height: float) -> tuple[list, list, list]:
    """Half extents, centres and yaw quaternions (lists of [x, y, z(, w)]) of boxes with footprint
    ``corners`` (S, 4, 2; left start, left end, right end, right start) and the given height.

    Boxes in one compound shape, not a triangle mesh: pybullet never frees triangle meshes
    (not on resetSimulation, not on disconnect), which leaked ~8 MB per world."""
    along = corners[:, 1] - corners[:, 0]
    across = corners[:, 0] - corners[:, 3]
    half = np.stack([0.5 * np.hypot(along[:, 0], along[:, 1]), 0.5 * np.hypot(across[:, 0], across[:, 1]),
                     np.full(len(corners), 0.5 * height)], axis=1)
    centre = np.concatenate([corners.mean(axis=1), np.full((len(corners), 1), 0.5 * height)], axis=1)
    yaw = np.arctan2(along[:, 1], along[:, 0])
    quat = np.stack([np.zeros_like(yaw), np.zeros_like(yaw), np.sin(0.5 * yaw), np.cos(0.5 * yaw)], axis=1)
    return half.tolist(), centre.tolist(), quat.tolist()
