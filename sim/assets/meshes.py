"""Procedural trimesh meshes: vehicles (body + cabin + wheels) per class, tractor unit and semi-trailer,
pedestrians, cyclist, tree, pole, cone, barrier.

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
    "concrete": (175, 172, 165, 255),
    "reflector": (230, 180, 30, 255),
}
SKIN = ((240, 200, 170, 255), (200, 150, 110, 255), (150, 100, 70, 255), (95, 65, 45, 255))
HAIR = ((30, 25, 20, 255), (90, 60, 30, 255), (200, 170, 110, 255), (120, 120, 120, 255))
CLOTHES = ((30, 40, 80, 255), (150, 30, 30, 255), (40, 40, 40, 255), (200, 200, 195, 255), (60, 100, 60, 255),
           (220, 150, 40, 255), (90, 70, 110, 255), (110, 90, 70, 255))
PEDESTRIAN_VARIANTS = 8
"""Distinct pedestrian meshes (build, clothing, skin and hair colours); variant ids wrap around."""
PEDESTRIAN_HEIGHT_M = 1.75

TRACTOR_SIZE = (6.2, 2.5, 3.7)
TRAILER_SIZE = (13.6, 2.55, 4.0)
"""(length, width, height) m of the tractor unit and semi-trailer meshes (built at exactly this size)."""
COUPLING_Z_M = 1.2
TRACTOR_HITCH = (-1.45, 0.0, COUPLING_Z_M)
"""Fifth-wheel coupling point in the tractor mesh frame, m."""
TRAILER_KINGPIN = (5.6, 0.0, COUPLING_Z_M)
"""Kingpin in the trailer mesh frame, m. Coupled, the trailer frame sits with its kingpin on the
tractor's hitch and yaws about the vertical through it: trailer origin (x, y) =
hitch_world - R(trailer_heading) @ TRAILER_KINGPIN[:2]."""

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


def _rod(p0, p1, radius: float, rgba, sections: int = 6) -> trimesh.Trimesh:
    return _coloured(trimesh.creation.cylinder(radius=radius, segment=[p0, p1], sections=sections), rgba)


def _hull(points, rgba) -> trimesh.Trimesh:
    return _coloured(trimesh.convex.convex_hull(np.asarray(points, float)), rgba)


def _head(centre, radius: float, skin, hair) -> trimesh.Trimesh:
    """Low-poly head, hair on the faces above the brow and at the back (facing +x)."""
    head = trimesh.creation.icosphere(subdivisions=1, radius=radius)
    head.apply_translation(centre)
    c = head.triangles_center - np.asarray(centre, float)
    colours = np.tile(np.asarray(skin, np.uint8), (len(head.faces), 1))
    colours[(c[:, 2] > 0.25 * radius) | (c[:, 0] < -0.3 * radius)] = hair
    head.visual.face_colors = colours
    return head


def pedestrian_mesh(variant: int = 0) -> trimesh.Trimesh:
    """Standing pedestrian facing +x, PEDESTRIAN_HEIGHT_M tall: shoes, legs, hips, torso (a long coat
    in every fourth variant), arms, hands and head; build and colours vary with `variant`
    (modulo PEDESTRIAN_VARIANTS). Under 300 triangles."""
    return _pedestrian(int(variant) % PEDESTRIAN_VARIANTS)


@lru_cache(maxsize=None)
def _pedestrian(v: int) -> trimesh.Trimesh:
    rng = np.random.default_rng(v)
    b = rng.uniform(0.85, 1.2)  # girth
    skin, hair = SKIN[v % len(SKIN)], HAIR[rng.integers(len(HAIR))]
    top, legs = CLOTHES[v], CLOTHES[(v * 3 + 2) % len(CLOTHES)]
    shoe = PART_COLOURS["tyre"]
    hip_z, shoulder_z, r_head = 0.92, 1.45, 0.11
    w_sh, w_waist, d = 0.2 * b, 0.16 * b, 0.11 * b
    coat = v % 4 == 3
    parts = []
    for side in (-1.0, 1.0):
        y = side * 0.09 * b
        parts += [_box(-0.06, 0.17, y - 0.05, y + 0.05, 0.0, 0.07, shoe),
                  _rod((0.0, y, 0.07), (0.0, y, hip_z), 0.065 * b, legs),
                  _rod((0.0, side * (w_sh + 0.04), shoulder_z - 0.04), (0.03, side * (w_sh + 0.07), 0.82),
                       0.045 * b, top),
                  _box(0.0, 0.07, *sorted((side * (w_sh + 0.05), side * (w_sh + 0.09))), 0.72, 0.82, skin)]
    parts.append(_box(-0.09 * b, 0.09 * b, -w_waist, w_waist, hip_z - 0.08, hip_z + 0.06, legs))
    low = 0.6 if coat else hip_z
    parts.append(_hull([(x, y, z) for x in (-d, d) for y, z in ((-w_waist, low), (w_waist, low), (-w_sh, shoulder_z),
                                                               (w_sh, shoulder_z))], top))
    parts.append(_head((0.01, 0.0, PEDESTRIAN_HEIGHT_M - r_head), r_head, skin, hair))
    m = trimesh.util.concatenate(parts)
    lo, hi = m.bounds
    m.apply_translation((-(lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, 0.0))
    return m


@lru_cache(maxsize=None)
def cyclist_mesh() -> trimesh.Trimesh:
    """Bicycle (two 0.34 m wheels 1.05 m apart, frame in PART_COLOURS["paint"], saddle, handlebar) with a
    seated rider leaning forward, facing +x; about 1.73 x 0.51 x 1.73 m."""
    paint, trim, tyre = PART_COLOURS["paint"], PART_COLOURS["trim"], PART_COLOURS["tyre"]
    top, legs, skin = CLOTHES[1], CLOTHES[2], SKIN[0]
    parts = []
    for x in (-0.525, 0.525):
        w = trimesh.creation.annulus(r_min=0.3, r_max=0.34, height=0.035, sections=12)
        w.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, (1, 0, 0)))
        w.apply_translation((x, 0.0, 0.34))
        parts.append(_coloured(w, tyre))
    bb, seat, head_top, head_low = (-0.05, 0, 0.3), (-0.2, 0, 0.85), (0.38, 0, 0.85), (0.42, 0, 0.68)
    rear, front = (-0.525, 0, 0.34), (0.525, 0, 0.34)
    for a, b in ((bb, seat), (seat, head_top), (bb, head_low), (bb, rear), ((-0.18, 0, 0.75), rear),
                 (head_low, front), (head_top, (0.36, 0, 0.97))):
        parts.append(_rod(a, b, 0.022, paint, sections=5))
    parts += [_rod((0.36, -0.25, 0.97), (0.36, 0.25, 0.97), 0.018, trim, sections=5),
              _box(-0.3, -0.08, -0.07, 0.07, 0.86, 0.92, trim)]
    hip, shoulder = (-0.2, 0.0, 1.0), (0.15, 0.0, 1.45)
    parts.append(_rod(hip, shoulder, 0.15, top))
    for side in (-1.0, 1.0):
        knee, foot = (0.05, side * 0.12, 0.72), (-0.05, side * 0.12, 0.2)
        parts += [_rod((-0.2, side * 0.1, 0.95), knee, 0.065, legs), _rod(knee, foot, 0.05, legs),
                  _rod((0.15, side * 0.2, 1.42), (0.36, side * 0.22, 0.99), 0.04, top)]
    parts.append(_head((0.26, 0.0, 1.62), 0.11, skin, HAIR[0]))
    m = trimesh.util.concatenate(parts)
    lo, hi = m.bounds
    m.apply_translation((-(lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -lo[2]))
    return m


@lru_cache(maxsize=None)
def tractor_mesh() -> trimesh.Trimesh:
    """Semi-trailer tractor at TRACTOR_SIZE: cab (PART_COLOURS["paint"]) with roof fairing, chassis, fuel
    tanks, fifth wheel at TRACTOR_HITCH, one front and two rear axles."""
    L, W, H = TRACTOR_SIZE
    hl, r = L / 2, 0.52
    paint, glass, trim = PART_COLOURS["paint"], PART_COLOURS["glass"], PART_COLOURS["trim"]
    cab_x = hl - 2.3
    parts = [_box(cab_x, hl, -W / 2, W / 2, 0.7, 3.0, paint),
             _box(hl - 0.04, hl, -0.45 * W, 0.45 * W, 1.9, 2.8, glass),
             _hull([(x, y, z) for y in (-0.48 * W, 0.48 * W) for x, z in
                    ((cab_x, 3.0), (hl - 0.3, 3.0), (cab_x, H), (cab_x + 0.9, H))], paint),
             _box(-hl, cab_x, -0.4 * W, 0.4 * W, 0.6, 1.0, trim),
             _box(cab_x - 1.4, cab_x - 0.2, -W / 2 + 0.05, -0.4 * W, 0.55, 1.1, PART_COLOURS["pole"]),
             _box(cab_x - 1.4, cab_x - 0.2, 0.4 * W, W / 2 - 0.05, 0.55, 1.1, PART_COLOURS["pole"])]
    fifth = trimesh.creation.cylinder(radius=0.45, height=COUPLING_Z_M - 1.0, sections=12)
    fifth.apply_translation((TRACTOR_HITCH[0], 0.0, 0.5 * (1.0 + COUPLING_Z_M)))
    parts.append(_coloured(fifth, trim))
    parts += _wheels((hl - 1.3, TRACTOR_HITCH[0] - 0.65, TRACTOR_HITCH[0] + 0.65), W, r, 0.35)
    m = trimesh.util.concatenate(parts)
    m.apply_translation((0.0, 0.0, -m.bounds[0, 2]))
    return m


@lru_cache(maxsize=None)
def trailer_mesh() -> trimesh.Trimesh:
    """Box semi-trailer at TRAILER_SIZE: van body (PART_COLOURS["paint"]) from COUPLING_Z_M up, kingpin
    at TRAILER_KINGPIN, landing legs, rear doors, three rear axles."""
    L, W, H = TRAILER_SIZE
    hl, r = L / 2, 0.5
    paint, trim = PART_COLOURS["paint"], PART_COLOURS["trim"]
    parts = [_box(-hl + 0.05, hl, -W / 2, W / 2, COUPLING_Z_M, H, paint),
             _box(-hl, -hl + 0.05, -0.48 * W, 0.48 * W, COUPLING_Z_M + 0.1, H - 0.1, trim),
             _box(-hl + 0.3, hl - 0.5, -0.35 * W, 0.35 * W, 0.95, COUPLING_Z_M, trim),
             _box(-hl, -hl + 0.15, -0.45 * W, 0.45 * W, 0.45, 0.6, trim),
             _rod(TRAILER_KINGPIN, (TRAILER_KINGPIN[0], 0.0, COUPLING_Z_M - 0.1), 0.05, trim)]
    for side in (-1.0, 1.0):
        parts.append(_box(hl - 3.1, hl - 2.9, side * 0.35 * W - 0.1, side * 0.35 * W + 0.1, 0.0, COUPLING_Z_M, trim))
    parts += _wheels((-hl + 1.6, -hl + 2.91, -hl + 4.22), W, r, 0.35)
    return trimesh.util.concatenate(parts)


@lru_cache(maxsize=None)
def barrier_mesh() -> trimesh.Trimesh:
    """Unit jersey barrier along x: 1 long, base 1 wide, 1 high (scale by (length, width, height)),
    the concrete safety-shape profile with a reflector strip on both faces."""
    profile = [(0.5, 0.0), (0.5, 0.1), (0.33, 0.32), (0.125, 1.0)]
    pts = [(x, s * y, z) for x in (-0.5, 0.5) for y, z in profile for s in (-1.0, 1.0)]
    parts = [_hull(pts, PART_COLOURS["concrete"])]
    face_y = lambda z: np.interp(z, [0.32, 1.0], [0.33, 0.125])  # noqa: E731  (the steep face)
    for s in (-1.0, 1.0):  # strip on the steep face, 1 cm proud of it
        parts.append(_hull([(x, s * (face_y(z) + dy), z) for x in (-0.45, 0.45) for z in (0.5, 0.66)
                            for dy in (-0.01, 0.01)], PART_COLOURS["reflector"]))
    return trimesh.util.concatenate(parts)


@lru_cache(maxsize=None)
def dog_mesh() -> trimesh.Trimesh:
    """Medium dog facing +x, about 0.95 x 0.3 x 0.65 m: body, four legs, neck and head, tail."""
    fur, dark = (150, 105, 60, 255), (60, 40, 25, 255)
    parts = [_rod((-0.3, 0.0, 0.45), (0.2, 0.0, 0.47), 0.12, fur),
             _rod((0.2, 0.0, 0.47), (0.3, 0.0, 0.6), 0.07, fur),
             _box(0.24, 0.45, -0.06, 0.06, 0.52, 0.65, fur),
             _box(0.4, 0.47, -0.03, 0.03, 0.53, 0.57, dark),
             _rod((-0.32, 0.0, 0.48), (-0.48, 0.0, 0.6), 0.025, fur)]
    for x in (-0.25, 0.15):
        for y in (-0.07, 0.07):
            parts.append(_rod((x, y, 0.0), (x, y, 0.42), 0.035, fur, sections=5))
    m = trimesh.util.concatenate(parts)
    lo, hi = m.bounds
    m.apply_translation((-(lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -lo[2]))
    return m


def actor_mesh(name: str, variant: int = 0) -> tuple[trimesh.Trimesh, tuple[float, float, float]]:
    """Mesh of an actor class (sim.traffic.actor_classes.ACTOR_CLASSES) and the size (length, width,
    height) m it is built at (actors are drawn scaled by their size / this); `variant` picks a pedestrian."""
    if name in NOMINAL_SIZE:
        return vehicle_mesh(name), NOMINAL_SIZE[name]
    mesh = {"pedestrian": lambda: pedestrian_mesh(variant), "cyclist": cyclist_mesh, "dog": dog_mesh,
            "tractor": tractor_mesh, "trailer": trailer_mesh}.get(name)
    if mesh is None:
        raise ValueError(f"actor_mesh: unknown actor class {name!r}")
    m = mesh()
    return m, tuple(float(v) for v in m.extents)


def prop_mesh(kind: str) -> tuple[trimesh.Trimesh, tuple[float, float, float]]:
    """Mesh of a world prop kind and the size (length, width, height) m it is built at
    (props are scaled by size / built size)."""
    if kind == "tree":
        return tree_mesh(), (1.0, 1.0, 1.0)
    if kind == "pole":
        return pole_mesh(), (1.0, 1.0, 1.0)
    if kind == "cone":
        return cone_mesh(), (1.0, 1.0, 1.0)
    if kind == "barrier":
        return barrier_mesh(), (1.0, 1.0, 1.0)
    if kind == "parked_car":
        return vehicle_mesh("car"), NOMINAL_SIZE["car"]
    raise ValueError(f"prop_mesh: unknown prop kind {kind!r}")
