"""The hybrid planner agent ("hybrid_planner"): every step, a search over maneuvers x speed profiles rolled out
against several futures of every road user (``maneuvers``, ``forecast``, ``costs``), then continuous optimisation
of the chosen one inside its corridor (``corridor``, ``optimise``), tracked by ``tracking``. Privileged: reads
``info["vector_space"]`` (with its ``signals``: it stops at red lights and at stop signs before going on) and
``info["map"]`` (given at reset)."""
from __future__ import annotations

import time

import numpy as np

from agents.base import register_agent
from agents.planning.corridor import corridor
from agents.planning.costs import total_cost
from agents.planning.forecast import add_static, forecast
from agents.planning.maneuvers import (
    DT,
    HORIZON_S,
    MANEUVERS,
    EgoState,
    allowed_speed,
    make_candidates,
    rollout,
)
from agents.planning.optimise import optimise
from agents.planning.roadmap import ReferencePath, RoadMap
from agents.planning.tracking import Tracker
from sim.traffic.signals import STATE_NAMES

RANGE_M = 90.0
MAX_ACTORS = 24
"""Road users farther than RANGE_M from the ego are left out, m, and all but the MAX_ACTORS nearest."""
STOP_BEHIND_M = 3.0
"""Stops behind a road user keep this gap to it, m."""
JUNCTION_STOP_M = 1.0
"""A stop at a junction keeps the ego's front this far before its entry, m."""
STOP_LOOKAHEAD_M = 80.0
"""Stop points are looked for this far ahead along the route, m."""
PATH_STEP_M = 0.5
AMBER, RED, STOP = STATE_NAMES.index("amber"), STATE_NAMES.index("red"), STATE_NAMES.index("stop")
AMBER_DECEL = 3.0
"""The ego stops for an amber light when it can at this deceleration or less, m/s^2."""
WALL_M = 1.0
"""A red light's stop line stands for a box this far past the line (twice as long), m."""
STOPPED_MPS = 0.3
STOP_SIGN_NEAR_M = 5.0
"""A stop sign is served once the ego stood (below STOPPED_MPS) with its front within STOP_SIGN_NEAR_M of the line;
until then its line is a wall like a red light's."""
BLOCKED_M = 50.0
STANDING_MPS = 0.5
QUEUE_M = 25.0
"""A road user slower than STANDING_MPS whose rear is within BLOCKED_M of the ego in its path blocks the lane,
unless a junction entry lies within QUEUE_M past it (it is queueing); the ego may then go around it."""


class HybridPlanner:
    """Search + continuous optimisation + tracking (see the module docstring). ``speed_fraction`` of the speed
    limit is the desired speed; ``optimise_path`` switches the continuous optimisation (on by default)."""

    obs_mode = "vector"

    def __init__(self, speed_fraction: float = 0.97, optimise_path: bool = True, dt: float = 0.1):
        self.speed_fraction = speed_fraction
        self.optimise_path = optimise_path
        self.dt = dt
        self.road = self.ref = self.tracker = None
        self.hint = 0
        self.previous = None
        self.served = set()
        """Lanes whose stop sign the ego has stopped at (their lines no longer hold it)."""
        self.last = {}
        """What the last step decided (maneuver, candidates, timings), for tests and benchmarks."""

    def reset(self, obs, info: dict) -> None:
        if "map" not in info or "vector_space" not in info:
            raise ValueError("HybridPlanner.reset: info needs 'map' and 'vector_space' (roadloop/Drive-v0 gives both)")
        vs = info["vector_space"]
        self.road = RoadMap(info["map"])
        self.ref = ReferencePath.build(self.road, vs["route"]["lanes"], vs["route"]["goal_s"])
        a = vs["actors"]
        xy = np.array([a["x"][0], a["y"][0]])
        self.hint = int(np.argmin(np.hypot(*(self.ref.xy - xy).T)))
        self.tracker = Tracker(info["action_mapping"], self.dt)
        self.tracker.reset(float(info.get("accel", 0.0)))
        self.previous = None

    def act(self, obs, info: dict) -> np.ndarray:
        if self.ref is None:
            raise RuntimeError("HybridPlanner: call reset(obs, info) first")
        t0 = time.perf_counter()
        vs = info["vector_space"]
        a = vs["actors"]
        ref = self.ref
        xy = np.array([a["x"][0], a["y"][0]])
        heading, speed = float(a["heading"][0]), float(a["speed"][0])
        i, s, d = ref.frenet(xy, self.hint)
        self.hint = i
        psi = float(np.angle(np.exp(1j * (heading - ref.heading[i]))))
        ego = EgoState(s, d, psi, speed, float(info.get("accel", 0.0)), float(a["length"][0]), float(a["width"][0]))
        desired = self.speed_fraction * float(ref.speed_limit[i])
        columns = self._relevant(vs, ego, xy, heading)
        ego_lane = (int(a["lane"][0]), self.road.project(int(a["lane"][0]), xy)[0]) if a["lane"][0] >= 0 else None
        f = forecast(self.road, vs, DT * np.arange(int(round(HORIZON_S / DT)) + 1), columns, ego_lane)
        if vs.get("signals") is not None:
            f = self._stop_lines(vs["signals"], ego, f, i)
        stops, blocked = self._stops(ego, f, i)
        cands = make_candidates(ref, ego, desired, stops, blocked, self.previous)
        v_allow = allowed_speed(ref, desired / self.speed_fraction)
        r = rollout(ref, ego, cands, v_allow)
        cost, parts = total_cost(cands, r, f, ref, ego, None if self.previous is None else self.previous[0])
        best = int(np.argmin(cost))
        t1 = time.perf_counter()
        self.previous = (float(cands.d_target[best]), float(cands.v_target[best]))
        path_s, path_d, plan_v, plan_a = self._plan(r, best, ego, f)
        path_xy, _ = ref.to_xy(path_s, path_d)
        slip = np.arctan2(vs["ego"]["lateral_speed"], max(speed, 0.5)) * np.clip((speed - 4.0) / 4.0, 0.0, 1.0)
        action = self.tracker.action(xy, heading + slip, speed, path_xy, r.t, plan_v, plan_a)
        t2 = time.perf_counter()
        self.last = {"maneuver": MANEUVERS[int(cands.kind[best])], "d_target": float(cands.d_target[best]),
                     "v_target": float(cands.v_target[best]), "candidates": len(cands), "cost": float(cost[best]),
                     "collision_cost": float(parts["collision"][best]), "search_s": t1 - t0, "plan_s": t2 - t0,
                     "path_s": path_s, "path_d": path_d, "plan_v": plan_v, "plan_a": plan_a, "t": r.t}
        return action

    def _relevant(self, vs: dict, ego: EgoState, xy, heading: float) -> np.ndarray:
        """Columns of the road users to plan with: the MAX_ACTORS nearest that are valid, within RANGE_M, and not
        following the ego in its lane (the follower's job is to keep its distance)."""
        a = vs["actors"]
        n = len(a["valid"])
        cols = np.arange(1, n)
        ok = np.asarray(a["valid"][1:], bool)
        dx, dy = a["x"][1:] - xy[0], a["y"][1:] - xy[1]
        c, s = np.cos(heading), np.sin(heading)
        along, across = dx * c + dy * s, -dx * s + dy * c
        ok &= np.hypot(dx, dy) < RANGE_M
        same_way = np.cos(a["heading"][1:] - heading) > 0.7
        follower = (along < -0.5 * ego.length) & (np.abs(across) < 0.5 * (ego.width + a["width"][1:])) & same_way
        keep = cols[ok & ~follower]
        return keep[np.argsort(np.hypot(dx, dy)[keep - 1], kind="stable")[:MAX_ACTORS]]

    def _stop_lines(self, signals: dict, ego: EgoState, f, i: int):
        """``f`` with a wall at the stop line of every red light on the route ahead (of every amber one the ego can
        stop for at AMBER_DECEL, and of every stop sign not yet served), so that the search stops there."""
        ref = self.ref
        hi = int(np.searchsorted(ref.s, ego.s + STOP_LOOKAHEAD_M))
        ahead = set(ref.lane[i:hi + 1].tolist())
        rows = [k for k in np.flatnonzero(signals["valid"]) if int(signals["lane"][k]) in ahead
                and int(signals["state"][k]) in (AMBER, RED, STOP) and int(signals["lane"][k]) not in self.served]
        walls = []
        for k in rows:
            xy = signals["xy"][k]
            j = i + int(np.argmin(np.hypot(*(ref.xy[i:hi + 1] - xy).T)))
            room = float(ref.s[j]) - ego.s - 0.5 * ego.length
            state = int(signals["state"][k])
            if state == STOP and room <= STOP_SIGN_NEAR_M and ego.v < STOPPED_MPS:
                self.served.add(int(signals["lane"][k]))
                continue
            if room < 0.0 or (state == AMBER and ego.v ** 2 > 2.0 * AMBER_DECEL * max(room, 0.1)):
                continue
            h = float(signals["heading"][k])
            walls.append((xy + WALL_M * np.array([np.cos(h), np.sin(h)]), h,
                          (2.0 * WALL_M, float(self.road.width[int(signals["lane"][k])]))))
        if not walls:
            return f
        return add_static(f, np.array([w[0] for w in walls]), np.array([w[1] for w in walls]),
                          np.array([w[2] for w in walls]))

    def _stops(self, ego: EgoState, f, i: int) -> tuple[list[float], bool]:
        """Route s of the ego's centre at the stop points ahead (behind the nearest road users in its path, before
        a junction entry), and whether a standing road user blocks the lane within BLOCKED_M (not one queueing:
        no junction entry within QUEUE_M past it)."""
        ref = self.ref
        stops = []
        blocked = False
        hi = int(np.searchsorted(ref.s, ego.s + STOP_LOOKAHEAD_M))
        window = slice(i, max(hi, i + 2))
        pts = ref.xy[window]
        junction = ref.junction[window]
        entry = np.flatnonzero(junction[1:] & ~junction[:-1])
        entry_s = ref.s[window][entry + 1]
        if f.poses.shape[0]:
            now = f.poses[:, 0, 0, :2]
            d2 = ((now[:, None, :] - pts[None]) ** 2).sum(-1)
            j = np.argmin(d2, axis=1)
            h = ref.heading[window][j]
            rel = now - pts[j]
            lat = -np.sin(h) * rel[:, 0] + np.cos(h) * rel[:, 1]
            s_obj = ref.s[window][j] + np.cos(h) * rel[:, 0] + np.sin(h) * rel[:, 1]
            in_path = (np.abs(lat) < 0.5 * (ego.width + f.size[:, 1]) + 0.3) & (s_obj > ego.s + 0.5 * ego.length)
            order = np.flatnonzero(in_path)[np.argsort(s_obj[in_path])]
            rear = s_obj[order] - 0.5 * f.size[order, 0]
            stops += [float(x) - STOP_BEHIND_M - 0.5 * ego.length for x in rear[:2]]
            if order.size:
                k = order[0]
                queue = ((entry_s > s_obj[k]) & (entry_s < s_obj[k] + QUEUE_M)).any()
                blocked = bool(f.speed[k] < STANDING_MPS and rear[0] - ego.s < BLOCKED_M and not queue)
        if entry.size and not junction[0]:
            stops.append(float(entry_s[0]) - JUNCTION_STOP_M - 0.5 * ego.length)
        return [x for x in stops if x > ego.s - 1.0], blocked

    def _plan(self, r, best: int, ego: EgoState, f):
        """The path (arc lengths and lateral offsets, PATH_STEP_M apart) and the speed and acceleration over
        time of the chosen rollout, refined by the continuous optimisation when it is on."""
        s, d = r.s[best], r.d[best]
        length = max(float(s[-1] - s[0]) + 10.0, 30.0)
        path_s = ego.s + np.arange(0.0, length, PATH_STEP_M)
        moving = np.concatenate([[True], np.diff(s) > 1e-3])
        path_d = np.interp(path_s, s[moving], d[moving]) if moving.sum() > 1 else np.full(path_s.size, d[-1])
        plan_v, plan_a = r.v[best], r.a[best]
        if self.optimise_path:
            lo, hi = corridor(self.ref, path_s, path_d, ego, f)
            path_d, plan_v, plan_a = optimise(self.ref, ego, path_s, path_d, lo, hi, r.t, plan_v, plan_a, s)
        return path_s, path_d, plan_v, plan_a


register_agent("hybrid_planner", HybridPlanner)
