"""Vulnerable road users: pedestrians on sidewalks and crossings (alone, in groups and in crowds) and cyclists
near the right edge of the road, as actors with kinematics like vehicles.

``walk_network(world)`` (``sim.traffic.vru_network``) is built once per world; ``spawn_vrus`` places them,
``step_vrus`` moves them (compiled in ``sim.traffic.vru_kernels``), ``vru_obstacles`` hands the ones on the
carriageway to traffic and ``vru_table`` gives their rows in the env's actor layout.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, fields

import numpy as np

from sim.traffic import vru_kernels as K
from sim.traffic.vru_network import LINK_KINDS, WalkNetwork, walk_network

__all__ = ["VruSpec", "VruState", "Vehicles", "walk_network", "spawn_vrus", "spawn_crowd", "place_pedestrians",
           "step_vrus", "concat_vrus", "free_groups", "fill_vrus", "vru_slots", "no_vrus", "vru_obstacles", "vru_table",
           "MODES", "LINK_KINDS"]

MODES = ("walk", "wait", "cross", "ride")
"""VruState.mode: walking along a sidewalk, approaching the kerb / waiting for a gap, crossing (or walking a
corner link), riding a lane (cyclists)."""
PEDESTRIAN, CYCLIST = 0, 1
PEDESTRIAN_LENGTH_M = (0.26, 0.36)
PEDESTRIAN_WIDTH_M = (0.42, 0.56)
"""Ranges of a pedestrian's footprint: length (chest to back) and width (shoulders), m."""
PEDESTRIAN_HEIGHT_M = (1.55, 1.9)
CYCLIST_SIZE_M = (1.75, 0.6, 1.75)
"""Length, width, height of a cyclist on a bicycle, m."""
PEDESTRIAN_VARIANTS = 8
"""Mesh variants of pedestrians (as sim.assets.meshes.PEDESTRIAN_VARIANTS)."""
SLOT_ROW_M = 0.8
"""Group members walk beside the leader (left of it) and in rows behind it this far apart, m."""
PERSONAL_GAP_M = 0.2
"""Space between the shoulders of two people walking or waiting side by side, m: group members stand the
group's widest shoulders plus this apart."""
CROWD_ROW_M, CROWD_WIDTH = 0.7, 5
"""A crowd waits in rows CROWD_ROW_M apart of (up to) CROWD_WIDTH people side by side."""
CROWD_AISLE_M = 0.4
"""Lateral space left free between the two halves of a crowd passing each other on their link, m."""
GROUP_SPACING_M = 4.0
"""Smallest distance between the leaders of two spawned groups, m."""
CYCLIST_SPACING_M = 12.0
CLEAR_OF_OTHERS_M = (1.5, CYCLIST_SPACING_M)
"""Pedestrians and cyclists placed into a running episode keep this far from those already there, m."""
DEAD_END_M = 8.0
"""A cyclist standing this close to the end of a lane with no lane on (it rides no U-turn loop) gets off and
leaves: its row is freed, m."""


def _fail(name: str, message: str):
    raise ValueError(f"VruSpec.{name}: {message}")


def _real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


@dataclass(frozen=True)
class VruSpec:
    """Population and behaviour distributions of pedestrians and cyclists (uniform ranges (low, high))."""

    pedestrians: int = 20
    """Pedestrians spawned on sidewalks (in groups), 0..2000."""
    cyclists: int = 4
    """Cyclists spawned near the right edge of rightmost lanes, 0..500."""
    jaywalk_fraction: float = 0.15
    """Fraction of pedestrian groups that cross mid-block, 0..1."""
    jaywalk_chance: float = 0.3
    """Probability that a jaywalker takes a mid-block crossing point it passes, 0..1."""
    crosswalk_chance: float = 0.5
    """Probability that a pedestrian takes a crosswalk it passes, 0..1."""
    walk_speed_mps: tuple[float, float] = (1.0, 1.6)
    """Desired walking speed, m/s, within 0.3..2.5."""
    run_probability: float = 0.1
    """Probability that a pedestrian runs across a road (besides running when a vehicle comes), 0..1."""
    run_speed_mps: tuple[float, float] = (2.5, 3.5)
    """Running speed, m/s, within 1.5..6."""
    group_size_weights: tuple[float, ...] = (0.6, 0.25, 0.1, 0.05)
    """Relative weights of group sizes 1, 2, 3, ... (non-negative, not all zero)."""
    gap_acceptance_s: tuple[float, float] = (3.0, 7.0)
    """Smallest time gap to an approaching vehicle a pedestrian accepts to cross, s, within 0..30."""
    patience_s: tuple[float, float] = (10.0, 40.0)
    """Waiting time after which the accepted gap has shrunk by half, s, within 1..600."""
    cyclist_speed_mps: tuple[float, float] = (3.0, 8.0)
    """Desired cycling speed, m/s, within 1..15."""
    crowd_size: int = 0
    """Pedestrians of a crowd waiting at both ends of the crosswalk nearest the spawn centre (0: none), 0..2000."""
    crowd_group_size: tuple[int, int] = (6, 12)
    """Range of sizes of the groups a crowd is made of (each led by one pedestrian), within 1..50."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            if isinstance(getattr(self, f.name), list):
                object.__setattr__(self, f.name, tuple(getattr(self, f.name)))
        for name, hi in (("pedestrians", 2000), ("cyclists", 500), ("crowd_size", 2000)):
            v = getattr(self, name)
            if not (isinstance(v, numbers.Integral) and not isinstance(v, bool) and 0 <= v <= hi):
                _fail(name, f"must be an integer in 0..{hi}, got {v!r}")
        for name in ("jaywalk_fraction", "jaywalk_chance", "crosswalk_chance", "run_probability"):
            v = getattr(self, name)
            if not (_real(v) and 0.0 <= v <= 1.0):
                _fail(name, f"must be a number in 0..1, got {v!r}")
        for name, lo, hi in (("walk_speed_mps", 0.3, 2.5), ("run_speed_mps", 1.5, 6.0), ("gap_acceptance_s", 0.0, 30.0),
                             ("patience_s", 1.0, 600.0), ("cyclist_speed_mps", 1.0, 15.0)):
            _range(self, name, lo, hi)
        _range(self, "crowd_group_size", 1, 50, integer=True)
        if self.run_speed_mps[0] < self.walk_speed_mps[1]:
            _fail("run_speed_mps", f"must start at or above the fastest walking speed {self.walk_speed_mps[1]}, "
                  f"got {self.run_speed_mps!r}")
        w = self.group_size_weights
        if not (isinstance(w, tuple) and w and all(_real(x) and x >= 0 for x in w) and sum(w) > 0):
            _fail("group_size_weights", f"need one or more non-negative weights, not all zero, got {w!r}")


def _range(spec, name, lo, hi, integer=False):
    v = getattr(spec, name)
    ok = isinstance(v, tuple) and len(v) == 2 and all(
        (isinstance(x, numbers.Integral) and not isinstance(x, bool)) if integer else _real(x) for x in v)
    if not ok:
        _fail(name, f"must be a (low, high) pair of {'integers' if integer else 'numbers'}, got {v!r}")
    if not lo <= v[0] <= v[1] <= hi:
        _fail(name, f"need {lo} <= low <= high <= {hi}, got {v!r}")


@dataclass(frozen=True)
class VruState:
    """State of M pedestrians and cyclists, one row per actor. Shapes (M,); SI units, world frame.

    Path information depends on ``mode`` (index into MODES): walking, ``path`` is a sidewalk line of the
    WalkNetwork; waiting or crossing, a link; riding, a lane. ``along`` is the arc position on it (links:
    from end a), ``direction`` +1/-1 the way along it, ``offset`` the lateral offset (left positive).
    ``target`` is the link a walker is heading for (cyclists: the next lane), ``decided`` the last link a
    walker decided on (taken or passed by). ``group`` is the index of the group's leader (itself for leaders,
    single pedestrians and cyclists); members keep ``slot_back`` m behind and ``slot_side`` m left of it.
    Rows are slots: a person keeps its row for as long as it lives; ``valid`` is False for a free row (its
    other fields are stale and ignored).
    """

    kind: np.ndarray  # int8: 0 pedestrian, 1 cyclist
    x: np.ndarray  # m
    y: np.ndarray  # m
    heading: np.ndarray  # rad
    speed: np.ndarray  # m/s along the path
    accel: np.ndarray  # m/s^2 along the path
    length: np.ndarray  # m
    width: np.ndarray  # m
    height: np.ndarray  # m
    mode: np.ndarray  # int8 index into MODES
    path: np.ndarray  # int64 sidewalk line, link or lane
    along: np.ndarray  # m
    direction: np.ndarray  # int8 +1 / -1
    offset: np.ndarray  # m, left positive
    offset_rate: np.ndarray  # m/s
    target: np.ndarray  # int64 link heading for (cyclists: next lane), -1 none
    decided: np.ndarray  # int64 last link decided on, -1 none
    wait: np.ndarray  # s waited at the kerb
    running: np.ndarray  # bool
    group: np.ndarray  # int64 index of the group leader
    slot_back: np.ndarray  # m
    slot_side: np.ndarray  # m
    desired_speed: np.ndarray  # m/s walking or cycling speed
    run_speed: np.ndarray  # m/s
    gap_acceptance: np.ndarray  # s
    patience: np.ndarray  # s
    jaywalk: np.ndarray  # probability of taking a mid-block crossing point passed
    cross_chance: np.ndarray  # probability of taking a crosswalk passed
    run_chance: np.ndarray  # probability of running across
    keep_right: np.ndarray  # m preferred offset to the right of the walking direction
    variant: np.ndarray  # int16 pedestrian mesh variant
    scripted: np.ndarray  # bool: placed by a scenario
    valid: np.ndarray  # bool: a person holds this row

    def __post_init__(self):
        n = self.kind.shape[0]
        for f in fields(self):
            if getattr(self, f.name).shape[0] != n:
                raise ValueError(f"VruState.{f.name}: {getattr(self, f.name).shape[0]} rows, expected {n}")

    @property
    def n(self) -> int:
        return int(self.kind.shape[0])

    def arrays(self) -> dict[str, np.ndarray]:
        """All fields by name (for logs and equality checks)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Vehicles:
    """Vehicles VRUs must respect (traffic and the ego). Shapes (V,): x, y m; heading rad; speed m/s;
    length, width m."""

    x: np.ndarray
    y: np.ndarray
    heading: np.ndarray
    speed: np.ndarray
    length: np.ndarray
    width: np.ndarray

    @classmethod
    def from_table(cls, table) -> "Vehicles":
        """From a (7, V) actor table (rows x, y, heading, speed, length, width, height)."""
        t = np.asarray(table, float)
        return cls(*(t[i] for i in range(6)))


_STYLE = ("kind", "length", "width", "group", "slot_back", "slot_side", "desired_speed", "run_speed", "gap_acceptance",
          "patience", "jaywalk", "cross_chance", "run_chance", "keep_right", "valid")
_DYNAMIC = ("mode", "path", "along", "direction", "offset", "offset_rate", "speed", "accel", "heading", "x", "y",
            "target", "decided", "wait", "running")


def step_vrus(state: VruState, network: WalkNetwork, world, vehicles, dt: float, rng: np.random.Generator) -> VruState:
    """Advance all VRUs by `dt` s among `vehicles` (Vehicles, or a mapping with its fields). Draws 3 uniforms
    per row from `rng`. Free rows stay as they are; a cyclist halted at a dead end (DEAD_END_M) leaves."""
    if state.n == 0:
        return state
    veh = vehicles if isinstance(vehicles, Vehicles) else Vehicles(**vehicles)
    uni = rng.random((state.n, 3))
    nv = np.asarray(veh.x).shape[0]
    cat = lambda a, b: np.ascontiguousarray(np.concatenate([np.asarray(a, float), b]))  # noqa: E731
    ped = state.kind == PEDESTRIAN
    obst = (cat(veh.x, state.x), cat(veh.y, state.y), cat(veh.heading, state.heading), cat(veh.speed, state.speed),
            cat(veh.length, state.length), cat(veh.width, state.width),
            np.concatenate([np.ones(nv, bool), ~ped & state.valid]),  # what pedestrians see
            np.concatenate([np.ones(nv, bool), (~ped | (state.mode != K.WALK)) & state.valid]), nv)  # cyclists
    out = K.step_kernel(_net_tables(network), _lane_tables(world, network), tuple(getattr(state, f) for f in _STYLE),
                        tuple(getattr(state, f) for f in _DYNAMIC), obst, float(dt), uni)
    new = object.__new__(VruState)
    new.__dict__.update(state.__dict__)
    new.__dict__.update(zip(_DYNAMIC, out))
    lanes = world.lanes
    halted = ((new.kind == CYCLIST) & (new.target < 0) & (new.speed < 0.05)
              & (lanes.lane_length[np.where(new.kind == CYCLIST, new.path, 0)] - new.along < DEAD_END_M))
    new.__dict__["valid"] = state.valid & ~halted
    return new


def _net_tables(net: WalkNetwork):
    return (net.points, net.u, net.lo, net.hi, net.line_start, net.line_count, net.a, net.b, net.kind, net.line,
            net.u_end, net.kerb, net.half_width, net.entry_link, net.entry_u, net.line_entries)


def _lane_tables(world, net: WalkNetwork):
    g = world.lanes
    return (g.points, g.point_s, g.point_heading, net.lane_curvature, g.lane_start, g.lane_npts, g.lane_length,
            g.lane_width, g.speed_limit, g.succ, g.right, g.lane_junction >= 0, net.ride_ok, net.ride_room)


# --------------------------------------------------------------------------------------------- spawning
def spawn_vrus(world, network: WalkNetwork, spec: VruSpec, rng: np.random.Generator, centre_xy, radius: float,
               occupied_xy=None) -> VruState:
    """Pedestrians (in groups) walking on sidewalks and cyclists riding near the right edge of rightmost lanes
    outside junctions, all within `radius` m of `centre_xy`; plus a crowd (spec.crowd_size) waiting at the
    crosswalk nearest the centre. Cyclists keep CYCLIST_SPACING_M from each other and from `occupied_xy`
    (K,2) m (vehicles already placed). Fewer where the sidewalks or lanes in reach cannot hold them all."""
    centre = np.asarray(centre_xy, float)
    occupied = np.zeros((0, 2)) if occupied_xy is None else np.asarray(occupied_xy, float).reshape(-1, 2)
    peds = _spawn_pedestrians(network, spec, rng, centre, radius)
    bikes = _spawn_cyclists(world, network, spec, rng, centre, radius, occupied)
    out = concat_vrus(peds, bikes)
    if spec.crowd_size:
        link = network.nearest_link(centre)
        if link >= 0:
            out = concat_vrus(out, spawn_crowd(network, spec, rng, link, spec.crowd_size))
    return out


def spawn_crowd(network: WalkNetwork, spec: VruSpec, rng: np.random.Generator, link: int, n: int) -> VruState:
    """`n` pedestrians waiting at both ends of `link` (half each) in rows behind the kerb, in groups of
    spec.crowd_group_size whose leaders decide when to cross; each half keeps to its right on the link."""
    half = (n + 1) // 2
    side = (np.arange(n) >= half).astype(int)
    rank = np.where(side == 0, np.arange(n), np.arange(n) - half)
    leader = np.zeros(n, np.int64)
    start = 0
    while start < n:
        size = int(rng.integers(spec.crowd_group_size[0], spec.crowd_group_size[1] + 1))
        stop = min(start + size, n if side[start] else half)
        leader[start:stop] = start
        start = stop
    st = _styles(spec, rng, n, leader, PEDESTRIAN)
    # Rows of people a shoulder width plus PERSONAL_GAP_M apart; each half keeps right of a free aisle.
    width = np.minimum(CROWD_WIDTH, np.where(side == 0, half, n - half))
    widest = float(st["width"].max())
    pitch = widest + PERSONAL_GAP_M
    back = CROWD_ROW_M * (rank // width)
    across = pitch * (rank % width - 0.5 * (width - 1))
    keep = 0.5 * (width - 1) * pitch + 0.5 * widest + 0.5 * CROWD_AISLE_M
    st["keep_right"] = (keep - across)[leader]
    direction = np.where(side == 0, 1, -1).astype(np.int8)
    length = float(np.hypot(*(network.b[link] - network.a[link])))
    along = np.where(side == 0, network.kerb[link, 0] - back, length - network.kerb[link, 1] + back)
    offset = direction * (across - keep)
    e = (network.b[link] - network.a[link]) / length
    xy = network.a[link] + along[:, None] * e + offset[:, None] * np.array([-e[1], e[0]])
    return _state(st, kind=PEDESTRIAN, x=xy[:, 0], y=xy[:, 1], heading=np.arctan2(direction * e[1], direction * e[0]),
                  speed=np.zeros(n), mode=np.full(n, K.WAIT, np.int8), path=np.full(n, link, np.int64), along=along,
                  direction=direction, offset=offset, group=leader, slot_back=back, slot_side=across - across[leader])


def free_groups(state: VruState, drop: np.ndarray) -> VruState:
    """``state`` with the rows of the groups whose leader has ``drop`` (M,) True freed (members go with their
    leader); every other person keeps its row."""
    gone = np.asarray(drop, bool)[state.group] & state.valid
    return dataclasses.replace(state, valid=state.valid & ~gone)


def vru_slots(n: int) -> VruState:
    """A VruState of `n` free rows."""
    return VruState(**{f.name: np.zeros(n, _dtype(f.name)) for f in fields(VruState)})


def fill_vrus(state: VruState, new: VruState) -> VruState:
    """``state`` with the people of ``new`` moved into its free rows, lowest first and a group at a time (the
    groups that no longer fit, or that would stand within CLEAR_OF_OTHERS_M of someone of their kind already
    there, are left out); the people already there keep their rows."""
    free = np.flatnonzero(~state.valid)
    keep = np.zeros(new.n, bool)
    room = free.size
    near = _near_others(state, new)
    for lead in np.flatnonzero(new.valid & (new.group == np.arange(new.n))):
        members = new.valid & (new.group == lead)
        if members.sum() <= room and not near[members].any():
            keep |= members
            room -= int(members.sum())
    rows = np.full(new.n, -1, np.int64)
    rows[keep] = free[:int(keep.sum())]
    arrays = {k: v.copy() for k, v in state.arrays().items()}
    for k, v in new.arrays().items():
        arrays[k][rows[keep]] = rows[v[keep]] if k == "group" else v[keep]
    return VruState(**arrays)


def _near_others(state: VruState, new: VruState) -> np.ndarray:
    """(new.n,) True where a person of ``new`` is within CLEAR_OF_OTHERS_M (of its kind) of a valid person of
    the same kind in ``state``."""
    out = np.zeros(new.n, bool)
    for kind, clear in enumerate(CLEAR_OF_OTHERS_M):
        there = state.valid & (state.kind == kind)
        here = new.kind == kind
        if there.any() and here.any():
            dist = np.hypot(new.x[here, None] - state.x[None, there], new.y[here, None] - state.y[None, there])
            out[here] = dist.min(axis=1) < clear
    return out


def concat_vrus(a: VruState, b: VruState) -> VruState:
    """The rows of `a` followed by those of `b` (b's group indices shifted)."""
    arrays = {k: np.concatenate([v, getattr(b, k) + a.n if k == "group" else getattr(b, k)])
              for k, v in a.arrays().items()}
    return VruState(**arrays)


def _styles(spec: VruSpec, rng: np.random.Generator, n: int, leader: np.ndarray, kind: int) -> dict:
    """Per-actor style arrays; group members share their leader's speeds and crossing habits."""
    u = rng.random((n, 10))
    lerp = lambda r, col: r[0] + u[:, col] * (r[1] - r[0])  # noqa: E731
    jay = u[:, 5] < spec.jaywalk_fraction
    speed_range = spec.walk_speed_mps if kind == PEDESTRIAN else spec.cyclist_speed_mps
    out = dict(desired_speed=lerp(speed_range, 0)[leader], run_speed=lerp(spec.run_speed_mps, 1)[leader],
               gap_acceptance=lerp(spec.gap_acceptance_s, 2), patience=lerp(spec.patience_s, 3),
               height=lerp(PEDESTRIAN_HEIGHT_M, 4), jaywalk=np.where(jay, spec.jaywalk_chance, 0.0)[leader],
               cross_chance=np.full(n, spec.crosswalk_chance), run_chance=np.full(n, spec.run_probability),
               keep_right=0.2 + 0.4 * u[:, 6], variant=(u[:, 7] * PEDESTRIAN_VARIANTS).astype(np.int16))
    if kind == PEDESTRIAN:
        out.update(length=lerp(PEDESTRIAN_LENGTH_M, 8), width=lerp(PEDESTRIAN_WIDTH_M, 9))
    return out


def _state(style: dict, kind: int, **kw) -> VruState:
    n = kw["x"].shape[0]
    base = dict(kind=np.full(n, kind, np.int8), accel=np.zeros(n), length=np.full(n, CYCLIST_SIZE_M[0]),
                width=np.full(n, CYCLIST_SIZE_M[1]), offset_rate=np.zeros(n), target=np.full(n, -1, np.int64),
                decided=np.full(n, -1, np.int64), wait=np.zeros(n), running=np.zeros(n, bool),
                slot_back=np.zeros(n), slot_side=np.zeros(n), group=np.arange(n, dtype=np.int64),
                scripted=np.zeros(n, bool), valid=np.ones(n, bool))
    base.update(style)
    if kind == CYCLIST:
        base["height"] = np.full(n, CYCLIST_SIZE_M[2])
    base.update(kw)
    return VruState(**{f.name: base[f.name] for f in fields(VruState)})


def no_vrus() -> VruState:
    """A VruState with no rows."""
    return vru_slots(0)


def _dtype(name: str):
    return {"kind": np.int8, "mode": np.int8, "direction": np.int8, "path": np.int64, "target": np.int64,
            "decided": np.int64, "group": np.int64, "running": bool, "scripted": bool, "valid": bool,
            "variant": np.int16}.get(name, float)


def _spawn_pedestrians(net: WalkNetwork, spec: VruSpec, rng, centre, radius) -> VruState:
    if spec.pedestrians == 0 or len(net.points) == 0:
        return no_vrus()
    w = np.asarray(spec.group_size_weights, float)
    sizes = []
    while sum(sizes) < spec.pedestrians:
        sizes.append(int(rng.choice(len(w), p=w / w.sum())) + 1)
    sizes[-1] -= sum(sizes) - spec.pedestrians
    near = np.sort(np.asarray(net.tree.query_ball_point(centre, radius), np.int64))
    leaders: list[int] = []
    for p in near[rng.permutation(len(near))]:
        if len(leaders) == len(sizes):
            break
        if all(np.hypot(*(net.points[p] - net.points[q])) >= GROUP_SPACING_M for q in leaders):
            leaders.append(int(p))
    sizes = sizes[:len(leaders)]
    if not sizes:
        return no_vrus()
    leader = np.repeat(np.cumsum([0] + sizes[:-1]), sizes).astype(np.int64)
    direction = np.where(rng.random(len(sizes)) < 0.5, 1, -1).astype(np.int8)[np.repeat(np.arange(len(sizes)), sizes)]
    point = np.repeat(leaders, sizes)
    back = SLOT_ROW_M * (_rank(leader) // 2)
    return _walkers(net, spec, rng, net.point_line[point], net.u[point] - direction * back, direction, leader, False)


def place_pedestrians(network: WalkNetwork, spec: VruSpec, rng: np.random.Generator, xy, heading,
                      group=None) -> VruState:
    """Scripted pedestrians walking on the sidewalk point nearest each of `xy` (M,2) m, the way along it that
    is closest to `heading` (M,) rad (group members: their leader's way), with styles sampled from `spec`.
    `group` (M,) is the index of each one's leader (default: each alone); members keep slots beside and
    behind it."""
    xy = np.atleast_2d(np.asarray(xy, float))
    leader = np.arange(len(xy), dtype=np.int64) if group is None else np.asarray(group, np.int64)
    _, point = network.tree.query(xy)
    line = network.point_line[point]
    j = np.minimum(point, network.line_start[line] + network.line_count[line] - 2)
    tangent = network.points[j + 1] - network.points[j]
    h = np.broadcast_to(np.asarray(heading, float), (len(xy),))
    direction = np.where(tangent[:, 0] * np.cos(h) + tangent[:, 1] * np.sin(h) >= 0, 1, -1).astype(np.int8)[leader]
    return _walkers(network, spec, rng, line, network.u[point], direction, leader, True)


def _rank(leader: np.ndarray) -> np.ndarray:
    """Place of each person in its group, in row order (the leader's is 0)."""
    return np.array([np.sum(leader[:i] == leader[i]) for i in range(len(leader))], int)


def _slots(leader: np.ndarray, width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(back, side) m of each group member's place relative to its leader: beside it (the group's widest
    shoulders plus PERSONAL_GAP_M to its left), then in rows SLOT_ROW_M behind."""
    rank = _rank(leader)
    widest = np.zeros(len(leader))
    np.maximum.at(widest, leader, width)
    return SLOT_ROW_M * (rank // 2), (widest[leader] + PERSONAL_GAP_M) * (rank % 2)


def _walkers(net: WalkNetwork, spec: VruSpec, rng, line, along, direction, leader, scripted: bool) -> VruState:
    n = len(line)
    line_len = net.u[net.line_start[line] + net.line_count[line] - 1]
    along = np.clip(along, 0.0, line_len)
    st = _styles(spec, rng, n, leader, PEDESTRIAN)
    back, side = _slots(leader, st["width"])
    offset = np.clip(-direction * st["keep_right"][leader] + direction * side, -K.SIDEWALK_HALF_M, K.SIDEWALK_HALF_M)
    x, y, heading = _sidewalk_poses(net, line, along, offset, direction)
    return _state(st, kind=PEDESTRIAN, x=x, y=y, heading=heading, speed=st["desired_speed"].copy(),
                  mode=np.full(n, K.WALK, np.int8), path=line.astype(np.int64), along=along, direction=direction,
                  offset=offset, group=leader, slot_back=back, slot_side=side, scripted=np.full(n, scripted))


def _sidewalk_poses(net: WalkNetwork, line, along, offset, direction):
    start, count = net.line_start[line], net.line_count[line]
    j = np.clip(np.array([np.searchsorted(net.u[s:s + c], a, side="right") - 1 for s, c, a in zip(start, count, along)])
                + start, start, start + count - 2)
    seg = net.points[j + 1] - net.points[j]
    norm = np.hypot(*seg.T)
    t = np.clip((along - net.u[j]) / norm, 0.0, 1.0)
    tang = seg / norm[:, None]
    p = net.points[j] + t[:, None] * seg + offset[:, None] * np.stack([-tang[:, 1], tang[:, 0]], axis=1)
    return p[:, 0], p[:, 1], np.arctan2(direction * tang[:, 1], direction * tang[:, 0])


def _spawn_cyclists(world, net: WalkNetwork, spec: VruSpec, rng, centre, radius, occupied) -> VruState:
    if spec.cyclists == 0 or len(net.cycle_points) == 0:
        return no_vrus()
    g = world.lanes
    near = net.cycle_points[np.sort(np.asarray(net.cycle_tree.query_ball_point(centre, radius), np.int64))]
    near = near[rng.permutation(len(near))]
    if len(occupied):
        far = np.hypot(*(g.points[near][:, None] - occupied[None]).transpose(2, 0, 1)).min(axis=1) >= CYCLIST_SPACING_M
        near = near[far]
    chosen: list[int] = []
    for p in near:
        if len(chosen) == spec.cyclists:
            break
        if all(np.hypot(*(g.points[p] - g.points[q])) >= CYCLIST_SPACING_M for q in chosen):
            chosen.append(int(p))
    n = len(chosen)
    if n == 0:
        return no_vrus()
    pts = np.array(chosen, np.int64)
    lane, s = g.point_lane[pts].astype(np.int64), g.point_s[pts].astype(float)
    d = -(0.5 * g.lane_width[lane] - K.CYCLE_EDGE_M)
    xy, heading = g.cartesian(lane, s, d)
    st = _styles(spec, rng, n, np.arange(n), CYCLIST)
    nxt = np.array([K.pick_successor(g.succ, net.ride_ok, net.ride_room, ln, r) for ln, r in zip(lane, rng.random(n))],
                   np.int64)
    return _state(st, kind=CYCLIST, x=xy[:, 0], y=xy[:, 1], heading=heading, speed=0.8 * st["desired_speed"],
                  mode=np.full(n, K.RIDE, np.int8), path=lane, along=s, direction=np.ones(n, np.int8), offset=d,
                  target=nxt)


# ---------------------------------------------------------------------------------------- outputs
def vru_obstacles(state: VruState, lane_graph):
    """VRUs on the carriageway (cyclists, and pedestrians within 0.1 m of a lane or in a junction area) as
    (lane, lane2, s, speed, length, xy) arrays with the fields of ``sim.traffic.traffic.Obstacles``: lane and
    arc position (cyclists: their own; pedestrians: from ``lane_graph.locate``), lane2 the neighbour lane
    when the body reaches over the lane line (-1 none), speed the component along the lane (m/s), length the
    footprint along it (m)."""
    xy = np.stack([state.x, state.y], axis=1)
    on = (state.kind == CYCLIST) & state.valid
    walkers = np.flatnonzero((state.kind == PEDESTRIAN) & state.valid & (state.mode != K.WALK))
    if walkers.size:
        on[walkers] = lane_graph.lanes_within(xy[walkers], 0.1) | lane_graph.in_areas(xy[walkers])
    idx = np.flatnonzero(on)
    lane, s, d = state.path[idx].copy(), state.along[idx].copy(), state.offset[idx].copy()
    ped = state.kind[idx] == PEDESTRIAN
    if ped.any():
        lane[ped], s[ped], d[ped] = lane_graph.locate(xy[idx[ped]])
    _, lane_heading = lane_graph.cartesian(lane, s, 0.0)
    reach = np.abs(d) + 0.5 * state.width[idx] > 0.5 * lane_graph.lane_width[lane]
    lane2 = np.where(reach, np.where(d > 0, lane_graph.left[lane], lane_graph.right[lane]), -1).astype(np.int64)
    speed = state.speed[idx] * np.cos(state.heading[idx] - lane_heading)
    length = np.where(ped, np.maximum(state.length[idx], state.width[idx]), state.length[idx])
    return lane, lane2, s, speed, length, xy[idx]


def vru_table(state: VruState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """((7, M) float64 rows x, y, heading, speed, length, width, height; (M,) int8 kind: 0 pedestrian, 1 cyclist;
    (M,) bool valid), one column per row of `state` (a person keeps its column while it lives)."""
    table = np.stack([state.x, state.y, state.heading, state.speed, state.length, state.width, state.height])
    return table.astype(np.float64), state.kind.copy(), state.valid.copy()

