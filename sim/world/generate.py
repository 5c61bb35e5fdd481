"""generate_world: sample a World from a WorldSpec with one numpy Generator."""
from __future__ import annotations

import numpy as np

from .lanes import LaneGraph
from .layout import Layout, plan_layout
from .network import build_network
from .props import place_props
from .spec import WorldSpec
from .world import Road, SurfaceParams, World

CURB_CLEAR_M = 0.3
"""Curbs stop where a road edge comes within this distance of another road's lane, m."""


def generate_world(spec: WorldSpec, rng: np.random.Generator) -> World:
    """A connected road network with lanes, junctions, props and surface parameters.

    Uses only `rng`: the same spec and generator state give the same world bit for bit."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"generate_world: rng must be a numpy.random.Generator, got {type(rng).__name__}")
    seed_info = {"bit_generator_state": rng.bit_generator.state}
    layout = plan_layout(spec, rng)
    lanes, roads, junctions = build_network(layout)
    graph = LaneGraph(lanes, areas=tuple(j.polygon for j in junctions))
    props = place_props(spec, roads, graph, rng)
    surface = SurfaceParams(float(rng.uniform(*spec.crack_density)), float(rng.uniform(*spec.tar_seam_density)),
                            float(rng.uniform(*spec.patch_density)), int(rng.integers(2**31 - 1)))
    curbs = _curbs(roads, graph, layout)
    half = 0.5 * float(graph.lane_width.max())
    pts = np.concatenate([graph.points, props.xy] + [r.left_edge for r in roads] + [r.right_edge for r in roads])
    lo, hi = pts.min(axis=0) - half, pts.max(axis=0) + half
    return World(spec, graph, roads, junctions, props, surface, curbs,
                 (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])), seed_info)


def _curbs(roads: list[Road], graph: LaneGraph, layout: Layout) -> list[np.ndarray]:
    """Road edges with the parts inside junction areas or near other roads' lanes removed; edges
    of roads that continue each other are joined into one polyline."""
    partners = {r.id: {r.id} for r in roads}
    for a, b in layout.continues:
        partners[a].add(b)
        partners[b].add(a)
    pieces = []
    for road in roads:
        for edge in (road.left_edge, road.right_edge):
            near = graph.lanes_within(edge, CURB_CLEAR_M, exclude_roads=tuple(partners[road.id]))
            keep = np.flatnonzero(~(near | graph.in_areas(edge)))
            for run in np.split(keep, np.flatnonzero(np.diff(keep) > 1) + 1):
                if len(run) >= 2:
                    pieces.append(edge[run])
    return _join(pieces)


def _join(pieces: list[np.ndarray]) -> list[np.ndarray]:
    """Concatenate polylines whose end point is exactly another's start point."""
    by_start = {tuple(p[0]): i for i, p in enumerate(pieces)}
    has_pred = set()
    for p in pieces:
        j = by_start.get(tuple(p[-1]))
        if j is not None:
            has_pred.add(j)
    out = []
    for i, p in enumerate(pieces):
        if i in has_pred:
            continue
        chain, seen = [p], {i}
        j = by_start.get(tuple(p[-1]))
        while j is not None and j not in seen:
            seen.add(j)
            chain.append(pieces[j][1:])
            j = by_start.get(tuple(pieces[j][-1]))
        out.append(np.concatenate(chain))
    return out
