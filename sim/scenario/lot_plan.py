"""Second validation stage of a parking scenario, and its actors' motion.

``make_lot`` builds the lot a ParkingScenario plays in (its goal bay set, static actors added to the obstacles)
and checks the scenario against it; ``LotActors`` moves the path actors. Motion is a pure function of the
arc lengths reached, the time and the ego's pose: nothing is random."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from sim.parking.lot import CAR, CONE, CONE_SIZE_M, EGO_LENGTH_M, EGO_WIDTH_M, KIND_NAMES, Lot, generate_lot
from sim.physics.collision import box_corners, boxes_overlap
from sim.traffic.actor_classes import ACTOR_CODE, size_range

from .parking import LotActor, LotPath, ParkingScenario
from .values import ScenarioError

PATH_CHECK_STEP_M = 0.25
"""Spacing of the poses at which a path is checked against the lot's obstacles, m."""
YIELD_STEP_M = 0.5
"""Spacing of the poses ahead along its path at which an actor looks for the ego, m."""
YIELD_CLEARANCE_M = 0.5
"""An actor waits when the ego's box comes this close to its box at one of those poses, m."""


def actor_size(actor: LotActor) -> np.ndarray:
    """(length, width, height) m: the actor's size, else the middle of its class's range (a cone: 0.4 m square,
    0.7 m tall)."""
    if actor.vehicle_class == "cone":
        default = np.array([CONE_SIZE_M, CONE_SIZE_M, 0.7])
    else:
        default = np.array([0.5 * (lo + hi) for lo, hi in size_range(actor.vehicle_class)])
    if actor.size is None:
        return default
    return np.array([actor.size.length, actor.size.width,
                     actor.size.height if actor.size.height is not None else default[2]])


def _touches(lot: Lot, pose, length: float, width: float) -> str:
    """What a box at ``pose`` touches: "" (nothing), "leaves the lot", or "overlaps a <kind>"."""
    x, y, h = (np.array([float(v)]) for v in pose)
    hit = boxes_overlap((x, y, h, np.array([length]), np.array([width])), tuple(lot.obstacles.T))[0]
    if hit.any():
        return f"overlaps a {KIND_NAMES[int(lot.kind[np.argmax(hit)])]}"
    corners = box_corners(x, y, h, np.array([length]), np.array([width]))[0]
    if not ((corners >= 0).all() and (corners[:, 0] <= lot.size[0]).all() and (corners[:, 1] <= lot.size[1]).all()):
        return "leaves the lot"
    return ""


def _where(pose) -> str:
    return f"({pose[0]:.2f}, {pose[1]:.2f})"


def _bay_box(lot: Lot, bay: int, shrink: float = 0.01) -> tuple:
    bx, by, bh = lot.bays[bay]
    w, d = lot.bay_size
    return tuple(np.array([v]) for v in (bx, by, bh, d - shrink, w - shrink))


def make_lot(scenario: ParkingScenario) -> Lot:
    """The lot of ``scenario``: ``generate_lot(spec, default_rng(seed))`` with the scenario's goal bay and direction
    and its static actors as obstacles (a vehicle as a car, a cone as a cone). ScenarioError (naming the
    document path) when the goal bay does not exist or is taken, an actor or the ego leaves the lot or overlaps
    an obstacle or another actor at t=0, or a path runs into an obstacle."""
    try:
        lot = generate_lot(scenario.world.lot, np.random.default_rng(scenario.world.seed))
    except RuntimeError as e:
        raise ScenarioError(f"this spec and seed draw no usable lot ({e})", "world") from None
    ego = scenario.ego
    bay = lot.goal_bay if ego.goal_bay is None else ego.goal_bay
    n_bays = len(lot.bays)
    if bay >= n_bays:
        raise ScenarioError(f"no bay {bay} in this lot (bays 0..{n_bays - 1})", "ego.goal_bay")
    reverse_in = lot.reverse_in if ego.reverse_in is None else ego.reverse_in
    goal = lot.bays[bay].copy()
    if reverse_in:
        goal[2] = -goal[2]
    bay_boxes = tuple(np.concatenate([_bay_box(lot, k)[i] for k in range(n_bays)]) for i in range(5))
    taken = boxes_overlap(bay_boxes, tuple(lot.obstacles[np.isin(lot.kind, (CAR, CONE))].T)).any(axis=1)
    free = [k for k in range(n_bays) if not taken[k]]
    if taken[bay]:
        raise ScenarioError(f"bay {bay} is taken by a parked car or a cone in this lot; free bays: {free}",
                            "ego.goal_bay")
    lot = dataclasses.replace(lot, goal=goal, goal_bay=int(bay), reverse_in=bool(reverse_in))

    for i, actor in enumerate(scenario.actors):
        if isinstance(actor.behaviour, LotPath):
            continue
        path = f"actors[{i}].start"
        length, width, _ = actor_size(actor)
        pose = (actor.start.x, actor.start.y, actor.start.heading)
        problem = _touches(lot, pose, length, width)
        if problem:
            raise ScenarioError(f"{_where(pose)} {problem}", path)
        if boxes_overlap(tuple(np.array([v]) for v in (*pose, length, width)), _bay_box(lot, bay)).any():
            raise ScenarioError(f"{_where(pose)} is in the goal bay {bay}", path)
        box = np.array([[*pose, length, width]])
        lot = dataclasses.replace(lot, obstacles=np.concatenate([lot.obstacles, box]),
                                  kind=np.append(lot.kind, np.int8(CONE if actor.vehicle_class == "cone" else CAR)))

    start = lot.entry if ego.start is None else np.array([ego.start.x, ego.start.y, ego.start.heading])
    problem = _touches(lot, start, EGO_LENGTH_M, EGO_WIDTH_M)
    if problem:
        raise ScenarioError(f"the ego at {_where(start)} {problem}", "ego.start" if ego.start is not None else "ego")
    present = [("the ego", *start, EGO_LENGTH_M, EGO_WIDTH_M)]
    plan = LotActors.of(scenario)
    moving = [i for i, a in enumerate(scenario.actors) if isinstance(a.behaviour, LotPath)]
    for k, i in enumerate(moving):
        actor = scenario.actors[i]
        length, width, _ = actor_size(actor)
        _check_path(lot, actor.behaviour, length, width, f"actors[{i}].behaviour.path")
        p0 = plan.pose(k, plan.start_s[k])[0]
        for name, *box in present:
            if boxes_overlap(tuple(np.array([v]) for v in (*p0, length, width)),
                             tuple(np.array([v]) for v in box)).any():
                raise ScenarioError(f"overlaps {name} at t=0", f"actors[{i}].behaviour")
        present.append((f"actor {actor.id!r}", *p0, length, width))
    return dataclasses.replace(lot, entry=np.asarray(start, np.float64))


def _check_path(lot: Lot, b: LotPath, length: float, width: float, path: str) -> None:
    """Every pose of the path, and the poses between them every PATH_CHECK_STEP_M, keep the box clear of the
    lot's obstacles and inside it."""
    poses = np.array([[p.x, p.y, p.heading] for p in b.path])
    for j in range(len(poses)):
        if j == 0:
            samples = poses[:1]
        else:
            n = max(1, int(math.ceil(np.hypot(*(poses[j, :2] - poses[j - 1, :2])) / PATH_CHECK_STEP_M)))
            f = np.linspace(0.0, 1.0, n + 1)[1:, None]
            h0 = poses[j - 1, 2]
            h1 = h0 + (poses[j, 2] - h0 + math.pi) % (2 * math.pi) - math.pi
            samples = np.concatenate([poses[j - 1, :2] + f * (poses[j, :2] - poses[j - 1, :2]),
                                      h0 + f * (h1 - h0)], axis=1)
        for pose in samples:
            problem = _touches(lot, pose, length, width)
            if problem:
                where = "" if j == 0 else f" on the way from path[{j - 1}]"
                raise ScenarioError(f"{_where(pose)}{where} {problem}", f"{path}[{j}]")


@dataclass(frozen=True, eq=False)
class LotActors:
    """The K path actors of a parking scenario: ids, ``code`` (K,) int8 ACTOR_CODE of their class, ``size`` (K, 3)
    m, per actor its poses (P, 3) (headings unwrapped along the path) and their arc lengths (P,) m, and (K,)
    ``speed`` m/s, ``start_t`` s, ``yield_m`` m, ``start_s`` m."""

    ids: tuple[str, ...]
    classes: tuple[str, ...]
    code: np.ndarray
    size: np.ndarray
    poses: tuple[np.ndarray, ...]
    arc: tuple[np.ndarray, ...]
    speed: np.ndarray
    start_t: np.ndarray
    yield_m: np.ndarray
    start_s: np.ndarray

    @classmethod
    def of(cls, scenario: ParkingScenario | None) -> "LotActors":
        """The path actors of ``scenario`` (none for None)."""
        actors = [a for a in (scenario.actors if scenario is not None else ()) if isinstance(a.behaviour, LotPath)]
        poses, arcs = [], []
        for a in actors:
            p = np.array([[q.x, q.y, q.heading] for q in a.behaviour.path])
            p[:, 2] = p[0, 2] + np.concatenate([[0.0], np.cumsum((np.diff(p[:, 2]) + np.pi) % (2 * np.pi) - np.pi)])
            poses.append(p)
            arcs.append(np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(p[:, :2], axis=0).T))]))
        return cls(tuple(a.id for a in actors), tuple(a.vehicle_class for a in actors),
                   np.array([ACTOR_CODE[a.vehicle_class] for a in actors], np.int8),
                   np.array([actor_size(a) for a in actors]).reshape(-1, 3), tuple(poses), tuple(arcs),
                   np.array([a.behaviour.speed for a in actors]), np.array([a.behaviour.start_t for a in actors]),
                   np.array([a.behaviour.yield_m for a in actors]), np.array([a.behaviour.start_s for a in actors]))

    @property
    def n(self) -> int:
        return len(self.ids)

    def pose(self, k: int, s) -> np.ndarray:
        """(..., 3) poses of actor ``k`` at arc lengths ``s`` m (clipped to its path), and (...,) the sign of the
        motion along its heading (+1 forward, -1 reverse) on the segment there."""
        p, arc = self.poses[k], self.arc[k]
        s = np.clip(np.asarray(s, np.float64), 0.0, arc[-1])
        i = np.clip(np.searchsorted(arc, s, side="right") - 1, 0, len(arc) - 2)
        f = ((s - arc[i]) / (arc[i + 1] - arc[i]))[..., None]
        pose = p[i] + f * (p[i + 1] - p[i])
        seg = p[i + 1, :2] - p[i, :2]
        gear = np.where(np.cos(np.arctan2(seg[..., 1], seg[..., 0]) - pose[..., 2]) >= 0.0, 1.0, -1.0)
        return pose, gear

    def table(self, s: np.ndarray) -> np.ndarray:
        """(K, 5) boxes (x, y, heading, length, width) at arc lengths ``s`` (K,)."""
        out = np.zeros((self.n, 5))
        for k in range(self.n):
            out[k, :3] = self.pose(k, s[k])[0]
        out[:, 3:5] = self.size[:, :2]
        return out

    def advance(self, s: np.ndarray, t: float, dt: float, ego_pose) -> tuple[np.ndarray, np.ndarray]:
        """Arc lengths (K,) and signed speeds (K,) m/s after a step of ``dt`` s from time ``t`` s: an actor moves
        from ``start_t`` on, unless the ego's box (at ``ego_pose``) comes within YIELD_CLEARANCE_M of its box
        anywhere within ``yield_m`` ahead."""
        s_new, v = s.copy(), np.zeros(self.n)
        ego = tuple(np.array([float(x)]) for x in (*ego_pose, EGO_LENGTH_M, EGO_WIDTH_M))
        for k in range(self.n):
            end = self.arc[k][-1]
            if t < self.start_t[k] - 1e-9 or s[k] >= end:
                continue
            step = self.speed[k] * dt
            ahead = s[k] + np.unique(np.minimum(np.append(np.arange(0.0, self.yield_m[k] + 1e-9, YIELD_STEP_M), step),
                                                end - s[k]))
            if self.yield_m[k] > 0:
                poses, _ = self.pose(k, ahead)
                n = len(ahead)
                grow = 2 * YIELD_CLEARANCE_M
                if boxes_overlap(ego, (poses[:, 0], poses[:, 1], poses[:, 2], np.full(n, self.size[k, 0] + grow),
                                       np.full(n, self.size[k, 1] + grow))).any():
                    continue
            s_new[k] = min(s[k] + step, end)
            v[k] = self.pose(k, s[k])[1] * self.speed[k]
        return s_new, v
