"""A* over the parking lattice with two heuristics: the Euclidean distance to the goal, and a route (navigation)
heuristic, the length of the shortest 8-connected grid path to the goal through free space (``RouteField``),
raised near the goal to the obstacle-free lattice cost (``FreeSpaceHeuristic``).

The search loop is one numba kernel over the lattice's arrays (primitive offsets per heading bin, the
configuration-space grid, a dense closed set over its cells), so a search of a million nodes takes seconds."""
from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np
from numba import njit
from scipy.ndimage import distance_transform_edt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from agents.planning.lattice import CONNECTOR_STEP_M, GOAL_REACH_M, GRID_M, HEADINGS, Lattice, Primitives
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

    @property
    def gear_changes(self) -> int:
        """Changes between forward and reverse along the path."""
        return int(np.count_nonzero(np.diff(self.gears) != 0))


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


TABLE_M = 0.25
"""Position resolution of the obstacle-free cost table, m."""
TABLE_HALF_M = 12.0
"""The obstacle-free cost table covers goal-frame offsets within this distance on each axis, m."""


def free_space_table(prims: Primitives, costs: tuple, goal_tol: float) -> np.ndarray:
    """(H, C, C) obstacle-free cost-to-goal (m equivalent) of lattice states by goal-frame heading bin and
    TABLE_M position cell (centre cell = the goal), by value iteration over the primitives: a primitive ending
    between cell centres takes the best of the four around its end, and gear and steering changes are free, so
    the table underestimates; inf where the goal is out of reach within the table."""
    return _table(prims.samples[:, -1].tobytes(), tuple(int(t) for t in prims.turn), costs, goal_tol)


@lru_cache(maxsize=4)
def _table(ends: bytes, turns: tuple, costs: tuple, goal_tol: float) -> np.ndarray:
    ends = np.frombuffer(ends).reshape(-1, 3)
    c = int(round(2 * TABLE_HALF_M / TABLE_M)) + 1
    mid = c // 2
    ii, jj = np.meshgrid(np.arange(c), np.arange(c), indexing="ij")
    xs, ys = (jj - mid) * TABLE_M, (ii - mid) * TABLE_M
    value = np.full((HEADINGS, c, c), np.inf)
    value[0][(np.abs(ys) <= goal_tol) & (np.abs(xs) <= GOAL_REACH_M)] = 0.0
    sentinel = HEADINGS * c * c
    index = []  # per primitive: (H, C, C) flat index of the pooled cell its end lies in (sentinel: off the table)
    for p in range(len(turns)):
        pose = np.stack([np.broadcast_to(xs, (HEADINGS, c, c)), np.broadcast_to(ys, (HEADINGS, c, c)),
                         np.broadcast_to(np.arange(HEADINGS)[:, None, None] * 2 * np.pi / HEADINGS, (HEADINGS, c, c))],
                        axis=-1)
        end = compose(pose, ends[p])
        fi = np.floor(end[..., 1] / TABLE_M).astype(np.int64) + mid
        fj = np.floor(end[..., 0] / TABLE_M).astype(np.int64) + mid
        th = (np.arange(HEADINGS)[:, None, None] + turns[p]) % HEADINGS
        inside = (fi >= 0) & (fi < c - 1) & (fj >= 0) & (fj < c - 1)
        index.append(np.where(inside, (th * c + fi) * c + fj, sentinel).astype(np.int32))
    pooled = np.full(sentinel + 1, np.inf)
    grid = pooled[:sentinel].reshape(HEADINGS, c, c)
    for _ in range(8 * c):
        grid[:, :-1, :-1] = np.minimum(np.minimum(value[:, :-1, :-1], value[:, 1:, :-1]),
                                       np.minimum(value[:, :-1, 1:], value[:, 1:, 1:]))
        new = value.copy()
        for p, idx in enumerate(index):
            np.minimum(new, pooled[idx] + costs[p], out=new)
        if np.array_equal(new, value):
            break
        value = new
    return value


class FreeSpaceHeuristic:
    """Obstacle-free lattice cost to the goal (non-holonomic, gear and steering changes not counted), from a
    table in the goal frame; None outside the table."""

    def __init__(self, lattice: Lattice):
        costs = tuple(lattice.step_cost(p, -1) for p in range(len(lattice.prims)))
        self.table = free_space_table(lattice.prims, costs, lattice.goal_tol)
        self.mid = self.table.shape[1] // 2
        gx, gy, gh = lattice.goal
        self.goal = (float(gx), float(gy), math.cos(gh), math.sin(gh), lattice.goal_h)

    def __call__(self, s) -> float | None:
        gx, gy, c, si, gh = self.goal
        dx, dy = s[0] - gx, s[1] - gy
        i = int(round((-si * dx + c * dy) / TABLE_M)) + self.mid
        j = int(round((c * dx + si * dy) / TABLE_M)) + self.mid
        if not (0 <= i < self.table.shape[1] and 0 <= j < self.table.shape[2]):
            return None
        return float(self.table[(s[2] - gh) % HEADINGS, i, j])


EUCLIDEAN, ROUTE = 0, 1
HEURISTICS = {"euclidean": EUCLIDEAN, "route": ROUTE}
"""Heuristic names and their codes in the search kernel."""


class _Heuristic:
    """The arrays of a heuristic for the search kernel: goal (gx, gy, goal heading bin, cos, sin), the route
    field's distances and resolution, the free-space table and its resolution (empty for the Euclidean one)."""

    def __init__(self, lattice: Lattice, mode: int, route: RouteField | None = None):
        gh = float(lattice.goal[2])
        self.mode = mode
        self.goal = np.array([lattice.goal[0], lattice.goal[1], lattice.goal_h, math.cos(gh), math.sin(gh)])
        if mode == ROUTE:
            route = route if route is not None else RouteField(lattice)
            self.route, self.route_res = route.distance.astype(np.float64), route.m_per_px
            self.table = FreeSpaceHeuristic(lattice).table
        else:
            self.route, self.route_res = np.zeros((1, 1)), 1.0
            self.table = np.zeros((1, 1, 1))

    def args(self) -> tuple:
        return self.mode, self.goal, self.route, self.route_res, self.table, TABLE_M

    def __call__(self, s) -> float:
        return _heuristic(float(s[0]), float(s[1]), int(s[2]), *self.args())


@njit(cache=True)
def _heuristic(x, y, h, mode, goal, route, route_res, table, table_res):
    dx, dy = x - goal[0], y - goal[1]
    d = math.sqrt(dx * dx + dy * dy)
    if mode == ROUTE:
        r = min(max(int(y / route_res), 0), route.shape[0] - 1)
        c = min(max(int(x / route_res), 0), route.shape[1] - 1)
        d = max(d, route[r, c])
        mid = table.shape[1] // 2
        i = int(np.round((-goal[4] * dx + goal[3] * dy) / table_res)) + mid
        j = int(np.round((goal[3] * dx + goal[4] * dy) / table_res)) + mid
        if 0 <= i < table.shape[1] and 0 <= j < table.shape[2]:
            d = max(d, table[(h - int(goal[2])) % table.shape[0], i, j])
    return d


def euclidean_heuristic(lattice: Lattice):
    """h(state): straight-line distance to the goal, m."""
    return _Heuristic(lattice, EUCLIDEAN)


def route_heuristic(lattice: Lattice, route: RouteField | None = None):
    """h(state): the largest of the route field's distance (holonomic, with obstacles), the obstacle-free lattice
    cost near the goal (non-holonomic, without obstacles) and the straight-line distance to the goal, m."""
    return _Heuristic(lattice, ROUTE, route)


def astar(lattice: Lattice, heuristic: str = "euclidean", max_nodes: int = 2_000_000, weight: float = 1.0,
          route: RouteField | None = None) -> PlanResult:
    """A* from ``lattice.start`` to a goal state with the heuristic named ``heuristic`` (a key of HEURISTICS)
    times ``weight`` (``route`` reuses a route field of the same lattice). A node is expanded (its successors
    generated) when it leaves the open list for the first time in its closed-set cell; the search stops unsolved
    (``capped``) after ``max_nodes`` expansions."""
    t0 = time.perf_counter()
    if heuristic not in HEURISTICS:
        raise ValueError(f"unknown heuristic {heuristic!r}; known: {sorted(HEURISTICS)}")
    if not (isinstance(max_nodes, int) and max_nodes > 0):
        raise ValueError(f"max_nodes must be an int > 0, got {max_nodes!r}")
    if not (math.isfinite(weight) and weight >= 1.0):
        raise ValueError(f"weight must be a finite number >= 1, got {weight!r}")
    h = _Heuristic(lattice, HEURISTICS[heuristic], route)
    n_prims = len(lattice.prims)
    costs = np.array([[lattice.step_cost(p, prev) for p in range(n_prims)] for prev in range(-1, n_prims)])
    cs = lattice.cspace
    kx, ky = lattice._cells
    start = lattice.start
    status, expanded, goal, xs, ys, hs, parents, prims, gs = _search(
        start[0], start[1], start[2], cs.flat, cs.shape[0], cs.shape[1], cs.origin, GRID_M, lattice._off,
        lattice._sample_h, lattice._end_h, costs, lattice.cell_m, kx, ky, lattice.goal_tol, GOAL_REACH_M,
        lattice.bin, CONNECTOR_STEP_M, max_nodes, weight, *h.args())
    if status != 1:
        return PlanResult(False, int(expanded), time.perf_counter() - t0, capped=status == 2)
    states, path = [], []
    n = goal
    while n >= 0:
        states.append((float(xs[n]), float(ys[n]), int(hs[n])))
        if prims[n] >= 0:
            path.append(int(prims[n]))
        n = parents[n]
    states.reverse()
    path.reverse()
    return finish(lattice, states, path, int(expanded), t0, float(gs[goal]))


@njit(cache=True)
def _free(flat, rows, cols, origin, grid_m, x, y, h):
    c = min(max(int((x - origin) * (1 / grid_m)), 0), cols - 1)
    r = min(max(int((y - origin) * (1 / grid_m)), 0), rows - 1)
    return flat[(h * rows + r) * cols + c]


@njit(cache=True)
def _grow(a, n):
    out = np.empty(2 * n, a.dtype)
    out[:n] = a[:n]
    return out


@njit(cache=True)
def _search(sx, sy, sh, flat, rows, cols, origin, grid_m, off, sample_h, end_h, costs, cell_m, kx, ky, goal_tol,
            goal_reach, bin_rad, conn_step, max_nodes, weight, mode, goal, route, route_res, table, table_res):
    """The A* loop of ``astar``: (status 0 exhausted / 1 found / 2 capped, nodes expanded, goal node, and the
    nodes' x, y, heading bin, parent, primitive and cost so far)."""
    headings, n_prims, n_samples = sample_h.shape
    closed = np.zeros(headings * kx * ky, np.bool_)
    best = np.full(headings * kx * ky, np.inf, np.float32)
    cap = 1 << 16
    xs, ys, gs = np.empty(cap), np.empty(cap), np.empty(cap)
    hs, parents, prims = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int64)
    xs[0], ys[0], hs[0], parents[0], prims[0], gs[0] = sx, sy, sh, -1, -1, 0.0
    count = 1
    key0 = (sh * ky + int(math.floor(sy / cell_m)) + 32) * kx + int(math.floor(sx / cell_m)) + 32
    best[key0] = 0.0
    heap = [(weight * _heuristic(sx, sy, sh, mode, goal, route, route_res, table, table_res), 0)]
    gh = int(goal[2])
    expanded = 0
    while len(heap) > 0:
        _, n = heapq.heappop(heap)
        x, y, h, g = xs[n], ys[n], hs[n], gs[n]
        key = (h * ky + int(math.floor(y / cell_m)) + 32) * kx + int(math.floor(x / cell_m)) + 32
        if closed[key]:
            continue
        closed[key] = True
        if h == gh:  # goal test: within the tolerances and a free straight connector onto the goal's axis
            ca, sa = math.cos(h * bin_rad), math.sin(h * bin_rad)
            along = ca * (goal[0] - x) + sa * (goal[1] - y)
            across = -sa * (goal[0] - x) + ca * (goal[1] - y)
            if abs(across) <= goal_tol and abs(along) <= goal_reach:
                k = max(1, int(math.ceil(abs(along) / conn_step)))
                ok = True
                for i in range(1, k + 1):
                    t = along * i / k
                    if not _free(flat, rows, cols, origin, grid_m, x + t * ca, y + t * sa, h):
                        ok = False
                        break
                if ok:
                    return 1, expanded, n, xs[:count], ys[:count], hs[:count], parents[:count], prims[:count], gs[:count]
        if expanded >= max_nodes:
            return 2, expanded, -1, xs[:1], ys[:1], hs[:1], parents[:1], prims[:1], gs[:1]
        expanded += 1
        prev = prims[n] + 1
        for p in range(n_prims):
            ok = True
            for s in range(n_samples):
                if not _free(flat, rows, cols, origin, grid_m, x + off[h, p, s, 0], y + off[h, p, s, 1],
                             sample_h[h, p, s]):
                    ok = False
                    break
            if not ok:
                continue
            cx, cy, ch = x + off[h, p, n_samples - 1, 0], y + off[h, p, n_samples - 1, 1], end_h[h, p]
            ck = (ch * ky + int(math.floor(cy / cell_m)) + 32) * kx + int(math.floor(cx / cell_m)) + 32
            if closed[ck]:
                continue
            cg = g + costs[prev, p]
            if cg >= best[ck]:
                continue
            best[ck] = cg
            if count == cap:
                xs, ys, gs = _grow(xs, cap), _grow(ys, cap), _grow(gs, cap)
                hs, parents, prims = _grow(hs, cap), _grow(parents, cap), _grow(prims, cap)
                cap *= 2
            xs[count], ys[count], hs[count], parents[count], prims[count], gs[count] = cx, cy, ch, n, p, cg
            f = cg + weight * _heuristic(cx, cy, ch, mode, goal, route, route_res, table, table_res)
            heapq.heappush(heap, (f, count))
            count += 1
    return 0, expanded, -1, xs[:1], ys[:1], hs[:1], parents[:1], prims[:1], gs[:1]


def finish(lattice: Lattice, states: list, prims: list, expanded: int, t0: float, cost: float) -> PlanResult:
    """A successful PlanResult for the path ``states`` / ``prims`` (the last state a goal state), with the
    connector onto the goal's axis appended."""
    cost += lattice.connector_cost(states[-1], prims[-1] if prims else -1)
    poses, gears, steers = lattice.path(states[0], prims)
    length = float(sum(lattice.prims.length[p] for p in prims)) + abs(lattice.goal_offset(states[-1])[0])
    return PlanResult(True, expanded, time.perf_counter() - t0, states, prims, poses, gears, steers, cost, length)
