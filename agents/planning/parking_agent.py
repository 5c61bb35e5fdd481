"""Privileged parking agents: plan on the lattice at reset (A* with either heuristic, or MCTS with the learned
network) from the lot's static obstacles, then track the plan closed-loop with a Stanley-style steering law per
gear segment and a speed profile that stops at every gear change and at the goal.

Every step the moving actors of ``info["vector_space"]`` are predicted at constant velocity over HORIZON_S; while
the ego's path over the next LOOKAHEAD_M comes within ACTOR_MARGIN_M of one of them the agent brakes to a stop
(within the env's acceleration limit) and holds. Held for REPLAN_AFTER_S by actors that stand still, it replans
from where it stands with the standing actors' boxes as obstacles (kept when that finds no plan)."""
from __future__ import annotations

import math

import numpy as np

from agents.base import ENV_KINDS, EnvKindError, register_agent
from agents.planning.astar import PlanResult, astar
from agents.planning.lattice import Lattice
from sim.env.parking import ParkingConfig, compose, ego_params, wrap
from sim.parking.lot import EGO_LENGTH_M, EGO_WIDTH_M
from sim.physics import boxes_overlap

CRUISE_MPS = 1.2
"""Tracking speed, m/s."""
STOP_DECEL = 0.6
"""Deceleration planned into each stop, m/s^2."""
HEADING_GAIN = 1.2
LATERAL_GAIN = 0.6
SPEED_GAIN = 2.0
"""Acceleration per m/s of speed error, 1/s."""
STEER_SLOW_RAD = 0.25
"""The speed target drops to a crawl while the wheels are this far from their command."""
STEER_LOOKAHEAD_M = 3.0
"""Path poses this far ahead limit the speed so the rate-limited wheels reach their steer in time, m."""
EXTEND_M = 1.0
"""The last segment is extended this far straight on, so the agent can stop where it passes closest to the goal."""
PLANNERS = ("astar_euclidean", "astar_route", "mcts")
MAX_NODES = {"astar_euclidean": 2_000_000, "astar_route": 2_000_000, "mcts": 5_000}
"""Default node budget of each planner."""
HORIZON_S = 8.0
"""Moving actors are predicted this far ahead, s."""
PREDICT_DT = 0.25
"""Spacing of the predicted actor poses, s."""
LOOKAHEAD_M = 3.0
"""Length of the ego's path ahead checked against the predicted actors, m."""
ACTOR_MARGIN_M = 0.4
"""Clearance the ego's path keeps from the predicted actors' boxes, m."""
REPLAN_AFTER_S = 4.0
"""Time held for standing actors before replanning around them, s."""
STANDING_MPS = 0.05
"""An actor (or the ego) this slow stands, m/s."""


class ParkingAgent:
    """Plans with ``planner`` (one of PLANNERS) from ``info["vector_space"]`` at reset and tracks the plan,
    holding for moving actors (see the module docstring)."""

    obs_mode = "parking"
    env_kind = "parking"

    def __init__(self, planner: str = "astar_route", max_nodes: int | None = None, net=None):
        if planner not in PLANNERS:
            raise ValueError(f"unknown parking planner {planner!r}; known: {PLANNERS}")
        self.planner = planner
        self.max_nodes = max_nodes if max_nodes is not None else MAX_NODES[planner]
        self.net = net
        if planner == "mcts" and net is None:
            from agents.planning.value_net import load_net  # torch is imported only by the MCTS agent

            self.net = load_net()
        self.plan: PlanResult | None = None
        self.segments: list = []
        self.held = 0
        """Steps held for an actor in a row."""
        self.replans = 0
        """Replans around actors this episode."""

    def reset(self, obs, info: dict) -> None:
        vs = info.get("vector_space")
        if not isinstance(vs, dict) or "lot_size" not in vs:
            raise EnvKindError(f"ParkingAgent({self.planner!r}) drives parking envs ({ENV_KINDS['parking']}); this "
                               "env's info['vector_space'] holds no parking lot")
        self.mapping = info["action_mapping"]
        self.plan, self.segments = self._solve(vs["obstacles"], vs)
        self.index = self.progress = self.held = self.replans = 0

    def _solve(self, obstacles: np.ndarray, vs: dict) -> tuple[PlanResult, list]:
        """A plan from the ego's pose in ``vs`` around ``obstacles`` (M, 5), and its gear segments."""
        lattice = Lattice(obstacles, vs["lot_size"], vs["ego"][:3], vs["goal"], ego_params(ParkingConfig()))
        if self.planner == "mcts":
            from agents.planning.mcts import mcts

            plan = mcts(lattice, self.net, max_nodes=self.max_nodes)
        else:
            plan = astar(lattice, self.planner.split("_")[1], max_nodes=self.max_nodes)
        return plan, segments(lattice, plan) if plan.success else []

    def act(self, obs, info: dict | None = None) -> np.ndarray:
        if self.plan is None:
            raise RuntimeError("ParkingAgent: call reset(obs, info) first")
        o = obs["observation"].astype(np.float64)
        x, y, h = o[0], o[1], math.atan2(o[5], o[4])
        speed, steer = o[2] * o[4] + o[3] * o[5], o[6]
        if self.index >= len(self.segments):
            return self._action(0.0, 0.0, speed)
        poses, steers, gear, stop = self.segments[self.index]
        window = poses[self.progress:min(stop + 1, self.progress + 12)]
        i = self.progress + int(np.argmin(np.hypot(window[:, 0] - x, window[:, 1] - y)))
        self.progress = i
        px, py, ph = poses[i]
        e = -math.sin(ph) * (x - px) + math.cos(ph) * (y - py)
        eh = float(wrap(h - ph))
        past = gear * (math.cos(ph) * (x - px) + math.sin(ph) * (y - py)) > 0 and i < stop
        feedforward = steers[i + 1] if past else steers[i]  # steers[j]: the motion arriving at pose j
        if gear > 0:
            command = feedforward - HEADING_GAIN * (eh + math.atan(LATERAL_GAIN * e))
        else:
            command = feedforward + HEADING_GAIN * (eh - math.atan(LATERAL_GAIN * e))
        if i < stop:
            remaining = float(np.hypot(*np.diff(poses[i:stop + 1, :2], axis=0).T).sum())
        else:
            sx, sy, sh = poses[stop]
            remaining = max(gear * (math.cos(sh) * (sx - x) + math.sin(sh) * (sy - y)), 0.0)
        target = min(CRUISE_MPS, math.sqrt(2 * STOP_DECEL * remaining), self._steer_limited_speed(poses, steers, i, stop, steer))
        target *= float(np.clip(1.0 - abs(command - steer) / STEER_SLOW_RAD, 0.1, 1.0))
        blocking = self._blocking(info["vector_space"], (x, y, h), poses[i:stop + 1]) if info is not None else None
        if blocking is not None and blocking.any():
            standing = np.abs(info["vector_space"]["actor_speed"]) < STANDING_MPS
            self.held = self.held + 1 if standing[blocking].all() else 0
            if self.held * self.mapping["dt"] >= REPLAN_AFTER_S and abs(speed) < STANDING_MPS:
                self._replan(info["vector_space"], standing)
            return self._action(command, 0.0, speed)
        self.held = 0
        if remaining < 0.03:
            target = 0.0
            if abs(speed) < 0.02 and self.index < len(self.segments) - 1:
                self.index += 1
                self.progress = 0
        return self._action(command, gear * target, speed, remaining)

    def _blocking(self, vs: dict, pose, ahead: np.ndarray) -> np.ndarray | None:
        """(K,) bool: the actors that, predicted at constant velocity (their signed speed along their heading) over
        HORIZON_S, come within ACTOR_MARGIN_M of the ego's path within LOOKAHEAD_M (``ahead``, continued
        through the next gear change), except those that would touch the ego's own box where it stands (holding
        would not avoid them: it drives on to clear them); None without actors."""
        actors = vs.get("actors")
        if actors is None or not len(actors):
            return None
        if self.index + 1 < len(self.segments):
            following, _, _, stop = self.segments[self.index + 1]
            ahead = np.vstack([ahead, following[1:stop + 1]])
        dist = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(ahead[:, :2], axis=0).T))])
        path = np.vstack([np.asarray(pose)[None], ahead[dist <= LOOKAHEAD_M]])
        t = np.arange(0.0, HORIZON_S + 1e-9, PREDICT_DT)
        x, y, h, length, width = (np.repeat(v, len(t)) for v in np.asarray(actors, np.float64).T)
        travel = np.tile(t, len(actors)) * np.repeat(vs["actor_speed"], len(t))
        grow = 2 * ACTOR_MARGIN_M
        n = len(path)
        ego = (path[:, 0], path[:, 1], path[:, 2], np.full(n, EGO_LENGTH_M + grow), np.full(n, EGO_WIDTH_M + grow))
        predicted = (x + travel * np.cos(h), y + travel * np.sin(h), h, length, width)
        ahead_hit = boxes_overlap(ego, predicted).reshape(n, len(actors), len(t))[1:].any(axis=(0, 2))
        here = tuple(np.array([v]) for v in (*pose, EGO_LENGTH_M, EGO_WIDTH_M))
        return ahead_hit & ~boxes_overlap(here, predicted).reshape(len(actors), len(t)).any(axis=1)

    def _replan(self, vs: dict, standing: np.ndarray) -> None:
        """Replan from the ego's pose with the ``standing`` (K,) actors' boxes as obstacles; keep the plan when
        none is found."""
        self.held = 0
        plan, segs = self._solve(np.concatenate([vs["obstacles"], np.asarray(vs["actors"])[standing]]), vs)
        if plan.success:
            self.plan, self.segments, self.index, self.progress = plan, segs, 0, 0
            self.replans += 1

    def _steer_limited_speed(self, poses, steers, i: int, stop: int, steer: float) -> float:
        """Largest speed at which the wheels, turning at their rate limit, reach the steer of every path pose
        within STEER_LOOKAHEAD_M by the time the car gets there, m/s."""
        ahead = poses[i:stop + 1]
        dist = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(ahead[:, :2], axis=0).T))])
        near = dist <= STEER_LOOKAHEAD_M
        need = np.abs(steers[i:stop + 1][near] - steer)
        return float(np.min((dist[near] + 0.05) * self.mapping["max_steer_rate"] / np.maximum(need, 1e-3)))

    def _action(self, steer: float, target_speed: float, speed: float, remaining: float = math.inf) -> np.ndarray:
        accel = SPEED_GAIN * (target_speed - speed)
        moving = 1.0 if speed > 0 else -1.0
        need = speed * speed / (2 * max(remaining, 0.005))
        if target_speed * speed > 0 and remaining < 1.0 and need > STOP_DECEL:
            # too fast to stop at the end with the planned deceleration: brake to stop there, v^2 / (2 d)
            accel = min(accel, -need) if moving > 0 else max(accel, need)
        accel = float(np.clip(accel, -self.mapping["max_accel"], self.mapping["max_accel"]))
        if target_speed == 0.0 and abs(speed) < 0.05:
            accel = -speed / self.mapping["dt"]
        return np.array([np.clip(steer / self.mapping["max_steer"], -1, 1),
                         np.clip(accel / self.mapping["max_accel"], -1, 1)], np.float32)


def segments(lattice: Lattice, plan: PlanResult) -> list:
    """The plan split where the gear changes: per segment, its poses (K, 3) (sharing the cusp pose with the
    next), the steer of each pose's motion (K,), the gear, and the index of the pose to stop at."""
    gears, out, start = plan.gears, [], 0
    n = len(plan.poses)
    for k in range(2, n + 1):
        if k == n or gears[k] != gears[start + 1]:
            seg, steers, gear = plan.poses[start:k], plan.steers[start:k].copy(), int(gears[start + 1])
            steers[0] = steers[min(1, len(steers) - 1)]
            stop = len(seg) - 1
            if k == n:
                seg, steers, stop = _extend(lattice, seg, steers, gear)
            out.append((seg, steers, gear, stop))
            start = k - 1
    return out


def _extend(lattice: Lattice, seg: np.ndarray, steers: np.ndarray, gear: int):
    """The last segment continued straight on by up to EXTEND_M (while collision-free), and the index of its
    pose nearest the goal."""
    n = int(EXTEND_M / 0.1)
    step = np.zeros((n, 3))
    step[:, 0] = gear * 0.1 * np.arange(1, n + 1)
    extra = compose(seg[-1][None], step)
    extra[:, 2] = seg[-1, 2]
    ok = ~lattice.collides(extra)
    keep = n if ok.all() else int(np.argmin(ok))
    seg = np.vstack([seg, extra[:keep]])
    steers = np.append(steers, np.zeros(keep))
    stop = int(np.argmin(np.hypot(seg[:, 0] - lattice.goal[0], seg[:, 1] - lattice.goal[1])))
    return seg, steers, stop


def _factory(planner: str):
    """A registry factory of ParkingAgent(planner) carrying the class's ``env_kind``."""
    def make(**kwargs) -> ParkingAgent:
        return ParkingAgent(planner, **kwargs)

    make.env_kind = ParkingAgent.env_kind
    return make


register_agent("parking_astar", _factory("astar_route"))
register_agent("parking_astar_euclidean", _factory("astar_euclidean"))
register_agent("parking_mcts", _factory("mcts"))
