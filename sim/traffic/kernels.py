"""Compiled (numba) kernels of traffic: one control step over all vehicles, poses, spawn speed caps.

Plain loops over vehicles and candidates; no random draws inside (the caller passes uniforms drawn from
the episode's Generator), no fastmath and no parallelism, so results are bit-identical run to run.

Lane tables (built by ``LaneMap``, columns named in ``sim.traffic.lane_map``): ``lf`` (L, 6) float64, ``li``
(L, 10) int64, ``conflict``/``conflict_long`` (L, L) bool and ``conf`` (4, L, L) conflict zones of junction
connectors. Right of way at junctions is in ``sim.traffic.junctions``, going around obstacles in
``sim.traffic.passing``.

A step: every body that occupies a lane becomes a candidate leader (traffic, obstacles, the lane a lane
changer leaves, the neighbouring or oncoming lane a body reaches into, the virtual stops of passers); each
vehicle finds its leader (a stationary or oncoming body far enough to the side is none), the junction rules
and passes give it stops and speed caps, IDM gives its command, MOBIL its lane changes; the command it acts on
sees its leader's speed as it was ``reaction`` s before (unless that hides a need to brake harder than
comfortable), while stops, speed limits and yield lines act at once; the command is jerk-limited; then it moves
along its lane and its lateral plan.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.traffic.junctions import (
    CREEP_SPEED,
    JUNCTION_LOOKAHEAD_M,
    JUNCTION_MARGIN_M,
    REAR_CLEAR_M,
    STOP_LINE_M,
    YIELD_SPEED,
    junction_control,
    junction_entries,
    stop_line,
)
from sim.traffic.kernel_cache import drop_stale
from sim.traffic.kinematics import smoothstep
from sim.traffic.lane_map import (
    JUNC,
    KMAX,
    LEFT,
    LEN,
    LIM,
    NSUCC,
    ONC,
    ONC_A,
    ONC_B,
    ONC_SEP,
    RIG_EDGE_M,
    RIG_OK,
    RIGHT,
    SIB,
    SIB_LEN,
    SIBLINGS,
    WID,
)
from sim.traffic.passing import (
    INTRUDE_TOL_M,
    LAT_CLEAR_M,
    PASS_WAIT_GAP_M,
    PASSABLE_LENGTH_M,
    STALL_GAP_M,
    STATIONARY_V,
    VIRTUAL,
    plan_passes,
    virtual_stop,
)
from sim.traffic.yielding import YIELD_LOOK_M, vru_leaders

drop_stale()  # numba loads cached kernels lazily (on first call): this runs before any is loaded

MAX_DECEL = 8.0
"""Hardest braking a traffic vehicle applies, m/s^2."""
JERK_LIMIT = 4.0
"""Comfortable |jerk| bound applied unless braking harder than the comfortable deceleration, m/s^3."""
LANE_CHANGE_OMEGA = 0.9
"""Natural frequency of the critically damped lateral motion of a lane change, rad/s."""
LC_THRESHOLD = 0.25
"""MOBIL acceleration gain needed to change lane, m/s^2."""
KEEP_RIGHT_BIAS = 0.15
"""MOBIL bias towards the right lane, m/s^2."""
SAFE_DECEL = 3.0
"""MOBIL safety: neither the changer nor its new follower may have to brake harder than this, m/s^2."""
LC_MIN_GAP_M = 2.0
"""MOBIL safety: smallest bumper gap to the new leader and the new follower, m."""
LC_OBSTACLE_GAP_M = 15.0
"""MOBIL safety: smallest gap in front of an obstacle (e.g. the ego) when cutting in ahead of it, m."""
LC_COOLDOWN_S = 4.0
"""Time between two lane changes of one vehicle, s."""
MANDATORY_LC_M = 150.0
"""A vehicle whose lane ends within this distance changes lane with high urgency, m."""
LIMIT_MARGIN_M = 3.0
"""A vehicle reaches a lower speed limit this far before the lane where it applies, m."""
CURVE_LAT_ACCEL = 3.0
"""Drivers slow down for bends to keep the lateral acceleration of following the lane below this, m/s^2."""
CURVE_PREVIEW_S = (0.0, 1.0, 2.0, 3.5, 5.0)
"""Times ahead (at the current speed, and at least a few metres) at which a driver reads the lane's curvature, s."""
LIMIT_TOL_MPS = 0.3
"""Overspeed for a lane ahead that a vehicle does not brake for (its desired speed there takes it down), m/s."""
AXLE_FRACTION = 0.6
"""Axle positions of a traffic vehicle as a fraction of its half length from its centre."""
SPAWN_MIN_GAP_M = 5.0
"""Smallest bumper gap between a placed vehicle and one on its lane (or path) behind or ahead of it, m."""
SPAWN_JUNCTION_CLEAR_M = 20.0
"""A recycled vehicle is not placed closer than this to a junction entry, m."""
OTHER_HALF_WIDTH_M = 1.5
"""Half width (plus margin) of the widest vehicle, used to decide when a lane changer has left its lane, m."""
RIG_LENGTH_M = 14.0
"""Vehicles longer than this (semi-trailer rigs) drive only the lanes of ``LaneMap.rig_ok`` (no U-turn loops, no
junction turns too tight for them), m."""
RIG_KINGPIN_AXLE_M = 9.49
"""Kingpin to trailer axle of a semi-trailer (``sim.traffic.trailer.TrailerParams.standard``), m: on a bend of
radius R its trailer runs R - sqrt(R^2 - L^2) inside the tractor's path (off-tracking)."""
RIG_SPAN_M = (-5.5, 3.9, 13.0)
"""Where along a rig's path, from its centre, the bend that sets the off-tracking is read (trailer axle, fifth
wheel, and a preview: the driver swings wide as the bend comes), m."""
LAT_RATE_PER_SPEED = 0.3
"""Largest lateral speed of a vehicle (lane change, settling) per unit of its forward speed: a car cannot
slide sideways, so a lane change at a crawl goes no faster than the car moves (at most atan(0.3) of yaw)."""
XY_ALONG_M = 2.0
"""An obstacle's xy this far (beyond its half length) along the lane from its (lane, s) is not its position, m."""


@njit(cache=True)
def _idm(v, v0, gap, dv, t_head, s0, a_max, b):
    """IDM acceleration (Treiber et al. 2000, delta = 4) for one vehicle, m/s^2; ``gap`` may be inf."""
    r = v / max(v0, 0.1)
    s_star = s0 + max(0.0, v * t_head + v * dv / (2.0 * math.sqrt(a_max * b)))
    q = s_star / max(gap, 0.1)
    return a_max * (1.0 - r * r * r * r - q * q)


@njit(cache=True)
def _offsets(lf, path, s):
    """(N, P+1) distance from each vehicle to the start of each path lane (column P: path end) and
    (N,) True where the path ends (dead end) within the look-ahead."""
    n, p = path.shape
    off = np.empty((n, p + 1))
    dead = np.zeros(n, np.bool_)
    for i in range(n):
        off[i, 0] = -s[i]
        for k in range(p):
            ln = path[i, k]
            if ln >= 0 and not dead[i]:
                off[i, k + 1] = off[i, k] + lf[ln, LEN]
            else:
                dead[i] = True
                off[i, k + 1] = off[i, k]
    return off, dead


@njit(cache=True)
def _obstacle_frames(points, point_s, point_heading, lane_start, lane_npts, lf, o_lane, o_s, o_len, o_xy, o_speed,
                     o_heading):
    """Lateral offset (m, from the centre of its lane, from its position; 0 when its position lies more than
    XY_ALONG_M beyond its half length along the lane from its (lane, s)) and speed along its lane (m/s; its
    speed when its heading is NaN) of each obstacle."""
    m = o_lane.shape[0]
    o_d = np.zeros(m)
    o_v = o_speed.copy()
    for j in range(m):
        ln = o_lane[j]
        if ln < 0:
            continue
        px, py, hd = _lane_point(points, point_s, point_heading, lane_start, lane_npts, lf, ln, o_s[j])
        dx, dy = o_xy[j, 0] - px, o_xy[j, 1] - py
        if abs(dx * math.cos(hd) + dy * math.sin(hd)) <= 0.5 * o_len[j] + XY_ALONG_M:
            o_d[j] = -dx * math.sin(hd) + dy * math.cos(hd)
        if not np.isnan(o_heading[j]):
            o_v[j] = o_speed[j] * math.cos(o_heading[j] - hd)
    return o_d, o_v


@njit(cache=True)
def _put(cl, cs, cv, ch, cd, cw, co, ck, c, ln, s, v, half, d, w, own, skip):
    cl[c], cs[c], cv[c], ch[c], cd[c], cw[c], co[c], ck[c] = ln, s, v, half, d, w, own, skip
    return c + 1


@njit(cache=True)
def _intrusions(lf, li, cl, cs, cv, ch, cd, cw, co, ck, c, ln, s, v, half, d, w, own):
    """Add the neighbouring lanes a body on lane ``ln`` at (s, d) reaches into: the left or right
    same-direction neighbour, or the oncoming lane (there it moves backwards)."""
    hl = 0.5 * lf[ln, WID]
    if d + 0.5 * w > hl + INTRUDE_TOL_M:
        lt = li[ln, LEFT]
        on = li[ln, ONC]
        if lt >= 0:
            c = _put(cl, cs, cv, ch, cd, cw, co, ck, c, lt, s * lf[lt, LEN] / lf[ln, LEN], v, half,
                     d - hl - 0.5 * lf[lt, WID], w, own, True)
        elif on >= 0:
            so = lf[ln, ONC_A] - lf[ln, ONC_B] * s
            if -half <= so <= lf[on, LEN] + half:
                c = _put(cl, cs, cv, ch, cd, cw, co, ck, c, on, so, -v, half, lf[ln, ONC_SEP] - d, w, own, True)
    if d - 0.5 * w < -hl - INTRUDE_TOL_M:
        rt = li[ln, RIGHT]
        if rt >= 0:
            c = _put(cl, cs, cv, ch, cd, cw, co, ck, c, rt, s * lf[rt, LEN] / lf[ln, LEN], v, half,
                     d + hl + 0.5 * lf[rt, WID], w, own, True)
    return c


@njit(cache=True)
def _candidates(lf, li, lane, prev_lane, s, d, speed, length, width, lc_from, lat, zone, o_lane, o_lane2, o_s, o_v,
                o_len, o_d, o_w):
    """Everything that occupies a lane: (lane, s, speed along the lane, half length, lateral offset, width,
    owner, may-be-passed-beside) arrays. Traffic bodies come first (candidate i is vehicle i); owner is the
    traffic index, -1 for obstacles, VIRTUAL for a passer's virtual stop. A vehicle also occupies the lane it
    came from until its rear is REAR_CLEAR_M past its end, and a lane changer the lane it leaves until its body
    is clear of it (neither is passed beside)."""
    n = lane.shape[0]
    m = o_lane.shape[0]
    size = (5 + SIBLINGS) * n + 4 * m
    cl = np.empty(size, np.int64)
    cs = np.empty(size)
    cv = np.empty(size)
    ch = np.empty(size)
    cd = np.empty(size)
    cw = np.empty(size)
    co = np.empty(size, np.int64)
    ck = np.empty(size, np.bool_)
    c = 0
    for i in range(n):
        c = _put(cl, cs, cv, ch, cd, cw, co, ck, c, lane[i], s[i], speed[i], 0.5 * length[i], d[i], width[i], i,
                 lc_from[i] < 0)
    for i in range(n):
        half = 0.5 * length[i]
        pv = prev_lane[i]
        if pv >= 0 and s[i] < half + REAR_CLEAR_M:  # its rear is still on the lane it left
            c = _put(cl, cs, cv, ch, cd, cw, co, ck, c, pv, lf[pv, LEN] + s[i], speed[i], half, d[i], width[i], i,
                     False)
        for k in range(SIBLINGS):  # just after a split, the lanes that split off share the road with it
            sib = li[lane[i], SIB + k]
            if sib >= 0 and s[i] - half < lf[lane[i], SIB_LEN + k]:
                c = _put(cl, cs, cv, ch, cd, cw, co, ck, c, sib, s[i], speed[i], half, 0.0, width[i], i, False)
        f = lc_from[i]
        if f >= 0:
            shift = 0.5 * (lf[f, WID] + lf[lane[i], WID])
            if abs(d[i]) > shift - 0.5 * width[i] - OTHER_HALF_WIDTH_M:
                d_old = d[i] - shift if f == li[lane[i], LEFT] else d[i] + shift
                c = _put(cl, cs, cv, ch, cd, cw, co, ck, c, f, s[i] * lf[f, LEN] / lf[lane[i], LEN], speed[i], half,
                         d_old, width[i], i, False)
        else:
            c = _intrusions(lf, li, cl, cs, cv, ch, cd, cw, co, ck, c, lane[i], s[i], speed[i], half, d[i],
                            width[i], i)
        vl, vs, vd, vw = virtual_stop(lf, li, lane[i], d[i], width[i], lat[i], zone[i])
        if vl >= 0:
            c = _put(cl, cs, cv, ch, cd, cw, co, ck, c, vl, vs, 0.0, 0.0, vd, vw, VIRTUAL, True)
    for j in range(m):
        ln = o_lane[j]
        half = 0.5 * o_len[j]
        if ln >= 0:
            c = _put(cl, cs, cv, ch, cd, cw, co, ck, c, ln, o_s[j], o_v[j], half, o_d[j], o_w[j], -1, True)
            c = _intrusions(lf, li, cl, cs, cv, ch, cd, cw, co, ck, c, ln, o_s[j], o_v[j], half, o_d[j], o_w[j], -1)
        l2 = o_lane2[j]
        if l2 >= 0:
            c = _put(cl, cs, cv, ch, cd, cw, co, ck, c, l2, o_s[j], o_v[j], half, 0.0, lf[l2, WID], -1, False)
    return cl[:c], cs[:c], cv[:c], ch[:c], cd[:c], cw[:c], co[:c], ck[:c]


@njit(cache=True)
def _leader(path_row, off_row, half, me, d_me, w_me, z0, z1, c_lane, c_s, c_v, c_half, c_d, c_w, c_own, c_skip):
    """Bumper gap (inf if none), speed and candidate index (-1) of the nearest candidate ahead along one path.
    A vehicle-sized (PASSABLE_LENGTH_M) stationary or oncoming candidate clear of the vehicle sideways by
    LAT_CLEAR_M is passed beside (a pedestrian or cyclist never is: it may move sideways), and stationary
    candidates between ``z0`` and ``z1`` on the first lane (a zone being passed) are ignored."""
    best = np.inf
    gap = np.inf
    lead_v = 0.0
    lead_c = -1
    p = path_row.shape[0]
    for c in range(c_lane.shape[0]):
        if c_own[c] == me and me >= 0:
            continue
        for k in range(p):
            if path_row[k] == c_lane[c]:
                ahead = off_row[k] + c_s[c]
                if 0.0 < ahead < best:
                    if c_skip[c] and c_v[c] < STATIONARY_V and 2.0 * c_half[c] >= PASSABLE_LENGTH_M:
                        if abs(d_me - c_d[c]) >= 0.5 * (w_me + c_w[c]) + LAT_CLEAR_M:
                            break
                        if k == 0 and c_own[c] != VIRTUAL and z0 <= c_s[c] <= z1:
                            break
                    best = ahead
                    gap = ahead - half - c_half[c]
                    lead_v = c_v[c]
                    lead_c = c
                break
    return gap, lead_v, lead_c


@njit(cache=True)
def _old_lane_leader(lf, li, f, s_f, half, me, c_lane, c_s, c_v, c_half, c_own):
    """Gap and speed of the nearest candidate ahead of spot ``s_f`` on lane ``f`` or on any successor of it."""
    best = np.inf
    gap = np.inf
    lead_v = 0.0
    for c in range(c_lane.shape[0]):
        if c_own[c] == me:
            continue
        ln = c_lane[c]
        ahead = np.inf
        if ln == f:
            ahead = c_s[c] - s_f
        else:
            for k in range(li[f, NSUCC]):
                if li[f, k] == ln:
                    ahead = lf[f, LEN] - s_f + c_s[c]
        if 0.0 < ahead < best:
            best = ahead
            gap = ahead - half - c_half[c]
            lead_v = c_v[c]
    return gap, lead_v


@njit(cache=True)
def rig_may_take(lf, li, lane):
    """Whether a semi-trailer rig may drive ``lane`` (``LaneMap.rig_ok``: not a U-turn loop, nor a turn too tight
    for it or whose trailer sweeps over vehicles waiting at the junction)."""
    return li[lane, RIG_OK] != 0


@njit(cache=True)
def successor(lf, li, lane, u, length):
    """A successor of ``lane`` chosen by the uniform ``u`` (-1 at a dead end); for a vehicle longer than
    RIG_LENGTH_M only those ``rig_may_take`` (a junction it cannot turn at is a dead end for it)."""
    if lane < 0:
        return -1
    rig = length > RIG_LENGTH_M
    n_ok = 0
    for k in range(li[lane, NSUCC]):
        n_ok += not rig or rig_may_take(lf, li, li[lane, k])
    pick = min(int(u * n_ok), n_ok - 1)
    for k in range(li[lane, NSUCC]):
        if not rig or rig_may_take(lf, li, li[lane, k]):
            if pick == 0:
                return li[lane, k]
            pick -= 1
    return -1


@njit(cache=True)
def _pick_path(lf, li, start, u1, u2, length, out):
    """Fill ``out`` (P,) with ``start`` and random successors chosen by uniforms u1, u2 (-1 past a dead end)."""
    out[0] = start
    for k in range(1, out.shape[0]):
        out[k] = successor(lf, li, out[k - 1], u1 if k == 1 else u2, length)


@njit(cache=True)
def _limit_brake(lf, path_row, off_row, half, v, factor, b):
    """Deceleration needed to reach the lower speed limit of a lane ahead in time (0 if none), m/s^2. A lane
    the front has reached, or an overspeed below LIMIT_TOL_MPS, is left to the driver model's desired speed."""
    need = 0.0
    for k in range(1, path_row.shape[0]):
        ln = path_row[k]
        if ln < 0:
            break
        vk = factor * lf[ln, LIM]
        front = off_row[k] - half
        if v > vk + LIMIT_TOL_MPS and front > 0.0:
            dist = max(off_row[k] - LIMIT_MARGIN_M, 0.5 * front, 0.1)  # the margin shrinks near the lane
            need = max(need, (v * v - vk * vk) / (2.0 * dist))
    # Start braking once the needed deceleration reaches most of the comfortable one.
    return need if need >= 0.7 * b else 0.0


@njit(cache=True)
def _curvature(point_s, point_curvature, lane_start, lane_npts, lf, ln, s):
    """|curvature| (1/m) of lane ``ln`` at arc length ``s`` (clamped to the lane), interpolated."""
    si = min(max(s, 0.0), lf[ln, LEN])
    a, bb = lane_start[ln], lane_start[ln] + lane_npts[ln] - 2
    while a < bb:
        mid = (a + bb + 1) // 2
        if point_s[mid] <= si:
            a = mid
        else:
            bb = mid - 1
    t = (si - point_s[a]) / (point_s[a + 1] - point_s[a])
    return abs(point_curvature[a] + t * (point_curvature[a + 1] - point_curvature[a]))


@njit(cache=True)
def _rig_offset(point_s, point_curvature, lane_start, lane_npts, lf, ln, s, width):
    """Lateral offset (m, positive left) at which a rig at ``s`` on lane ``ln`` drives so that its trailer,
    off-tracking to the inside of the bend, stays in the lane: half the off-tracking towards the outside, at most
    to RIG_EDGE_M from the lane edge."""
    off = _off_tracking(point_s, point_curvature, lane_start, lane_npts, lf, ln, s)
    room = max(0.5 * (lf[ln, WID] - width) - RIG_EDGE_M, 0.0)
    return -math.copysign(min(0.5 * abs(off), room), off)


@njit(cache=True)
def _off_tracking(point_s, point_curvature, lane_start, lane_npts, lf, ln, s):
    """How far (m, positive left) the trailer of a rig centred at ``s`` on lane ``ln`` runs inside its tractor's
    path on the bend there (steady state for the mean curvature over RIG_SPAN_M)."""
    kappa = 0.0
    for x in RIG_SPAN_M:
        si = min(max(s + x, 0.0), lf[ln, LEN])
        a, bb = lane_start[ln], lane_start[ln] + lane_npts[ln] - 2
        while a < bb:
            mid = (a + bb + 1) // 2
            if point_s[mid] <= si:
                a = mid
            else:
                bb = mid - 1
        t = (si - point_s[a]) / (point_s[a + 1] - point_s[a])
        kappa += (point_curvature[a] + t * (point_curvature[a + 1] - point_curvature[a])) / len(RIG_SPAN_M)
    r = 1.0 / max(abs(kappa), 1e-6)
    el = RIG_KINGPIN_AXLE_M
    return math.copysign(r - math.sqrt(r * r - el * el) if r > el else el, kappa)


@njit(cache=True)
def _curve_speeds(point_s, point_curvature, lane_start, lane_npts, lf, path_row, s, v, want, b):
    """(speed for the bend here, deceleration needed for the bends ahead) in CURVE_PREVIEW_S, m/s and m/s^2: at
    most CURVE_LAT_ACCEL of lateral acceleration on the lane's curvature along the path (inf and 0 when no bend
    of the path is tight for the speed ``v`` or the desired speed ``want``)."""
    here = np.inf
    need = 0.0
    kmax = 0.0
    for ln in path_row:
        if ln >= 0:
            kmax = max(kmax, lf[ln, KMAX])
    top = max(v, want)
    if top * top * kmax <= CURVE_LAT_ACCEL:
        return here, need
    for dt_ahead in CURVE_PREVIEW_S:
        ahead = max(v * dt_ahead, 4.0 * dt_ahead)
        k = 0
        local = s + ahead
        while k < path_row.shape[0] and path_row[k] >= 0 and local > lf[path_row[k], LEN]:
            local -= lf[path_row[k], LEN]
            k += 1
        if k >= path_row.shape[0] or path_row[k] < 0:
            break
        kappa = _curvature(point_s, point_curvature, lane_start, lane_npts, lf, path_row[k], local)
        vc = math.sqrt(CURVE_LAT_ACCEL / max(kappa, 1e-6))
        if dt_ahead == 0.0:
            here = vc
        elif v > vc + LIMIT_TOL_MPS:
            need = max(need, (v * v - vc * vc) / (2.0 * ahead))
    return here, (need if need >= 0.7 * b else 0.0)


@njit(cache=True)
def step_kernel(lf, li, conflict, conflict_long, conf, points, point_s, point_heading, point_curvature, lane_start,
                lane_npts, lane_state, lane, prev_lane, path, s, d, d_rate, speed, accel, lc_from, cooldown, length,
                width, factor, t_head, s0, a_max, b_comf, polite, reaction, crit_gap, speed_hist, stop_done, wait_s, lat,
                zone,
                o_lane, o_lane2, o_s, o_speed, o_len, o_xy, o_w, o_heading, w_xy, w_vel, w_heading, w_len, w_wid,
                w_wait, dt, decide, u, forced, step):
    """One control step of ``dt`` s (control step number ``step``). Inputs are not modified; returns the new
    dynamic arrays (lane, prev_lane, path, s, d, d_rate, speed, accel, lc_from, cooldown, speed_hist, stop_done,
    wait_s, lat, zone). ``lane_state`` (L,) int8 junction control states (sim.traffic.signals); ``w_*`` the
    walkers (sim.traffic.yielding.Walkers); ``u`` (N, 3) uniforms in [0, 1); ``forced`` (N,) accelerations
    imposed by scenario events (m/s^2, NaN: none), applied without jerk limit."""
    n, p = path.shape
    off, dead = _offsets(lf, path, s)
    o_d, o_v = _obstacle_frames(points, point_s, point_heading, lane_start, lane_npts, lf, o_lane, o_s, o_len, o_xy,
                                o_speed, o_heading)
    c_lane, c_s, c_v, c_half, c_d, c_w, c_own, c_skip = _candidates(
        lf, li, lane, prev_lane, s, d, speed, length, width, lc_from, lat, zone, o_lane, o_lane2, o_s, o_v, o_len, o_d,
        o_w)
    entry, entry_k, jdist, approach, committed = junction_entries(li, lane, path, off, speed, length, b_comf)

    end_gap = np.full(n, np.inf)
    lead_gap = np.empty(n)
    lead_speed = np.empty(n)
    lead_c = np.empty(n, np.int64)
    v0 = np.empty(n)
    for i in range(n):
        half = 0.5 * length[i]
        gap, lv, lc = _leader(path[i], off[i], half, i, d[i], width[i], zone[i, 0], zone[i, 1], c_lane, c_s, c_v,
                              c_half, c_d, c_w, c_own, c_skip)
        f = lc_from[i]
        if f >= 0 and abs(d[i]) > 0.5 * (lf[f, WID] + lf[lane[i], WID]) - 0.5 * width[i] - OTHER_HALF_WIDTH_M:
            # still partly in the lane it is leaving: keep clear of what is ahead there too
            g2, v2 = _old_lane_leader(lf, li, f, s[i] * lf[f, LEN] / lf[lane[i], LEN], half, i,
                                      c_lane, c_s, c_v, c_half, c_own)
            if g2 < gap:
                gap, lv, lc = g2, v2, -1
        lead_gap[i], lead_speed[i], lead_c[i] = gap, lv, lc
        if dead[i]:
            end_gap[i] = off[i, p] - half
        v0[i] = factor[i] * lf[lane[i], LIM]
    jstop, creep, yield_gap, new_done, new_wait = junction_control(
        lf, li, conflict, conflict_long, conf, lane_state, lane, prev_lane, path, s, speed, length, factor, a_max, s0,
        crit_gap, reaction, stop_done, wait_s, entry, entry_k, jdist, approach, committed, c_lane, c_s, c_v, c_half,
        c_own, o_lane, o_lane2, o_s, o_len, dt)
    vru_gap, vru_v, vru_k = vru_leaders(points, point_s, lane_start, lane_npts, path, off, d, speed, length, width,
                                        a_max, v0, b_comf, w_xy, w_vel, w_heading, w_len, w_wid, w_wait)
    stalled = np.empty(n, np.bool_)
    busy = np.empty(n, np.bool_)
    for i in range(n):
        if vru_v[i] < 1.0 and entry[i] >= 0 and vru_k[i] >= entry_k[i] and not committed[i]:
            # someone crossing the connector or the road after it: wait at the junction line, not in the box
            vru_gap[i] = min(vru_gap[i], max(jdist[i] - 0.5 * length[i] - stop_line(length[i]), 0.0))
        stalled[i] = (speed[i] < STATIONARY_V and lead_gap[i] > STALL_GAP_M and jstop[i] == np.inf
                      and end_gap[i] > STALL_GAP_M and vru_gap[i] > STALL_GAP_M)
        busy[i] = approach[i] or end_gap[i] < MANDATORY_LC_M
    new_lat, new_zone, hold, v_cap = plan_passes(
        lf, li, lane, s, d, speed, length, width, v0, a_max, b_comf, s0, reaction, lc_from, busy, lat, zone, lead_c,
        lead_gap, stalled, path, off, c_lane, c_s, c_v, c_half, c_d, c_w, c_own, c_skip)

    hist_len = speed_hist.shape[1]
    slot = step % hist_len
    acc = np.empty(n)  # command for the leader, whose speed the driver perceives with its reaction delay
    rule = np.empty(n)  # command for stops, speed limits and yield lines (anticipated, no delay)
    for i in range(n):
        half = 0.5 * length[i]
        gap = lead_gap[i]
        if hold[i]:
            gap = max(gap - (PASS_WAIT_GAP_M - s0[i]), 0.1)
        v = speed[i]
        want = v0[i]
        nxt = path[i, 1]
        if nxt >= 0 and off[i, 1] <= half:  # the front is on the next lane: its speed limit applies
            want = min(want, factor[i] * lf[nxt, LIM])
        bend, bend_need = _curve_speeds(point_s, point_curvature, lane_start, lane_npts, lf, path[i], s[i], v, want,
                                        b_comf[i])
        want = min(want, bend)
        if creep[i]:
            want = min(want, CREEP_SPEED)
        want = min(want, v_cap[i])
        lv = lead_speed[i]
        a = _idm(v, want, gap, v - lv, t_head[i], s0[i], a_max[i], b_comf[i])
        lc = lead_c[i]
        lag = min(int(reaction[i] / dt + 0.5), hist_len - 1)
        if lc >= 0 and c_own[lc] >= 0 and lag > 0:
            past = speed_hist[c_own[lc], (step + hist_len - lag) % hist_len]
            if not np.isnan(past):
                seen = _idm(v, want, gap, v - (-past if c_v[lc] < 0.0 else past), t_head[i], s0[i], a_max[i],
                            b_comf[i])
                a = min(seen, a) if a < -b_comf[i] else seen  # hard braking for the leader is not delayed
        acc[i] = a
        stop = min(end_gap[i], jstop[i])
        a = _idm(v, want, stop, v, t_head[i], s0[i], a_max[i], b_comf[i]) if stop < np.inf else np.inf
        need = max(_limit_brake(lf, path[i], off[i], half, v, factor[i], b_comf[i]), bend_need)
        if v > YIELD_SPEED and yield_gap[i] < np.inf:
            y = (v * v - YIELD_SPEED * YIELD_SPEED) / (2.0 * max(yield_gap[i], 0.5))
            if y >= 0.7 * b_comf[i]:
                need = max(need, y)
        if need > 0.0:
            a = min(a, -need)
        if vru_gap[i] < np.inf:
            a = min(a, _idm(v, want, vru_gap[i], v - vru_v[i], t_head[i], s0[i], a_max[i], b_comf[i]))
        rule[i] = a

    new_lane = lane.copy()
    new_prev = prev_lane.copy()
    new_path = path.copy()
    new_s = s.copy()
    new_d = d.copy()
    new_lc = lc_from.copy()
    new_cd = np.maximum(cooldown - dt, 0.0)
    if decide:
        passing = np.zeros(n, np.bool_)
        for i in range(n):
            passing[i] = (not (np.isnan(new_lat[i, 1]) and np.isnan(new_zone[i, 0])) or hold[i]
                          or (vru_gap[i] < YIELD_LOOK_M and vru_v[i] < 1.0))  # waiting for someone to cross
        _lane_changes(lf, li, lane, path, s, speed, accel, lc_from, cooldown, length, width, factor, t_head, s0,
                      a_max, b_comf, polite, off, end_gap, lead_gap, lead_speed, entry, jdist, passing,
                      c_lane, c_s, c_v, c_half, c_d, c_w, c_own, c_skip, u, acc, rule, new_lane, new_prev, new_path,
                      new_s, new_d, new_lc, new_cd)

    new_hist = speed_hist.copy()
    new_speed = np.empty(n)
    new_acc = np.empty(n)
    new_rate = np.empty(n)
    w2 = LANE_CHANGE_OMEGA * LANE_CHANGE_OMEGA
    for i in range(n):
        new_hist[i, slot] = speed[i]
        if np.isnan(forced[i]):
            a = min(acc[i], rule[i])
            if a >= -b_comf[i]:
                a = min(max(a, accel[i] - JERK_LIMIT * dt), accel[i] + JERK_LIMIT * dt)
        else:
            a = forced[i]
        a = min(max(a, -MAX_DECEL), a_max[i])
        v1 = max(speed[i] + a * dt, 0.0)
        new_acc[i] = a
        new_speed[i] = v1
        si = new_s[i] + 0.5 * (speed[i] + v1) * dt
        d_t = 0.0
        if np.isnan(new_lat[i, 1]):
            if length[i] > RIG_LENGTH_M:
                d_t = _rig_offset(point_s, point_curvature, lane_start, lane_npts, lf, new_lane[i], new_s[i],
                                  width[i])
            rate = d_rate[i] + dt * (-2.0 * LANE_CHANGE_OMEGA * d_rate[i] - w2 * (new_d[i] - d_t))
            top = LAT_RATE_PER_SPEED * v1
            rate = min(max(rate, -top), top)
            new_d[i] = new_d[i] + dt * rate
        else:  # going around: the offset follows its plan along the lane
            span = new_lat[i, 1] - new_lat[i, 0]
            q, dq = smoothstep((si - new_lat[i, 0]) / span)
            delta = new_lat[i, 3] - new_lat[i, 2]
            new_d[i] = new_lat[i, 2] + delta * q
            rate = delta * dq / span * v1
            if si >= new_lat[i, 1] and new_lat[i, 3] == 0.0:
                new_lat[i, :] = np.nan
                new_zone[i, :] = np.nan
        new_rate[i] = rate
        if abs(new_d[i] - d_t) < 0.05 and abs(rate) < 0.05:
            new_lc[i] = -1
        ln = new_lane[i]
        hops = 0
        while si > lf[ln, LEN]:
            nxt = new_path[i, 1]
            if nxt < 0:
                si = lf[ln, LEN]
                new_speed[i] = 0.0
                break
            si -= lf[ln, LEN]
            for k in range(p - 1):
                new_path[i, k] = new_path[i, k + 1]
            new_path[i, p - 1] = successor(lf, li, new_path[i, p - 2],
                                           (u[i, 0] + 0.618033988749895 * hops) % 1.0, length[i])
            f = new_lc[i]
            if f >= 0:  # a lane change still settling continues beside the next lane
                new_lc[i] = li[nxt, LEFT] if f == li[ln, LEFT] else li[nxt, RIGHT]
            new_lat[i, :] = np.nan  # a pass never outlives its lane (its plan is in the lane's s)
            new_zone[i, :] = np.nan
            new_prev[i] = ln
            ln = nxt
            new_lane[i] = ln
            hops += 1
        new_s[i] = si
    return (new_lane, new_prev, new_path, new_s, new_d, new_rate, new_speed, new_acc, new_lc, new_cd, new_hist,
            new_done, new_wait, new_lat, new_zone)


@njit(cache=True)
def _lane_changes(lf, li, lane, path, s, speed, accel, lc_from, cooldown, length, width, factor, t_head, s0,
                  a_max, b_comf, polite, off, end_gap, lead_gap, lead_speed, entry, jdist, passing,
                  c_lane, c_s, c_v, c_half, c_d, c_w, c_own, c_skip, u, acc, rule, new_lane, new_prev, new_path, new_s,
                  new_d, new_lc, new_cd):
    """MOBIL lane changes (Kesting et al. 2007), decided for all vehicles on the current state and
    applied in index order; a change into a lane another changer has just taken nearby is dropped. Vehicles
    going around an obstacle or waiting for someone to cross (``passing``) keep their lane."""
    n, p = path.shape
    prospective = np.empty(p, np.int64)
    poff = np.empty(p + 1)
    taken_lane = np.full(n, -1, np.int64)
    taken_s = np.empty(n)
    taken_half = np.empty(n)
    n_taken = 0
    for i in range(n):
        ln = lane[i]
        if li[ln, JUNC] or lc_from[i] >= 0 or cooldown[i] > 0.0 or passing[i]:
            continue
        v = speed[i]
        half = 0.5 * length[i]
        blocked = lead_gap[i] < 15.0 and lead_speed[i] < 0.5
        if v <= 2.0 and not blocked:
            continue
        if entry[i] >= 0:
            look = max(JUNCTION_LOOKAHEAD_M, v * v / (2.0 * b_comf[i]) + JUNCTION_MARGIN_M)
            if jdist[i] - half < look + 10.0:
                continue
        urgent = end_gap[i] < MANDATORY_LC_M
        best_gain = -np.inf
        best_t = -1
        best_a = 0.0
        best_s = 0.0
        for side in range(2):
            tl = li[ln, LEFT] if side == 0 else li[ln, RIGHT]
            bias = -KEEP_RIGHT_BIAS if side == 0 else KEEP_RIGHT_BIAS
            if tl < 0:
                continue
            s_t = s[i] * lf[tl, LEN] / lf[ln, LEN]
            _pick_path(lf, li, tl, u[i, 1], u[i, 2], length[i], prospective)
            poff[0] = -s_t
            t_dead = False
            for k in range(p):
                q = prospective[k]
                if q >= 0 and not t_dead:
                    poff[k + 1] = poff[k] + lf[q, LEN]
                else:
                    t_dead = True
                    poff[k + 1] = poff[k]
            t_end = poff[p] - half if t_dead else np.inf
            if t_dead and not (urgent and t_end > end_gap[i] + 20.0) and t_end < MANDATORY_LC_M + 50.0:
                continue  # never move into a lane that ends soon unless it ends later than this one
            # new leader along the prospective path (and the end of the target lane)
            gap, lv, _ = _leader(prospective, poff, half, i, 0.0, width[i], np.nan, np.nan, c_lane, c_s, c_v, c_half,
                                 c_d, c_w, c_own, c_skip)
            if t_end < gap:
                gap, lv = t_end, 0.0
            if gap < LC_MIN_GAP_M:
                continue
            a_new = _idm(v, factor[i] * lf[tl, LIM], gap, v - lv, t_head[i], s0[i], a_max[i], b_comf[i])
            if a_new < -SAFE_DECEL:
                continue
            # new follower: any traffic vehicle whose path reaches the target spot from behind, or any
            # candidate (lane changer leaving, obstacle) on the target lane behind it
            f_gap = np.inf
            f_idx = -1
            f_v = 0.0
            unsafe = False
            for j in range(n):
                if j == i:
                    continue
                for k in range(p):
                    if path[j, k] == tl:
                        rel = off[j, k] + s_t
                        hj = 0.5 * length[j]
                        if abs(rel) < half + hj + LC_MIN_GAP_M:
                            unsafe = True
                        elif rel > 0.0 and rel - half - hj < f_gap:
                            f_gap, f_idx, f_v = rel - half - hj, j, speed[j]
                        break
            for c in range(c_lane.shape[0]):
                if c_lane[c] != tl or (c_own[c] >= 0 and c < n):
                    continue  # traffic vehicles on the lane itself were handled above
                rel = s_t - c_s[c]
                if c_own[c] == i:
                    continue
                if abs(rel) < half + c_half[c] + LC_MIN_GAP_M:
                    unsafe = True
                elif rel > 0.0:
                    g = rel - half - c_half[c]
                    if c_own[c] < 0 and g < LC_OBSTACLE_GAP_M:
                        unsafe = True
                    elif g < f_gap:
                        f_gap, f_idx, f_v = g, c_own[c], c_v[c]
            if unsafe:
                continue
            f_new = 0.0
            f_old = 0.0
            if f_idx >= 0:
                f_new = _idm(f_v, factor[f_idx] * lf[tl, LIM], f_gap, f_v - v, t_head[f_idx], s0[f_idx],
                             a_max[f_idx], b_comf[f_idx])
                if f_new < -SAFE_DECEL:
                    continue
                f_old = accel[f_idx]
            gain = a_new - min(acc[i], rule[i]) + polite[i] * (f_new - f_old) + bias
            if urgent and not t_dead:
                gain += 5.0
            if gain > LC_THRESHOLD and gain > best_gain:
                best_gain, best_t, best_a, best_s = gain, tl, a_new, s_t
        if best_t < 0:
            continue
        clash = False
        for q in range(n_taken):
            if taken_lane[q] == best_t and abs(taken_s[q] - best_s) < taken_half[q] + half + 10.0 + v:
                clash = True
                break
        if clash:
            continue
        taken_lane[n_taken], taken_s[n_taken], taken_half[n_taken] = best_t, best_s, half
        n_taken += 1
        w_shift = 0.5 * (lf[ln, WID] + lf[best_t, WID])
        new_d[i] = new_d[i] + (-w_shift if li[ln, LEFT] == best_t else w_shift)
        new_s[i] = best_s
        new_lc[i] = ln
        new_lane[i] = best_t
        new_prev[i] = -1
        _pick_path(lf, li, best_t, u[i, 1], u[i, 2], length[i], prospective)
        for k in range(p):
            new_path[i, k] = prospective[k]
        new_cd[i] = LC_COOLDOWN_S
        acc[i] = best_a


@njit(cache=True)
def _lane_point(points, point_s, point_heading, lane_start, lane_npts, lf, ln, s):
    """(x, y, heading) on lane ``ln`` at arc length ``s``; beyond either end, extended along the end tangent."""
    length = lf[ln, LEN]
    si = min(max(s, 0.0), length)
    lo = lane_start[ln]
    hi = lo + lane_npts[ln] - 2
    a, bb = lo, hi
    while a < bb:  # last segment start with point_s <= si
        mid = (a + bb + 1) // 2
        if point_s[mid] <= si:
            a = mid
        else:
            bb = mid - 1
    j = a
    t = (si - point_s[j]) / (point_s[j + 1] - point_s[j])
    px = points[j, 0] + t * (points[j + 1, 0] - points[j, 0])
    py = points[j, 1] + t * (points[j + 1, 1] - points[j, 1])
    dh = point_heading[j + 1] - point_heading[j]
    dh = (dh + math.pi) % (2.0 * math.pi) - math.pi
    hd = point_heading[j] + t * dh
    extra = s - si
    if extra != 0.0:
        px += extra * math.cos(hd)
        py += extra * math.sin(hd)
    return px, py, hd


@njit(cache=True)
def poses_kernel(points, point_s, point_heading, lane_start, lane_npts, lf, lane, s, d, d_rate, speed, length):
    """World poses (x, y, heading) of vehicles at (lane, s, d).

    A vehicle's body lies along the chord between the lane points AXLE_FRACTION of its half length ahead of
    and behind ``s`` (like a rigid car whose axles follow the lane), so that long vehicles on tight curves
    do not swing their ends out of the lane; ``d`` offsets it along the normal of the lane heading at ``s``
    and the heading includes the lateral motion of a lane change.
    """
    n = lane.shape[0]
    x = np.empty(n)
    y = np.empty(n)
    h = np.empty(n)
    for i in range(n):
        ln = lane[i]
        a = AXLE_FRACTION * 0.5 * length[i]
        xf, yf, _ = _lane_point(points, point_s, point_heading, lane_start, lane_npts, lf, ln, s[i] + a)
        xr, yr, _ = _lane_point(points, point_s, point_heading, lane_start, lane_npts, lf, ln, s[i] - a)
        _, _, hc = _lane_point(points, point_s, point_heading, lane_start, lane_npts, lf, ln, s[i])
        hd = math.atan2(yf - yr, xf - xr)
        x[i] = 0.5 * (xf + xr) - d[i] * math.sin(hc)
        y[i] = 0.5 * (yf + yr) + d[i] * math.cos(hc)
        h[i] = hd + math.atan2(d_rate[i], max(speed[i], 1.0))
    return x, y, h


@njit(cache=True)
def spawn_check(lf, li, lane, path, s, speed, length, width, b_comf, o_lane, o_lane2, o_s, o_speed, o_len, o_w,
                fresh, initial):
    """For the ``fresh`` (just placed) vehicles: speeds capped so that each can stop comfortably behind its
    leader, before a dead end and before its next junction entry; and ``ok`` False where a vehicle behind
    (traffic whose path reaches the spot, or an obstacle on the lane) could not stop comfortably behind it, or
    where it is too near a junction entry. ``initial`` (all vehicles placed at once, each slowed for the one
    ahead): ``ok`` is False only where a vehicle behind is within SPAWN_MIN_GAP_M."""
    n, p = path.shape
    off, dead = _offsets(lf, path, s)
    none = np.full(n, -1, np.int64)
    idle = np.full((n, 4), np.nan)
    c_lane, c_s, c_v, c_half, c_d, c_w, c_own, c_skip = _candidates(
        lf, li, lane, none, s, np.zeros(n), speed, length, width, none, idle, idle, o_lane, o_lane2, o_s, o_speed,
        o_len, np.zeros(o_lane.shape[0]), o_w)
    entry, _, jdist, _, _ = junction_entries(li, lane, path, off, speed, length, b_comf)
    out = speed.copy()
    ok = np.ones(n, np.bool_)
    for i in range(n):
        if not fresh[i]:
            continue
        half = 0.5 * length[i]
        gap, _, _ = _leader(path[i], off[i], half, i, 0.0, width[i], np.nan, np.nan, c_lane, c_s, c_v, c_half, c_d,
                            c_w, c_own, c_skip)
        if dead[i]:
            gap = min(gap, off[i, p] - half)
        if entry[i] >= 0:
            gap = min(gap, jdist[i] - half - STOP_LINE_M)
            if jdist[i] - half < SPAWN_JUNCTION_CLEAR_M and not initial:
                ok[i] = False
        room = max(gap - 4.0, 0.0)
        v = min(out[i], math.sqrt(2.0 * 0.5 * b_comf[i] * room))
        out[i] = v
        for j in range(n):
            if j == i:
                continue
            for k in range(p):
                if path[j, k] == lane[i]:
                    rel = off[j, k] + s[i]
                    g = abs(rel) - half - 0.5 * length[j]
                    if rel > 0.0 and initial:
                        if g < SPAWN_MIN_GAP_M:
                            ok[i] = False
                    elif rel > 0.0:
                        vj = out[j]
                        need = 5.0 + vj + max(vj * vj - v * v, 0.0) / (2.0 * b_comf[j])
                        if g < need:
                            ok[i] = False
                    elif g < SPAWN_MIN_GAP_M and not initial:  # (initial: the one ahead of the pair goes)
                        ok[i] = False
                    break
        for j in range(o_lane.shape[0]):
            if o_lane[j] == lane[i] or o_lane2[j] == lane[i]:
                reach = half + 0.5 * o_len[j] + SPAWN_MIN_GAP_M if initial else 30.0 + half
                if abs(o_s[j] - s[i]) < reach:
                    ok[i] = False
    return out, ok
