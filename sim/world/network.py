"""Lanes, roads and junctions built from a road layout: lane offsets, continuations, junction
connectors (straight, left, right), on-ramp merges and U-turn loops at dead ends."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .geometry import Curve, bezier, convex_hull, normals, offset, resample, reverse, u_turn, wrap_angle
from .lanes import Lane
from .layout import Layout
from .world import Junction, Road

U_TURN_RADIUS_M = 6.0
"""Smallest radius of a U-turn loop at a dead end, m."""
TURN_ACCEL_MPS2 = 3.0
"""Lateral acceleration that sets connector speed limits, m/s^2."""
MERGE_AREA_M = 40.0
"""Length of ramp lane before the merge point counted as the merge area, m."""


@dataclass
class _Draft:
    curve: Curve
    road_id: int
    junction_id: int
    width: float
    speed: float
    left_boundary: str
    right_boundary: str
    successors: list = field(default_factory=list)
    predecessors: list = field(default_factory=list)
    left: int = -1
    right: int = -1


class _Builder:
    def __init__(self):
        self.drafts: list[_Draft] = []

    def add(self, draft: _Draft) -> int:
        self.drafts.append(draft)
        return len(self.drafts) - 1

    def link(self, a: int, b: int):
        self.drafts[a].successors.append(b)
        self.drafts[b].predecessors.append(a)

    def connect(self, a: int, b: int, curve: Curve, junction_id: int) -> int:
        """Connector lane from the end of lane a to the start of lane b."""
        da, db = self.drafts[a], self.drafts[b]
        k = float(np.abs(curve.curvature).max())
        speed = min(da.speed, db.speed, np.sqrt(TURN_ACCEL_MPS2 / k) if k > 1e-9 else np.inf)
        c = self.add(_Draft(curve, -1, junction_id, da.width, speed, "none", "none"))
        self.link(a, c)
        self.link(c, b)
        return c

    def end_pose(self, lane: int):
        c = self.drafts[lane].curve
        return c.xy[-1], float(c.heading[-1])

    def start_pose(self, lane: int):
        c = self.drafts[lane].curve
        return c.xy[0], float(c.heading[0])

    def outline(self, lanes, s_range=None) -> np.ndarray:
        pts = []
        for lane in lanes:
            d = self.drafts[lane]
            keep = slice(None) if s_range is None else (d.curve.s >= s_range(d.curve)[0]) & (d.curve.s <= s_range(d.curve)[1])
            n = 0.5 * d.width * normals(d.curve.heading[keep])
            pts += [d.curve.xy[keep] + n, d.curve.xy[keep] - n]
        return np.concatenate(pts)


def build_network(layout: Layout):
    """Returns (lanes, roads, junctions) with lane ids equal to list positions."""
    b = _Builder()
    fwd, bwd = [], []
    for r, plan in enumerate(layout.roads):
        f = [b.add(_road_lane(plan, r, i, forward=True)) for i in range(plan.n_fwd)]
        g = [b.add(_road_lane(plan, r, i, forward=False)) for i in range(plan.n_bwd)]
        for group in (f, g):
            for i, lane in enumerate(group):
                b.drafts[lane].left = group[i - 1] if i > 0 else -1
                b.drafts[lane].right = group[i + 1] if i + 1 < len(group) else -1
        fwd.append(f)
        bwd.append(g)
    for a, c in layout.continues:
        for i in range(min(len(fwd[a]), len(fwd[c]))):
            b.link(fwd[a][i], fwd[c][i])
        for i in range(min(len(bwd[a]), len(bwd[c]))):
            b.link(bwd[c][i], bwd[a][i])

    junctions = []
    for plan in layout.junctions:
        j = len(junctions)
        arms = []
        for road, at_end in plan.arms:
            ref = layout.roads[road].curve
            if at_end:
                arms.append((fwd[road], bwd[road], float(ref.heading[-1]) + np.pi))
            else:
                arms.append((bwd[road], fwd[road], float(ref.heading[0])))
        conns = []
        turns = {(ai, bi): float(wrap_angle(arms[bi][2] - arms[ai][2] - np.pi))
                 for ai in range(len(arms)) for bi in range(len(arms)) if ai != bi}
        straight = {pair for pair, t in turns.items() if abs(t) < 0.25 * np.pi}
        for (ai, bi), t in turns.items():
            inc, out = arms[ai][0], arms[bi][1]
            src_straight = any(pair[0] == ai for pair in straight)
            dst_straight = any(pair[1] == bi for pair in straight)
            for i, o in _turn_pairs(len(inc), len(out), t, src_straight, dst_straight):
                p0, h0 = b.end_pose(inc[i])
                p1, h1 = b.start_pose(out[o])
                conns.append(b.connect(inc[i], out[o], bezier(p0, h0, p1, h1), j))
        junctions.append(Junction(j, plan.kind, np.asarray(plan.center, float), convex_hull(b.outline(conns)),
                                  tuple(conns), tuple(x for arm in arms for x in arm[0]),
                                  tuple(x for arm in arms for x in arm[1])))

    for m in layout.merges:
        j = len(junctions)
        ramp_lane, accel_lane = fwd[m.ramp][0], fwd[m.accel][-1]
        b.link(fwd[m.feeder][-1], ramp_lane)
        b.link(ramp_lane, accel_lane)
        area = np.concatenate([
            b.outline([ramp_lane], lambda c: (c.s[-1] - MERGE_AREA_M, c.s[-1])),
            b.outline([accel_lane], lambda c: (0.0, 0.5 * MERGE_AREA_M))])
        junctions.append(Junction(j, "merge", b.start_pose(accel_lane)[0].copy(), convex_hull(area), (),
                                  tuple(fwd[m.upstream]) + (ramp_lane,), tuple(fwd[m.accel])))

    for road, at_end in layout.dead_ends:
        j = len(junctions)
        ending, starting = (fwd[road], bwd[road]) if at_end else (bwd[road], fwd[road])
        conns = []
        for i in range(min(len(ending), len(starting))):
            p0, h0 = b.end_pose(ending[i])
            p1, _ = b.start_pose(starting[i])
            conns.append(b.connect(ending[i], starting[i], u_turn(p0, h0, p1, U_TURN_RADIUS_M), j))
        ref = layout.roads[road].curve
        center = ref.xy[-1] if at_end else ref.xy[0]
        junctions.append(Junction(j, "cul_de_sac", center.copy(), convex_hull(b.outline(conns)), tuple(conns),
                                  tuple(ending), tuple(starting)))

    lanes = [Lane(i, d.road_id, d.junction_id, d.curve.xy, d.curve.s, d.curve.heading, d.curve.curvature,
                  float(d.width), float(d.speed), d.left_boundary, d.right_boundary, tuple(d.successors),
                  tuple(d.predecessors), d.left, d.right) for i, d in enumerate(b.drafts)]
    roads = []
    for r, plan in enumerate(layout.roads):
        ref = plan.curve
        n = normals(ref.heading)
        roads.append(Road(r, ref.xy, tuple(fwd[r]), tuple(bwd[r]), plan.speed,
                          ref.xy + plan.n_bwd * plan.width * n, ref.xy - plan.n_fwd * plan.width * n, plan.kind))
    return lanes, roads, junctions


def _road_lane(plan, road_id: int, i: int, forward: bool) -> _Draft:
    """Lane i (0 next to the road centre) of one direction, offset (i + 0.5) width from the reference."""
    d = (i + 0.5) * plan.width
    curve = offset(plan.curve, -d) if forward else reverse(offset(plan.curve, d))
    n = plan.n_fwd if forward else plan.n_bwd
    left = "solid" if i == 0 else "dashed"
    right = "solid" if i == n - 1 else "dashed"
    return _Draft(resample(curve), road_id, -1, plan.width, plan.speed, left, right)


def _turn_pairs(n_in: int, n_out: int, turn: float, src_straight: bool, dst_straight: bool):
    """(incoming, outgoing) lane index pairs for one movement; index 0 is the leftmost lane.

    Straight: lane by lane. Left turns use the leftmost lane, right turns the rightmost, at either
    end; an arm with no straight movement out of (into) it spreads its turns over the left and right
    halves of its lanes so every lane has a successor (predecessor)."""
    if abs(turn) < 0.25 * np.pi:
        return [(min(k, n_in - 1), min(k, n_out - 1)) for k in range(max(n_in, n_out))]
    ins = [0] if src_straight else [i for i in range(n_in) if i <= (n_in - 1) / 2]
    outs = [0] if dst_straight else [i for i in range(n_out) if i <= (n_out - 1) / 2]
    if turn < 0:
        ins = [n_in - 1] if src_straight else [i for i in range(n_in) if i >= (n_in - 1) / 2][::-1]
        outs = [n_out - 1] if dst_straight else [i for i in range(n_out) if i >= (n_out - 1) / 2][::-1]
    m = max(len(ins), len(outs))
    return [(ins[min(k, len(ins) - 1)], outs[min(k, len(outs) - 1)]) for k in range(m)]
