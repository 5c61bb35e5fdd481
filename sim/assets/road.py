"""Static world geometry from the lane graph: ground, road surface, lane markings, curbs, sidewalks and
placed props.

World frame: x, y on the ground (m), z up. ``static_geometry(world)`` returns, per semantic class, a
``Geometry`` of world-space triangles with linear RGB colours and unit normals; ``sim.render.scene``
splits it into chunks and uploads it once. Road, marking and curb polylines are resampled (a point
every <= MAX_STEP_M m of arc, more on curves).
"""
from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np
from scipy.spatial import cKDTree

from sim.assets.meshes import PART_COLOURS, prop_mesh
from sim.assets.textures import ASPHALT_RGB, TEXTURE_TILE_M
from sim.traffic.vehicle_classes import PALETTE
from sim.traffic.vru_network import CROSSWALK_WIDTH_M, crosswalks
from sim.world import PROP_KINDS, World

STATIC_CLASSES = ("ground", "road", "lane_marking", "curb", "sidewalk", *PROP_KINDS)
"""Semantic classes of the static geometry, in id order after "sky" (see sim.render.SEMANTIC_CLASSES)."""

ROAD_Z = 0.0
MARKING_Z = 0.02
GROUND_Z = -0.03
MARKING_WIDTH_M = 0.15
DASH_M, GAP_M = 3.0, 6.0
ZEBRA_BAR_M, ZEBRA_GAP_M = 0.5, 0.5
"""Crosswalk stripes: bars this wide, this far apart, across the road (each as long as the crosswalk is wide)."""
CURB_WIDTH_M, CURB_HEIGHT_M = 0.25, 0.15
SIDEWALK_WIDTH_M = 2.0
"""Sidewalks run beside each curb on its side away from the road, their top level with the curb's."""
SIDEWALK_CLEAR_M = 0.3
"""Smallest distance from a sidewalk (beyond its curb edge) to any lane, m."""
GROUND_MARGIN_M = 300.0
GROUND_TILE_M = 50.0
MAX_STEP_M = 5.0
MAX_TURN_RAD = 0.03
"""Road, marking and curb polylines are resampled: a point at least every MAX_STEP_M m of arc, and
wherever the heading turned by MAX_TURN_RAD since the last kept point."""
COLOURS = {"ground": (85, 120, 60), "road": ASPHALT_RGB, "lane_marking": (235, 235, 225),
           "curb": (165, 165, 160), "sidewalk": (188, 184, 175)}


class Geometry(NamedTuple):
    """Triangles of one semantic class: ``tris`` (T,3,3) world m, ``colours`` (T,3) linear RGB,
    ``normals`` (T,3) unit (per face); ``uv`` (T,3,2) coordinates into the road-surface texture
    (``sim.assets.textures.asphalt_texture``, repeated), or None: untextured. Where uv is given the
    texture colour replaces the vertex colour (``colours`` stays the flat fallback)."""

    tris: np.ndarray
    colours: np.ndarray
    normals: np.ndarray
    uv: np.ndarray | None = None


def _geometry(tris, colours, normals, uv=None) -> Geometry:
    tris = np.asarray(tris, float)
    if normals is None:
        n = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
        normals = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    return Geometry(tris, np.asarray(colours, float), np.asarray(normals, float), uv)


def linear_rgb(rgb) -> np.ndarray:
    """sRGB uint8 -> linear float (the renderer encodes gamma 1/2.2 on output)."""
    return (np.asarray(rgb, float)[..., :3] / 255.0) ** 2.2


def trimesh_tris(mesh):
    """(T,3,3) triangles, (T,3) linear colours, (T,3) normals of a coloured trimesh."""
    return mesh.vertices[mesh.faces], linear_rgb(mesh.visual.face_colors), mesh.face_normals


def _decimate(points: np.ndarray, max_step: float = MAX_STEP_M, max_turn: float = MAX_TURN_RAD,
              force: np.ndarray | None = None) -> np.ndarray:
    """Indices of polyline `points` (N,2) to keep: both ends, every point where the heading has
    turned by more than `max_turn` rad or the arc length reached `max_step` m since the last kept
    point, and every index in `force`."""
    n = len(points)
    if n <= 2:
        return np.arange(n)
    d = np.diff(points, axis=0)
    seg = np.linalg.norm(d, axis=1)
    head = np.unwrap(np.arctan2(d[:, 1], d[:, 0]))
    forced = np.zeros(n, bool)
    if force is not None:
        forced[np.asarray(force, int)] = True
    keep = [0]
    last_s, last_h, s = 0.0, head[0], 0.0
    for i in range(1, n - 1):
        s += seg[i - 1]
        if forced[i] or s - last_s >= max_step - 1e-9 or abs(head[i] - last_h) > max_turn:
            keep.append(i)
            last_s, last_h = s, head[i]
    keep.append(n - 1)
    return np.asarray(keep)


def _strip(a: np.ndarray, b: np.ndarray, z: float, keep: np.ndarray | None = None) -> np.ndarray:
    """Triangles (2(N-1),3,3) between polylines a, b (N,2) at height z, facing up; segments with
    keep False dropped."""
    z3 = lambda p: np.concatenate([p, np.full((len(p), 1), z)], axis=1)  # noqa: E731
    a3, b3 = z3(a), z3(b)
    t1 = np.stack([a3[:-1], b3[:-1], b3[1:]], axis=1)
    t2 = np.stack([a3[:-1], b3[1:], a3[1:]], axis=1)
    if keep is not None:
        t1, t2 = t1[keep], t2[keep]
    return _face_up(np.concatenate([t1, t2]))


def _face_up(tris: np.ndarray) -> np.ndarray:
    e1, e2 = tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]
    down = (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) < 0
    tris[down] = tris[down][:, [0, 2, 1]]
    return tris


def _normals2(points: np.ndarray) -> np.ndarray:
    d = np.gradient(points, axis=0)
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
    return np.stack([-d[:, 1], d[:, 0]], axis=1)


def _placed(mesh, built, xy, heading, size) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Instances of a trimesh at (P,) poses, scaled by size / built: merged triangles."""
    tris, col, nrm = trimesh_tris(mesh)
    scale = np.asarray(size, float) / np.asarray(built, float)  # (P,3)
    c, s = np.cos(heading), np.sin(heading)
    rot = np.zeros((len(xy), 3, 3))
    rot[:, 0, 0], rot[:, 0, 1], rot[:, 1, 0], rot[:, 1, 1], rot[:, 2, 2] = c, -s, s, c, 1.0
    v = tris.reshape(-1, 3)[None] * scale[:, None, :]
    v = np.einsum("pij,pvj->pvi", rot, v) + np.concatenate([xy, np.zeros((len(xy), 1))], axis=1)[:, None, :]
    n = np.einsum("pij,pvj->pvi", rot, nrm[None] / scale[:, None, :])
    n /= np.maximum(np.linalg.norm(n, axis=2, keepdims=True), 1e-12)
    return v.reshape(-1, 3, 3), np.tile(col, (len(xy), 1)), n.reshape(-1, 3)


def static_geometry(w: World) -> dict[str, Geometry]:
    """Static triangles of `w` per semantic class (ground, road, lane_marking, curb and the prop kinds):
    ground tiles, lane and junction surfaces, solid and dashed markings, crosswalk stripes, curbs (top and both
    faces) and the props placed at their poses (parked cars painted from the traffic palette)."""
    graph = w.lanes
    out = {}
    up = lambda t: np.tile([0.0, 0.0, 1.0], (len(t), 1))  # noqa: E731
    x0, y0, x1, y1 = w.bounds
    m = GROUND_MARGIN_M
    # Tiled: llvmpipe is very slow on a few huge triangles that cross the near plane.
    gx = np.arange(x0 - m, x1 + m + GROUND_TILE_M, GROUND_TILE_M)
    gy = np.arange(y0 - m, y1 + m + GROUND_TILE_M, GROUND_TILE_M)
    X, Y = np.meshgrid(gx, gy, indexing="ij")
    P = np.stack([X, Y, np.full_like(X, GROUND_Z)], axis=-1)
    a, b, c, d = P[:-1, :-1].reshape(-1, 3), P[1:, :-1].reshape(-1, 3), P[1:, 1:].reshape(-1, 3), P[:-1, 1:].reshape(-1, 3)
    ground = _face_up(np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)]))
    out["ground"] = (ground, np.tile(linear_rgb(COLOURS["ground"]), (len(ground), 1)), up(ground))
    road = []
    for i, lane in enumerate(graph.lanes):
        k = _decimate(lane.centerline)
        road.append(_strip(graph.boundary_polyline(i, "left")[k], graph.boundary_polyline(i, "right")[k], ROAD_Z))
    for j in w.junctions:
        p = np.concatenate([j.polygon, np.full((len(j.polygon), 1), ROAD_Z)], axis=1)
        road.append(_face_up(np.stack([np.repeat(p[:1], len(p) - 2, 0), p[1:-1], p[2:]], axis=1)))
    road = np.concatenate(road)
    out["road"] = (road, np.tile(linear_rgb(COLOURS["road"]), (len(road), 1)), up(road), road[..., :2] / TEXTURE_TILE_M)
    marks = []
    for lane in graph.lanes:
        if lane.junction_id >= 0:
            continue
        n = np.stack([-np.sin(lane.heading), np.cos(lane.heading)], axis=1)
        sides = [("right", lane.right_boundary, -0.5)]
        if lane.left_neighbor < 0:
            sides.append(("left", lane.left_boundary, 0.5))
        mid_s = 0.5 * (lane.s[1:] + lane.s[:-1])
        for _, kind, sign in sides:
            if kind == "none":
                continue
            line = lane.centerline + sign * lane.width * n
            h = 0.5 * MARKING_WIDTH_M * n
            if kind == "solid":
                k, keep = _decimate(lane.centerline), None
            else:
                on = np.mod(mid_s, DASH_M + GAP_M) < DASH_M  # per original segment
                k = _decimate(lane.centerline, force=np.nonzero(np.diff(on))[0] + 1)
                keep = on[k[:-1]]  # a kept span is all on or all off (changes are kept points)
            marks.append(_strip((line + h)[k], (line - h)[k], MARKING_Z, keep))
    marks.append(_zebras(w))
    if marks:
        marks = np.concatenate(marks)
        out["lane_marking"] = (marks, np.tile(linear_rgb(COLOURS["lane_marking"]), (len(marks), 1)), up(marks))
    curbs = []
    for line in w.curbs:
        if len(line) < 2:
            continue
        h = 0.5 * CURB_WIDTH_M * _normals2(line)
        k = _decimate(line)
        a, b = (line + h)[k], (line - h)[k]
        top = _strip(a, b, CURB_HEIGHT_M)
        for side in (a, b):
            lo = np.concatenate([side, np.zeros((len(side), 1))], axis=1)
            hi = lo + [0.0, 0.0, CURB_HEIGHT_M]
            curbs += [np.stack([lo[:-1], lo[1:], hi[1:]], axis=1), np.stack([lo[:-1], hi[1:], hi[:-1]], axis=1)]
        curbs.append(top)
    if curbs:
        curbs = np.concatenate(curbs)
        out["curb"] = (curbs, np.tile(linear_rgb(COLOURS["curb"]), (len(curbs), 1)), None)
    walks = _sidewalks(w)
    if len(walks):
        out["sidewalk"] = (walks, np.tile(linear_rgb(COLOURS["sidewalk"]), (len(walks), 1)), None)
    props = w.props
    for code, name in enumerate(PROP_KINDS):
        sel = props.kind == code
        if not np.any(sel):
            continue
        mesh, built = prop_mesh(name)
        tris, col, nrm = _placed(mesh, built, props.xy[sel], props.heading[sel], props.size[sel])
        if name == "parked_car":
            paint = np.all(np.isclose(col, linear_rgb(PART_COLOURS["paint"])), axis=1)
            per = len(col) // int(sel.sum())
            body = linear_rgb(PALETTE[np.arange(int(sel.sum())) % len(PALETTE)])
            col = np.where(paint[:, None], np.repeat(body, per, axis=0), col)
        out[name] = (tris, col, nrm)
    return {k: _geometry(*v) for k, v in out.items()}


def _zebras(w: World) -> np.ndarray:
    """(T,3,3) stripes of every crosswalk of `w` (``sim.traffic.vru_network.crosswalks``, where pedestrians
    cross): bars ZEBRA_BAR_M wide and CROSSWALK_WIDTH_M long along the road, ZEBRA_GAP_M apart, centred
    between the road's edges, at MARKING_Z."""
    cw = crosswalks(w)
    pitch = ZEBRA_BAR_M + ZEBRA_GAP_M
    quads = []
    for left, right, heading in zip(cw.left, cw.right, cw.heading):
        span = float(np.hypot(*(left - right)))
        across = (left - right) / span
        n = int((span - ZEBRA_GAP_M) // pitch)
        start = right + (0.5 * (span - n * pitch + ZEBRA_GAP_M) + pitch * np.arange(n))[:, None] * across
        along = 0.5 * CROSSWALK_WIDTH_M * np.array([np.cos(heading), np.sin(heading)])
        end = start + ZEBRA_BAR_M * across
        quads.append(np.stack([start - along, end - along, end + along, start + along], axis=1))
    if not quads:
        return np.zeros((0, 3, 3))
    q = np.concatenate(quads)
    q = np.concatenate([q, np.full(q.shape[:2] + (1,), MARKING_Z)], axis=2)
    return _face_up(np.concatenate([q[:, [0, 1, 2]], q[:, [0, 2, 3]]]))


def _sidewalks(w: World) -> np.ndarray:
    """(T,3,3) sidewalk slabs: top, outer face and end caps, SIDEWALK_WIDTH_M wide beside each curb on
    its off-road side. A curb segment gets no sidewalk where the slab would come within
    SIDEWALK_CLEAR_M of a lane or enter a junction area, or where a roadside parked car stands."""
    graph, props = w.lanes, w.props
    parked = (props.kind == PROP_KINDS.index("parked_car")) & ~props.on_lane
    cars = props.corners()[parked]
    car_tree = cKDTree(props.xy[parked]) if len(cars) else None
    out = []
    for line in w.curbs:
        if len(line) < 2:
            continue
        k = _decimate(line)
        p, n = line[k], _normals2(line)[k]
        probe = np.concatenate([p + n, p - n])  # 1 m beyond the curb on either side
        on = (graph.lanes_within(probe, 0.0) | graph.in_areas(probe)).reshape(2, -1).mean(axis=1)
        n = n if on[0] < on[1] else -n
        inner, outer = p + 0.5 * CURB_WIDTH_M * n, p + (0.5 * CURB_WIDTH_M + SIDEWALK_WIDTH_M) * n
        # Samples on each segment's slab (S, 9*5, 2): rows across no more than 0.25 m apart, columns
        # along no more than 0.5 m apart (decimated segments are <= MAX_STEP_M long).
        f = np.linspace(0.0, 1.0, 9)[:, None, None]
        g = np.linspace(0.0, 1.0, 5)[None, :, None]
        a0, a1, b0, b1 = inner[:-1, None, None], inner[1:, None, None], outer[:-1, None, None], outer[1:, None, None]
        pts = ((1 - g) * ((1 - f) * a0 + f * b0) + g * ((1 - f) * a1 + f * b1)).reshape(-1, 2)
        beyond = np.tile(np.repeat(f[:, 0, 0] > 0, 5), len(p) - 1)  # all but the row along the curb
        near = graph.lanes_within(pts, 0.1) | graph.in_areas(pts)
        near[beyond] |= graph.lanes_within(pts[beyond], SIDEWALK_CLEAR_M)
        if car_tree is not None:
            near |= _in_boxes(pts, cars, car_tree)
        keep = ~near.reshape(len(p) - 1, -1).any(axis=1)
        if keep.any():
            out.append(_slab(inner, outer, keep))
    return np.concatenate(out) if out else np.zeros((0, 3, 3))


def _in_boxes(xy: np.ndarray, corners: np.ndarray, tree: cKDTree) -> np.ndarray:
    """(M,) bool: point inside any of the (B,4,2) convex quads (either winding); `tree` over their centres."""
    reach = float(np.max(np.linalg.norm(corners - corners.mean(axis=1, keepdims=True), axis=2)))
    found = tree.query_ball_point(xy, reach)
    counts = np.fromiter(map(len, found), int, len(found))
    box = np.fromiter(itertools.chain.from_iterable(found), int, int(counts.sum()))
    q = np.repeat(np.arange(len(xy)), counts)
    c = corners[box]
    e, r = np.roll(c, -1, axis=1) - c, xy[q, None] - c
    cross = e[..., 0] * r[..., 1] - e[..., 1] * r[..., 0]
    inside = np.all(cross >= 0, axis=1) | np.all(cross <= 0, axis=1)
    return np.bincount(q[inside], minlength=len(xy)) > 0


def _slab(inner: np.ndarray, outer: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Top at CURB_HEIGHT_M between polylines inner and outer (N,2) over the kept segments, the outer
    vertical face, and end caps where a run of kept segments starts or stops."""
    z = CURB_HEIGHT_M
    lift = lambda q, h: np.concatenate([q, np.full((len(q), 1), h)], axis=1)  # noqa: E731
    top = _strip(inner, outer, z, keep)
    lo, hi = lift(outer, 0.0), lift(outer, z)
    face = np.concatenate([np.stack([lo[:-1], lo[1:], hi[1:]], axis=1), np.stack([lo[:-1], hi[1:], hi[:-1]], axis=1)])
    face = face[np.tile(keep, 2)]
    edges = np.diff(np.concatenate([[False], keep, [False]]).astype(int))
    ends = np.concatenate([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)])
    i_lo, i_hi, o_lo, o_hi = lift(inner[ends], 0.0), lift(inner[ends], z), lift(outer[ends], 0.0), lift(outer[ends], z)
    caps = np.concatenate([np.stack([i_lo, o_lo, o_hi], axis=1), np.stack([i_lo, o_hi, i_hi], axis=1)])
    return np.concatenate([top, face, caps])
