"""A* over the parking lattice with two heuristics: the Euclidean distance to the goal, and a route (navigation)
heuristic, the length of the shortest 8-connected grid path to the goal through free space (``RouteField``)."""
from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np
from scipy.ndimage import distance_transform_edt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from agents.planning.lattice import CELL_M, HEADINGS, Lattice, Primitives
from sim.env.parking import compose
from sim.physics import box_corners

ROUTE_M_PER_PX = 0.25
"""Resolution of the route field, m."""
ROUTE_CLEARANCE_M = 0.6
"""Cells closer than this to an obstacle are not free in the route field (less than the ego's half width, so no
pose the lattice accepts is cut off), m."""
UNREACHABLE_M = 1e3
"""Route distance of cells with no free path to the goal, m."""


@dataclass
class PlanResult:
    """Outcome of a parking planner: the lattice states from start to goal and the primitives between them,
    poses (N, 3) densely along the path, and the search effort."""

    success: bool
    nodes_expanded: int
    time_s: float
    states: list = field(default_factory=list)
    prims: list = field(default_factory=list)
    poses: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    gears: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    """Gear of the motion leading to each pose (+1 forward, -1 reverse)."""
    steers: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Steer of the motion leading to each pose, rad."""
    cost: float = math.inf
    path_length_m: float = 0.0
    capped: bool = False
    """True when the search stopped at its node budget."""


class RouteField:
    """Shortest free-space grid distance to the goal from every cell of the lot (m), at ROUTE_M_PER_PX."""

    def __init__(self, lattice: Lattice, m_per_px: float = ROUTE_M_PER_PX, clearance: float = ROUTE_CLEARANCE_M):
        self.m_per_px = m_per_px
        w, h = lattice.size
        cols, rows = int(math.ceil(w / m_per_px)), int(math.ceil(h / m_per_px))
        occupied = np.zeros((rows, cols), bool)
        if len(lattice.obstacles):
            occupied = rasterise(box_corners(*lattice.obstacles.T), rows, cols, m_per_px)
        clear = distance_transform_edt(~occupied) * m_per_px
        ys = (np.arange(rows) + 0.5) * m_per_px
        xs = (np.arange(cols) + 0.5) * m_per_px
        edge = np.minimum(np.minimum(ys[:, None], h - ys[:, None]), np.minimum(xs[None, :], w - xs[None, :]))
        free = (clear > clearance) & (edge > clearance)
        gx, gy = lattice.goal[:2]
        goal = (min(int(gy / m_per_px), rows - 1), min(int(gx / m_per_px), cols - 1))
        free[goal] = True
        self.distance = _grid_dijkstra(free, goal) * m_per_px
        self.distance[~np.isfinite(self.distance)] = UNREACHABLE_M
        self.shape = (rows, cols)

    def __call__(self, x: float, y: float) -> float:
        """Route distance at lot point (x, y), m (nearest cell; points off the grid are clamped)."""
        r = min(max(int(y / self.m_per_px), 0), self.shape[0] - 1)
        c = min(max(int(x / self.m_per_px), 0), self.shape[1] - 1)
        return float(self.distance[r, c])


def rasterise(corners: np.ndarray, rows: int, cols: int, m_per_px: float) -> np.ndarray:
    """(rows, cols) bool grid, True inside any of the (N, 4, 2) polygons (m; row i covers y in
    [i, i + 1) * m_per_px)."""
    grid = np.zeros((rows, cols), np.uint8)
    cv2.fillPoly(grid, [np.round((c / m_per_px - 0.5) * 16).astype(np.int32) for c in corners], 1, cv2.LINE_8, 4)
    return grid.astype(bool)


def _grid_dijkstra(free: np.ndarray, source: tuple[int, int]) -> np.ndarray:
    """(rows, cols) 8-connected path length (in cells) from ``source`` over ``free`` cells; inf elsewhere."""
    rows, cols = free.shape
    idx = np.arange(rows * cols).reshape(rows, cols)
    src, dst, wt = [], [], []
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a = free[max(0, -dr):rows - max(0, dr), max(0, -dc):cols - max(0, dc)]
        b = free[max(0, dr):rows - max(0, -dr) or None, max(0, dc):cols - max(0, -dc) or None]
        ia = idx[max(0, -dr):rows - max(0, dr), max(0, -dc):cols - max(0, dc)]
        ib = idx[max(0, dr):rows - max(0, -dr) or None, max(0, dc):cols - max(0, -dc) or None]
        ok = a & b
        src.append(ia[ok])
        dst.append(ib[ok])
        wt.append(np.full(int(ok.sum()), math.hypot(dr, dc)))
    src, dst, wt = np.concatenate(src), np.concatenate(dst), np.concatenate(wt)
    graph = coo_matrix((wt, (src, dst)), shape=(rows * cols, rows * cols)).tocsr()
    out = dijkstra(graph, directed=False, indices=int(idx[source]))
    return out.reshape(rows, cols)


TABLE_HALF_M = 16.0
"""The obstacle-free cost table covers goal-frame offsets within this distance on each axis, m."""


def free_space_table(prims: Primitives, costs: tuple, goal_tol: float) -> np.ndarray:
    """(H, C, C) obstacle-free cost-to-goal (m equivalent) of lattice states by goal-frame heading bin and
    CELL_M position cell (centre cell = the goal), by value iteration over the primitives: a primitive ending
    between cell centres takes the best of the four around its end, and gear changes are free, so the table
    underestimates; inf where the goal is out of reach within the table."""
    return _table(prims.samples[:, -1].tobytes(), tuple(int(t) for t in prims.turn), costs, goal_tol)


@lru_cache(maxsize=4)
def _table(ends: bytes, turns: tuple, costs: tuple, goal_tol: float) -> np.ndarray:
    ends = np.frombuffer(ends).reshape(-1, 3)
    c = int(round(2 * TABLE_HALF_M / CELL_M)) + 1
    mid = c // 2
    headings = HEADINGS
    ii, jj = np.meshgrid(np.arange(c), np.arange(c), indexing="ij")
    xs, ys = (jj - mid) * CELL_M, (ii - mid) * CELL_M
    value = np.full((headings, c, c), np.inf)
    value[0][np.hypot(xs, ys) <= goal_tol] = 0.0
    targets = []
    for h in range(headings):
        pose = np.stack([xs, ys, np.full_like(xs, h * 2 * np.pi / headings)], axis=-1)
        for p in range(len(turns)):
            end = compose(pose, ends[p])
            fi = np.floor(end[..., 1] / CELL_M).astype(int) + mid
            fj = np.floor(end[..., 0] / CELL_M).astype(int) + mid
            th = (h + turns[p]) % headings
            for di in (0, 1):
                for dj in (0, 1):
                    ti, tj = fi + di, fj + dj
                    inside = (ti >= 0) & (ti < c) & (tj >= 0) & (tj < c)
                    targets.append((h, p, th, np.where(inside, ti, 0), np.where(inside, tj, 0), inside))
    for _ in range(4 * c):
        new = value.copy()
        for h, p, th, ti, tj, inside in targets:
            new[h] = np.minimum(new[h], np.where(inside, value[th, ti, tj] + costs[p], np.inf))
        if np.array_equal(new, value):
            break
        value = new
    return value


class FreeSpaceHeuristic:
    """Obstacle-free lattice cost to the goal (non-holonomic, gear changes not counted), from a table in the
    goal frame; None outside the table."""

    def __init__(self, lattice: Lattice):
        costs = tuple(lattice.step_cost(p, 0) for p in range(len(lattice.prims)))
        self.table = free_space_table(lattice.prims, costs, lattice.goal_tol)
        self.mid = self.table.shape[1] // 2
        gx, gy, gh = lattice.goal
        self.goal = (float(gx), float(gy), math.cos(gh), math.sin(gh), lattice.goal_h)

    def __call__(self, s) -> float | None:
        gx, gy, c, si, gh = self.goal
        dx, dy = s[0] - gx, s[1] - gy
        i = int(round((-si * dx + c * dy) / CELL_M)) + self.mid
        j = int(round((c * dx + si * dy) / CELL_M)) + self.mid
        if not (0 <= i < self.table.shape[1] and 0 <= j < self.table.shape[2]):
            return None
        return float(self.table[(s[2] - gh) % HEADINGS, i, j])


def euclidean_heuristic(lattice: Lattice):
    """h(state): straight-line distance to the goal, m."""
    gx, gy = float(lattice.goal[0]), float(lattice.goal[1])
    return lambda s: math.hypot(s[0] - gx, s[1] - gy)


def route_heuristic(lattice: Lattice, route: RouteField | None = None):
    """h(state): the largest of the route field's distance (holonomic, with obstacles), the obstacle-free lattice
    cost near the goal (non-holonomic, without obstacles) and the straight-line distance to the goal, m."""
    route = route if route is not None else RouteField(lattice)
    free = FreeSpaceHeuristic(lattice)
    gx, gy = float(lattice.goal[0]), float(lattice.goal[1])

    def h(s) -> float:
        near = free(s)
        return max(route(s[0], s[1]), math.hypot(s[0] - gx, s[1] - gy), near if near is not None else 0.0)

    return h


HEURISTICS = {"euclidean": euclidean_heuristic, "route": route_heuristic}


def astar(lattice: Lattice, heuristic="euclidean", max_nodes: int = 500_000) -> PlanResult:
    """A* from ``lattice.start`` to a goal state; ``heuristic`` is a name in HEURISTICS or a callable of a state.
    A node is expanded when it leaves the open list for the first time in its closed-set cell; the search stops
    unsolved (``capped``) after ``max_nodes`` expansions."""
    t0 = time.perf_counter()
    if isinstance(heuristic, str):
        if heuristic not in HEURISTICS:
            raise ValueError(f"unknown heuristic {heuristic!r}; known: {sorted(HEURISTICS)}")
        heuristic = HEURISTICS[heuristic](lattice)
    if not (isinstance(max_nodes, int) and max_nodes > 0):
        raise ValueError(f"max_nodes must be an int > 0, got {max_nodes!r}")
    start = lattice.start
    nodes = [(start, -1, -1, 0, 0.0)]  # state, parent node, primitive, gear, cost so far
    heap = [(heuristic(start), 0.0, 0)]
    best = {lattice.key(start): 0.0}
    closed = set()
    expanded = 0
    while heap:
        _, g, n = heapq.heappop(heap)
        state, _, _, gear, _ = nodes[n]
        key = lattice.key(state)
        if key in closed:
            continue
        closed.add(key)
        if lattice.is_goal(state):
            return _result(lattice, nodes, n, expanded, t0)
        if expanded >= max_nodes:
            return PlanResult(False, expanded, time.perf_counter() - t0, capped=True)
        expanded += 1
        children, ok = lattice.successors(state)
        for p in np.flatnonzero(ok):
            child = children[p]
            ckey = lattice.key(child)
            if ckey in closed:
                continue
            cg = g + lattice.step_cost(p, gear)
            if cg >= best.get(ckey, math.inf):
                continue
            best[ckey] = cg
            nodes.append((child, n, int(p), int(lattice.prims.gear[p]), cg))
            heapq.heappush(heap, (cg + heuristic(child), cg, len(nodes) - 1))
    return PlanResult(False, expanded, time.perf_counter() - t0)


def _result(lattice: Lattice, nodes: list, n: int, expanded: int, t0: float) -> PlanResult:
    states, prims = [], []
    cost = nodes[n][4]
    while n >= 0:
        state, parent, prim, _, _ = nodes[n]
        states.append(state)
        if prim >= 0:
            prims.append(prim)
        n = parent
    states.reverse()
    prims.reverse()
    return finish(lattice, states, prims, expanded, t0, cost)


def finish(lattice: Lattice, states: list, prims: list, expanded: int, t0: float, cost: float) -> PlanResult:
    """A successful PlanResult for the path ``states`` / ``prims`` (the last state a goal state), with the
    connector onto the goal's axis appended."""
    prev_gear = int(lattice.prims.gear[prims[-1]]) if prims else 0
    cost += lattice.connector_cost(states[-1], prev_gear)
    poses, gears, steers = lattice.path(states[0], prims)
    length = float(sum(lattice.prims.length[p] for p in prims)) + abs(lattice.goal_offset(states[-1])[0])
    return PlanResult(True, expanded, time.perf_counter() - t0, states, prims, poses, gears, steers, cost, length)
