"""WorldScene: pyrender scenes of a World. ``scene`` (colour): one merged node per static chunk (all classes,
vertex colours), the sun, the camera and the actor nodes; ``seg_scene`` (segmentation): the per-class chunk
nodes below, the same actor and camera nodes. Originally: a pyrender scene of a World (static geometry in per-class spatial chunks, culled per render) plus one
node per actor, moved in place by ``update``.

World frame: x, y on the ground (m), z up. Static geometry is split per semantic class (ground,
road, lane_marking, curb, tree, pole, cone, parked_car) into CHUNK_M squares, one indexed mesh node
each (``static_nodes[class]`` is the list, ``chunk_nodes`` all of them). pyrender does no culling, so
before each render ``cull`` keeps in the scene only the chunks whose bounding box meets the
camera's frustum within ``max_range`` m (cull_mode "remove": others are taken out of the scene;
"visible": they stay with mesh.is_visible False). Road, marking and curb polylines are resampled
(a point every <= MAX_STEP_M m, more on curves). Each actor gets one mesh node, reused across updates (its pose matrix,
with the class mesh scaled to the actor's length/width/height, is rewritten); meshes are shared
by (class, colour). Invalid actors' nodes are taken out of the scene and put back when valid again.
"""
from __future__ import annotations

import numpy as np

from sim.assets.meshes import NOMINAL_SIZE, PART_COLOURS, prop_mesh, vehicle_mesh
from sim.traffic.vehicle_classes import CLASS_NAMES, PALETTE
from sim.world import PROP_KINDS, World

from .backend import select_platform

select_platform()
import pyrender  # noqa: E402  (after the platform is chosen)

SEMANTIC_CLASSES = ("sky", "ground", "road", "lane_marking", "curb", "tree", "pole", "cone", "parked_car",
                    *CLASS_NAMES, "ego")
"""Semantic class ids (index) of the segmentation pass; 0 is "nothing drawn" (sky)."""
SEMANTIC_ID = {name: i for i, name in enumerate(SEMANTIC_CLASSES)}

ROAD_Z = 0.0
MARKING_Z = 0.02
GROUND_Z = -0.03
MARKING_WIDTH_M = 0.15
DASH_M, GAP_M = 3.0, 6.0
CURB_WIDTH_M, CURB_HEIGHT_M = 0.25, 0.15
GROUND_MARGIN_M = 300.0
GROUND_TILE_M = 50.0
CHUNK_M = 160.0
"""Static geometry is split into CHUNK_M squares per semantic class (one node each) for culling."""
MAX_RANGE_M = 150.0
MAX_STEP_M = 2.0
MAX_TURN_RAD = 0.03
"""Road, marking and curb polylines are resampled: a point at least every MAX_STEP_M m of arc, and
wherever the heading turned by MAX_TURN_RAD since the last kept point."""
EGO_COLOUR = (235, 235, 240)
COLOURS = {"ground": (85, 120, 60), "road": (75, 75, 78), "lane_marking": (235, 235, 225),
           "curb": (165, 165, 160)}
SKY = (0.62, 0.74, 0.9)


def _linear(rgb) -> np.ndarray:
    """sRGB uint8 -> linear float (pyrender's shader applies the 1/2.2 gamma on output)."""
    return (np.asarray(rgb, float)[..., :3] / 255.0) ** 2.2


def _material():
    return pyrender.MetallicRoughnessMaterial(baseColorFactor=(1.0, 1.0, 1.0, 1.0), metallicFactor=0.0,
                                              roughnessFactor=0.9)


def _mesh(tris: np.ndarray, colours: np.ndarray, normals: np.ndarray | None = None) -> pyrender.Mesh:
    """tris (T,3,3) world-space triangles, colours (T,3) linear -> one-primitive flat-shaded mesh."""
    tris = np.asarray(tris, np.float32)
    if normals is None:
        n = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
        normals = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    col = np.concatenate([colours, np.ones((len(colours), 1))], axis=1)
    prim = pyrender.Primitive(positions=tris.reshape(-1, 3), normals=np.repeat(normals, 3, axis=0).astype(np.float32),
                              color_0=np.repeat(col, 3, axis=0).astype(np.float32), mode=4, material=_material())
    return pyrender.Mesh([prim])


def _indexed_mesh(tris: np.ndarray, colours: np.ndarray, normals: np.ndarray) -> pyrender.Mesh:
    """Like _mesh, but vertices with equal (position, normal, colour) are shared (indexed draw)."""
    tris = np.asarray(tris, np.float32)
    rows = np.concatenate([tris.reshape(-1, 3), np.repeat(np.asarray(normals, np.float32), 3, axis=0),
                           np.repeat(np.asarray(colours, np.float32), 3, axis=0)], axis=1)
    rows = np.ascontiguousarray(rows)
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    v = rows[first]
    col = np.concatenate([v[:, 6:9], np.ones((len(v), 1), np.float32)], axis=1)
    prim = pyrender.Primitive(positions=v[:, :3], normals=v[:, 3:6], color_0=col,
                              indices=inverse.reshape(-1, 3).astype(np.uint32), mode=4, material=_material())
    return pyrender.Mesh([prim])


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


def _trimesh_tris(mesh):
    """(T,3,3) triangles, (T,3) linear colours, (T,3) normals of a coloured trimesh."""
    return mesh.vertices[mesh.faces], _linear(mesh.visual.face_colors), mesh.face_normals


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
    tris, col, nrm = _trimesh_tris(mesh)
    scale = np.asarray(size, float) / np.asarray(built, float)  # (P,3)
    c, s = np.cos(heading), np.sin(heading)
    rot = np.zeros((len(xy), 3, 3))
    rot[:, 0, 0], rot[:, 0, 1], rot[:, 1, 0], rot[:, 1, 1], rot[:, 2, 2] = c, -s, s, c, 1.0
    v = tris.reshape(-1, 3)[None] * scale[:, None, :]
    v = np.einsum("pij,pvj->pvi", rot, v) + np.concatenate([xy, np.zeros((len(xy), 1))], axis=1)[:, None, :]
    n = np.einsum("pij,pvj->pvi", rot, nrm[None] / scale[:, None, :])
    n /= np.maximum(np.linalg.norm(n, axis=2, keepdims=True), 1e-12)
    return v.reshape(-1, 3, 3), np.tile(col, (len(xy), 1)), n.reshape(-1, 3)


def vehicle_colour(index: int) -> tuple[int, int, int]:
    """Default body colour of actor `index` (deterministic, from the traffic palette)."""
    return tuple(int(v) for v in PALETTE[(7 * index + 3) % len(PALETTE)])


class WorldScene:
    """pyrender scene of `world`. Attributes: ``scene`` (pyrender.Scene), ``static_nodes``
    {semantic class name: Node}, ``actor_nodes`` list (index = actor column; None if never valid),
    ``camera_node`` (IntrinsicsCamera, posed by sim.render.passes), ``seg_node_map`` {Node: (3,) uint8}
    (R = semantic id, G*256 + B = actor index + 1). ``draw_ego``: draw actors of kind -1."""

    def __init__(self, world: World, draw_ego: bool = False, ambient: float = 0.35, sun_intensity: float = 3.0,
                 max_range: float = MAX_RANGE_M, chunk_m: float = CHUNK_M, cull_mode: str = "remove"):
        self.world = world
        self.draw_ego = draw_ego
        self.max_range = float(max_range)
        self.cull_mode = cull_mode
        self.chunk_m = float(chunk_m)
        self.chunk_nodes: list[pyrender.Node] = []
        self._chunk_boxes_list: list = []
        self.scene = pyrender.Scene(bg_color=(*SKY, 1.0), ambient_light=(ambient, ambient, ambient))
        self.seg_scene = pyrender.Scene(bg_color=(0.0, 0.0, 0.0, 1.0))
        self.static_nodes: dict[str, list[pyrender.Node]] = {}
        self.seg_node_map: dict[pyrender.Node, np.ndarray] = {}
        self.actor_nodes: list[pyrender.Node | None] = []
        self._actor_key: list[tuple | None] = []
        self._mesh_cache: dict[tuple, pyrender.Mesh] = {}
        merged = []
        for name, (tris, col, nrm) in self._static_geometry().items():
            if len(tris):
                tris = np.asarray(tris, float)
                if nrm is None:
                    n = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
                    nrm = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
                self._add_static(name, tris, col, nrm)
                merged.append((tris, np.asarray(col, float), np.asarray(nrm, float)))
        self._chunk_boxes = np.asarray(self._chunk_boxes_list).reshape(-1, 2, 3)
        self._chunk_in = np.ones(len(self.chunk_nodes), bool)  # all in seg_scene until the first cull
        # colour scene: one merged node per chunk (all static classes, vertex colours)
        self.colour_chunk_nodes: list[pyrender.Node] = []
        boxes = []
        if merged:
            tris = np.concatenate([m[0] for m in merged])
            col = np.concatenate([m[1] for m in merged])
            nrm = np.concatenate([m[2] for m in merged])
            for g, sel in enumerate(self._chunks(tris)):
                t = tris[sel]
                self.colour_chunk_nodes.append(self.scene.add(_indexed_mesh(t, col[sel], nrm[sel]), name=f"chunk:{g}"))
                boxes.append(np.stack([t.reshape(-1, 3).min(0), t.reshape(-1, 3).max(0)]))
        self._colour_boxes = np.asarray(boxes).reshape(-1, 2, 3)
        self._colour_in = np.ones(len(self.colour_chunk_nodes), bool)
        sun = np.eye(4)
        sun[:3, :3] = _look_rotation(np.array([0.4, 0.3, -0.85]))
        self.scene.add(pyrender.DirectionalLight(color=np.ones(3), intensity=sun_intensity), pose=sun)
        self.camera = pyrender.IntrinsicsCamera(fx=100.0, fy=100.0, cx=50.0, cy=50.0, znear=0.1, zfar=2000.0)
        self.camera_node = self.scene.add(self.camera, pose=np.eye(4))
        self.seg_scene.add_node(self.camera_node)
        # actor bounding spheres (centre (N,3), radius (N,)), and which actor nodes are shown
        self._actor_centre = np.zeros((0, 3))
        self._actor_radius = np.zeros(0)
        self._actor_shown = np.zeros(0, bool)

    # ------------------------------------------------------------------ static
    def _chunks(self, tris: np.ndarray) -> list:
        """Index arrays of `tris` (T,3,3) per chunk_m square (by triangle centroid)."""
        cell = np.floor(tris.mean(axis=1)[:, :2] / self.chunk_m).astype(np.int64)
        _, group = np.unique(cell, axis=0, return_inverse=True)
        group = group.ravel()
        order = np.argsort(group, kind="stable")
        bounds = np.searchsorted(group[order], np.arange(group.max() + 2))
        return [order[bounds[g]:bounds[g + 1]] for g in range(len(bounds) - 1)]

    def _add_static(self, name: str, tris, col, nrm):
        """One indexed mesh node of seg_scene per chunk_m square of class `name`."""
        self.static_nodes[name] = []
        for sel in self._chunks(tris):
            t = tris[sel]
            node = pyrender.Node(name=f"{name}:{len(self.static_nodes[name])}",
                                 mesh=_indexed_mesh(t, col[sel], nrm[sel]))
            self.seg_scene.add_node(node)
            self.static_nodes[name].append(node)
            self.chunk_nodes.append(node)
            self._chunk_boxes_list.append(np.stack([t.reshape(-1, 3).min(0), t.reshape(-1, 3).max(0)]))
            self.seg_node_map[node] = np.array([SEMANTIC_ID[name], 0, 0], np.uint8)

    def chunks_in_view(self, pose: np.ndarray, fx: float, fy: float, cx: float, cy: float, width: int,
                       height: int, znear: float = 0.1, boxes: np.ndarray | None = None) -> np.ndarray:
        """(C,) bool: static chunk i's bounding box (default: the per-class chunks of seg_scene,
        ``chunk_nodes``) may intersect the view frustum of a camera at world-from-camera `pose`
        (OpenCV axes) with these intrinsics, cut at ``max_range`` m (both along the axis and as
        distance from the camera). Conservative: never drops a visible chunk."""
        boxes = self._chunk_boxes if boxes is None else boxes
        if not len(boxes):
            return np.zeros(0, bool)
        lo, hi = boxes[:, 0], boxes[:, 1]
        corners = np.stack([np.where(np.array(m, bool), hi, lo) for m in np.ndindex(2, 2, 2)], axis=1)  # (C,8,3)
        R, t = pose[:3, :3], pose[:3, 3]
        p = (corners - t) @ R  # camera coordinates (x right, y down, z forward)
        X, Y, Z = p[..., 0], p[..., 1], p[..., 2]
        r = self.max_range
        out = (np.all(Z < znear, axis=1) | np.all(Z > r, axis=1)
               | np.all(fx * X + cx * Z < 0, axis=1) | np.all(fx * X + (cx - width) * Z > 0, axis=1)
               | np.all(fy * Y + cy * Z < 0, axis=1) | np.all(fy * Y + (cy - height) * Z > 0, axis=1))
        gap = np.maximum(np.maximum(lo - t, t - hi), 0.0)
        out |= np.einsum("ij,ij->i", gap, gap) > r * r
        return ~out

    def actors_in_view(self, pose: np.ndarray, fx: float, fy: float, cx: float, cy: float, width: int,
                       height: int, znear: float = 0.1) -> np.ndarray:
        """(N,) bool over actor columns: shown (valid, drawn) and its bounding sphere may meet the
        view frustum within ``max_range`` m. Conservative."""
        shown = self._actor_shown
        if not shown.any():
            return shown.copy()
        R, t = pose[:3, :3], pose[:3, 3]
        p = (self._actor_centre - t) @ R
        X, Y, Z = p[:, 0], p[:, 1], p[:, 2]
        r = self._actor_radius
        inv = lambda a, b: 1.0 / np.hypot(a, b)  # noqa: E731
        ok = (Z + r >= znear) & (np.einsum("ij,ij->i", p, p) <= (self.max_range + r) ** 2)
        ok &= (fx * X + cx * Z) * inv(fx, cx) >= -r
        ok &= -(fx * X + (cx - width) * Z) * inv(fx, cx - width) >= -r
        ok &= (fy * Y + cy * Z) * inv(fy, cy) >= -r
        ok &= -(fy * Y + (cy - height) * Z) * inv(fy, cy - height) >= -r
        return shown & ok

    def _cull_set(self, scene, nodes, boxes, state, want):
        for i in np.nonzero(want != state)[0]:
            node = nodes[i]
            if self.cull_mode == "visible":
                node.mesh.is_visible = bool(want[i])
            elif want[i]:
                scene.add_node(node)
            else:
                scene.remove_node(node)
        return want

    def cull(self, pose: np.ndarray, fx: float, fy: float, cx: float, cy: float, width: int, height: int,
             znear: float = 0.1, which=("colour", "seg")) -> int:
        """Put exactly the static chunks in view into the scene(s) named in `which` ("colour":
        ``scene``'s merged chunks, "seg": ``seg_scene``'s per-class chunks; others are taken out:
        pyrender sorts and visits every node in a scene on every render); returns how many
        per-class chunks are in (or merged chunks when only "colour")."""
        n = 0
        if "colour" in which:
            want = self.chunks_in_view(pose, fx, fy, cx, cy, width, height, znear, self._colour_boxes)
            self._colour_in = self._cull_set(self.scene, self.colour_chunk_nodes, self._colour_boxes,
                                             self._colour_in, want)
            n = int(want.sum())
        if "seg" in which:
            want = self.chunks_in_view(pose, fx, fy, cx, cy, width, height, znear)
            self._chunk_in = self._cull_set(self.seg_scene, self.chunk_nodes, self._chunk_boxes, self._chunk_in, want)
            n = int(want.sum())
        return n

    def uncull(self, which=("colour", "seg")) -> None:
        """Put every static chunk back into the scene(s)."""
        if "colour" in which:
            self._colour_in = self._cull_set(self.scene, self.colour_chunk_nodes, None, self._colour_in,
                                             np.ones(len(self.colour_chunk_nodes), bool))
        if "seg" in which:
            self._chunk_in = self._cull_set(self.seg_scene, self.chunk_nodes, None, self._chunk_in,
                                            np.ones(len(self.chunk_nodes), bool))

    def visible_chunk_nodes(self) -> list:
        """Per-class static chunk nodes currently in seg_scene (drawn by the next segmentation render)."""
        return [n for n, v in zip(self.chunk_nodes, self._chunk_in) if v]

    def draw_list(self, which: str, actors_visible: np.ndarray | None = None) -> list:
        """Mesh nodes to draw for `which` ("colour" or "seg"): static chunks in that scene plus the
        actor nodes with actors_visible True (default: every shown actor)."""
        if which == "colour":
            nodes, state = self.colour_chunk_nodes, self._colour_in
        else:
            nodes, state = self.chunk_nodes, self._chunk_in
        out = [n for n, v in zip(nodes, state) if v]
        vis = self._actor_shown if actors_visible is None else actors_visible
        out += [self.actor_nodes[i] for i in np.nonzero(vis)[0]]
        return out

    def _static_geometry(self) -> dict:
        w = self.world
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
        out["ground"] = (ground, np.tile(_linear(COLOURS["ground"]), (len(ground), 1)), up(ground))
        road = []
        for i, lane in enumerate(graph.lanes):
            k = _decimate(lane.centerline)
            road.append(_strip(graph.boundary_polyline(i, "left")[k], graph.boundary_polyline(i, "right")[k], ROAD_Z))
        for j in w.junctions:
            p = np.concatenate([j.polygon, np.full((len(j.polygon), 1), ROAD_Z)], axis=1)
            road.append(_face_up(np.stack([np.repeat(p[:1], len(p) - 2, 0), p[1:-1], p[2:]], axis=1)))
        road = np.concatenate(road)
        out["road"] = (road, np.tile(_linear(COLOURS["road"]), (len(road), 1)), up(road))
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
        if marks:
            marks = np.concatenate(marks)
            out["lane_marking"] = (marks, np.tile(_linear(COLOURS["lane_marking"]), (len(marks), 1)), up(marks))
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
            out["curb"] = (curbs, np.tile(_linear(COLOURS["curb"]), (len(curbs), 1)), None)
        props = w.props
        for code, name in enumerate(PROP_KINDS):
            sel = props.kind == code
            if not np.any(sel):
                continue
            mesh, built = prop_mesh(name)
            tris, col, nrm = _placed(mesh, built, props.xy[sel], props.heading[sel], props.size[sel])
            if name == "parked_car":
                paint = np.all(np.isclose(col, _linear(PART_COLOURS["paint"])), axis=1)
                per = len(col) // int(sel.sum())
                body = _linear(PALETTE[np.arange(int(sel.sum())) % len(PALETTE)])
                col = np.where(paint[:, None], np.repeat(body, per, axis=0), col)
            out[name] = (tris, col, nrm)
        if "curb" in out and out["curb"][2] is None:
            out["curb"] = (out["curb"][0], out["curb"][1], None)
        return {k: (t, c, n) for k, (t, c, n) in out.items()}

    # ------------------------------------------------------------------ actors
    def _vehicle_mesh(self, kind: int, colour: tuple[int, int, int]):
        key = (kind, colour)
        mesh = self._mesh_cache.get(key)
        if mesh is None:
            name = "car" if kind < 0 else CLASS_NAMES[kind]
            tri = vehicle_mesh(name)
            tris, col, nrm = _trimesh_tris(tri)
            paint = np.all(np.isclose(col, _linear(PART_COLOURS["paint"])), axis=1)
            col = np.where(paint[:, None], _linear(colour)[None], col)
            mesh = self._mesh_cache[key] = _mesh(tris, col, nrm)
        return mesh

    def update(self, actors_table: np.ndarray, kind: np.ndarray, valid: np.ndarray, colours=None) -> None:
        """Move the actor nodes to this step's poses without rebuilding the scene.

        actors_table: (7, N) rows sim.env.simulation.ACTOR_FIELDS (x, y m, heading rad, speed m/s,
        length, width, height m); kind (N,) int: -1 ego, else an index into CLASS_NAMES; valid (N,)
        bool; colours: optional (N,3) uint8 body colours (default ``vehicle_colour(i)``). An actor's
        node is created the first time it is valid and then only re-posed; a new node replaces it
        only if its kind or colour changes."""
        table = np.asarray(actors_table, float)
        kind = np.asarray(kind, int)
        valid = np.asarray(valid, bool)
        n = table.shape[1]
        if kind.shape != (n,) or valid.shape != (n,) or table.shape[0] < 7:
            raise ValueError(f"WorldScene.update: need table (7,N), kind (N,), valid (N,); got "
                             f"{table.shape}, {kind.shape}, {valid.shape}")
        while len(self.actor_nodes) < n:
            self.actor_nodes.append(None)
            self._actor_key.append(None)
        x, y, heading, _, length, width, height = table[:7]
        m = len(self.actor_nodes)
        shown, centre, radius = np.zeros(m, bool), np.zeros((m, 3)), np.zeros(m)
        for i in range(len(self.actor_nodes)):
            node = self.actor_nodes[i]
            show = i < n and valid[i] and (kind[i] >= 0 or self.draw_ego)
            if not show:
                if node is not None and node in self.scene.nodes:
                    self.scene.remove_node(node)
                    self.seg_scene.remove_node(node)
                continue
            k = int(kind[i])
            colour = EGO_COLOUR if k < 0 else (vehicle_colour(i) if colours is None else
                                               tuple(int(v) for v in colours[i]))
            key = (k, colour)
            if node is None or self._actor_key[i] != key:
                if node is not None:
                    if node in self.scene.nodes:
                        self.scene.remove_node(node)
                        self.seg_scene.remove_node(node)
                    self.seg_node_map.pop(node, None)
                node = pyrender.Node(name=f"actor{i}", mesh=self._vehicle_mesh(k, colour), matrix=np.eye(4))
                self.actor_nodes[i], self._actor_key[i] = node, key
                sem = SEMANTIC_ID["ego" if k < 0 else CLASS_NAMES[k]]
                self.seg_node_map[node] = np.array([sem, (i + 1) >> 8, (i + 1) & 255], np.uint8)
            nominal = NOMINAL_SIZE["car" if k < 0 else CLASS_NAMES[k]]
            c, s = np.cos(heading[i]), np.sin(heading[i])
            pose = np.array([[c * length[i] / nominal[0], -s * width[i] / nominal[1], 0.0, x[i]],
                             [s * length[i] / nominal[0], c * width[i] / nominal[1], 0.0, y[i]],
                             [0.0, 0.0, height[i] / nominal[2], 0.0],
                             [0.0, 0.0, 0.0, 1.0]])
            if node not in self.scene.nodes:
                self.scene.add_node(node)
                self.seg_scene.add_node(node)
            node._matrix = pose  # what Scene.set_pose does; the node is shared by scene and seg_scene
            shown[i] = True
            centre[i] = (x[i], y[i], 0.5 * height[i])
            radius[i] = 0.5 * np.sqrt(length[i] ** 2 + width[i] ** 2 + height[i] ** 2)
        self._actor_shown, self._actor_centre, self._actor_radius = shown, centre, radius


def _look_rotation(direction: np.ndarray) -> np.ndarray:
    """Rotation whose -z axis (OpenGL forward) points along `direction`."""
    f = direction / np.linalg.norm(direction)
    z = -f
    x = np.cross([0.0, 0.0, 1.0], z)
    if np.linalg.norm(x) < 1e-6:
        x = np.array([1.0, 0.0, 0.0])
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z], axis=1)
