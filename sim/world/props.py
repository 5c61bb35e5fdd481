"""Static props: trees, poles, cones and parked cars beside the roads, jersey barriers along the outside
of curves, and obstacles on lanes."""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .geometry import normals
from .lanes import LaneGraph
from .spec import WorldSpec
from .world import PROP_KINDS, Props, Road

CLEAR_MARGIN_M = 0.3
"""Smallest distance from a roadside prop's footprint to any lane or junction area, m."""
SIZE_M = {  # (length range, width range or None for = length, height range), m
    "tree": ((2.0, 5.0), None, (4.0, 12.0)),
    "pole": ((0.3, 0.3), None, (6.0, 9.0)),
    "cone": ((0.35, 0.35), None, (0.7, 0.7)),
    "parked_car": ((4.2, 5.0), (1.75, 2.0), (1.4, 1.7)),
}
EDGE_GAP_M = {"tree": (2.0, 12.0), "pole": (0.8, 2.0), "cone": (0.5, 3.0), "parked_car": (0.5, 1.5)}
"""Range of distances from the road edge to a prop's footprint, m."""
OVERSAMPLE = 3
BARRIER_SIZE_M = (3.0, 0.6, 0.8)
"""Length, width, height of one jersey-barrier section, m; sections stand BARRIER_PITCH_M apart."""
BARRIER_PITCH_M = 3.05
BARRIER_CURVATURE = 1.0 / 75.0
"""Barriers line the outer edge of road stretches curving tighter than this (1/m) for at least
BARRIER_MIN_RUN_M m, BARRIER_EDGE_GAP_M beyond the edge (clear of a sidewalk beside the curb)."""
BARRIER_MIN_RUN_M = 20.0
BARRIER_EDGE_GAP_M = 2.5


def place_props(spec: WorldSpec, roads: list[Road], graph: LaneGraph, rng: np.random.Generator) -> Props:
    """Roadside props at spec densities, each clear of every lane and of each other, then on-lane
    obstacles (cones and parked cars) at spec.obstacles_on_lanes_per_km, then barriers along curves
    (from the geometry alone: they draw nothing from `rng`)."""
    km = sum(_length(r.reference) for r in roads) / 1000.0
    rates = (spec.trees_per_km, spec.poles_per_km, spec.cones_per_km, spec.parked_cars_per_km)
    wanted = np.array([int(round(rate * km)) for rate in rates])
    cand = [_roadside(roads, rng, code, OVERSAMPLE * n + 8) for code, n in enumerate(wanted) if n > 0]
    if cand:
        kind, xy, heading, size = (np.concatenate(x) for x in zip(*cand))
        order = rng.permutation(len(kind))
        kind, xy, heading, size = kind[order], xy[order], heading[order], size[order]
        keep = _clear(graph, Props(kind, xy, heading, size, np.zeros(len(kind), bool)))
        keep &= _not_overlapping(xy, 0.5 * np.hypot(size[:, 0], size[:, 1]), keep)
        rank = np.zeros(len(kind), int)
        for code in range(len(PROP_KINDS)):
            sel = keep & (kind == code)
            rank[sel] = np.arange(sel.sum())
        keep &= rank < wanted[kind]
        chosen = np.flatnonzero(keep)
        chosen = chosen[np.lexsort((chosen, kind[chosen]))]
        side = (kind[chosen], xy[chosen], heading[chosen], size[chosen])
    else:
        side = (np.zeros(0, np.int8), np.zeros((0, 2)), np.zeros(0), np.zeros((0, 3)))
    obstacles = _on_lanes(graph, rng, int(round(spec.obstacles_on_lanes_per_km * km)))
    kind, xy, heading, size = (np.concatenate([a, b]) for a, b in zip(side, obstacles))
    on_lane = np.concatenate([np.zeros(len(side[0]), bool), np.ones(len(obstacles[0]), bool)])
    placed = Props(kind.astype(np.int8), xy, heading, size, on_lane)
    barriers = _barriers(roads, graph, placed)
    kind, xy, heading, size = (np.concatenate([a, b]) for a, b in zip((kind, xy, heading, size), barriers))
    on_lane = np.concatenate([on_lane, np.zeros(len(barriers[0]), bool)])
    return Props(kind.astype(np.int8), xy, heading, size, on_lane)


def _size(rng, name: str, n: int) -> np.ndarray:
    length_r, width_r, height_r = SIZE_M[name]
    length = rng.uniform(*length_r, n)
    width = length if width_r is None else rng.uniform(*width_r, n)
    return np.stack([length, width, rng.uniform(*height_r, n)], axis=1)


def _roadside(roads: list[Road], rng, code: int, n: int):
    """n candidate props of one kind beside random roads (weighted by length)."""
    name = PROP_KINDS[code]
    lengths = np.array([_length(r.reference) for r in roads])
    road = rng.choice(len(roads), size=n, p=lengths / lengths.sum())
    frac = rng.uniform(0.0, 1.0, n)
    side = rng.choice([-1.0, 1.0], size=n)
    size = _size(rng, name, n)
    gap = rng.uniform(*EDGE_GAP_M[name], n)
    p, h = np.zeros((n, 2)), np.zeros(n)
    edge = np.zeros(n)
    for r in np.unique(road):
        sel = road == r
        ref = roads[r].reference
        s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(ref, axis=0).T))])
        q = frac[sel] * s[-1]
        j = np.clip(np.searchsorted(s, q, side="right") - 1, 0, len(s) - 2)
        t = ((q - s[j]) / np.maximum(s[j + 1] - s[j], 1e-12))[:, None]
        seg = ref[j + 1] - ref[j]
        p[sel] = ref[j] + t * seg
        h[sel] = np.arctan2(seg[:, 1], seg[:, 0])
        left = np.hypot(*(roads[r].left_edge[j] - ref[j]).T)
        right = np.hypot(*(roads[r].right_edge[j] - ref[j]).T)
        edge[sel] = np.where(side[sel] > 0, left, right)
    if name == "parked_car":
        half, heading = 0.5 * size[:, 1], h + np.where(side > 0, np.pi, 0.0)
    else:
        half, heading = 0.5 * np.hypot(size[:, 0], size[:, 1]), rng.uniform(-np.pi, np.pi, n)
    xy = p + (side * (edge + gap + half))[:, None] * normals(h)
    return np.full(n, code, np.int8), xy, heading, size


def _clear(graph: LaneGraph, props: Props) -> np.ndarray:
    """(P,) bool: footprint corners and centre away from every lane and junction area."""
    pts = np.concatenate([props.corners(), props.xy[:, None]], axis=1).reshape(-1, 2)
    bad = graph.lanes_within(pts, CLEAR_MARGIN_M) | graph.in_areas(pts)
    return ~bad.reshape(len(props), 5).any(axis=1)


def _not_overlapping(xy: np.ndarray, radius: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """(P,) bool: greedy in index order, drop props whose bounding circle meets an earlier kept one."""
    ok = keep.copy()
    if len(xy) < 2:
        return ok
    pairs = cKDTree(xy).query_pairs(2.0 * float(radius.max()), output_type="ndarray")
    pairs = pairs[np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T) < radius[pairs[:, 0]] + radius[pairs[:, 1]]]
    for i, j in pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]:
        if ok[i] and ok[j]:
            ok[j] = False
    return ok


def _on_lanes(graph: LaneGraph, rng, n: int):
    """n cones or parked cars on random non-junction lanes, inside the lane."""
    pool = np.flatnonzero((graph.lane_junction < 0) & (graph.lane_length > 20.0))
    if n == 0 or len(pool) == 0:
        return np.zeros(0, np.int8), np.zeros((0, 2)), np.zeros(0), np.zeros((0, 3))
    lane = pool[rng.choice(len(pool), size=n, p=graph.lane_length[pool] / graph.lane_length[pool].sum())]
    s = 5.0 + rng.uniform(0.0, 1.0, n) * (graph.lane_length[lane] - 10.0)
    kind = rng.choice([PROP_KINDS.index("cone"), PROP_KINDS.index("parked_car")], size=n).astype(np.int8)
    size = np.where((kind == PROP_KINDS.index("cone"))[:, None], _size(rng, "cone", n), _size(rng, "parked_car", n))
    room = np.maximum(0.5 * (graph.lane_width[lane] - size[:, 1]), 0.0)
    xy, heading = graph.cartesian(lane, s, rng.uniform(-0.5, 0.5, n) * room)
    return kind, xy, heading, size


def _barriers(roads: list[Road], graph: LaneGraph, placed: Props):
    """Jersey-barrier sections end to end along the outer edge of tight curves; sections that would
    touch a lane, a junction area, an already placed prop or an earlier section are left out."""
    offset = BARRIER_EDGE_GAP_M + 0.5 * BARRIER_SIZE_M[1]
    rows = [_along(edge[run], side * offset, BARRIER_PITCH_M)
            for road in roads for side, edge, run in _outer_curves(road)]
    if not rows:
        return np.zeros(0, np.int8), np.zeros((0, 2)), np.zeros(0), np.zeros((0, 3))
    xy, heading = (np.concatenate(x) for x in zip(*rows))
    kind, size = np.full(len(xy), PROP_KINDS.index("barrier"), np.int8), np.tile(BARRIER_SIZE_M, (len(xy), 1))
    keep = _clear(graph, Props(kind, xy, heading, size, np.zeros(len(xy), bool)))
    if len(placed):
        reach = 0.5 * np.hypot(placed.size[:, 0], placed.size[:, 1]) + 0.5 * np.hypot(*BARRIER_SIZE_M[:2])
        keep &= ~np.any(np.hypot(*(xy[:, None] - placed.xy[None]).transpose(2, 0, 1)) < reach[None], axis=1)
    keep &= _not_overlapping(xy, np.full(len(xy), 0.49 * BARRIER_SIZE_M[0]), keep)
    return kind[keep], xy[keep], heading[keep], size[keep]


def _outer_curves(road: Road):
    """(side, edge, indices) of each run of reference points, at least BARRIER_MIN_RUN_M long, where the
    road curves tighter than BARRIER_CURVATURE away from that edge (side +1 left, -1 right)."""
    ref = road.reference
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(ref, axis=0).T))])
    d = np.gradient(ref, axis=0)
    kappa = np.gradient(np.unwrap(np.arctan2(d[:, 1], d[:, 0])), s)
    for side, edge in ((1.0, road.left_edge), (-1.0, road.right_edge)):  # the left edge is outside a right turn
        idx = np.flatnonzero(side * kappa < -BARRIER_CURVATURE)
        for run in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1):
            if len(run) >= 2 and s[run[-1]] - s[run[0]] >= BARRIER_MIN_RUN_M:
                yield side, edge, run


def _along(line: np.ndarray, offset: float, pitch: float):
    """Centres (K,2) and headings (K,) of sections `pitch` m apart along polyline `line` shifted `offset` m
    to its left."""
    d = np.gradient(line, axis=0)
    line = line + offset * normals(np.arctan2(d[:, 1], d[:, 0]))
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(line, axis=0).T))])
    q = np.arange(0.5 * pitch, s[-1] - 0.5 * pitch, pitch)
    at = lambda t: np.stack([np.interp(t, s, line[:, 0]), np.interp(t, s, line[:, 1])], axis=1)  # noqa: E731
    step = at(q + 0.5) - at(q - 0.5)
    return at(q), np.arctan2(step[:, 1], step[:, 0])


def _length(xy: np.ndarray) -> float:
    return float(np.hypot(*np.diff(xy, axis=0).T).sum())
