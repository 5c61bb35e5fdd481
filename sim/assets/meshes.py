"""Procedural trimesh meshes: vehicles (body + cabin + wheels) per class, tree, pole, cone.

Frames: x forward, y left, z up, metres; a vehicle or prop stands on z = 0 centred on its
footprint. Every mesh carries per-face colours (``visual.face_colors``, RGBA uint8); the renderer
turns them into vertex colours. Meshes are cached by key and must not be modified by callers
(take ``.copy()`` first).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import trimesh

from sim.traffic.vehicle_classes import CLASS_NAMES, HEIGHT, LENGTH, WIDTH

PART_COLOURS = {
    "paint": (200, 200, 200, 255),  # placeholder, replaced by the vehicle colour
    "glass": (40, 50, 60, 255),
    "tyre": (20, 20, 20, 255),
    "trim": (70, 70, 70, 255),
    "trunk": (95, 65, 40, 255),
    "crown": (50, 110, 45, 255),
    "pole": (150, 150, 150, 255),
    "cone": (240, 110, 20, 255),
    "cone_band": (240, 240, 240, 255),
}

NOMINAL_SIZE = {name: (float(LENGTH[i].mean()), float(WIDTH[i].mean()), float(HEIGHT[i].mean()))
                for i, name in enumerate(CLASS_NAMES)}
"""(length, width, height) m a class's mesh is built at; the renderer scales by actual / nominal."""


def _coloured(mesh: trimesh.Trimesh, rgba) -> trimesh.Trimesh:
    mesh.visual.face_colors = np.tile(np.asarray(rgba, np.uint8), (len(mesh.faces), 1))
    return mesh


def _box(x0, x1, y0, y1, z0, z1, rgba) -> trimesh.Trimesh:
    m = trimesh.creation.box(extents=(x1 - x0, y1 - y0, z1 - z0))
    m.apply_translation(((x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2))
    return _coloured(m, rgba)


def _prism(profile_xz, y0, y1, rgba) -> trimesh.Trimesh:
    """Convex polygon in the x-z plane, extruded from y0 to y1."""
    p = np.asarray(profile_xz, float)
    pts = np.concatenate([np.c_[p[:, 0], np.full(len(p), y0), p[:, 1]],
                          np.c_[p[:, 0], np.full(len(p), y1), p[:, 1]]])
    return _coloured(trimesh.convex.convex_hull(pts), rgba)


def _wheels(xs, width, radius, tyre_w) -> list[trimesh.Trimesh]:
    out = []
    for x in xs:
        for side in (-1.0, 1.0):
            w = trimesh.creation.cylinder(radius=radius, height=tyre_w, sections=12)
            w.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, (1, 0, 0)))
            w.apply_translation((x, side * (width / 2 - tyre_w / 2), radius))
            out.append(_coloured(w, PART_COLOURS["tyre"]))
    return out


def _build_vehicle(name: str, length: float, width: float, height: float) -> trimesh.Trimesh:
    L, W, H = length, width, height
    paint, glass, trim = PART_COLOURS["paint"], PART_COLOURS["glass"], PART_COLOURS["trim"]
    hl = L / 2
    if name in ("car", "suv"):
        r = 0.33 if name == "car" else 0.38
        belt = 0.55 * H if name == "car" else 0.6 * H
        parts = [_box(-hl, hl, -W / 2, W / 2, 0.6 * r, belt, paint),
                 _box(hl - 0.05, hl, -0.4 * W, 0.4 * W, 0.6 * r, 0.9 * r + 0.1, trim)]  # grille/bumper
        cab = [(-0.38 * L, belt), (0.22 * L, belt), (0.05 * L, H), (-0.3 * L, H)]
        parts.append(_prism(cab, -0.44 * W, 0.44 * W, glass))
        parts.append(_box(-0.3 * L + 0.02, 0.05 * L - 0.02, -0.42 * W, 0.42 * W, H - 0.04, H, paint))  # roof
        parts += _wheels((0.33 * L, -0.33 * L), W, r, 0.22)
    elif name == "van":
        r = 0.36
        parts = [_box(-hl, 0.32 * L, -W / 2, W / 2, 0.6 * r, H, paint),
                 _prism([(0.32 * L, 0.6 * r), (hl, 0.6 * r), (hl, 0.5 * H), (0.32 * L, 0.95 * H)],
                        -W / 2, W / 2, paint),
                 _prism([(0.3 * L, 0.55 * H), (0.42 * L, 0.55 * H), (0.33 * L, 0.9 * H), (0.3 * L, 0.9 * H)],
                        -0.47 * W, 0.47 * W, glass)]
        parts[2].apply_translation((0.03 * L, 0, 0))
        parts += _wheels((0.34 * L, -0.33 * L), W, r, 0.24)
    elif name == "bus":
        r = 0.5
        parts = [_box(-hl, hl, -W / 2, W / 2, 0.35, H, paint),
                 _box(-hl + 0.3, hl + 0.02, -W / 2 - 0.02, W / 2 + 0.02, 0.55 * H, 0.85 * H, glass),
                 _box(-hl + 0.1, hl - 0.1, -0.45 * W, 0.45 * W, H, H + 0.08, trim)]
        parts += _wheels((0.32 * L, -0.28 * L), W, r, 0.3)
    elif name == "truck":
        r = 0.5
        cab_len = 2.2
        parts = [_box(hl - cab_len, hl, -W / 2, W / 2, 0.45, 0.8 * H, paint),
                 _box(hl - 0.05, hl + 0.0, -0.45 * W, 0.45 * W, 0.45 * H, 0.72 * H, glass),
                 _box(-hl, hl - cab_len - 0.15, -W / 2, W / 2, 0.9, H, PART_COLOURS["pole"]),
                 _box(-hl, hl, -0.35 * W, 0.35 * W, 0.45, 0.9, trim)]  # chassis
        parts[1].apply_translation((-0.02, 0, 0))
        parts += _wheels((hl - 1.3, -hl + 1.6, -hl + 2.8), W, r, 0.35)
    else:
        raise ValueError(f"vehicle_mesh: unknown class {name!r}, expected one of {CLASS_NAMES}")
    return trimesh.util.concatenate(parts)


@lru_cache(maxsize=None)
def vehicle_mesh(name: str, size: tuple[float, float, float] | None = None) -> trimesh.Trimesh:
    """Mesh of class `name` ("car", "suv", "van", "bus", "truck") at `size` (length, width,
    height) m, default NOMINAL_SIZE[name]; body faces carry PART_COLOURS["paint"]."""
    if name not in NOMINAL_SIZE:
        raise ValueError(f"vehicle_mesh: unknown class {name!r}, expected one of {CLASS_NAMES}")
    size = NOMINAL_SIZE[name] if size is None else tuple(float(v) for v in size)
    m = _build_vehicle(name, *size)
    # Build-time shapes may poke a few cm outside the box; squeeze into the footprint exactly.
    lo, hi = m.bounds
    sx = size[0] / (hi[0] - lo[0])
    sy = size[1] / (hi[1] - lo[1])
    m.apply_translation((-(lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -lo[2]))
    m.apply_transform(np.diag([sx, sy, size[2] / (hi[2] - lo[2]), 1.0]))
    return m


@lru_cache(maxsize=None)
def tree_mesh() -> trimesh.Trimesh:
    """Unit tree: crown diameter 1, height 1 (scale by (length, width, height))."""
    trunk = trimesh.creation.cylinder(radius=0.06, height=0.45, sections=8)
    trunk.apply_translation((0, 0, 0.225))
    crown = trimesh.creation.icosphere(subdivisions=1, radius=0.5)
    crown.apply_scale((1.0, 1.0, 0.7 / 1.0))
    crown.apply_translation((0, 0, 0.65))
    return trimesh.util.concatenate([_coloured(trunk, PART_COLOURS["trunk"]), _coloured(crown, PART_COLOURS["crown"])])


@lru_cache(maxsize=None)
def pole_mesh() -> trimesh.Trimesh:
    """Unit pole: diameter 1, height 1, with a short arm at the top."""
    shaft = trimesh.creation.cylinder(radius=0.4, height=1.0, sections=8)
    shaft.apply_translation((0, 0, 0.5))
    head = _box(-0.5, 0.5, -0.5, 0.5, 0.96, 1.0, PART_COLOURS["pole"])
    return trimesh.util.concatenate([_coloured(shaft, PART_COLOURS["pole"]), head])


@lru_cache(maxsize=None)
def cone_mesh() -> trimesh.Trimesh:
    """Unit traffic cone: base 1 x 1, height 1."""
    base = _box(-0.5, 0.5, -0.5, 0.5, 0.0, 0.05, PART_COLOURS["cone"])
    body = trimesh.creation.cone(radius=0.38, height=0.95, sections=12)
    body.apply_translation((0, 0, 0.05))
    band = trimesh.creation.cylinder(radius=0.25, height=0.12, sections=12)
    band.apply_translation((0, 0, 0.55))
    return trimesh.util.concatenate([base, _coloured(body, PART_COLOURS["cone"]), _coloured(band, PART_COLOURS["cone_band"])])


def prop_mesh(kind: str) -> tuple[trimesh.Trimesh, tuple[float, float, float]]:
    """Mesh of a world prop kind and the size (length, width, height) m it is built at
    (props are scaled by size / built size)."""
    if kind == "tree":
        return tree_mesh(), (1.0, 1.0, 1.0)
    if kind == "pole":
        return pole_mesh(), (1.0, 1.0, 1.0)
    if kind == "cone":
        return cone_mesh(), (1.0, 1.0, 1.0)
    if kind == "parked_car":
        return vehicle_mesh("car"), NOMINAL_SIZE["car"]
    raise ValueError(f"prop_mesh: unknown prop kind {kind!r}")
