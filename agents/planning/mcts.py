"""Monte-Carlo tree search (PUCT) over the parking lattice, guided by ``ParkingNet``'s policy prior and value.

Each simulation walks down the tree by PUCT, expands one new leaf (generates its successors: collision-checks its
primitives and evaluates the network once) and backs up the leaf's value. The search commits to the most visited
move once the root has ``simulations`` visits (those its subtree already holds count) and goes on from there,
keeping that subtree, so a network that knows the manoeuvre grows one line of nodes and commits along it; a
committed move whose subtree turns out dead is taken back. A lattice cell is expanded once (A*'s closed set: a
later leaf in an expanded cell is pruned), a leaf with no free primitive is dead and pruned, and the search ends
as soon as a simulation reaches a goal state. Nodes are counted as A* counts them: states whose successors
were generated (the goal leaf is not one).
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from agents.planning.astar import PlanResult, RouteField, finish
from agents.planning.lattice import Lattice
from agents.planning.value_net import VALUE_SCALE_M, ParkingNet, StateEncoder

DEAD_VALUE = -5.0
"""Value of a leaf with no collision-free primitive (VALUE_SCALE_M units)."""


class Node:
    """A tree node: a lattice state, the gear and primitive that reached it, and its search statistics (values
    in VALUE_SCALE_M units; ``costs`` (P,) of its primitives in the same units)."""

    __slots__ = ("state", "gear", "parent", "prim", "children", "prior", "valid", "visits", "value_sum", "value",
                 "dead", "goal", "costs")

    def __init__(self, state, gear: int, parent, prim: int):
        self.state, self.gear, self.parent, self.prim = state, gear, parent, prim
        self.children: dict[int, Node] = {}
        self.prior = self.valid = self.costs = None
        self.visits = 0
        self.value_sum = 0.0
        self.value = 0.0
        self.dead = False
        self.goal = False


def mcts(lattice: Lattice, net: ParkingNet, max_nodes: int = 5000, simulations: int = 8, c_puct: float = 1.0,
         route: RouteField | None = None) -> PlanResult:
    """Search from ``lattice.start`` until a simulation reaches a goal state or ``max_nodes`` states have been
    expanded (``capped``); the root commits to a move once it has ``simulations`` visits."""
    if not (isinstance(max_nodes, int) and max_nodes > 0):
        raise ValueError(f"max_nodes must be an int > 0, got {max_nodes!r}")
    if not (isinstance(simulations, int) and simulations > 0):
        raise ValueError(f"simulations must be an int > 0, got {simulations!r}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one leaf at a time: a single thread is about 4x faster than two
    try:
        return _search(lattice, net, max_nodes, simulations, c_puct, route)
    finally:
        torch.set_num_threads(threads)


def _search(lattice: Lattice, net: ParkingNet, max_nodes: int, simulations: int, c_puct: float,
            route: RouteField | None) -> PlanResult:
    t0 = time.perf_counter()
    encoder = StateEncoder(lattice, route)
    closed = set()
    expanded = 0

    def expand(node: Node) -> float:
        nonlocal expanded
        if lattice.is_goal(node.state):
            node.goal = True
            return 0.0
        key = lattice.key(node.state)
        if key in closed:  # a transposition: another node of this cell was expanded first
            node.valid, node.dead = np.zeros(len(lattice.prims), bool), True
            return node.parent.value
        closed.add(key)
        expanded += 1
        ends, heads, ok = lattice.successors(node.state)
        children = [(x, y, h) for (x, y), h in zip(ends.tolist(), heads.tolist())]
        ok = ok & np.array([lattice.key(c) not in closed for c in children])
        node.valid = ok
        node.costs = costs[node.prim + 1]
        if not ok.any():
            node.dead = True
            return DEAD_VALUE
        grid, vec = encoder.encode([node.state], [node.gear])
        with torch.no_grad():
            logits, value = net(torch.from_numpy(grid), torch.from_numpy(vec))
        logits = logits[0].numpy().astype(np.float64)
        logits[~ok] = -np.inf
        prior = np.exp(logits - logits[ok].max())
        node.prior = prior / prior.sum()
        for p in np.flatnonzero(ok):
            node.children[int(p)] = Node(children[p], int(lattice.prims.gear[p]), node, int(p))
        node.value = float(value[0])
        return node.value

    def select(node: Node) -> int:
        sqrt_n = math.sqrt(max(node.visits, 1))
        best, best_score = -1, -math.inf
        for p, child in node.children.items():
            if child.dead:
                continue
            q = (child.value_sum / child.visits) if child.visits else node.value - 0.05
            score = q - node.costs[p] + c_puct * node.prior[p] * sqrt_n / (1 + child.visits)
            if score > best_score:
                best, best_score = p, score
        return best

    n_prims = len(lattice.prims)
    costs = [np.array([lattice.step_cost(p, prev) / VALUE_SCALE_M for p in range(n_prims)])
             for prev in range(-1, n_prims)]
    root = Node(lattice.start, 0, None, -1)
    while expanded < max_nodes:
        if root.dead:
            if root.parent is None:
                break
            root = root.parent  # the committed move led into a dead end: take it back
            if all(c.dead for c in root.children.values()):
                root.dead = True
            continue
        while root.visits < simulations and not root.dead and expanded < max_nodes:
            node, path = root, []
            while node.valid is not None and not node.dead and not node.goal:
                p = select(node)
                if p < 0:
                    node.dead = True
                    break
                path.append((node, p))
                node = node.children[p]
            value = expand(node) if node.valid is None else (DEAD_VALUE if node.dead else 0.0)
            if node.goal:
                return _found(lattice, node, expanded, t0)
            node.visits += 1
            node.value_sum += value
            for parent, p in reversed(path):
                value -= parent.costs[p]
                parent.visits += 1
                parent.value_sum += value
                if all(c.dead for c in parent.children.values()):
                    parent.dead = True
        live = [(c.visits, c.value_sum / c.visits - root.costs[p] if c.visits else -math.inf, root.prior[p], p)
                for p, c in root.children.items() if not c.dead]
        if live:
            root = root.children[max(live)[3]]
        elif root.valid is not None:
            root.dead = True
    return PlanResult(False, expanded, time.perf_counter() - t0, capped=expanded >= max_nodes)


def _found(lattice: Lattice, node: Node, expanded: int, t0: float) -> PlanResult:
    states, prims = [], []
    cost = 0.0
    while node is not None:
        states.append(node.state)
        if node.prim >= 0:
            prims.append(node.prim)
            cost += node.parent.costs[node.prim] * VALUE_SCALE_M
        node = node.parent
    states.reverse()
    prims.reverse()
    return finish(lattice, states, prims, expanded, t0, cost)
