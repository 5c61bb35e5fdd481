"""WorldScene: a World as GPU-ready arrays: static chunks uploaded once, actors as per-class instances.

World frame: x, y on the ground (m), z up. Static geometry (``sim.assets.road.static_geometry``: ground,
road, markings, curbs, props) is merged over classes and split into ``chunk_m`` squares, one indexed
``MeshData`` each (per-vertex semantic id, colour, normal, road-texture uv), with its bounding box for
frustum culling (``chunks_in_view``); all chunks share one buffer, so a view draws its chunks in one
call. Actors are drawn instanced: one ``MeshData`` per class mesh
(built once, cached) and, per class, a (K, 12) float32 instance table rewritten by ``update`` (the
scene follows the world by moving instances; nothing is rebuilt or re-uploaded but that table).

Instance row (float32): x, y, cos(yaw), sin(yaw) | scale x, y, z (actual size / mesh nominal size),
actor index + 1 | body colour (linear RGB), semantic id. Vertex row: position (3), normal (3), colour
(3, linear), uv (2), semantic id, paint (1: the body colour replaces the vertex colour), textured
(1: the road-surface texture replaces the vertex colour).
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from sim.assets.meshes import PART_COLOURS, PEDESTRIAN_VARIANTS, actor_mesh
from sim.assets.road import STATIC_CLASSES, linear_rgb, static_geometry, trimesh_tris
from sim.assets.textures import asphalt_texture
from sim.traffic.actor_classes import ACTOR_CLASSES
from sim.traffic.vehicle_classes import PALETTE
from sim.world import World

SEMANTIC_CLASSES = ("sky", *STATIC_CLASSES, *ACTOR_CLASSES, "ego")
"""Semantic class ids (index) of the segmentation pass; 0 is "nothing drawn" (sky)."""
SEMANTIC_ID = {name: i for i, name in enumerate(SEMANTIC_CLASSES)}

CHUNK_M = 40.0
"""Static geometry is split into CHUNK_M squares (merged over classes) for culling: small enough that a
view's vertex work is mostly what it sees (llvmpipe transforms every triangle of a drawn chunk)."""
MAX_RANGE_M = 150.0
EGO_COLOUR = (235, 235, 240)
SKY = (0.62, 0.74, 0.9)
"""Sky colour (sRGB, 0..1) of the colour pass."""
VERTEX_LAYOUT = (3, 3, 3, 2, 1, 1, 1)
"""Vertex row blocks: position, normal, colour, uv, semantic, paint, textured (attribute locations 0..6)."""
VERTEX_FLOATS = sum(VERTEX_LAYOUT)
INSTANCE_FLOATS = 12


class MeshData(NamedTuple):
    """Indexed triangles: ``vertices`` (V, VERTEX_FLOATS) float32 rows (see the module docstring),
    ``indices`` (3T,) uint32, ``box`` (2, 3) min/max corner."""

    vertices: np.ndarray
    indices: np.ndarray
    box: np.ndarray


def mesh_data(tris, colours, normals, semantic, uv=None, textured=None, paint=None) -> MeshData:
    """MeshData of (T,3,3) triangles with per-face colours (T,3), normals (T,3), semantic ids (T,),
    optional texture coordinates uv (T,3,2) with per-face textured flags (T,) (default: all textured when
    uv is given) and paint flags (T,); equal vertices are shared."""
    tris = np.asarray(tris, np.float32)
    t = len(tris)
    per_face = lambda a, k: np.repeat(np.asarray(a, np.float32).reshape(t, k), 3, axis=0)  # noqa: E731
    rows = np.concatenate([
        tris.reshape(-1, 3), per_face(normals, 3), per_face(colours, 3),
        np.zeros((3 * t, 2), np.float32) if uv is None else np.asarray(uv, np.float32).reshape(-1, 2),
        per_face(semantic, 1), per_face(np.zeros(t) if paint is None else paint, 1),
        per_face(np.full(t, uv is not None) if textured is None else textured, 1)], axis=1)
    rows = np.ascontiguousarray(rows)
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    v = rows[first]
    box = np.stack([v[:, :3].min(0), v[:, :3].max(0)]) if len(v) else np.zeros((2, 3), np.float32)
    return MeshData(v, inverse.ravel().astype(np.uint32), box.astype(np.float64))


def vehicle_colour(index: int) -> tuple[int, int, int]:
    """Default body colour of actor `index` (deterministic, from the traffic palette)."""
    return tuple(int(v) for v in PALETTE[(7 * index + 3) % len(PALETTE)])


class WorldScene:
    """Render data of `world`: ``static`` (MeshData of every static chunk, merged over classes; chunk i
    is indices ``chunk_ranges[i, 0]`` .. ``+ chunk_ranges[i, 1]``), ``meshes``
    {mesh name: MeshData} of the actor classes, ``instances`` {mesh name: (K, 12) float32} (rewritten
    by ``update``; ``version`` counts updates), ``surface`` the road texture (H, W, 3) uint8 sRGB
    (``sim.assets.textures.asphalt_texture`` of the world's surface parameters). ``draw_ego``: draw actors of kind -1."""

    def __init__(self, world: World, draw_ego: bool = False, ambient: float = 0.35, sun_intensity: float = 3.0,
                 max_range: float = MAX_RANGE_M, chunk_m: float = CHUNK_M):
        self.world = world
        self.draw_ego = draw_ego
        self.ambient = float(ambient)
        self.sun_intensity = float(sun_intensity)
        self.sun_direction = np.array([0.4, 0.3, -0.85]) / np.linalg.norm([0.4, 0.3, -0.85])
        self.max_range = float(max_range)
        self.chunk_m = float(chunk_m)
        self.surface = asphalt_texture(world.surface)
        geometry = static_geometry(world)
        parts = [(g, SEMANTIC_ID[name]) for name, g in geometry.items() if len(g.tris)]
        tris = np.concatenate([g.tris for g, _ in parts])
        col = np.concatenate([g.colours for g, _ in parts])
        nrm = np.concatenate([g.normals for g, _ in parts])
        sem = np.concatenate([np.full(len(g.tris), s, np.float32) for g, s in parts])
        uv = np.concatenate([np.zeros((len(g.tris), 3, 2)) if g.uv is None else g.uv for g, _ in parts])
        tex = np.concatenate([np.full(len(g.tris), g.uv is not None) for g, _ in parts])
        chunks = [mesh_data(tris[sel], col[sel], nrm[sel], sem[sel], uv[sel], tex[sel])
                  for sel in self._chunk_groups(tris)]
        base = np.concatenate([[0], np.cumsum([len(c.vertices) for c in chunks])])
        counts = np.array([len(c.indices) for c in chunks])
        self.static = MeshData(np.concatenate([c.vertices for c in chunks]),
                               np.concatenate([c.indices + np.uint32(b) for c, b in zip(chunks, base)]),
                               np.stack([np.min([c.box[0] for c in chunks], 0), np.max([c.box[1] for c in chunks], 0)]))
        self.chunk_ranges = np.stack([np.concatenate([[0], np.cumsum(counts)[:-1]]), counts], axis=1)
        boxes = np.asarray([c.box for c in chunks]).reshape(-1, 2, 3)
        self._corners = np.stack([np.where(np.array(m, bool), boxes[:, 1], boxes[:, 0])
                                  for m in np.ndindex(2, 2, 2)], axis=1)  # (C,8,3)
        self._boxes = boxes
        self.meshes: dict[str, MeshData] = {}
        self.instances: dict[str, np.ndarray] = {}
        self.version = 0
        self.shown = np.zeros(0, bool)

    @staticmethod
    @functools.lru_cache(maxsize=None)
    def _nominal(name: str) -> tuple[float, float, float]:
        """(length, width, height) m mesh `name` is built at (actors are scaled by their size / this)."""
        cls, _, variant = name.partition(":")
        return actor_mesh(cls, int(variant or 0))[1]

    def _chunk_groups(self, tris: np.ndarray) -> list:
        """Index arrays of `tris` (T,3,3) per chunk_m square (by triangle centroid)."""
        cell = np.floor(tris.mean(axis=1)[:, :2] / self.chunk_m).astype(np.int64)
        _, group = np.unique(cell, axis=0, return_inverse=True)
        group = group.ravel()
        order = np.argsort(group, kind="stable")
        bounds = np.searchsorted(group[order], np.arange(group.max() + 2))
        return [order[bounds[g]:bounds[g + 1]] for g in range(len(bounds) - 1)]

    def chunks_in_view(self, pose: np.ndarray, fx: float, fy: float, cx: float, cy: float, width: int,
                       height: int, znear: float = 0.1) -> np.ndarray:
        """(C,) bool: static chunk i's bounding box may intersect the view frustum of a camera at
        world-from-camera `pose` (OpenCV axes) with these intrinsics, cut at ``max_range`` m (along the
        axis and as distance from the camera). Conservative: never drops a visible chunk."""
        lo, hi = self._boxes[:, 0], self._boxes[:, 1]
        R, t = pose[:3, :3], pose[:3, 3]
        p = self._corners @ R - t @ R  # camera coordinates (x right, y down, z forward)
        X, Y, Z = p[..., 0], p[..., 1], p[..., 2]
        r = self.max_range
        out = (np.all(Z < znear, axis=1) | np.all(Z > r, axis=1)
               | np.all(fx * X + cx * Z < 0, axis=1) | np.all(fx * X + (cx - width) * Z > 0, axis=1)
               | np.all(fy * Y + cy * Z < 0, axis=1) | np.all(fy * Y + (cy - height) * Z > 0, axis=1))
        gap = np.maximum(np.maximum(lo - t, t - hi), 0.0)
        out |= np.einsum("ij,ij->i", gap, gap) > r * r
        return ~out

    def mesh(self, name: str) -> MeshData:
        """MeshData of actor mesh `name` (an actor class, or "pedestrian:V" for variant V), built on first use."""
        data = self.meshes.get(name)
        if data is None:
            cls, _, variant = name.partition(":")
            tris, col, nrm = trimesh_tris(actor_mesh(cls, int(variant or 0))[0])
            paint = np.all(np.isclose(col, linear_rgb(PART_COLOURS["paint"])), axis=1)
            sem = np.full(len(tris), SEMANTIC_ID[cls], np.float32)
            data = self.meshes[name] = mesh_data(tris, col, nrm, sem, paint=paint)
        return data

    @staticmethod
    def mesh_name(kind: int, index: int) -> str:
        """Mesh of actor column `index` of class code `kind` (-1: the ego, drawn as a car)."""
        cls = "car" if kind < 0 else ACTOR_CLASSES[kind]
        return f"pedestrian:{index % PEDESTRIAN_VARIANTS}" if cls == "pedestrian" else cls

    def update(self, actors_table: np.ndarray, kind: np.ndarray, valid: np.ndarray, colours=None) -> None:
        """Set this step's actor instances.

        actors_table: (7, N) rows sim.env.simulation.ACTOR_FIELDS (x, y m, heading rad, speed m/s,
        length, width, height m); kind (N,) int: -1 ego, else an index into ACTOR_CLASSES; valid (N,)
        bool; colours: optional (N,3) uint8 body colours (default ``vehicle_colour(i)``, the ego
        EGO_COLOUR). """
        table = np.asarray(actors_table, float)
        kind = np.asarray(kind, int)
        valid = np.asarray(valid, bool)
        n = table.shape[1]
        if kind.shape != (n,) or valid.shape != (n,) or table.shape[0] < 7:
            raise ValueError(f"WorldScene.update: need table (7,N), kind (N,), valid (N,); got "
                             f"{table.shape}, {kind.shape}, {valid.shape}")
        shown = valid & ((kind >= 0) | self.draw_ego)
        idx = np.nonzero(shown)[0]
        names = np.array([self.mesh_name(int(kind[i]), int(i)) for i in idx], dtype=object)
        if colours is None:
            body = np.array([EGO_COLOUR if kind[i] < 0 else vehicle_colour(int(i)) for i in idx]).reshape(-1, 3)
        else:
            body = np.asarray(colours)[idx].reshape(-1, 3)
        x, y, heading, _, length, width, height = table[:7, idx]
        rows = np.empty((len(idx), INSTANCE_FLOATS), np.float32)
        rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3] = x, y, np.cos(heading), np.sin(heading)
        nominal = np.array([self._nominal(m) for m in names]).reshape(-1, 3)
        rows[:, 4], rows[:, 5], rows[:, 6] = length / nominal[:, 0], width / nominal[:, 1], height / nominal[:, 2]
        rows[:, 7] = idx + 1
        rows[:, 8:11] = linear_rgb(body)
        rows[:, 11] = [SEMANTIC_ID["ego" if kind[i] < 0 else ACTOR_CLASSES[kind[i]]] for i in idx]
        self.instances = {name: np.ascontiguousarray(rows[names == name]) for name in dict.fromkeys(names)}
        for name in self.instances:
            self.mesh(name)
        self.shown = shown
        self.version += 1
