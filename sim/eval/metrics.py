"""Per-episode metrics: pure functions of an ``EpisodeTrace`` (see sim/eval/trace.py).

``episode_metrics(trace)`` returns one flat, JSON-able dict (floats, ints, bools, strings; ``None`` where a
value is not defined, never inf/NaN). ``METRICS`` describes every numeric or bool key (unit, description,
direction, kind) so that reports can print them. Where nuPlan (motional/nuplan-devkit,
``nuplan/planning/metrics``) defines a metric, the rule and its constants follow nuPlan; the docstrings say
where and how this version is simpler.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import savgol_filter

from sim.eval.trace import ROAD_TYPES, EpisodeTrace
from sim.physics.collision import boxes_overlap
from sim.traffic.vehicle_classes import CLASS_NAMES

# --- collisions (nuPlan no_ego_at_fault_collisions) -------------------------------------------------------
STOPPED_SPEED = 0.05
"""An actor at or below this speed counts as stopped when a collision is classified, m/s (nuPlan 5e-2)."""
REAR_AXLE_FRACTION = 0.3
"""The ego's rear axle sits this fraction of its length behind its box centre (nuPlan measures "behind" from
the rear axle; 0.3 L is where a 5.2 m Pacifica's axle sits), 1."""
BEHIND_ANGLE_DEG = 150.0
"""An actor whose centre lies more than this angle off the ego's heading, seen from the ego's rear axle, is
behind the ego (nuPlan ``is_agent_behind``), deg."""
FRONT_BUMPER_DEPTH = 0.1
"""Length of the thin box standing for the ego's front bumper in the active-front test, m."""
COLLISION_TYPES = ("stopped_ego", "stopped_track", "active_front", "active_rear", "active_lateral", "static")
"""nuPlan CollisionType names, plus "static" for props and curbs."""
NOT_AT_FAULT = ("stopped_ego", "active_rear")
"""Collision types for which the ego is not at fault. nuPlan also excuses an active-lateral collision unless
the ego is between lanes or off the drivable area; this version always blames the ego for a lateral one."""

# --- time to collision (nuPlan time_to_collision_within_bound) ---------------------------------------------
TTC_STEP_S = 0.1
"""Time step of the constant-velocity projection, s (nuPlan 0.1)."""
TTC_HORIZON_S = 3.0
"""How far ahead the projection looks, s. nuPlan looks 1 s ahead; min_ttc_s keeps 3 s so near misses have a
value, and the violation test (TTC_BOUND_S) is the same under either horizon."""
TTC_BOUND_S = 0.95
"""A time to collision below this while the ego moves is a violation, s (nuPlan least_min_ttc)."""
TTC_MIN_EGO_SPEED = 0.1
"""A TTC violation counts only while the ego moves faster than this, m/s."""

# --- speed limit (nuPlan speed_limit_compliance) ------------------------------------------------------------
MAX_OVERSPEED = 2.23
"""Overspeed at which the compliance score reaches 0 when held all episode, m/s (nuPlan
max_overspeed_value_threshold)."""

# --- comfort (nuPlan ego_is_comfortable) --------------------------------------------------------------------
MIN_LON_ACCEL = -4.05
"""Lowest comfortable longitudinal acceleration, m/s^2."""
MAX_LON_ACCEL = 2.40
"""Highest comfortable longitudinal acceleration, m/s^2."""
MAX_ABS_LAT_ACCEL = 4.89
"""Largest comfortable |lateral acceleration|, m/s^2."""
MAX_ABS_LON_JERK = 4.13
"""Largest comfortable |longitudinal jerk|, m/s^3."""
ACCEL_WINDOW_S = 0.7
"""Savitzky-Golay window that smooths the accelerations before the comfort test, s (nuPlan: 8 samples at
10 Hz; an odd window of 7 here)."""
JERK_WINDOW_S = 1.5
"""Savitzky-Golay window whose first derivative of the smoothed acceleration is the jerk, s (nuPlan: 15
samples at 10 Hz). The trace's own jerk is a one-step difference and is not used."""
SAVGOL_ORDER = 2
"""Polynomial order of both filters (nuPlan 2)."""

# --- progress, direction, score -----------------------------------------------------------------------------
PROGRESS_THRESHOLD = 0.2
"""route_completion at or above which the ego is making progress (nuPlan ego_is_making_progress 0.2), 1."""
ROUTE_DONE = 0.999
"""route_completion at or above which a route counts as completed, 1."""
WRONG_WAY_M = 2.0
"""Distance against the lane direction above which ``wrong_way`` is set and the score halves, m (nuPlan
driving_direction_compliance 2 m)."""
WRONG_WAY_ZERO_M = 6.0
"""Distance against the lane direction above which the score is 0, m (nuPlan 6 m)."""
DRAC_PATH_MARGIN_M = 0.3
"""An actor is in the ego's path when their lateral offset is below half their widths plus this, m."""
DRAC_MIN_GAP_M = 0.1
"""Gaps below this count as this in the deceleration rate to avoid a crash, m."""
DRAC_CAP = 100.0
"""Largest reported deceleration rate to avoid a crash, m/s^2."""
SCORE_WEIGHTS = {"ttc": 5.0, "progress": 5.0, "speed_limit": 4.0, "comfort": 2.0}
"""Weights of the averaged part of ``score`` (nuPlan closed-loop score weights)."""


@dataclass(frozen=True)
class MetricInfo:
    """How to print and compare one metric."""

    unit: str
    """SI unit, "1" for ratios and counts, "" for flags."""
    description: str
    higher_is_better: bool | None
    """None when neither direction is better (e.g. seconds)."""
    kind: str
    """"rate" (a bool: aggregated as a proportion) or "value" (a number: aggregated as a mean)."""

    def __post_init__(self):
        if self.kind not in ("rate", "value"):
            raise ValueError(f"MetricInfo.kind must be 'rate' or 'value', got {self.kind!r}")


def _v(unit, description, higher_is_better):
    return MetricInfo(unit, description, higher_is_better, "value")


def _r(description, higher_is_better):
    return MetricInfo("", description, higher_is_better, "rate")


METRICS: dict[str, MetricInfo] = {
    "route_completion": _v("1", "final progress along the route / route length, clipped to [0, 1]", True),
    "progress_m": _v("m", "final progress along the route", True),
    "seconds": _v("s", "episode duration", None),
    "steps": _v("1", "control steps in the episode", None),
    "mean_speed": _v("m/s", "mean ego speed", None),
    "collision": _r("the ego collided (vehicle, prop or curb)", False),
    "at_fault_collision": _r("the first collision was the ego's fault (nuPlan rules; lateral always at fault)",
                             False),
    "collision_step": _v("1", "step of the first collision", None),
    "collision_rel_speed_mps": _v("m/s", "relative speed at the first collision (ego speed for static)", False),
    "off_road": _r("the ego left the drivable area", False),
    "wrong_way_m": _v("m", "distance driven inside a lane running against the ego", False),
    "wrong_way": _r(f"more than {WRONG_WAY_M:g} m driven against the lane direction", False),
    "min_ttc_s": _v("s", f"minimum constant-velocity time to collision ({TTC_HORIZON_S:g} s horizon)", True),
    "min_ttc_step": _v("1", "step of the minimum time to collision", None),
    "ttc_violation": _r(f"time to collision below {TTC_BOUND_S:g} s while moving", False),
    "min_distance_m": _v("m", "smallest box-to-box gap to another actor (separating-axis lower bound)", True),
    "max_drac_mps2": _v("m/s^2", "largest deceleration rate to avoid a crash: closing speed^2 / (2 gap)", False),
    "speed_limit_compliance": _v("1", f"1 - mean overspeed / {MAX_OVERSPEED:g} m/s, clipped (nuPlan)", True),
    "max_overspeed_mps": _v("m/s", "largest speed above the lane's limit", False),
    "max_accel": _v("m/s^2", "largest smoothed longitudinal acceleration", None),
    "min_accel": _v("m/s^2", "smallest (most negative) smoothed longitudinal acceleration", None),
    "max_abs_lat_accel": _v("m/s^2", "largest smoothed |lateral acceleration|", False),
    "max_abs_jerk": _v("m/s^3", "largest |longitudinal jerk| (Savitzky-Golay derivative)", False),
    "comfortable": _r("accelerations and jerk within nuPlan's comfort bounds", True),
    "making_progress": _r(f"route_completion >= {PROGRESS_THRESHOLD:g}", True),
    "passed": _r("scenario success criteria met (else: no collision, on road, route completed)", True),
    "score": _v("1", "nuPlan-style combined score in [0, 1]", True),
}


def episode_metrics(trace: EpisodeTrace) -> dict:
    """The metrics of one episode as a flat dict (keys of METRICS plus the strings ``collision_kind``,
    ``collision_type``, ``collision_actor_class``, ``min_ttc_actor_class`` and ``road_types``).

    ``score`` is nuPlan's closed-loop score (nuPlan ``CLSR``): the product of the multipliers
    no-at-fault-collision (0 after an at-fault collision with a vehicle, 0.5 with a prop or curb, else 1),
    drivable-area compliance (0 when off road), driving-direction compliance (0 beyond WRONG_WAY_ZERO_M
    against the lanes, 0.5 beyond WRONG_WAY_M, else 1) and making-progress (0/1), times the SCORE_WEIGHTS
    weighted mean of TTC compliance (1 without ttc_violation, else 0), progress (route_completion; nuPlan
    compares with the expert's progress, there is no expert here), speed-limit compliance and comfort (0/1).

    Definitions: ``wrong_way_m`` sums the lengths of the steps that end in a ``wrong_way`` state;
    ``min_ttc_s`` and ``ttc_violation`` come from ``ttc_series``; ``min_distance_m`` is ``min_gap`` (the
    separating-axis gap between boxes: exact for boxes lined up along a common axis, never more than the true
    distance); ``speed_limit_compliance`` is nuPlan's 1 - (overspeed integral) / (MAX_OVERSPEED x duration),
    with the integral over duration taken as the mean overspeed of the T+1 states, clipped to [0, 1];
    accelerations and jerk are smoothed as ``smooth`` says (ACCEL_WINDOW_S, JERK_WINDOW_S); ``road_types``
    joins the sorted names of the ROAD_TYPES visited with "+".
    """
    T = trace.steps
    dt = float(trace.dt)
    speed = trace.column("speed")
    xy = trace.ego[:, :2]

    goal = float(trace.route_length_m)
    progress = float(trace.progress_m[-1])
    completion = min(max(progress / goal, 0.0), 1.0) if goal > 0 else 1.0

    # collisions
    hit = first_collision(trace)
    collision = hit is not None
    at_fault = bool(hit and hit["at_fault"])

    # off road and wrong way
    off_road = bool(np.any(trace.off_road))
    step_len = np.hypot(*np.diff(xy, axis=0).T) if T else np.zeros(0)
    wrong_way_m = float(step_len[np.asarray(trace.wrong_way[1:], dtype=bool)].sum())

    # time to collision and distance
    ttc, who = ttc_series(trace)
    finite = np.isfinite(ttc)
    if finite.any():
        k = int(np.argmin(ttc))
        min_ttc, min_ttc_step, min_ttc_class = float(ttc[k]), k, actor_class(trace, int(who[k]))
    else:
        min_ttc, min_ttc_step, min_ttc_class = None, None, ""
    ttc_violation = bool(np.any(finite & (ttc < TTC_BOUND_S) & (speed > TTC_MIN_EGO_SPEED)))
    min_distance = min_gap(trace)
    drac = max_drac(trace)

    # speed limit
    overspeed = np.maximum(speed - trace.speed_limit, 0.0)
    speed_compliance = float(np.clip(1.0 - overspeed.mean() / MAX_OVERSPEED, 0.0, 1.0))

    # comfort
    accel = smooth(trace.column("accel"), dt, ACCEL_WINDOW_S)
    lat = smooth(trace.column("lat_accel"), dt, ACCEL_WINDOW_S)
    jerk = smooth(accel, dt, JERK_WINDOW_S, deriv=1)
    max_accel, min_accel = float(accel.max()), float(accel.min())
    max_lat, max_jerk = float(np.abs(lat).max()), float(np.abs(jerk).max())
    comfortable = (MIN_LON_ACCEL <= min_accel and max_accel <= MAX_LON_ACCEL and max_lat <= MAX_ABS_LAT_ACCEL
                   and max_jerk <= MAX_ABS_LON_JERK)

    making_progress = completion >= PROGRESS_THRESHOLD
    if trace.scenario is not None:
        passed = bool(trace.scenario.get("success", False))
    else:
        passed = not collision and not off_road and completion >= ROUTE_DONE

    # nuPlan closed-loop score
    multiplier = 1.0
    if at_fault:
        multiplier *= 0.0 if hit["kind"] == "vehicle" else 0.5
    if off_road:
        multiplier = 0.0
    if wrong_way_m > WRONG_WAY_ZERO_M:
        multiplier = 0.0
    elif wrong_way_m > WRONG_WAY_M:
        multiplier *= 0.5
    if not making_progress:
        multiplier = 0.0
    w = SCORE_WEIGHTS
    weighted = (w["ttc"] * (0.0 if ttc_violation else 1.0) + w["progress"] * completion
                + w["speed_limit"] * speed_compliance + w["comfort"] * (1.0 if comfortable else 0.0)) / sum(w.values())

    visited = sorted({ROAD_TYPES[int(r)] for r in np.asarray(trace.road_type)})
    return {
        "route_completion": completion,
        "progress_m": progress,
        "seconds": round(T * dt, 9),
        "steps": int(T),
        "mean_speed": float(speed.mean()),
        "collision": collision,
        "collision_kind": hit["kind"] if hit else "",
        "collision_type": hit["type"] if hit else "",
        "at_fault_collision": at_fault,
        "collision_actor_class": hit["actor_class"] if hit else "",
        "collision_step": hit["step"] if hit else None,
        "collision_rel_speed_mps": hit["rel_speed"] if hit else None,
        "off_road": off_road,
        "wrong_way_m": wrong_way_m,
        "wrong_way": wrong_way_m > WRONG_WAY_M,
        "min_ttc_s": min_ttc,
        "min_ttc_step": min_ttc_step,
        "min_ttc_actor_class": min_ttc_class,
        "ttc_violation": ttc_violation,
        "min_distance_m": min_distance,
        "max_drac_mps2": drac,
        "speed_limit_compliance": speed_compliance,
        "max_overspeed_mps": float(overspeed.max()),
        "max_accel": max_accel,
        "min_accel": min_accel,
        "max_abs_lat_accel": max_lat,
        "max_abs_jerk": max_jerk,
        "comfortable": bool(comfortable),
        "making_progress": bool(making_progress),
        "passed": bool(passed),
        "score": float(multiplier * weighted),
        "road_types": "+".join(visited),
    }


def actor_class(trace: EpisodeTrace, column: int) -> str:
    """Class name of actor ``column`` (CLASS_NAMES[kind]; "ego" for the ego, "" for -1/unknown columns)."""
    if column < 0 or column >= len(trace.kind):
        return ""
    k = int(trace.kind[column])
    if k < 0:
        return "ego"
    return CLASS_NAMES[k] if k < len(CLASS_NAMES) else f"class{k}"


def smooth(x: np.ndarray, dt: float, window_s: float, deriv: int = 0) -> np.ndarray:
    """Savitzky-Golay smoothing (``deriv`` 0) or derivative (``deriv`` 1, per second) of a (T+1,) signal with
    an odd window of about ``window_s`` (shrunk to the signal's length); too short for the filter: the
    signal itself, or its np.gradient."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    w = max(round(window_s / dt), 1)
    w += 1 - w % 2
    w = min(w, n - 1 + n % 2)
    if w <= SAVGOL_ORDER:
        if deriv == 0:
            return x.copy()
        return np.gradient(x, dt) if n >= 2 else np.zeros_like(x)
    return savgol_filter(x, w, SAVGOL_ORDER, deriv=deriv, delta=dt, mode="interp")


def box_gap(ax, ay, ah, al, aw, bx, by, bh, bl, bw) -> np.ndarray:
    """Signed separation of oriented boxes a and b (centre m, heading rad, full length and width m;
    broadcastable arrays): the largest gap along the four box axes. > 0: apart, and a lower bound of their
    Euclidean distance (exact when the boxes line up along a common axis, e.g. car following or side by side);
    <= 0: they overlap or touch (the separating axis test of sim.physics.collision.boxes_overlap)."""
    ca, sa, cb, sb = np.cos(ah), np.sin(ah), np.cos(bh), np.sin(bh)
    dx, dy = bx - ax, by - ay
    cos_rel = np.abs(ca * cb + sa * sb)
    sin_rel = np.abs(ca * sb - sa * cb)
    hal, haw, hbl, hbw = 0.5 * al, 0.5 * aw, 0.5 * bl, 0.5 * bw
    return np.maximum.reduce([
        np.abs(dx * ca + dy * sa) - (hal + hbl * cos_rel + hbw * sin_rel),
        np.abs(dy * ca - dx * sa) - (haw + hbl * sin_rel + hbw * cos_rel),
        np.abs(dx * cb + dy * sb) - (hbl + hal * cos_rel + haw * sin_rel),
        np.abs(dy * cb - dx * sb) - (hbw + hal * sin_rel + haw * cos_rel),
    ])


def _others(trace: EpisodeTrace):
    """Ego pose/size (E,) and the other actors' (E, N) rows: x, y, heading, speed, length, width."""
    a = trace.actors
    ego = (trace.column("x"), trace.column("y"), trace.column("heading"), trace.column("speed"), a[:, 4, 0],
           a[:, 5, 0])
    others = tuple(a[:, f, 1:] for f in range(6))
    return ego, others


def _behind(ex, ey, eh, el, ox, oy) -> np.ndarray:
    """True where an actor centre (ox, oy) is behind the ego (nuPlan is_agent_behind from the rear axle)."""
    c, s = np.cos(eh), np.sin(eh)
    rx, ry = ex - REAR_AXLE_FRACTION * el * c, ey - REAR_AXLE_FRACTION * el * s
    px, py = ox - rx, oy - ry
    along, across = px * c + py * s, py * c - px * s
    return np.abs(np.arctan2(across, along)) > np.radians(BEHIND_ANGLE_DEG)


def ttc_series(trace: EpisodeTrace) -> tuple[np.ndarray, np.ndarray]:
    """Time to collision at every state: (T+1,) s (inf when none within TTC_HORIZON_S) and (T+1,) int column
    of the actor it is with (-1 when none).

    As nuPlan: the ego and every valid other actor not behind the ego (BEHIND_ANGLE_DEG) move on at constant
    speed and heading; the TTC is the first of the times TTC_STEP_S, 2 TTC_STEP_S, ... TTC_HORIZON_S at which
    their boxes overlap. States where the ego is in a collision are skipped, and so are pairs already
    overlapping at time 0. Unlike nuPlan, actors beside the ego count everywhere (nuPlan counts them only in
    junctions or when the ego is between lanes), and a stopped ego still gets a TTC (the violation test
    ignores it). Vectorised: a closest-approach test of bounding circles picks the (state, actor) pairs,
    one box_gap call tests them at all times."""
    E = trace.steps + 1
    ttc = np.full(E, np.inf)
    who = np.full(E, -1, dtype=np.int64)
    if trace.actors.shape[2] < 2:
        return ttc, who
    (ex, ey, eh, ev, el, ew), (ox, oy, oh, ov, ol, ow) = _others(trace)
    mask = (np.asarray(trace.valid[:, 1:], dtype=bool) & (np.asarray(trace.collision) == 0)[:, None]
            & ~_behind(ex[:, None], ey[:, None], eh[:, None], el[:, None], ox, oy))
    evx, evy = ev * np.cos(eh), ev * np.sin(eh)
    ovx, ovy = ov * np.cos(oh), ov * np.sin(oh)
    px, py = ox - ex[:, None], oy - ey[:, None]
    wx, wy = ovx - evx[:, None], ovy - evy[:, None]
    w2 = wx * wx + wy * wy
    tau = np.clip(-(px * wx + py * wy) / np.maximum(w2, 1e-12), 0.0, TTC_HORIZON_S)
    closest = np.hypot(px + wx * tau, py + wy * tau)
    reach = 0.5 * (np.hypot(el, ew)[:, None] + np.hypot(ol, ow))
    t, j = np.nonzero(mask & (closest <= reach))
    if t.size == 0:
        return ttc, who
    K = round(TTC_HORIZON_S / TTC_STEP_S)
    times = np.round(np.arange(K + 1) * TTC_STEP_S, 9)
    tt = times[None, :]
    gap = box_gap(ex[t, None] + evx[t, None] * tt, ey[t, None] + evy[t, None] * tt, eh[t, None], el[t, None],
                  ew[t, None], ox[t, j, None] + ovx[t, j, None] * tt, oy[t, j, None] + ovy[t, j, None] * tt,
                  oh[t, j, None], ol[t, j, None], ow[t, j, None])
    hit = gap[:, 1:] <= 0.0
    keep = hit.any(axis=1) & (gap[:, 0] > 0.0)
    if not keep.any():
        return ttc, who
    t, j = t[keep], j[keep]
    value = times[1:][np.argmax(hit[keep], axis=1)]
    order = np.lexsort((value, t))
    t, j, value = t[order], j[order], value[order]
    first = np.concatenate(([True], t[1:] != t[:-1]))
    ttc[t[first]] = value[first]
    who[t[first]] = j[first] + 1
    return ttc, who


def max_drac(trace: EpisodeTrace) -> float | None:
    """Largest deceleration rate to avoid a crash over the episode (m/s^2, capped at DRAC_CAP; None without
    other actors): for every valid actor ahead of the ego and in its path (lateral offset in the ego's frame
    below half their widths plus DRAC_PATH_MARGIN_M), at states without a collision, the closing speed
    along the ego's heading squared over twice their box gap (at least DRAC_MIN_GAP_M). A standard surrogate
    safety measure of car following: it keeps rising as a near miss gets closer, where a time to collision
    saturates. Crossing traffic is left to the time to collision."""
    if trace.actors.shape[2] < 2:
        return None
    (ex, ey, eh, ev, el, ew), (ox, oy, oh, ov, ol, ow) = _others(trace)
    valid = np.asarray(trace.valid[:, 1:], dtype=bool)
    if not valid.any():
        return None
    c, s = np.cos(eh)[:, None], np.sin(eh)[:, None]
    px, py = ox - ex[:, None], oy - ey[:, None]
    along, across = px * c + py * s, py * c - px * s
    in_path = (along > 0.0) & (np.abs(across) < 0.5 * (ew[:, None] + ow) + DRAC_PATH_MARGIN_M)
    closing = ev[:, None] - ov * (np.cos(oh) * c + np.sin(oh) * s)
    mask = valid & in_path & (closing > 0.0) & (np.asarray(trace.collision) == 0)[:, None]
    gap = box_gap(ex[:, None], ey[:, None], eh[:, None], el[:, None], ew[:, None], ox, oy, oh, ol, ow)
    drac = np.where(mask, closing ** 2 / (2.0 * np.maximum(gap, DRAC_MIN_GAP_M)), 0.0)
    return float(min(drac.max(), DRAC_CAP))


def min_gap(trace: EpisodeTrace) -> float | None:
    """Smallest box_gap (clipped at 0, m) between the ego and any valid other actor over the episode; None when
    no other actor is ever valid."""
    if trace.actors.shape[2] < 2:
        return None
    (ex, ey, eh, _, el, ew), (ox, oy, oh, _, ol, ow) = _others(trace)
    valid = np.asarray(trace.valid[:, 1:], dtype=bool)
    if not valid.any():
        return None
    c = (slice(None), None)
    gap = box_gap(ex[c], ey[c], eh[c], el[c], ew[c], ox, oy, oh, ol, ow)
    return float(max(gap[valid].min(), 0.0))


def first_collision(trace: EpisodeTrace) -> dict | None:
    """The first collision, classified as nuPlan does, or None: ``step``, ``kind`` ("vehicle", "prop",
    "curb"), ``type`` (COLLISION_TYPES), ``at_fault``, ``actor`` (column, -1 for static), ``actor_class``
    (class name, or "prop"/"curb") and ``rel_speed`` (m/s, |ego velocity - actor velocity|).

    A vehicle collision is with the valid actor whose box overlaps the ego's at that step (the nearest one if
    several do; the one with the smallest box gap if none does). Its type: "stopped_ego" when the ego's speed is
    at most STOPPED_SPEED, else "stopped_track" when the actor's is, else "active_rear" when the actor is behind
    the ego, else "active_front" when the ego's front bumper touches the actor's box, else "active_lateral"
    (nuPlan ``_get_collision_type``). Props and curbs are "static". At fault: every type but NOT_AT_FAULT."""
    hits = np.flatnonzero(np.asarray(trace.collision))
    if hits.size == 0:
        return None
    step = int(hits[0])
    kind = trace.collision_kind
    ex, ey, eh, ev = (float(trace.ego[step, i]) for i in range(4))
    if kind != "vehicle":
        return {"step": step, "kind": kind, "type": "static", "at_fault": True, "actor": -1, "actor_class": kind,
                "rel_speed": abs(ev)}
    a = trace.actors[step]
    el, ew = float(a[4, 0]), float(a[5, 0])
    cols = np.flatnonzero(np.asarray(trace.valid[step], dtype=bool))
    cols = cols[cols > 0]
    if cols.size == 0:
        return {"step": step, "kind": kind, "type": "unknown", "at_fault": True, "actor": -1, "actor_class": "",
                "rel_speed": abs(ev)}
    ego_box = (np.array([ex]), np.array([ey]), np.array([eh]), np.array([el]), np.array([ew]))
    boxes = (a[0, cols], a[1, cols], a[2, cols], a[4, cols], a[5, cols])
    over = boxes_overlap(ego_box, boxes)[0]
    dist = np.hypot(a[0, cols] - ex, a[1, cols] - ey)
    if over.any():
        j = int(cols[over][np.argmin(dist[over])])
    else:
        j = int(cols[np.argmin(box_gap(ex, ey, eh, el, ew, *boxes))])
    ox, oy, oh, ov = (float(a[i, j]) for i in range(4))
    rel = float(np.hypot(ev * np.cos(eh) - ov * np.cos(oh), ev * np.sin(eh) - ov * np.sin(oh)))
    if ev <= STOPPED_SPEED:
        ctype = "stopped_ego"
    elif ov <= STOPPED_SPEED:
        ctype = "stopped_track"
    elif bool(_behind(ex, ey, eh, el, ox, oy)):
        ctype = "active_rear"
    else:
        off = 0.5 * (el - FRONT_BUMPER_DEPTH)
        bumper = (np.array([ex + off * np.cos(eh)]), np.array([ey + off * np.sin(eh)]), np.array([eh]),
                  np.array([FRONT_BUMPER_DEPTH]), np.array([ew]))
        other = (np.array([ox]), np.array([oy]), np.array([oh]), np.array([a[4, j]]), np.array([a[5, j]]))
        ctype = "active_front" if bool(boxes_overlap(bumper, other)[0, 0]) else "active_lateral"
    return {"step": step, "kind": kind, "type": ctype, "at_fault": ctype not in NOT_AT_FAULT, "actor": j,
            "actor_class": actor_class(trace, j), "rel_speed": rel}
