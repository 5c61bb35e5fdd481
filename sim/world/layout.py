"""Road layout: a main road traced piece by piece, junction sites on its straights, branch roads
and on-ramps, each kept a clearance away from every other road."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from .geometry import Curve, bend_to, normals, straight, trace, turn
from .spec import WorldSpec

EDGE_GAP_M = 12.0
"""Free space kept between the edges of two unrelated roads, m."""
BULB_M = 30.0
"""Free length kept beyond a dead end for its U-turn loop, m."""
APPROACH_M = 15.0
"""Straight road kept before and after a junction site, m."""
CORNER_M = 4.0
"""Junction box size beyond the crossing road's half width, m."""
BRANCH_LENGTH_M = (100.0, 400.0)
"""Range of lengths of roads leaving a junction, m."""
ACCEL_LENGTH_M = (80.0, 150.0)
"""Range of lengths of the acceleration lane after a merge, m."""
MAX_TURN_RAD = 0.5 * np.pi
"""Largest heading change of one turn piece, rad."""
CHECK_STRIDE = 4
"""Clearance checks use every CHECK_STRIDE-th sample."""
FOUR_WAY, T_JUNCTION, MERGE = "four_way", "t_junction", "merge"


@dataclass
class RoadPlan:
    """Reference line and lane layout of one road: width m, speed m/s."""

    curve: Curve
    n_fwd: int
    n_bwd: int
    width: float
    speed: float
    kind: str = "road"


@dataclass
class JunctionPlan:
    """A four-way or T junction: arms are (road index, junction at that road's end)."""

    kind: str
    center: np.ndarray
    arms: list[tuple[int, bool]]


@dataclass
class MergePlan:
    """An on-ramp: `feeder` ends where the ramp leaves its rightmost lane, `upstream` runs to the
    merge point, `accel` carries the extra acceleration lane; `ramp` is the one-way ramp road."""

    feeder: int
    upstream: int
    accel: int
    ramp: int


@dataclass
class Layout:
    """All road plans and how they join: `continues` (a, b) means road a's end is road b's start
    with lanes matched by index; dead ends are (road, at_end)."""

    roads: list[RoadPlan] = field(default_factory=list)
    continues: list[tuple[int, int]] = field(default_factory=list)
    junctions: list[JunctionPlan] = field(default_factory=list)
    merges: list[MergePlan] = field(default_factory=list)
    dead_ends: list[tuple[int, bool]] = field(default_factory=list)


@dataclass
class _Site:
    kind: str
    pieces: list
    n_cross: int = 0
    w_cross: float = 0.0
    speed_cross: float = 0.0
    sides: tuple[int, ...] = ()
    ramp_pieces: list | None = None
    first_piece: int = -1


def plan_layout(spec: WorldSpec, rng: np.random.Generator) -> Layout:
    """Sample the road layout of a world."""
    hw_max = spec.lanes_per_direction[1] * spec.lane_width_m[1]
    clearance = 2.0 * hw_max + EDGE_GAP_M
    n_main, w_main, v_main = _road_params(spec, rng)
    k_main = _k_limit(spec, n_main, w_main)
    n_sites = int(round(spec.junctions_per_km * spec.road_length_m / 1000.0))
    mix = np.asarray(spec.junction_mix, float)
    kinds = rng.choice([FOUR_WAY, T_JUNCTION, MERGE], size=n_sites, p=mix / mix.sum())
    sites, extra = [], 0.0
    for kind in kinds:
        if kind == MERGE:
            ramp, along = _ramp_pieces(spec, rng, w_main)
            accel = rng.uniform(*ACCEL_LENGTH_M)
            sites.append(_Site(kind, straight(APPROACH_M) + straight(along) + straight(accel)
                               + straight(APPROACH_M), ramp_pieces=ramp))
            extra += along
            continue
        n_c, w_c, v_c = _road_params(spec, rng)
        half = n_c * w_c + CORNER_M
        sides = (1, -1) if kind == FOUR_WAY else (int(rng.choice([1, -1])),)
        sites.append(_Site(kind, straight(APPROACH_M) + straight(2 * half) + straight(APPROACH_M),
                           n_c, w_c, v_c, sides))
        extra += len(sides) * np.mean(BRANCH_LENGTH_M)
    site_total = sum(p[0] for s in sites for p in s.pieces)
    main_length = max(spec.road_length_m - extra, site_total + 60.0 * (n_sites + 1))
    gap = (main_length - site_total) / (n_sites + 1)
    slots = [("fill", gap)]
    for site in sites:
        slots += [("site", site), ("fill", gap)]

    start_bulb = _bulb(np.zeros(2), np.pi)
    pieces, tags = _grow(spec, rng, slots, np.zeros(2), 0.0, k_main, clearance,
                         others=np.zeros((0, 2)), exempt=0.0, behind=start_bulb)
    if not pieces:
        pieces, tags = straight(2.0 * clearance), [0]
    main, ends = trace(pieces, np.zeros(2), 0.0)
    done = []
    for t in sorted(set(tags)):
        if slots[t][0] == "site":
            slots[t][1].first_piece = tags.index(t)
            done.append(slots[t][1])

    obstacles = [start_bulb, main.xy, _bulb(main.xy[-1], main.heading[-1])]
    cuts, ramps, branches = [], [], []
    for site in done:
        p0 = site.first_piece
        if site.kind == MERGE:
            i_d, i_m, i_a = ends[p0], ends[p0 + 1], ends[p0 + 2]
            ramp = _place_ramp(site, main, i_d, i_m, n_main, w_main, clearance, obstacles, ends[p0 + 3])
            if ramp is not None:
                obstacles.append(ramp.xy)
                ramps.append(ramp)
                cuts.append(("merge", i_d, i_m, i_a, len(ramps) - 1))
            continue
        i0, i1 = ends[p0], ends[p0 + 1]
        center, h = 0.5 * (main.xy[i0] + main.xy[i1]), main.heading[i0]
        arms = []
        for side in site.sides:
            mouth = center + side * (n_main * w_main + CORNER_M) * normals(np.array(h))
            k_c = _k_limit(spec, site.n_cross, site.w_cross)
            first = clearance + 5.0
            target = rng.uniform(*BRANCH_LENGTH_M)
            b_pieces, _ = _grow(spec, rng, [("site", _Site("stem", straight(first))), ("fill", target - first)],
                                mouth, h + side * 0.5 * np.pi, k_c, clearance,
                                others=np.concatenate(obstacles), exempt=clearance)
            if not b_pieces:
                continue
            curve, _ = trace(b_pieces, mouth, h + side * 0.5 * np.pi)
            obstacles += [curve.xy, _bulb(curve.xy[-1], curve.heading[-1])]
            branches.append(RoadPlan(curve, site.n_cross, site.n_cross, site.w_cross, site.speed_cross))
            arms.append(len(branches) - 1)
        if arms:
            kind = FOUR_WAY if len(arms) == 2 else T_JUNCTION
            cuts.append(("junction", i0, i1, kind, center, arms))
    return _assemble(main, cuts, ramps, branches, n_main, w_main, v_main)


def _assemble(main, cuts, ramps, branches, n_main, w_main, v_main) -> Layout:
    """Split the main road at junction boxes and merge points and link all roads."""
    layout = Layout()
    state = {"start": 0, "prev": None, "waiting": None}

    def add(road: RoadPlan) -> int:
        layout.roads.append(road)
        return len(layout.roads) - 1

    def segment(i1: int, extra_lane: bool = False) -> int:
        """Main-road segment from the current start to sample i1, linked to what came before."""
        road = add(RoadPlan(main.slice(state["start"], i1), n_main + int(extra_lane), n_main, w_main, v_main))
        if state["prev"] is not None:
            layout.continues.append((state["prev"], road))
        if state["waiting"] is not None:
            state["waiting"].arms.insert(1, (road, False))
        state.update(start=i1, prev=road, waiting=None)
        return road

    first = None
    for cut in sorted(cuts, key=lambda c: c[1]):
        if cut[0] == "junction":
            _, i0, i1, kind, center, arms = cut
            before = segment(i0)
            branch_ids = [add(branches[a]) for a in arms]
            layout.dead_ends += [(b, True) for b in branch_ids]
            junction = JunctionPlan(kind, center, [(before, True)] + [(b, False) for b in branch_ids])
            layout.junctions.append(junction)
            state.update(start=i1, prev=None, waiting=junction)
        else:
            _, i_d, i_m, i_a, r = cut
            feeder = segment(i_d)
            upstream = segment(i_m)
            accel = segment(i_a, extra_lane=True)
            ramp = add(RoadPlan(ramps[r], 1, 0, w_main, v_main, kind="ramp"))
            layout.merges.append(MergePlan(feeder, upstream, accel, ramp))
            before = feeder
        first = before if first is None else first
    last = segment(len(main.s) - 1)
    layout.dead_ends += [(last if first is None else first, False), (last, True)]
    return layout


def _road_params(spec: WorldSpec, rng: np.random.Generator):
    lo, hi = spec.lanes_per_direction
    return (int(rng.integers(lo, hi + 1)), float(rng.uniform(*spec.lane_width_m)),
            float(rng.choice(spec.speed_limits_mps)))


def _k_limit(spec: WorldSpec, n: int, w: float) -> float:
    """Largest reference-line curvature keeping every lane within spec.curvature_max, 1/m."""
    d = (n + 0.5) * w
    return spec.curvature_max / (1.0 + spec.curvature_max * d)


def _ramp_pieces(spec: WorldSpec, rng: np.random.Generator, w: float):
    """Ramp reference pieces (out right, back left, straighten) ending one lane width right of
    where they start, and the distance they cover along the main road, m."""
    k = rng.uniform(0.7, 1.0) * _k_limit(spec, 1, w)
    alpha = rng.uniform(0.3, 0.5)
    lc = min(rng.uniform(*spec.clothoid_length_m), 0.5 * alpha / k)
    shift = w / np.sin(alpha)
    ls1 = 10.0 + shift + rng.uniform(0.0, 40.0)
    pieces = (turn(-k, lc, alpha / k - lc) + straight(ls1) + turn(k, lc, 2 * alpha / k - lc)
              + straight(ls1 - shift) + turn(-k, lc, alpha / k - lc))
    curve, _ = trace(pieces, np.zeros(2), 0.0)
    return pieces, float(curve.xy[-1, 0])


def _place_ramp(site, main, i_d, i_m, n_main, w_main, clearance, obstacles, i_end):
    """Ramp reference from the main road's rightmost lane at i_d to one lane further right at i_m,
    or None when it would come too close to another road."""
    n_d, n_m = normals(main.heading[[i_d, i_m]])
    start = main.xy[i_d] - (n_main - 1) * w_main * n_d
    curve, _ = trace(site.ramp_pieces, start, main.heading[i_d])
    curve = bend_to(curve, main.xy[i_m] - n_main * w_main * n_m)
    window = (main.s >= main.s[i_d] - clearance) & (main.s <= main.s[i_end] + clearance)
    others = np.concatenate([o for o in obstacles if o is not main.xy] + [main.xy[~window]])
    if len(others) and np.any(cKDTree(others).query(curve.xy[::CHECK_STRIDE])[0] < clearance):
        return None
    return curve


def _bulb(xy, heading) -> np.ndarray:
    return xy + np.outer(np.linspace(0.0, BULB_M, 16), [np.cos(heading), np.sin(heading)])


def _grow(spec, rng, slots, start_xy, start_heading, k_max, clearance, others, exempt, behind=None):
    """Trace slots ("fill", length) of random pieces and ("site", _Site) fixed pieces, keeping every
    sample beyond `exempt` m of arc clearance m from `others` (P,2) and from this road's own samples
    further back than 2 clearance. Stops at the first piece that does not fit; then drops pieces
    until the dead end's bulb is clear. `behind` (B,2) are points behind the start (kept clear
    like the road's own samples). Returns (pieces, slot index of each piece)."""
    tree = cKDTree(others) if len(others) else None
    behind = np.asarray(start_xy, float)[None] if behind is None else behind
    own_xy = [behind]
    own_s = [-np.hypot(*(behind - np.asarray(start_xy, float)).T)]
    pieces, tags = [], []
    pose, s_now = (np.asarray(start_xy, float), float(start_heading)), 0.0

    def fits(xy, s):
        check = s >= exempt
        pts, ps = xy[check][::CHECK_STRIDE], s[check][::CHECK_STRIDE]
        if len(pts) == 0:
            return True
        if tree is not None and np.any(tree.query(pts)[0] < clearance):
            return False
        old_xy, old_s = np.concatenate(own_xy), np.concatenate(own_s)
        old = old_xy[old_s < ps[0] - 2.0 * clearance]
        return len(old) == 0 or not np.any(cKDTree(old).query(pts)[0] < clearance)

    def attempt(new):
        curve, _ = trace(new, *pose)
        if not fits(curve.xy[1:], s_now + curve.s[1:]):
            return None
        return curve

    for slot_i, (what, arg) in enumerate(slots):
        remaining = arg if what == "fill" else np.inf
        while remaining >= 1.0:
            choices = [arg.pieces] if what == "site" else _piece_options(spec, rng, k_max, remaining)
            new, curve = next(((c, v) for c in choices if (v := attempt(c)) is not None), (None, None))
            if curve is None:
                return _trim(pieces, tags, slots, start_xy, start_heading, tree, clearance)
            pieces += list(new)
            tags += [slot_i] * len(new)
            own_xy.append(curve.xy[1:])
            own_s.append(s_now + curve.s[1:])
            s_now += curve.length
            remaining = 0.0 if what == "site" else remaining - curve.length
            pose = (curve.xy[-1], float(curve.heading[-1]))
    return _trim(pieces, tags, slots, start_xy, start_heading, tree, clearance)


def _trim(pieces, tags, slots, start_xy, start_heading, tree, clearance):
    """Drop trailing pieces (a site's pieces together) until the dead end's bulb is clear."""
    while pieces:
        curve, _ = trace(pieces, start_xy, start_heading)
        bulb = _bulb(curve.xy[-1], curve.heading[-1])[1:]
        if tree is None or not np.any(tree.query(bulb)[0] < clearance):
            own_old = curve.xy[curve.s < curve.s[-1] - 2.0 * clearance]
            if len(own_old) == 0 or not np.any(cKDTree(own_old).query(bulb)[0] < clearance):
                break
        last = tags[-1]
        drop = tags.index(last) if slots[last][0] == "site" else len(tags) - 1
        pieces, tags = pieces[:drop], tags[:drop]
    return pieces, tags


def _piece_options(spec, rng, k_max, remaining):
    """A random piece no longer than `remaining` m, then fallbacks: mirrored, straight, short."""
    lc_lo = spec.clothoid_length_m[0]
    length = min(rng.uniform(*spec.segment_length_m), remaining)
    if remaining < 2.0 * lc_lo + 10.0 or rng.random() < 0.35:
        return [straight(length), straight(min(20.0, remaining))]
    k = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 1.0) * k_max)
    lc = min(rng.uniform(*spec.clothoid_length_m), remaining / 3.0, 0.5 * MAX_TURN_RAD / abs(k))
    arc = max(0.0, min(rng.uniform(*spec.segment_length_m), MAX_TURN_RAD / abs(k) - lc, remaining - 2 * lc))
    return [turn(k, lc, arc), turn(-k, lc, arc), straight(length), straight(min(20.0, remaining))]
