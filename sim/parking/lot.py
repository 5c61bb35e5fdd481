"""Parking-lot generation: rows of bays along x separated by aisles, a curb all round, islands between
back-to-back rows, parked cars of varied sizes in most bays, a few cones, the ego's entry pose and a goal bay.

Everything solid is an oriented box ``(x, y, heading, length, width)`` (m, rad; ``sim.physics.collision``
convention), so the env and the planners check the ego against one (M, 5) array. Lot frame: metres, x along the
aisles, origin at the lot's lower-left corner inside the curb.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from sim.physics.collision import box_corners, boxes_overlap

KIND_NAMES = ("car", "curb", "island", "cone")
"""Obstacle kind codes (index into this tuple)."""
CAR, CURB, ISLAND, CONE = range(4)
CURB_WIDTH_M = 0.3
CONE_SIZE_M = 0.4
EGO_LENGTH_M = 4.7
EGO_WIDTH_M = 1.85


def _pair(name: str, value, low: float) -> tuple[float, float]:
    lo, hi = (float(v) for v in value)
    if not (low <= lo <= hi and math.isfinite(hi)):
        raise ValueError(f"LotSpec.{name} must be (low, high) with {low} <= low <= high, got {value}")
    return lo, hi


@dataclass(frozen=True)
class LotSpec:
    """Ranges a lot is sampled from (each a (low, high) pair drawn uniformly)."""

    aisles: tuple[int, int] = (1, 2)
    """Number of aisles; a lot has ``aisles + 1`` rows of bays (the inner ones back to back)."""
    bays_per_row: tuple[int, int] = (5, 8)
    bay_width_m: tuple[float, float] = (3.0, 3.2)
    bay_depth_m: tuple[float, float] = (5.5, 5.8)
    aisle_width_m: tuple[float, float] = (7.5, 8.5)
    end_zone_m: tuple[float, float] = (9.0, 11.0)
    """Free driving area at each end of the rows, m (the aisles join there)."""
    occupancy: float = 0.8
    """Probability that a bay other than the goal holds a parked car."""
    island_probability: float = 0.5
    """Probability that back-to-back rows are split by a curbed island (else a painted line)."""
    cones: tuple[int, int] = (1, 4)
    reverse_in_probability: float = 0.4
    """Probability that the goal asks to park reversed in (facing the aisle) instead of nose in."""

    def __post_init__(self):
        a = _pair("aisles", self.aisles, 1)
        b = _pair("bays_per_row", self.bays_per_row, 2)
        if a != tuple(int(v) for v in a) or b != tuple(int(v) for v in b):
            raise ValueError(f"LotSpec.aisles and bays_per_row must be integer pairs, got {self.aisles}, {self.bays_per_row}")
        _pair("bay_width_m", self.bay_width_m, 2.6)
        _pair("bay_depth_m", self.bay_depth_m, 5.0)
        _pair("aisle_width_m", self.aisle_width_m, 6.0)
        _pair("end_zone_m", self.end_zone_m, 7.0)
        _pair("cones", self.cones, 0)
        for name in ("occupancy", "island_probability", "reverse_in_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"LotSpec.{name} must be in [0, 1], got {getattr(self, name)}")

    @classmethod
    def from_dict(cls, values: dict) -> LotSpec:
        """A spec from a dict of field values (pairs as tuples or lists); unknown keys raise ValueError naming them."""
        known = set(cls.__dataclass_fields__)
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"LotSpec: unknown options {sorted(unknown)}; known: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


@dataclass(frozen=True, eq=False)
class Lot:
    """A generated lot. Poses are (x, y, heading) in m, m, rad."""

    size: tuple[float, float]
    """Inner extent (x, y) of the lot, m; the curb lies just outside."""
    obstacles: np.ndarray
    """(M, 5) float64 boxes (x, y, heading, length, width) of cars, curbs, islands and cones."""
    kind: np.ndarray
    """(M,) int8 index into KIND_NAMES."""
    bays: np.ndarray
    """(B, 3) float64 bay centre poses, heading pointing from the aisle into the bay."""
    bay_size: tuple[float, float]
    """Bay (width, depth), m."""
    lines: np.ndarray
    """(K, 2, 2) float64 painted line segments, m."""
    entry: np.ndarray
    """(3,) the ego's start pose."""
    goal: np.ndarray
    """(3,) the goal pose (centre of the goal bay, heading nose-in or reversed-in)."""
    goal_bay: int
    reverse_in: bool

    def collides(self, x, y, heading, length: float = EGO_LENGTH_M, width: float = EGO_WIDTH_M,
                 margin: float = 0.0) -> np.ndarray:
        """(N,) bool: the box of size ``length`` x ``width`` (+ ``margin`` on every side) at each pose touches an
        obstacle or leaves the lot."""
        x, y, heading = (np.atleast_1d(np.asarray(v, np.float64)) for v in (x, y, heading))
        n = x.shape[0]
        hit = boxes_overlap((x, y, heading, np.full(n, length + 2 * margin), np.full(n, width + 2 * margin)),
                            tuple(self.obstacles.T)).any(axis=1)
        corners = box_corners(x, y, heading, np.full(n, length), np.full(n, width))
        inside = ((corners[..., 0] >= 0) & (corners[..., 0] <= self.size[0])
                  & (corners[..., 1] >= 0) & (corners[..., 1] <= self.size[1])).all(axis=1)
        return hit | ~inside

    def occupancy(self, m_per_px: float) -> np.ndarray:
        """(H, W) uint8 grid over the lot (row i covers y in [i, i+1) * m_per_px, column j x likewise): 1 where
        an obstacle or the outside of the lot is."""
        w = int(math.ceil(self.size[0] / m_per_px))
        h = int(math.ceil(self.size[1] / m_per_px))
        grid = np.zeros((h, w), np.uint8)
        corners = box_corners(*self.obstacles.T) / m_per_px - 0.5
        cv2.fillPoly(grid, [np.round(c * 16).astype(np.int32) for c in corners], 1, cv2.LINE_8, 4)
        return grid


def _uniform(rng: np.random.Generator, pair) -> float:
    return float(rng.uniform(pair[0], pair[1]))


def _integer(rng: np.random.Generator, pair) -> int:
    return int(rng.integers(int(pair[0]), int(pair[1]) + 1))


def generate_lot(spec: LotSpec, rng: np.random.Generator) -> Lot:
    """A lot sampled from ``spec`` with ``rng`` (the only source of randomness)."""
    n_aisles = _integer(rng, spec.aisles)
    n_bays = _integer(rng, spec.bays_per_row)
    bay_w, bay_d = _uniform(rng, spec.bay_width_m), _uniform(rng, spec.bay_depth_m)
    aisle = _uniform(rng, spec.aisle_width_m)
    end_l, end_r = _uniform(rng, spec.end_zone_m), _uniform(rng, spec.end_zone_m)
    islands = [rng.random() < spec.island_probability for _ in range(n_aisles - 1)]
    island_w = 1.0

    # Rows from the bottom: a single row, then per inner pair two back-to-back rows, then a single row on top.
    rows = []  # (y of the bay's back edge, +1 if the bay opens upward else -1)
    y = 0.0
    rows.append((y, 1))
    y += bay_d
    aisle_y = []
    for i in range(n_aisles):
        aisle_y.append(y + 0.5 * aisle)
        y += aisle
        if i < n_aisles - 1:
            rows.append((y + bay_d, -1))
            y += bay_d + (island_w if islands[i] else 0.0)
            rows.append((y, 1))
            y += bay_d
    rows.append((y + bay_d, -1))
    height = y + bay_d
    width = end_l + n_bays * bay_w + end_r

    bays, lines = [], []
    for back, up in rows:
        centre_y = back + up * 0.5 * bay_d
        for j in range(n_bays):
            bays.append((end_l + (j + 0.5) * bay_w, centre_y, -up * math.pi / 2))
        for j in range(n_bays + 1):
            x = end_l + j * bay_w
            lines.append(((x, back), (x, back + up * bay_d)))
        lines.append(((end_l, back), (end_l + n_bays * bay_w, back)))
    bays = np.array(bays)

    boxes, kinds = [], []
    c = CURB_WIDTH_M
    for bx, by, bl, bw in ((width / 2, -c / 2, width + 2 * c, c), (width / 2, height + c / 2, width + 2 * c, c),
                           (-c / 2, height / 2, c, height), (width + c / 2, height / 2, c, height)):
        boxes.append((bx, by, 0.0, bl, bw))
        kinds.append(CURB)
    for i, has in enumerate(islands):
        if has:
            iy = rows[1 + 2 * i][0] + 0.5 * island_w
            boxes.append((end_l + 0.5 * n_bays * bay_w, iy, 0.0, n_bays * bay_w, island_w))
            kinds.append(ISLAND)

    entry = np.array([0.5 * end_l, aisle_y[0], 0.0])
    goal_bay = int(rng.integers(len(bays)))
    reverse_in = bool(rng.random() < spec.reverse_in_probability)
    goal = bays[goal_bay].copy()
    if reverse_in:
        goal[2] = -goal[2]

    free = []
    for k, (bx, by, bh) in enumerate(bays):
        if k == goal_bay:
            continue
        if rng.random() < spec.occupancy:
            length = rng.uniform(3.8, min(5.1, bay_d - 0.3))
            car_w = rng.uniform(1.65, 1.95)
            depth_off = rng.uniform(-0.2, 0.5 * (bay_d - length))
            lateral = rng.uniform(-0.15, 0.15)
            flip = math.pi if rng.random() < 0.5 else 0.0
            ux, uy = math.cos(bh), math.sin(bh)
            boxes.append((bx + ux * depth_off - uy * lateral, by + uy * depth_off + ux * lateral,
                          bh + flip + rng.uniform(-0.04, 0.04), length, car_w))
            kinds.append(CAR)
        else:
            free.append(k)
    n_cones = _integer(rng, spec.cones)
    for k in rng.permutation(free)[:n_cones]:
        bx, by, bh = bays[k]
        boxes.append((bx + rng.uniform(-0.6, 0.6), by + rng.uniform(-1.5, 1.5), rng.uniform(0, math.pi / 2),
                      CONE_SIZE_M, CONE_SIZE_M))
        kinds.append(CONE)
    for _ in range(n_cones - min(n_cones, len(free))):
        corner_x = rng.choice([0.6, width - 0.6])
        corner_y = rng.choice([0.6, height - 0.6])
        boxes.append((corner_x, corner_y, 0.0, CONE_SIZE_M, CONE_SIZE_M))
        kinds.append(CONE)

    lot = Lot(size=(width, height), obstacles=np.array(boxes, np.float64), kind=np.array(kinds, np.int8),
              bays=bays, bay_size=(bay_w, bay_d), lines=np.array(lines, np.float64), entry=entry, goal=goal,
              goal_bay=goal_bay, reverse_in=reverse_in)
    if lot.collides(*entry)[0] or lot.collides(*goal)[0]:
        raise RuntimeError("generate_lot: the entry or goal pose collides; the layout rules are broken")
    return lot


def goal_box_overlap(lot: Lot) -> np.ndarray:
    """(M,) bool: obstacles overlapping the goal bay's rectangle (empty on a valid lot)."""
    bx, by, bh = lot.bays[lot.goal_bay]
    w, d = lot.bay_size
    return boxes_overlap((np.array([bx]), np.array([by]), np.array([bh]), np.array([d - 0.01]), np.array([w - 0.01])),
                         tuple(lot.obstacles.T))[0]
