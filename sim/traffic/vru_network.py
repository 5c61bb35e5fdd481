"""Walking network of a world: sidewalk centre lines, crosswalks across the arms of junctions, mid-block
crossing points and corner links between sidewalk ends. Built from the geometry alone (no random draws),
once per world; ``sim.assets.road`` paints its zebra stripes from the same ``crosswalks``.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d
from scipy.spatial import cKDTree

CROSSWALK_WIDTH_M = 3.0
"""Width of a crosswalk band, measured along the road, m."""
CROSSWALK_SETBACK_M = 0.5
"""Gap between a junction entry (where the road's lanes end) and the near edge of its crosswalk, m."""
CROSSWALK_JUNCTIONS = ("four_way", "t_junction")
SIDEWALK_OFFSET_M = 1.125
"""Curb line to sidewalk centre line: half a curb (0.25 m) plus half a sidewalk (2 m), as in sim.assets.road."""
SIDEWALK_HALF_M = 0.8
"""Pedestrians keep their centre within this lateral distance of the sidewalk centre line, m."""
ROAD_CLEAR_M = 0.2
"""Every point of a walkable sidewalk band stays this far beyond any lane, m."""
PROP_CLEAR_M = 0.25
"""Pedestrians keep their centre this far outside a prop's footprint, m (tree footprints are the trunk)."""
TRUNK_M = 0.3
AVOID_AHEAD_M = 3.0
"""Lateral room around a prop is narrowed over this distance before and after it, m."""
MIN_ROOM_M = 0.4
"""A sidewalk point with a free band narrower than this is not walkable, m."""
MIN_LINE_M = 3.0
"""Shortest sidewalk piece kept, m."""
MIDBLOCK_SPACING_M = 25.0
"""Spacing of candidate mid-block crossing points along a road, m."""
MIDBLOCK_CLEAR_M = 20.0
"""Mid-block points keep this far from junction areas and crosswalks, m."""
SNAP_M = (2.5, 0.75)
"""Largest distance from an ideal crossing end to the sidewalk point it snaps to: crosswalk, mid-block, m."""
CORNER_LINK_M = 12.0
"""Longest off-road link joining the ends of two sidewalk pieces (around a junction corner), m."""
KERB_STAND_M = 0.4
"""A waiting pedestrian's centre stands this far back from the carriageway, m."""
LINK_KINDS = ("crosswalk", "midblock", "corner")
CROSSWALK, MIDBLOCK, CORNER = 0, 1, 2
LINK_HALF_WIDTH_M = (0.5 * CROSSWALK_WIDTH_M, 0.6, 0.5)
"""Half width of the band walked along each kind of link, m."""


class Crosswalks(NamedTuple):
    """Zebra crossings, one across each road arm of a four-way or T junction. Shapes (K,...), m and rad.

    ``left``, ``right`` (K,2): ends of the band's centre line on the road's left and right edges;
    ``heading`` (K,): road direction towards the junction; ``road``, ``junction`` (K,) ids."""

    left: np.ndarray
    right: np.ndarray
    heading: np.ndarray
    road: np.ndarray
    junction: np.ndarray


@dataclass(frozen=True, eq=False)
class WalkNetwork:
    """Where pedestrians walk. Sidewalk lines are flattened: ``points`` (P,2) m, ``u`` (P,) m arc length
    along their line, ``lo``/``hi`` (P,) m the lateral offsets (left of the line positive) clear of props;
    line i holds points ``line_start[i]`` .. ``+ line_count[i]``.

    Links (K,) join two sidewalk points ``a``, ``b`` (K,2) m with a straight walk: ``kind`` index into
    LINK_KINDS; ``line``/``u`` (K,2) the sidewalk line and arc position of each end; ``kerb`` (K,2) m from
    each end to where a pedestrian waits for a gap (0 for corner links); ``half_width`` (K,) m.
    Entries (E,) are the link ends sorted by line and arc position: ``entry_link``, ``entry_u``; line i owns
    entries ``line_entries[i]`` .. ``line_entries[i + 1]``.

    For cyclists: ``lane_curvature`` (Q,) 1/m at each lane-graph centerline point; ``ride_ok`` (L,) bool lanes
    cyclists prefer at a fork (no ramps, limits up to CYCLE_MAX_LIMIT_MPS, no U-turn loops); ``ride_room`` (L,)
    m the longest ride from a lane's start before a dead end (up to RIDE_ROOM_CAP_M), -1 for the U-turn loops
    at dead ends, which cyclists never ride; ``cycle_points`` (C,) lane-graph points where cyclists may start
    (rightmost ``ride_ok`` lanes outside junctions, CYCLE_START_ROOM_M or more from a dead end), indexed by
    ``cycle_tree``."""

    points: np.ndarray
    point_line: np.ndarray
    u: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    line_start: np.ndarray
    line_count: np.ndarray
    a: np.ndarray
    b: np.ndarray
    kind: np.ndarray
    line: np.ndarray
    u_end: np.ndarray
    kerb: np.ndarray
    half_width: np.ndarray
    entry_link: np.ndarray
    entry_u: np.ndarray
    line_entries: np.ndarray
    lane_curvature: np.ndarray
    ride_ok: np.ndarray
    ride_room: np.ndarray
    cycle_points: np.ndarray
    cycle_tree: cKDTree
    tree: cKDTree

    @property
    def n_lines(self) -> int:
        return int(self.line_start.shape[0])

    @property
    def n_links(self) -> int:
        return int(self.kind.shape[0])

    def line_length(self, i: int) -> float:
        return float(self.u[self.line_start[i] + self.line_count[i] - 1])

    def nearest_link(self, xy, kind: int = CROSSWALK) -> int:
        """Id of the link of `kind` whose midpoint is nearest to `xy` (2,) m; -1 when there is none."""
        ids = np.flatnonzero(self.kind == kind)
        if ids.size == 0:
            return -1
        mid = 0.5 * (self.a[ids] + self.b[ids])
        return int(ids[np.argmin(np.hypot(*(mid - np.asarray(xy, float)).T))])


CYCLE_MAX_LIMIT_MPS = 20.0
"""Cyclists ride lanes whose speed limit is at most this, m/s."""
CYCLE_POINT_STRIDE = 4
"""Every this many lane-graph centerline points (0.5 m apart) is a cyclist start spot."""
RIDE_ROOM_CAP_M = 1000.0
CYCLE_START_ROOM_M = 100.0
"""A cyclist starts only where it can ride this far before a dead end, m."""


def crosswalks(world) -> Crosswalks:
    """The crosswalks of `world`: a band CROSSWALK_WIDTH_M wide, CROSSWALK_SETBACK_M before where each road
    arm of a four-way or T junction enters it, spanning the road from edge to edge."""
    graph = world.lanes
    rows = []
    dist = CROSSWALK_SETBACK_M + 0.5 * CROSSWALK_WIDTH_M
    for j in world.junctions:
        if j.kind not in CROSSWALK_JUNCTIONS:
            continue
        arms = sorted({int(graph.lane_road[i]) for i in j.incoming_lanes + j.outgoing_lanes} - {-1})
        for r in arms:
            road = world.roads[r]
            ref = road.reference
            s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(ref, axis=0).T))])
            if s[-1] < 4.0 * dist:
                continue
            at_end = np.hypot(*(ref[-1] - j.center)) < np.hypot(*(ref[0] - j.center))
            q = s[-1] - dist if at_end else dist
            at = lambda p: np.array([np.interp(q, s, p[:, 0]), np.interp(q, s, p[:, 1])])  # noqa: E731
            t = at(ref) - np.array([np.interp(q - 0.5, s, ref[:, 0]), np.interp(q - 0.5, s, ref[:, 1])])
            heading = np.arctan2(t[1], t[0]) + (0.0 if at_end else np.pi)
            rows.append((at(road.left_edge), at(road.right_edge), heading, r, j.id))
    if not rows:
        return Crosswalks(np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0), np.zeros(0, int), np.zeros(0, int))
    left, right, heading, road, junction = zip(*rows)
    return Crosswalks(np.array(left), np.array(right), np.array(heading), np.array(road), np.array(junction))


def walk_network(world) -> WalkNetwork:
    """The walking network of `world` (deterministic; build once and keep it)."""
    graph = world.lanes
    boxes = _prop_boxes(world.props)
    queries = _Queries(graph)
    lines = _sidewalk_lines(world, boxes, queries)
    points = np.concatenate([p for p, _, _ in lines]) if lines else np.zeros((0, 2))
    counts = np.array([len(p) for p, _, _ in lines], np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    u = np.concatenate([_arc(p) for p, _, _ in lines]) if lines else np.zeros(0)
    lo = np.concatenate([x for _, x, _ in lines]) if lines else np.zeros(0)
    hi = np.concatenate([x for _, _, x in lines]) if lines else np.zeros(0)
    point_line = np.repeat(np.arange(len(lines)), counts)
    tree = cKDTree(points if len(points) else np.full((1, 2), 1e12))

    ideal = []  # (end a, end b, kind, snap distance, road id or -1)
    cw = crosswalks(world)
    for left, right in zip(cw.left, cw.right):
        out = (left - right) / max(np.hypot(*(left - right)), 1e-9)
        ideal.append((left + SIDEWALK_OFFSET_M * out, right - SIDEWALK_OFFSET_M * out, CROSSWALK, SNAP_M[0], -1))
    for road in world.roads:
        if road.kind != "road":
            continue
        for pa, pb in _midblock_candidates(world, road, cw):
            ideal.append((pa, pb, MIDBLOCK, SNAP_M[1], road.id))
    links = []
    for pa, pb, kind, snap, road_id in ideal:
        da, ia = tree.query(pa)
        db, ib = tree.query(pb)
        if da > snap or db > snap or point_line[ia] == point_line[ib]:
            continue
        kerb = _kerbs(graph, points[ia], points[ib], road_id)
        if kerb is not None:
            links.append((ia, ib, kind, kerb))
    links += _corner_links(graph, points, starts, counts, boxes)

    k = len(links)
    ia = np.array([x[0] for x in links], np.int64).reshape(k)
    ib = np.array([x[1] for x in links], np.int64).reshape(k)
    kind = np.array([x[2] for x in links], np.int8).reshape(k)
    kerb = np.array([x[3] for x in links], float).reshape(k, 2)
    line = np.stack([point_line[ia], point_line[ib]], axis=1).astype(np.int64).reshape(k, 2)
    u_end = np.stack([u[ia], u[ib]], axis=1).reshape(k, 2)
    e_link = np.repeat(np.arange(k), 2)
    e_line, e_u = line.reshape(-1), u_end.reshape(-1)
    order = np.lexsort((e_link, e_u, e_line))
    line_entries = np.searchsorted(e_line[order], np.arange(len(lines) + 1)).astype(np.int64)
    ride_ok, ride_room, cycle_points = _cycling(world)
    return WalkNetwork(points, point_line.astype(np.int64), u, lo, hi, starts, counts, points[ia].reshape(k, 2),
                       points[ib].reshape(k, 2), kind, line, u_end, kerb, np.array(LINK_HALF_WIDTH_M)[kind.astype(int)],
                       e_link[order].astype(np.int64), e_u[order], line_entries,
                       np.concatenate([lane.curvature for lane in graph.lanes]), ride_ok, ride_room, cycle_points,
                       cKDTree(graph.points[cycle_points] if len(cycle_points) else np.full((1, 2), 1e12)), tree)


# ------------------------------------------------------------------------------------------- internals
def _arc(p: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(p, axis=0).T))])


def _normals(points: np.ndarray) -> np.ndarray:
    d = np.gradient(points, axis=0)
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
    return np.stack([-d[:, 1], d[:, 0]], axis=1)


def _prop_boxes(props):
    """Footprints pedestrians walk around, grown by PROP_CLEAR_M: (centre (B,2), heading (B,), half (B,2))."""
    keep = ~props.on_lane
    half = 0.5 * props.size[keep, :2].copy()
    tree = props.kind[keep] == 0  # PROP_KINDS[0] == "tree": only the trunk is in the way
    half[tree] = 0.5 * TRUNK_M
    return props.xy[keep], props.heading[keep], half + PROP_CLEAR_M


def _in_boxes(xy: np.ndarray, boxes) -> np.ndarray:
    """(M,) bool: point inside any box of `boxes` (see _prop_boxes)."""
    centre, heading, half = boxes
    out = np.zeros(len(xy), bool)
    if len(centre) == 0 or len(xy) == 0:
        return out
    found = cKDTree(centre).query_ball_point(xy, float(np.hypot(*half.T).max()))
    counts = np.fromiter(map(len, found), int, len(found))
    box = np.fromiter(itertools.chain.from_iterable(found), int, int(counts.sum()))
    q = np.repeat(np.arange(len(xy)), counts)
    rel = xy[q] - centre[box]
    c, s = np.cos(heading[box]), np.sin(heading[box])
    inside = ((np.abs(rel[:, 0] * c + rel[:, 1] * s) <= half[box, 0])
              & (np.abs(rel[:, 1] * c - rel[:, 0] * s) <= half[box, 1]))
    out[q[inside]] = True
    return out


def _sidewalk_lines(world, boxes, queries):
    """Walkable sidewalk pieces: (centre line (N,2), lo (N,), hi (N,)) beside each curb on its off-road side
    (the side chosen as in sim.assets.road), split where the band meets a lane, a junction area or props."""
    across = np.linspace(-SIDEWALK_HALF_M, SIDEWALK_HALF_M, 9)
    curbs = [c for c in world.curbs if len(c) >= 2]
    if not curbs:
        return []
    # The point queries of all curbs at once (each point's answer is its own: the same as curb by curb).
    normals = [_normals(c) for c in curbs]
    sizes = [len(c) for c in curbs]
    probe = np.concatenate([np.concatenate([c + n, c - n]) for c, n in zip(curbs, normals)])
    on_road = _split(queries.lanes_within(probe, 0.0) | queries.in_areas(probe), [2 * k for k in sizes])
    normals = [n if on.reshape(2, -1).mean(axis=1)[0] < on.reshape(2, -1).mean(axis=1)[1] else -n
               for n, on in zip(normals, on_road)]
    centres = [c + SIDEWALK_OFFSET_M * n for c, n in zip(curbs, normals)]
    band = np.concatenate([(c[:, None] + across[None, :, None] * n[:, None]).reshape(-1, 2)
                           for c, n in zip(centres, normals)])
    clear = _split(~(queries.lanes_within(band, ROAD_CLEAR_M) | queries.in_areas(band)), [9 * k for k in sizes])
    in_box = _split(_in_boxes(band, boxes), [9 * k for k in sizes])
    out = []
    for curb, n, centre, free, box in zip(curbs, normals, centres, clear, in_box):
        ok = free.reshape(len(curb), -1).all(axis=1)
        blocked = box.reshape(len(curb), -1)
        lo, hi = np.full(len(curb), across[0]), np.full(len(curb), across[-1])
        for i in np.flatnonzero(blocked.any(axis=1)):
            lo[i], hi[i] = _free_run(blocked[i], across)
        ok &= hi - lo >= MIN_ROOM_M
        # The polyline's left normal may point towards or away from the road: offsets are kept left-positive.
        idx = np.flatnonzero(ok)
        for run in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1):
            if len(run) < 2 or _arc(centre[run])[-1] < MIN_LINE_M:
                continue
            sign = 1.0 if np.sum(_normals(centre[run]) * n[run]) > 0 else -1.0
            r_lo, r_hi = (lo[run], hi[run]) if sign > 0 else (-hi[run], -lo[run])
            w = 2 * int(np.ceil(AVOID_AHEAD_M / 0.5)) + 1
            s_lo, s_hi = maximum_filter1d(r_lo, w, mode="nearest"), minimum_filter1d(r_hi, w, mode="nearest")
            narrow = s_hi - s_lo < MIN_ROOM_M
            s_lo[narrow], s_hi[narrow] = r_lo[narrow], r_hi[narrow]
            out.append((centre[run], s_lo, s_hi))
    return out


class _Queries:
    """``LaneGraph.lanes_within`` and ``in_areas`` with the same answers, faster for many points mostly off the
    road: lanes are asked only about points with a centerline sample near enough to matter (a cheap
    nearest-neighbour query first), each junction area only about the points in its bounding box."""

    def __init__(self, graph):
        self.graph = graph
        self.tree = cKDTree(graph.points)
        self.reach = float(0.5 * graph.lane_width.max() + graph.lane_spacing.max())
        self.areas = [(p.min(axis=0) - 1e-6, p.max(axis=0) + 1e-6, p, np.roll(p, -1, axis=0) - p) for p in graph.areas]

    def lanes_within(self, xy: np.ndarray, margin: float, exclude_roads: tuple[int, ...] = ()) -> np.ndarray:
        dist, _ = self.tree.query(xy, distance_upper_bound=self.reach + margin)
        out = np.zeros(len(xy), bool)
        near = np.flatnonzero(np.isfinite(dist))
        if near.size:
            out[near] = self.graph.lanes_within(xy[near], margin, exclude_roads)
        return out

    def in_areas(self, xy: np.ndarray) -> np.ndarray:
        out = np.zeros(len(xy), bool)
        for lo, hi, a, e in self.areas:
            idx = np.flatnonzero(np.all((xy >= lo) & (xy <= hi), axis=1))
            if idx.size:
                p = xy[idx]
                cross = e[None, :, 0] * (p[:, None, 1] - a[None, :, 1]) - e[None, :, 1] * (p[:, None, 0] - a[None, :, 0])
                out[idx] |= np.all(cross >= -1e-9, axis=1)
        return out


def _split(values: np.ndarray, sizes) -> list[np.ndarray]:
    """`values` cut into consecutive pieces of `sizes`."""
    return np.split(values, np.cumsum(sizes)[:-1])


def _free_run(blocked: np.ndarray, across: np.ndarray) -> tuple[float, float]:
    """(lo, hi) of the widest run of unblocked samples; an empty band where all are blocked."""
    best, start, span = (0.0, -1.0), None, -1
    for k, b in enumerate(np.append(blocked, True)):
        if not b and start is None:
            start = k
        elif b and start is not None:
            if k - 1 - start > span:
                span, best = k - 1 - start, (across[start], across[k - 1])
            start = None
    return best


def _kerbs(graph, a: np.ndarray, b: np.ndarray, road_id: int):
    """(kerb from a, kerb from b) m along the link a-b to where a pedestrian waits, KERB_STAND_M before the
    first point on the carriageway; None when the link touches no road or (road_id >= 0) crosses lanes of
    other roads or a junction area."""
    length = float(np.hypot(*(b - a)))
    t = np.linspace(0.0, length, max(int(np.ceil(length / 0.1)), 2) + 1)
    pts = a + (t / length)[:, None] * (b - a)
    road = graph.lanes_within(pts, 0.0) | graph.in_areas(pts)
    if not road.any():
        return None
    if road_id >= 0 and (graph.in_areas(pts).any() or graph.lanes_within(pts, 0.0, exclude_roads=(road_id,)).any()):
        return None
    hit = np.flatnonzero(road)
    return (max(t[hit[0]] - KERB_STAND_M, 0.0), max(length - t[hit[-1]] - KERB_STAND_M, 0.0))


def _midblock_candidates(world, road, cw: Crosswalks):
    """Ideal ends (left, right sidewalk centre) of mid-block crossings along `road`."""
    graph = world.lanes
    ref = road.reference
    s = _arc(ref)
    q = np.arange(0.5 * MIDBLOCK_SPACING_M, s[-1] - 0.5 * MIDBLOCK_SPACING_M + 1e-9, MIDBLOCK_SPACING_M)
    if len(q) == 0:
        return []
    interp = lambda p, v: np.stack([np.interp(v, s, p[:, 0]), np.interp(v, s, p[:, 1])], axis=1)  # noqa: E731
    centre = interp(ref, q)
    shifts = np.linspace(-MIDBLOCK_CLEAR_M, MIDBLOCK_CLEAR_M, 9)
    near = np.stack([interp(ref, np.clip(q + k, 0.0, s[-1])) for k in shifts])
    ok = ~graph.in_areas(near.reshape(-1, 2)).reshape(9, -1).any(axis=0)
    if len(cw.left):
        mid = 0.5 * (cw.left + cw.right)
        ok &= np.min(np.hypot(*(centre[:, None] - mid[None]).transpose(2, 0, 1)), axis=1) > MIDBLOCK_CLEAR_M
    left, right = interp(road.left_edge, q), interp(road.right_edge, q)
    out = []
    for i in np.flatnonzero(ok):
        e = (left[i] - right[i]) / max(np.hypot(*(left[i] - right[i])), 1e-9)
        out.append((left[i] + SIDEWALK_OFFSET_M * e, right[i] - SIDEWALK_OFFSET_M * e))
    return out


def _corner_links(graph, points, starts, counts, boxes):
    """Off-road links pairing ends of different sidewalk lines within CORNER_LINK_M, nearest pairs first,
    where the straight walk between them stays clear of lanes, junction areas and props."""
    ends = np.concatenate([starts, starts + counts - 1]) if len(starts) else np.zeros(0, np.int64)
    owner = np.concatenate([np.arange(len(starts))] * 2)
    if len(ends) < 2:
        return []
    pairs = cKDTree(points[ends]).query_pairs(CORNER_LINK_M, output_type="ndarray")
    pairs = pairs[owner[pairs[:, 0]] != owner[pairs[:, 1]]]
    dist = np.hypot(*(points[ends[pairs[:, 0]]] - points[ends[pairs[:, 1]]]).T)
    used, out = set(), []
    for p, q in pairs[np.lexsort((pairs[:, 1], pairs[:, 0], dist))]:
        if p in used or q in used:
            continue
        a, b = points[ends[p]], points[ends[q]]
        t = np.linspace(0.0, 1.0, max(int(np.ceil(np.hypot(*(b - a)) / 0.25)), 2) + 1)[:, None]
        pts = a + t * (b - a)
        if (graph.lanes_within(pts, ROAD_CLEAR_M) | graph.in_areas(pts) | _in_boxes(pts, boxes)).any():
            continue
        used.update((p, q))
        out.append((ends[p], ends[q], CORNER, (0.0, 0.0)))
    return out


def _cycling(world):
    """(ride_ok (L,) bool, ride_room (L,), cycle_points (C,)): see WalkNetwork."""
    graph = world.lanes
    ramp = np.array([r >= 0 and world.roads[r].kind == "ramp" for r in graph.lane_road], bool).reshape(-1)
    loop = np.zeros(len(graph.lanes), bool)
    for j in world.junctions:
        if j.kind == "cul_de_sac":
            loop[list(j.connector_lanes)] = True
    ride_ok = ~ramp & ~loop & (graph.speed_limit <= CYCLE_MAX_LIMIT_MPS)
    # Longest ride from each lane's start, by relaxation (capped, so it ends on any graph).
    succ = graph.succ
    room = np.where(loop, -1.0, np.minimum(graph.lane_length, RIDE_ROOM_CAP_M))
    for _ in range(len(graph.lanes)):
        nxt = np.where(succ >= 0, room[np.maximum(succ, 0)], -1.0).max(axis=1, initial=-1.0)
        new = np.where(loop, -1.0, np.minimum(graph.lane_length + np.maximum(nxt, 0.0), RIDE_ROOM_CAP_M))
        if np.array_equal(new, room):
            break
        room = new
    start = ride_ok & (graph.lane_junction < 0) & (graph.right < 0) & (graph.lane_length > 20.0)
    lane = graph.point_lane
    pts = (start[lane] & (graph.point_s >= 5.0) & (graph.point_s <= graph.lane_length[lane] - 10.0)
           & (room[lane] - graph.point_s >= CYCLE_START_ROOM_M))
    return ride_ok, room, np.flatnonzero(pts)[::CYCLE_POINT_STRIDE].astype(np.int64)
