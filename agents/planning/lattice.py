"""State lattice for parking at the resolution of a parking planner: (x, y, heading) states with continuous
positions and 72 heading bins (5 deg), short forward and reverse arcs at five curvatures generated with the env's
own vehicle model, a closed set of CELL_M cells, and collision checks against a configuration-space grid (per
heading bin, the obstacles and the outside of the lot dilated by the ego's footprint plus the margin).

The parking planners (``astar``, ``mcts``) search this same lattice, so their node counts compare.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from sim.env.parking import compose, invert
from sim.parking.lot import EGO_LENGTH_M, EGO_WIDTH_M
from sim.physics import VehicleParams, VehicleState, box_corners, get_model

HEADINGS = 72
"""Heading bins over a full turn (5 deg each)."""
STEP_M = 0.8
"""Arc length of a primitive, m: the sharpest turns two heading bins (curvature 0.218 /m, steer 0.55 rad)."""
TURNS = (-2, -1, 0, 1, 2)
"""Heading bins turned by the primitives of each gear (right ... left)."""
SAMPLES = 4
"""Poses checked for collision along each primitive, evenly spaced (the last is its end)."""
CELL_M = 0.1
"""Position resolution of the closed set, m."""
GRID_M = 0.1
"""Resolution of the configuration-space collision grid, m."""
GRID_PAD_M = 1.0
"""The collision grid reaches this far outside the lot (all of it occupied), m."""
REVERSE_COST = 1.5
"""Cost per metre driven in reverse (forward: 1)."""
GEAR_CHANGE_COST = 3.0
"""Cost of each change between forward and reverse, m equivalent."""
TURN_COST = 0.02
"""Extra cost per heading bin a primitive turns, m equivalent."""
STEER_CHANGE_COST = 0.05
"""Extra cost per heading bin of change in turn from the previous primitive (same gear), m equivalent."""
MARGIN_M = 0.15
"""Clearance kept around the ego's box by the plan, m."""
GOAL_POSITION_TOL_M = 0.25
"""Largest lateral offset of a plan's end from the goal (across the goal heading), m."""
GOAL_REACH_M = 1.2
"""A lattice state with the goal's heading bin, within GOAL_POSITION_TOL_M of the goal's axis and this far
along it, is a goal state when the straight drive onto the goal's axis point is free (the plan's connector), m."""
CONNECTOR_STEP_M = 0.2
"""Spacing of the connector's poses, m."""


@dataclass(frozen=True)
class Primitives:
    """P motion primitives in the body frame of their start: ``samples`` (P, SAMPLES, 3) poses along each
    (dx, dy, dheading; the last is the end), ``turn`` (P,) heading bins turned, ``gear`` (P,) +1 / -1,
    ``steer`` (P,) front wheel angle (rad), ``length`` (P,) arc length (m)."""

    samples: np.ndarray
    turn: np.ndarray
    gear: np.ndarray
    steer: np.ndarray
    length: np.ndarray

    def __len__(self) -> int:
        return len(self.turn)


def make_primitives(params: VehicleParams, step_m: float = STEP_M, headings: int = HEADINGS) -> Primitives:
    """Forward then reverse primitives for every turn in TURNS, driven by the kinematic bicycle of ``params``
    (one actor): each forward arc is the model's exact motion at constant steer; each reverse arc its inverse."""
    model = get_model("kinematic")
    samples, turns, gears, steers = [], [], [], []
    for gear in (1, -1):
        for turn in TURNS:
            steer = math.atan(turn * 2 * math.pi / headings / step_m * float(params.wheelbase[0]))
            if abs(steer) > float(params.max_steer[0]):
                raise ValueError(f"a {step_m} m primitive turning {turn} of {headings} heading bins needs "
                                 f"{abs(steer):.3f} rad of steer, more than max_steer {float(params.max_steer[0]):.3f}")
            poses = []
            for k in range(1, SAMPLES + 1):
                state = VehicleState.from_pose([0.0], [0.0], [0.0], [1.0]).replace(steer=np.array([steer]))
                end = model.compute_update(state, params, np.array([steer]), np.zeros(1), step_m * k / SAMPLES)
                delta = np.array([end.x[0], end.y[0], end.heading[0]])
                poses.append(delta if gear > 0 else invert(delta))
            samples.append(poses)
            turns.append(turn * gear)
            gears.append(gear)
            steers.append(steer)
    n = len(turns)
    return Primitives(np.array(samples), np.array(turns), np.array(gears), np.array(steers), np.full(n, step_m))


class CSpace:
    """Configuration-space collision grid of one lot: ``free`` (HEADINGS, rows, cols) bool, True where the ego's
    box grown by ``margin`` on every side, at any heading within half a bin of the bin's, fits between the
    obstacles and inside the lot. Cell (r, c) holds the poses with x in ``x0 + [c, c + 1) * GRID_M`` and y
    likewise (the grid starts GRID_PAD_M outside the lot). The obstacles are rasterised grown by half a cell
    diagonal (every cell they touch) and the footprint by ``margin`` plus that, so every pose of a free cell
    keeps at least ``margin - GRID_M / sqrt(2)`` of clearance (about ``margin + GRID_M / sqrt(2)`` on average)."""

    def __init__(self, obstacles: np.ndarray, size, margin: float):
        self.origin = -GRID_PAD_M
        cols = int(math.ceil((size[0] + 2 * GRID_PAD_M) / GRID_M))
        rows = int(math.ceil((size[1] + 2 * GRID_PAD_M) / GRID_M))
        occ = np.ones((rows, cols), np.uint8)
        cell = GRID_M / math.sqrt(2)
        inside = np.array([[cell, cell], [size[0] - cell, cell], [size[0] - cell, size[1] - cell],
                           [cell, size[1] - cell]])
        cv2.fillPoly(occ, [self._px(inside)], 0, cv2.LINE_8, 4)
        if len(obstacles):
            x, y, h, length, width = np.asarray(obstacles, np.float64).T
            cv2.fillPoly(occ, list(self._px(box_corners(x, y, h, length + 2 * cell, width + 2 * cell))), 1,
                         cv2.LINE_8, 4)
        grow = margin + cell
        half = int(math.ceil((0.5 * math.hypot(EGO_LENGTH_M, EGO_WIDTH_M) + grow) / GRID_M)) + 1
        bin_rad = 2 * math.pi / HEADINGS
        self.free = np.empty((HEADINGS, rows, cols), bool)
        for h in range(HEADINGS):
            kernel = np.zeros((2 * half + 1, 2 * half + 1), np.uint8)
            for dh in (-0.5, 0.0, 0.5):
                corners = box_corners([0.0], [0.0], [(h + dh) * bin_rad], [EGO_LENGTH_M + 2 * grow],
                                      [EGO_WIDTH_M + 2 * grow])[0] / GRID_M + half
                cv2.fillPoly(kernel, [np.round(corners * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
            self.free[h] = cv2.dilate(occ, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=1) == 0
        self.shape = (rows, cols)
        self.flat = self.free.reshape(-1)

    def _px(self, points: np.ndarray) -> np.ndarray:
        """Lot points (..., 2) as fillPoly vertices (4 fractional bits) of the grid."""
        return np.round(((np.asarray(points) - self.origin) / GRID_M - 0.5) * 16).astype(np.int32)

    def index(self, x, y, h) -> np.ndarray:
        """Flat indices into ``free`` of poses at lot points ``x``, ``y`` (m) and heading bins ``h`` (arrays of
        one shape); points off the grid clamp onto its occupied border."""
        rows, cols = self.shape
        c = np.clip(((np.asarray(x) - self.origin) * (1 / GRID_M)).astype(np.int64), 0, cols - 1)
        r = np.clip(((np.asarray(y) - self.origin) * (1 / GRID_M)).astype(np.int64), 0, rows - 1)
        return (np.asarray(h, np.int64) * rows + r) * cols + c


class Lattice:
    """The lattice of one planning problem: the obstacles (M, 5) boxes of a lot of ``size`` (m), a ``start``
    and a ``goal`` pose (3,), and the primitives. States are ``(x, y, h)`` with ``h`` a heading bin. ``cspace``
    reuses the collision grid of another lattice of the same lot and margin; ``cell_m`` is the closed set's
    position resolution (m)."""

    def __init__(self, obstacles: np.ndarray, size, start, goal, params: VehicleParams, margin: float = MARGIN_M,
                 goal_tol: float = GOAL_POSITION_TOL_M, cspace: CSpace | None = None, cell_m: float = CELL_M):
        self.obstacles = np.asarray(obstacles, np.float64)
        if self.obstacles.ndim != 2 or self.obstacles.shape[1] != 5:
            raise ValueError(f"obstacles must be (M, 5) boxes (x, y, heading, length, width), got {self.obstacles.shape}")
        self.size = (float(size[0]), float(size[1]))
        self.params = params
        self.prims = make_primitives(params)
        self.headings = HEADINGS
        self.bin = 2 * math.pi / HEADINGS
        self.start = self.snap(start)
        self.goal = np.asarray(goal, np.float64)
        self.goal_h = self.heading_bin(self.goal[2])
        self.margin = margin
        self.goal_tol = goal_tol
        self.cspace = cspace if cspace is not None else CSpace(self.obstacles, self.size, margin)
        if not cell_m > 0:
            raise ValueError(f"cell_m must be > 0, got {cell_m!r}")
        self.cell_m = float(cell_m)
        self._cells = (int(math.ceil(self.size[0] / cell_m)) + 64, int(math.ceil(self.size[1] / cell_m)) + 64)
        # per start heading bin: lot-frame offsets of every primitive's samples (H, P, S, 2), their heading bins
        # (H, P, S) and the end's heading bin (H, P)
        rel = self.prims.samples
        ang = np.arange(HEADINGS)[:, None, None] * self.bin
        c, s = np.cos(ang), np.sin(ang)
        self._off = np.stack([c * rel[None, ..., 0] - s * rel[None, ..., 1],
                              s * rel[None, ..., 0] + c * rel[None, ..., 1]], axis=-1)
        self._sample_h = np.round(ang / self.bin + rel[None, ..., 2] / self.bin).astype(np.int64) % HEADINGS
        self._end_h = (np.arange(HEADINGS)[:, None] + self.prims.turn[None, :]) % HEADINGS

    def with_start(self, start) -> Lattice:
        """The same lot and goal planned from ``start`` (shares the collision grid)."""
        return Lattice(self.obstacles, self.size, start, self.goal, self.params, self.margin, self.goal_tol,
                       self.cspace, self.cell_m)

    def heading_bin(self, heading: float) -> int:
        """The heading bin nearest ``heading``; ValueError when it is more than 0.01 rad off the lattice."""
        h = heading / self.bin
        if abs(h - round(h)) * self.bin > 0.01:
            raise ValueError(f"heading {heading:.4f} rad is not on the {self.headings}-bin lattice")
        return int(round(h)) % self.headings

    def snap(self, pose) -> tuple[float, float, int]:
        """``pose`` (x, y, heading) as a lattice state: its position and the heading bin nearest its heading (a
        start off the bins, e.g. a replan mid-drive, is at most half a bin off the state's heading, which the
        collision grid of that bin covers, so the state is collision-free exactly when the pose is)."""
        if not all(math.isfinite(float(v)) for v in pose[:3]):
            raise ValueError(f"start pose must be finite, got {list(pose[:3])}")
        return float(pose[0]), float(pose[1]), int(round(float(pose[2]) / self.bin)) % self.headings

    def pose(self, state) -> np.ndarray:
        """(3,) pose of a lattice state."""
        return np.array([state[0], state[1], state[2] * self.bin])

    def key(self, state) -> int:
        """Closed-set cell of a state (``cell_m`` in position, the heading bin), as one int."""
        kx, ky = self._cells
        c = self.cell_m
        return (state[2] * ky + int(math.floor(state[1] / c)) + 32) * kx + int(math.floor(state[0] / c)) + 32

    def goal_offset(self, state) -> tuple[float, float]:
        """(along, across) offset of the goal from ``state`` in the state's heading frame, m."""
        h = state[2] * self.bin
        dx, dy = self.goal[0] - state[0], self.goal[1] - state[1]
        return math.cos(h) * dx + math.sin(h) * dy, -math.sin(h) * dx + math.cos(h) * dy

    def connector(self, state) -> np.ndarray:
        """(K, 3) poses of the straight drive from ``state`` to the point of the goal's axis beside it (K >= 1,
        the last on the axis; K = 1 and the state's own pose when it is on the axis already)."""
        along, _ = self.goal_offset(state)
        k = max(1, int(math.ceil(abs(along) / CONNECTOR_STEP_M)))
        t = along * np.arange(1, k + 1) / k
        h = state[2] * self.bin
        return np.stack([state[0] + t * math.cos(h), state[1] + t * math.sin(h), np.full(k, h)], axis=1)

    def is_goal(self, state) -> bool:
        """Goal heading bin, within GOAL_POSITION_TOL_M across and GOAL_REACH_M along the goal, free connector."""
        if state[2] != self.goal_h:
            return False
        along, across = self.goal_offset(state)
        if abs(across) > self.goal_tol or abs(along) > GOAL_REACH_M:
            return False
        return not self.collides(self.connector(state)).any()

    def collides(self, poses: np.ndarray) -> np.ndarray:
        """(N,) bool for (N, 3) poses: not free in the collision grid (the ego's box plus the margin touches an
        obstacle or leaves the lot), heading rounded to its bin."""
        h = np.round(poses[:, 2] / self.bin).astype(np.int64) % HEADINGS
        return ~self.cspace.flat[self.cspace.index(poses[:, 0], poses[:, 1], h)]

    def successors(self, state) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """End positions (P, 2) and heading bins (P,) of every primitive from ``state``, and a (P,) bool mask of
        those collision-free along the whole primitive."""
        x, y, h = state
        off = self._off[h]
        idx = self.cspace.index(x + off[..., 0], y + off[..., 1], self._sample_h[h])
        ok = self.cspace.flat[idx].all(axis=1)
        return off[:, -1] + (x, y), self._end_h[h], ok

    def step_cost(self, prim: int, prev: int) -> float:
        """Cost of primitive ``prim`` after primitive ``prev`` (-1 at the start), m equivalent."""
        prims = self.prims
        gear = int(prims.gear[prim])
        cost = float(prims.length[prim]) * (1.0 if gear > 0 else REVERSE_COST) + TURN_COST * abs(int(prims.turn[prim]))
        if prev >= 0:
            if gear != int(prims.gear[prev]):
                cost += GEAR_CHANGE_COST
            else:
                cost += STEER_CHANGE_COST * abs(int(prims.turn[prim]) - int(prims.turn[prev]))
        return cost

    def path(self, start, prims) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Poses (K, 3) along the primitives ``prims`` driven from lattice state ``start`` and then the connector,
        with the gear (K,) and steer (K,) of the motion leading to each pose (the first pose: the first motion's)."""
        pose = self.pose(start)
        state = start
        poses, gears, steers = [pose[None]], [], []
        for p in prims:
            samples = compose(pose[None, :], self.prims.samples[p])
            poses.append(samples)
            gears.extend([int(self.prims.gear[p])] * len(samples))
            steers.extend([float(self.prims.steer[p])] * len(samples))
            pose = samples[-1]
            pose[2] = round(pose[2] / self.bin) * self.bin
            state = (float(pose[0]), float(pose[1]), (state[2] + int(self.prims.turn[p])) % self.headings)
        along, _ = self.goal_offset(state)
        if abs(along) > 1e-9:
            tail = self.connector(state)
            poses.append(tail)
            gears.extend([1 if along > 0 else -1] * len(tail))
            steers.extend([0.0] * len(tail))
        gears = [gears[0] if gears else 1] + gears
        steers = [steers[0] if steers else 0.0] + steers
        return np.concatenate(poses), np.array(gears), np.array(steers)

    def connector_cost(self, state, prev: int) -> float:
        """Cost of the connector from goal state ``state`` after primitive ``prev`` (-1 at the start), m
        equivalent."""
        along, _ = self.goal_offset(state)
        if abs(along) <= 1e-9:
            return 0.0
        gear = 1 if along > 0 else -1
        cost = abs(along) * (1.0 if gear > 0 else REVERSE_COST)
        return cost + (GEAR_CHANGE_COST if prev >= 0 and gear != int(self.prims.gear[prev]) else 0.0)
