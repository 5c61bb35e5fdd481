"""State lattice for parking: (x, y, heading) states with headings on a discrete set, forward and reverse arc
primitives generated with the env's own vehicle model, and vectorised collision checks of the ego's box.

The three parking planners (``astar``, ``mcts``) search this same lattice, so their node counts compare.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.env.parking import compose, invert
from sim.parking.lot import EGO_LENGTH_M, EGO_WIDTH_M
from sim.physics import VehicleParams, VehicleState, boxes_overlap, get_model

HEADINGS = 16
"""Heading bins over a full turn."""
STEP_M = 1.8
"""Arc length of a primitive, m: a full-lock arc turns one heading bin (curvature 0.218 /m, steer 0.55 rad)."""
TURNS = (-1, 0, 1)
"""Heading bins turned by the primitives of each gear (right, straight, left)."""
SAMPLES = 4
"""Poses checked for collision along each primitive (the last is its end)."""
CELL_M = 0.5
"""Position resolution of the closed set, m."""
REVERSE_COST = 1.5
"""Cost per metre driven in reverse (forward: 1)."""
GEAR_CHANGE_COST = 3.0
"""Cost of each change between forward and reverse, m equivalent."""
TURN_COST = 0.1
"""Extra cost of a turning primitive, m equivalent."""
MARGIN_M = 0.25
"""Clearance kept around the ego's box by the plan, m."""
GOAL_POSITION_TOL_M = 0.3
"""Largest lateral offset of a plan's end from the goal (across the goal heading), m."""
GOAL_REACH_M = 1.2
"""A lattice state with the goal's heading bin, within GOAL_POSITION_TOL_M of the goal's axis and this far
along it, is a goal state when the straight drive onto the goal's axis point is free (the plan's connector), m."""
CONNECTOR_STEP_M = 0.3
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
    curvature = 2 * math.pi / headings / step_m
    steer = math.atan(curvature * float(params.wheelbase[0]))
    if steer > float(params.max_steer[0]):
        raise ValueError(f"a {step_m} m primitive turning one of {headings} heading bins needs {steer:.3f} rad of "
                         f"steer, more than max_steer {float(params.max_steer[0]):.3f}")
    samples, turns, gears, steers = [], [], [], []
    for gear in (1, -1):
        for turn in TURNS:
            poses = []
            for k in range(1, SAMPLES + 1):
                state = VehicleState.from_pose([0.0], [0.0], [0.0], [1.0]).replace(steer=np.array([turn * steer]))
                end = model.compute_update(state, params, np.array([turn * steer]), np.zeros(1), step_m * k / SAMPLES)
                delta = np.array([end.x[0], end.y[0], end.heading[0]])
                poses.append(delta if gear > 0 else invert(delta))
            samples.append(poses)
            turns.append(turn * gear)
            gears.append(gear)
            steers.append(turn * steer)
    n = len(turns)
    return Primitives(np.array(samples), np.array(turns), np.array(gears), np.array(steers), np.full(n, step_m))


class Lattice:
    """The lattice of one planning problem: the obstacles (M, 5) boxes of a lot of ``size`` (m), a ``start``
    and a ``goal`` pose (3,), and the primitives. States are ``(x, y, h)`` with ``h`` a heading bin."""

    def __init__(self, obstacles: np.ndarray, size, start, goal, params: VehicleParams, margin: float = MARGIN_M,
                 goal_tol: float = GOAL_POSITION_TOL_M):
        self.obstacles = np.asarray(obstacles, np.float64)
        if self.obstacles.ndim != 2 or self.obstacles.shape[1] != 5:
            raise ValueError(f"obstacles must be (M, 5) boxes (x, y, heading, length, width), got {self.obstacles.shape}")
        self.size = (float(size[0]), float(size[1]))
        self.prims = make_primitives(params)
        self.headings = HEADINGS
        self.bin = 2 * math.pi / HEADINGS
        self.start = self.snap(start)
        self.goal = np.asarray(goal, np.float64)
        self.goal_h = self.heading_bin(self.goal[2])
        self.margin = margin
        self.goal_tol = goal_tol
        self._obs = tuple(self.obstacles.T)
        self._radius = 0.5 * np.hypot(self.obstacles[:, 3], self.obstacles[:, 4])
        reach = STEP_M + 0.5 * math.hypot(EGO_LENGTH_M, EGO_WIDTH_M) + margin
        self._reach = reach + self._radius
        self.checks = 0
        """Poses tested for collision so far."""

    def heading_bin(self, heading: float) -> int:
        """The heading bin nearest ``heading``; ValueError when it is more than 0.01 rad off the lattice."""
        h = heading / self.bin
        if abs(h - round(h)) * self.bin > 0.01:
            raise ValueError(f"heading {heading:.4f} rad is not on the {self.headings}-bin lattice")
        return int(round(h)) % self.headings

    def snap(self, pose) -> tuple[float, float, int]:
        """``pose`` (x, y, heading) as a lattice state."""
        return float(pose[0]), float(pose[1]), self.heading_bin(float(pose[2]))

    def pose(self, state) -> np.ndarray:
        """(3,) pose of a lattice state."""
        return np.array([state[0], state[1], state[2] * self.bin])

    def key(self, state) -> tuple[int, int, int]:
        """Closed-set cell of a state."""
        return int(math.floor(state[0] / CELL_M)), int(math.floor(state[1] / CELL_M)), state[2]

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
        """(N,) bool for (N, 3) poses: the ego's box plus the margin touches an obstacle or leaves the lot."""
        self.checks += len(poses)
        x, y, h = poses[:, 0], poses[:, 1], poses[:, 2]
        half_l, half_w = 0.5 * EGO_LENGTH_M, 0.5 * EGO_WIDTH_M
        c, s = np.abs(np.cos(h)), np.abs(np.sin(h))
        ex, ey = c * half_l + s * half_w, s * half_l + c * half_w
        out = (x - ex < 0) | (x + ex > self.size[0]) | (y - ey < 0) | (y + ey > self.size[1])
        cx, cy = poses[:, :2].mean(axis=0)
        near = np.hypot(self.obstacles[:, 0] - cx, self.obstacles[:, 1] - cy) <= self._reach
        if near.any():
            n = len(poses)
            grow = 2 * self.margin
            ego = (x, y, h, np.full(n, EGO_LENGTH_M + grow), np.full(n, EGO_WIDTH_M + grow))
            out |= boxes_overlap(ego, tuple(a[near] for a in self._obs)).any(axis=1)
        return out

    def successors(self, state) -> tuple[list[tuple[float, float, int]], np.ndarray]:
        """The end states of every primitive from ``state`` and a (P,) bool mask of those collision-free along
        the whole primitive."""
        pose = self.pose(state)
        samples = compose(pose[None, None, :], self.prims.samples)  # (P, S, 3)
        bad = self.collides(samples.reshape(-1, 3)).reshape(len(self.prims), -1).any(axis=1)
        ends = samples[:, -1]
        children = [(float(ends[p, 0]), float(ends[p, 1]), (state[2] + int(self.prims.turn[p])) % self.headings)
                    for p in range(len(self.prims))]
        return children, ~bad

    def step_cost(self, prim: int, prev_gear: int) -> float:
        """Cost of primitive ``prim`` after a primitive in ``prev_gear`` (0 at the start), m equivalent."""
        gear = int(self.prims.gear[prim])
        cost = float(self.prims.length[prim]) * (1.0 if gear > 0 else REVERSE_COST)
        if self.prims.turn[prim] != 0:
            cost += TURN_COST
        if prev_gear and gear != prev_gear:
            cost += GEAR_CHANGE_COST
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

    def connector_cost(self, state, prev_gear: int) -> float:
        """Cost of the connector from goal state ``state`` after a primitive in ``prev_gear``, m equivalent."""
        along, _ = self.goal_offset(state)
        gear = 1 if along >= 0 else -1
        cost = abs(along) * (1.0 if gear > 0 else REVERSE_COST)
        return cost + (GEAR_CHANGE_COST if prev_gear and gear != prev_gear and abs(along) > 1e-9 else 0.0)
