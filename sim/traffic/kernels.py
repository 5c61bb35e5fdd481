"""Compiled (numba) kernels of traffic v1: one control step over all vehicles, poses, spawn speed caps.

Plain loops over vehicles and candidates; no random draws inside (the caller passes uniforms drawn from
the episode's Generator), no fastmath and no parallelism, so results are bit-identical run to run.

Lane tables (built by ``LaneMap``):
  ``lf`` (L, 3) float64: length m, width m, speed limit m/s;
  ``li`` (L, 8) int64: successors (4, -1 padded), successor count, left, right, in-junction flag;
  ``conflict`` (L, L) bool: junction connectors whose centerlines come close (or share a start or end).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

LEN, WID, LIM = 0, 1, 2
NSUCC, LEFT, RIGHT, JUNC = 4, 5, 6, 7

MAX_DECEL = 8.0
"""Hardest braking a traffic vehicle applies, m/s^2."""
HARD_DECEL = 6.0
"""A vehicle that would need more than this to stop before a junction entry is committed and goes, m/s^2."""
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
JUNCTION_LOOKAHEAD_M = 40.0
"""Shortest distance before a junction entry at which a vehicle starts to negotiate it, m."""
JUNCTION_MARGIN_M = 15.0
"""Negotiation starts this far beyond the comfortable stopping distance, m."""
STOP_LINE_M = 2.0
"""A waiting vehicle's front stops at least this far (plus its IDM standstill gap) before the entry, m."""
LIMIT_MARGIN_M = 3.0
"""A vehicle reaches a lower speed limit this far before the lane where it applies, m."""
AXLE_FRACTION = 0.6
"""Axle positions of a traffic vehicle as a fraction of its half length from its centre."""
REAR_CLEAR_M = 3.0
"""A vehicle that has left a junction connector keeps it occupied until its rear is this far out, m."""
LONG_VEHICLE_M = 7.0
"""Vehicles longer than this (buses, trucks) need the wider junction clearances of ``conflict_long``, m."""
LONG_SWEEP_M = 3.0
"""A long vehicle waits this much farther back from a junction entry (its ends swing out on turns), m."""
SPAWN_JUNCTION_CLEAR_M = 20.0
"""A recycled vehicle is not placed closer than this to a junction entry, m."""
OTHER_HALF_WIDTH_M = 1.5
"""Half width (plus margin) of the widest vehicle, used to decide when a lane changer has left its lane, m."""


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
def _candidates(lf, lane, s, d, speed, length, width, lc_from, o_lane, o_lane2, o_s, o_speed, o_len):
    """Everything that occupies a lane: (lane, s, speed, half length, owner) arrays; owner is the traffic
    index, -1 for obstacles. A lane changer also occupies the lane it leaves until its body is clear."""
    n = lane.shape[0]
    m = o_lane.shape[0]
    size = 2 * n + 2 * m
    c_lane = np.empty(size, np.int64)
    c_s = np.empty(size)
    c_v = np.empty(size)
    c_half = np.empty(size)
    c_own = np.empty(size, np.int64)
    c = 0
    for i in range(n):
        c_lane[c], c_s[c], c_v[c], c_half[c], c_own[c] = lane[i], s[i], speed[i], 0.5 * length[i], i
        c += 1
    for i in range(n):
        f = lc_from[i]
        if f >= 0:
            shift = 0.5 * (lf[f, WID] + lf[lane[i], WID])
            if abs(d[i]) > shift - 0.5 * width[i] - OTHER_HALF_WIDTH_M:
                c_lane[c], c_s[c] = f, s[i] * lf[f, LEN] / lf[lane[i], LEN]
                c_v[c], c_half[c], c_own[c] = speed[i], 0.5 * length[i], i
                c += 1
    for j in range(m):
        for ln in (o_lane[j], o_lane2[j]):
            if ln >= 0:
                c_lane[c], c_s[c], c_v[c], c_half[c], c_own[c] = ln, o_s[j], o_speed[j], 0.5 * o_len[j], -1
                c += 1
    return c_lane[:c], c_s[:c], c_v[:c], c_half[:c], c_own[:c]


@njit(cache=True)
def _leader(path_row, off_row, half, me, c_lane, c_s, c_v, c_half, c_own):
    """Bumper gap (inf if none) and speed of the nearest candidate ahead along one path."""
    best = np.inf
    gap = np.inf
    lead_v = 0.0
    p = path_row.shape[0]
    for c in range(c_lane.shape[0]):
        if c_own[c] == me and me >= 0:
            continue
        for k in range(p):
            if path_row[k] == c_lane[c]:
                ahead = off_row[k] + c_s[c]
                if 0.0 < ahead < best:
                    best = ahead
                    gap = ahead - half - c_half[c]
                    lead_v = c_v[c]
                break
    return gap, lead_v


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
def _junction_entries(lf, li, lane, path, off, speed, length, comfort):
    """Per vehicle: the next junction connector it enters (-1 none), its centre's distance to it (m),
    whether it is negotiating it now, and whether it is committed (cannot stop before it)."""
    n, p = path.shape
    entry = np.full(n, -1, np.int64)
    dist = np.full(n, np.inf)
    approach = np.zeros(n, np.bool_)
    committed = np.zeros(n, np.bool_)
    for i in range(n):
        if li[lane[i], JUNC]:
            continue
        for k in range(1, p):
            ln = path[i, k]
            if ln < 0:
                break
            if li[ln, JUNC]:
                entry[i] = ln
                dist[i] = off[i, k]
                break
        if entry[i] >= 0:
            v = speed[i]
            front = dist[i] - 0.5 * length[i]
            look = max(JUNCTION_LOOKAHEAD_M, v * v / (2.0 * comfort[i]) + JUNCTION_MARGIN_M)
            approach[i] = front < look
            # Committed: partly in already, or moving too fast to stop before the entry. A (nearly) stopped
            # vehicle close to the entry can always wait.
            committed[i] = front <= 0.0 or (v > 0.5 and front < v * v / (2.0 * HARD_DECEL) + 0.5)
    return entry, dist, approach, committed


@njit(cache=True)
def _junction_waits(li, conflict, conflict_long, lane, prev_lane, s, off, entry, dist, approach, committed, speed,
                    length, o_lane, o_lane2, o_len):
    """(N,) distance from each vehicle's centre to a junction entry where it must wait (inf: it may go).

    First come, first served on conflicting connectors: a negotiating vehicle waits while a conflicting
    connector is occupied (by any part of a vehicle body, or an obstacle), or while another negotiating
    vehicle with an earlier expected entry time (or one already committed) heads for a conflicting
    connector; of two vehicles on the same lane the one ahead goes first. A committed vehicle goes.
    Conflicts involving a long vehicle use ``conflict_long``.
    """
    n = lane.shape[0]
    m = o_lane.shape[0]
    occ = np.empty(3 * n + 2 * m, np.int64)
    occ_long = np.empty(3 * n + 2 * m, np.bool_)
    n_occ = 0
    for j in range(n):
        half = 0.5 * length[j]
        lj = length[j] > LONG_VEHICLE_M
        if li[lane[j], JUNC]:
            occ[n_occ], occ_long[n_occ] = lane[j], lj
            n_occ += 1
        pv = prev_lane[j]
        if pv >= 0 and li[pv, JUNC] and s[j] < half + REAR_CLEAR_M:
            occ[n_occ], occ_long[n_occ] = pv, lj
            n_occ += 1
        nx = entry[j]
        if nx >= 0 and dist[j] < half:
            occ[n_occ], occ_long[n_occ] = nx, lj
            n_occ += 1
    for j in range(m):
        for ln in (o_lane[j], o_lane2[j]):
            if ln >= 0 and li[ln, JUNC]:
                occ[n_occ], occ_long[n_occ] = ln, o_len[j] > LONG_VEHICLE_M
                n_occ += 1
    out = np.full(n, np.inf)
    tte = np.empty(n)
    for i in range(n):
        tte[i] = (dist[i] - 0.5 * length[i]) / max(speed[i], 1.0)
    for i in range(n):
        if not approach[i] or committed[i]:
            continue
        e = entry[i]
        li_long = length[i] > LONG_VEHICLE_M
        wait = False
        for q in range(n_occ):
            if (conflict_long if (li_long or occ_long[q]) else conflict)[e, occ[q]]:
                wait = True
                break
        if not wait:
            for j in range(n):
                if j == i or not approach[j]:
                    continue
                if not (conflict_long if (li_long or length[j] > LONG_VEHICLE_M) else conflict)[e, entry[j]]:
                    continue
                if lane[j] == lane[i]:
                    first = s[j] > s[i] or (s[j] == s[i] and j < i)
                else:
                    first = tte[j] < tte[i] or (tte[j] == tte[i] and j < i)
                if committed[j] or first:
                    wait = True
                    break
        if wait:
            out[i] = dist[i]
    return out


@njit(cache=True)
def _pick_path(li, start, u1, u2, out):
    """Fill ``out`` (P,) with ``start`` and random successors chosen by uniforms u1, u2 (-1 past a dead end)."""
    out[0] = start
    for k in range(1, out.shape[0]):
        prev = out[k - 1]
        if prev < 0 or li[prev, NSUCC] == 0:
            out[k] = -1
        else:
            u = u1 if k == 1 else u2
            out[k] = li[prev, min(int(u * li[prev, NSUCC]), li[prev, NSUCC] - 1)]


@njit(cache=True)
def _limit_brake(lf, path_row, off_row, half, v, factor, b):
    """Deceleration needed to reach the lower speed limit of a lane ahead in time (0 if none), m/s^2."""
    need = 0.0
    for k in range(1, path_row.shape[0]):
        ln = path_row[k]
        if ln < 0:
            break
        vk = factor * lf[ln, LIM]
        if v > vk:
            dist = max(off_row[k] - LIMIT_MARGIN_M, 0.1)
            need = max(need, (v * v - vk * vk) / (2.0 * dist))
    # Start braking once the needed deceleration reaches most of the comfortable one.
    return need if need >= 0.7 * b else 0.0


@njit(cache=True)
def step_kernel(lf, li, conflict, conflict_long, lane, prev_lane, path, s, d, d_rate, speed, accel, lc_from, cooldown,
                length, width, factor, t_head, s0, a_max, b_comf, polite,
                o_lane, o_lane2, o_s, o_speed, o_len, dt, decide, u, forced):
    """One control step of ``dt`` s. Inputs are not modified; returns the new dynamic arrays
    (lane, prev_lane, path, s, d, d_rate, speed, accel, lc_from, cooldown). ``u`` (N, 3) uniforms in [0, 1);
    ``forced`` (N,) accelerations imposed by scenario events (m/s^2, NaN: none), applied without jerk limit."""
    n, p = path.shape
    off, dead = _offsets(lf, path, s)
    c_lane, c_s, c_v, c_half, c_own = _candidates(lf, lane, s, d, speed, length, width, lc_from,
                                                  o_lane, o_lane2, o_s, o_speed, o_len)
    entry, jdist, approach, committed = _junction_entries(lf, li, lane, path, off, speed, length, b_comf)
    waits = _junction_waits(li, conflict, conflict_long, lane, prev_lane, s, off, entry, jdist, approach, committed,
                            speed, length, o_lane, o_lane2, o_len)

    acc = np.empty(n)
    end_gap = np.full(n, np.inf)
    lead_gap = np.empty(n)
    lead_speed = np.empty(n)
    for i in range(n):
        half = 0.5 * length[i]
        gap, lv = _leader(path[i], off[i], half, i, c_lane, c_s, c_v, c_half, c_own)
        f = lc_from[i]
        if f >= 0 and abs(d[i]) > 0.5 * (lf[f, WID] + lf[lane[i], WID]) - 0.5 * width[i] - OTHER_HALF_WIDTH_M:
            # still partly in the lane it is leaving: keep clear of what is ahead there too
            g2, v2 = _old_lane_leader(lf, li, f, s[i] * lf[f, LEN] / lf[lane[i], LEN], half, i,
                                      c_lane, c_s, c_v, c_half, c_own)
            if g2 < gap:
                gap, lv = g2, v2
        lead_gap[i], lead_speed[i] = gap, lv
        if dead[i]:
            end_gap[i] = off[i, p] - half
        stop_line = STOP_LINE_M + (LONG_SWEEP_M if length[i] > LONG_VEHICLE_M else 0.0)
        stop = min(end_gap[i], waits[i] - half - stop_line)
        if stop < gap:
            gap, lv = stop, 0.0
        v = speed[i]
        a = _idm(v, factor[i] * lf[lane[i], LIM], gap, v - lv, t_head[i], s0[i], a_max[i], b_comf[i])
        need = _limit_brake(lf, path[i], off[i], half, v, factor[i], b_comf[i])
        if need > 0.0:
            a = min(a, -need)
        if not np.isnan(forced[i]):
            a = forced[i]
        acc[i] = a

    new_lane = lane.copy()
    new_prev = prev_lane.copy()
    new_path = path.copy()
    new_s = s.copy()
    new_d = d.copy()
    new_lc = lc_from.copy()
    new_cd = np.maximum(cooldown - dt, 0.0)
    if decide:
        _lane_changes(lf, li, lane, path, s, speed, accel, lc_from, cooldown, length, factor, t_head, s0,
                      a_max, b_comf, polite, off, dead, end_gap, lead_gap, lead_speed, entry, jdist,
                      c_lane, c_s, c_v, c_half, c_own, u, acc, new_lane, new_prev, new_path, new_s, new_d, new_lc,
                      new_cd)

    new_speed = np.empty(n)
    new_acc = np.empty(n)
    new_rate = np.empty(n)
    w2 = LANE_CHANGE_OMEGA * LANE_CHANGE_OMEGA
    for i in range(n):
        a = acc[i]
        if a >= -b_comf[i] and np.isnan(forced[i]):
            a = min(max(a, accel[i] - JERK_LIMIT * dt), accel[i] + JERK_LIMIT * dt)
        a = min(max(a, -MAX_DECEL), a_max[i])
        v1 = max(speed[i] + a * dt, 0.0)
        new_acc[i] = a
        new_speed[i] = v1
        si = new_s[i] + 0.5 * (speed[i] + v1) * dt
        rate = d_rate[i] + dt * (-2.0 * LANE_CHANGE_OMEGA * d_rate[i] - w2 * new_d[i])
        new_d[i] = new_d[i] + dt * rate
        new_rate[i] = rate
        if abs(new_d[i]) < 0.05 and abs(rate) < 0.05:
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
            tail = new_path[i, p - 2]
            if tail < 0 or li[tail, NSUCC] == 0:
                new_path[i, p - 1] = -1
            else:
                uu = (u[i, 0] + 0.618033988749895 * hops) % 1.0
                new_path[i, p - 1] = li[tail, min(int(uu * li[tail, NSUCC]), li[tail, NSUCC] - 1)]
            f = new_lc[i]
            if f >= 0:  # a lane change still settling continues beside the next lane
                new_lc[i] = li[nxt, LEFT] if f == li[ln, LEFT] else li[nxt, RIGHT]
            new_prev[i] = ln
            ln = nxt
            new_lane[i] = ln
            hops += 1
        new_s[i] = si
    return new_lane, new_prev, new_path, new_s, new_d, new_rate, new_speed, new_acc, new_lc, new_cd


@njit(cache=True)
def _lane_changes(lf, li, lane, path, s, speed, accel, lc_from, cooldown, length, factor, t_head, s0,
                  a_max, b_comf, polite, off, dead, end_gap, lead_gap, lead_speed, entry, jdist,
                  c_lane, c_s, c_v, c_half, c_own, u, acc, new_lane, new_prev, new_path, new_s, new_d, new_lc,
                  new_cd):
    """MOBIL lane changes (Kesting et al. 2007), decided for all vehicles on the current state and
    applied in index order; a change into a lane another changer has just taken nearby is dropped."""
    n, p = path.shape
    prospective = np.empty(p, np.int64)
    poff = np.empty(p + 1)
    taken_lane = np.full(n, -1, np.int64)
    taken_s = np.empty(n)
    taken_half = np.empty(n)
    n_taken = 0
    for i in range(n):
        ln = lane[i]
        if li[ln, JUNC] or lc_from[i] >= 0 or cooldown[i] > 0.0:
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
            _pick_path(li, tl, u[i, 1], u[i, 2], prospective)
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
            gap, lv = _leader(prospective, poff, half, i, c_lane, c_s, c_v, c_half, c_own)
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
            gain = a_new - acc[i] + polite[i] * (f_new - f_old) + bias
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
        _pick_path(li, best_t, u[i, 1], u[i, 2], prospective)
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
def spawn_check(lf, li, lane, path, s, speed, length, b_comf, o_lane, o_lane2, o_s, o_speed, o_len, fresh):
    """For the ``fresh`` (just placed) vehicles: speeds capped so that each can stop comfortably behind its
    leader, before a dead end and before its next junction entry; and ``ok`` False where a vehicle behind
    (traffic whose path reaches the spot, or an obstacle on the lane) could not stop comfortably behind it."""
    n, p = path.shape
    off, dead = _offsets(lf, path, s)
    c_lane, c_s, c_v, c_half, c_own = _candidates(lf, lane, s, np.zeros(n), speed, length, length,
                                                  np.full(n, -1, np.int64), o_lane, o_lane2, o_s, o_speed, o_len)
    entry, jdist, _, _ = _junction_entries(lf, li, lane, path, off, speed, length, b_comf)
    out = speed.copy()
    ok = np.ones(n, np.bool_)
    for i in range(n):
        if not fresh[i]:
            continue
        half = 0.5 * length[i]
        gap, _ = _leader(path[i], off[i], half, i, c_lane, c_s, c_v, c_half, c_own)
        if dead[i]:
            gap = min(gap, off[i, p] - half)
        if entry[i] >= 0:
            gap = min(gap, jdist[i] - half - STOP_LINE_M)
            if jdist[i] - half < SPAWN_JUNCTION_CLEAR_M:
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
                    if rel > 0.0:
                        vj = out[j]
                        need = 5.0 + vj + max(vj * vj - v * v, 0.0) / (2.0 * b_comf[j])
                        if g < need:
                            ok[i] = False
                    elif g < 5.0:
                        ok[i] = False
                    break
        for j in range(o_lane.shape[0]):
            if (o_lane[j] == lane[i] or o_lane2[j] == lane[i]) and abs(o_s[j] - s[i]) < 30.0 + half:
                ok[i] = False
    return out, ok
