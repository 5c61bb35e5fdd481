"""Compiled right of way at junctions: may a vehicle enter its next junction connector this step?

For a vehicle negotiating its next connector (within its look-ahead, not committed), in this order:
- red, or amber while it can still stop at AMBER_DECEL: stop at the line (one that crept past it to turn
  left clears the junction instead, once oncoming traffic has stopped);
- stop sign: stand at the line for STOP_DWELL_S before anything else;
- don't block the box: wait while the lane after the connector has no room for it;
- wait while a conflicting connector holds a body that will not have cleared the conflict zone GAP_MARGIN_S
  before this vehicle could reach it;
- priority: level 0 (green, amber, no sign) before level 1 (stop after stopping, yield); within level 0 a
  left turn yields to the others. A vehicle goes ahead of a priority vehicle only in an accepted gap: the
  priority vehicle reaches the conflict zone no sooner than the driver's critical gap, and no sooner than
  GAP_MARGIN_S after the vehicle (starting now) has cleared it;
- equal priority: first come, first served (longest waiting at its line first, then expected entry time);
  on one lane the vehicle ahead goes first;
- waiting at a stop (after stopping) or yield sign, or to turn left, on a single-lane approach it creeps at
  CREEP_SPEED from its line up to the junction edge; at such a stop sign the view of the priority road is
  open only from the edge (VIEW_EDGE_M), so a gap (rather than an empty road) is taken only there.
Committed vehicles (partly in, or unable to stop before the entry at HARD_DECEL) go.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from sim.traffic.kinematics import time_to_cover
from sim.traffic.lane_map import (
    JUNC,
    LEFT,
    LEN,
    LIM,
    LONG_SWEEP_M,
    LONG_VEHICLE_M,
    RIGHT,
    TURN,
    TURN_LEFT,
)
from sim.traffic.passing import VIRTUAL
from sim.traffic.signals import AMBER, AMBER_DECEL, RED, STOP, YIELD

HARD_DECEL = 6.0
"""A vehicle that would need more than this to stop before a junction entry is committed and goes, m/s^2."""
COMMIT_REACT_S = 0.2
"""A vehicle is also committed when it would cover its distance to the entry within this time before braking
at HARD_DECEL (a slow vehicle at the junction edge can still stop), s."""
JUNCTION_LOOKAHEAD_M = 40.0
"""Shortest distance before a junction entry at which a vehicle starts to negotiate it, m."""
JUNCTION_MARGIN_M = 15.0
"""Negotiation starts this far beyond the comfortable stopping distance, m."""
STOP_LINE_M = 2.0
"""A waiting vehicle's front stops at least this far (plus its IDM standstill gap) before the entry, m."""
REAR_CLEAR_M = 3.0
"""A body keeps a conflict zone (and a connector it left) occupied until its rear is this far past it, m."""
STAND_V = 0.3
"""Below this a vehicle stands, m/s."""
STOP_NEAR_M = 1.5
"""A standing vehicle whose front is within this of its stop position is at its line, m."""
STOP_DWELL_S = 1.0
"""Time a vehicle stands at a stop sign before it may go, s."""
CREEP_SPEED = 1.0
"""Speed of creeping from the line to the junction edge, m/s."""
CREEP_DECEL = 1.0
"""A creeping vehicle that has to stop before the edge stops at this deceleration, m/s^2."""
CREEP_EDGE_M = 0.5
"""A creeping vehicle's front stops this far before the connector (the junction edge), m."""
VIEW_EDGE_M = 1.5
"""At a stop sign the priority road is in view only with the front within this of the edge, m."""
YIELD_SPEED = 5.0
"""Speed at which a vehicle passes a yield line when it does not have to stop, m/s."""
CLEAR_MARGIN_M = 1.0
"""A vehicle taking a gap has cleared the conflict zone when its rear is this far past it, m."""
GAP_MARGIN_S = 1.0
"""An accepted gap leaves at least this much time between clearing a conflict zone and the priority
vehicle reaching it, s."""
GAP_HORIZON_S = 12.0
"""Priority vehicles farther than this (earliest arrival time) are not looked at, s."""
BOX_LOOK_S = 2.0
"""The room on the exit lane counts the last vehicle there as moving on this long at its speed, s."""


@njit(cache=True)
def junction_entries(li, lane, path, off, speed, length, comfort):
    """Per vehicle: the next junction connector it enters (-1 none), its index in the path, its centre's
    distance to it (m), whether it is negotiating it now, and whether it is committed (cannot stop before it)."""
    n, p = path.shape
    entry = np.full(n, -1, np.int64)
    entry_k = np.zeros(n, np.int64)
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
                entry_k[i] = k
                dist[i] = off[i, k]
                break
        if entry[i] >= 0:
            v = speed[i]
            front = dist[i] - 0.5 * length[i]
            look = max(JUNCTION_LOOKAHEAD_M, v * v / (2.0 * comfort[i]) + JUNCTION_MARGIN_M)
            approach[i] = front < look
            # Committed: partly in already, or moving too fast to stop before the entry. A (nearly) stopped
            # vehicle close to the entry can always wait.
            committed[i] = front <= 0.0 or (v > 0.5 and front < v * v / (2.0 * HARD_DECEL) + COMMIT_REACT_S * v)
    return entry, entry_k, dist, approach, committed


@njit(cache=True)
def stop_line(length):
    """Distance from the entry at which a vehicle's front stops for its line (before the standstill gap), m."""
    return STOP_LINE_M + (LONG_SWEEP_M if length > LONG_VEHICLE_M else 0.0)


@njit(cache=True)
def junction_control(lf, li, conflict, conflict_long, conf, lane_state, lane, prev_lane, path, s, speed, length,
                     factor, a_max, s0, crit_gap, reaction, stop_done, wait_s, entry, entry_k, dist, approach,
                     committed, c_lane, c_s, c_v, c_half, c_own, o_lane, o_lane2, o_s, o_len, dt):
    """Right of way for every vehicle. Returns (stop_gap, creep, yield_gap, stop_done, wait_s), each (N,):
    the gap (m) the driver model must see to stop where it waits (inf: it may go), whether it creeps (speed
    capped at CREEP_SPEED), the distance (m) from its front to a yield line it passes (inf: none), and the
    updated stop-sign and waiting-time states."""
    n, p = path.shape
    m = o_lane.shape[0]
    # Bodies on connectors, with the position of their rear along the connector.
    size = 3 * n + 2 * m
    occ = np.empty(size, np.int64)
    occ_rear = np.empty(size)  # m along the connector
    occ_len = np.empty(size)
    occ_v = np.empty(size)  # speed, acceleration and top speed used to predict when it clears a zone
    occ_a = np.empty(size)
    occ_top = np.empty(size)
    n_occ = 0
    for j in range(n):
        half = 0.5 * length[j]
        for c, rear in ((lane[j], s[j] - half), (prev_lane[j], s[j] - half), (entry[j], -dist[j] - half)):
            if c < 0 or not li[c, JUNC]:
                continue
            if c == prev_lane[j] and c != lane[j]:
                if s[j] >= half + REAR_CLEAR_M:
                    continue
                rear += lf[c, LEN]
            elif c == entry[j] and c != lane[j] and dist[j] >= half:
                continue
            occ[n_occ], occ_rear[n_occ], occ_len[n_occ] = c, rear, length[j]
            occ_v[n_occ], occ_a[n_occ], occ_top[n_occ] = speed[j], a_max[j], factor[j] * lf[c, LIM]
            n_occ += 1
    for j in range(m):
        for ln in (o_lane[j], o_lane2[j]):
            if ln >= 0 and li[ln, JUNC]:
                occ[n_occ], occ_rear[n_occ], occ_len[n_occ] = ln, o_s[j] - 0.5 * o_len[j], o_len[j]
                occ_v[n_occ], occ_a[n_occ], occ_top[n_occ] = 0.0, 0.0, 0.0  # intentions unknown: it blocks
                n_occ += 1

    inc = np.full(n, -1, np.int64)
    state = np.zeros(n, np.int8)
    rank = np.zeros(n, np.int64)
    held = np.zeros(n, np.bool_)
    key = np.zeros(n)
    front = np.full(n, np.inf)
    for i in range(n):
        if entry[i] < 0:
            continue
        a = path[i, entry_k[i] - 1]
        inc[i] = a
        st = lane_state[a]
        state[i] = st
        front[i] = dist[i] - 0.5 * length[i]
        v = speed[i]
        stopping = st == RED or (st == AMBER
                                 and v * v <= 2.0 * AMBER_DECEL * max(front[i] - stop_line(length[i]), 0.0))
        # A vehicle that crept past its line (a left turner waiting at the edge) clears the junction on red.
        crept = front[i] < stop_line(length[i]) + s0[i] - STOP_NEAR_M
        held[i] = not committed[i] and ((stopping and not crept) or (st == STOP and stop_done[i] != a))
        level = 1 if (st == STOP or st == YIELD) else 0
        rank[i] = 2 * level + (1 if level == 0 and li[entry[i], TURN] == TURN_LEFT else 0)
        key[i] = -wait_s[i] if wait_s[i] > 0.0 else front[i] / max(v, 1.0)

    stop_gap = np.full(n, np.inf)
    creep = np.zeros(n, np.bool_)
    yield_gap = np.full(n, np.inf)
    new_done = np.full(n, -1, np.int64)
    new_wait = np.zeros(n)
    for i in range(n):
        a = inc[i]
        if a < 0 or not approach[i]:
            continue
        if stop_done[i] == a:
            new_done[i] = a
        v = speed[i]
        line_at = stop_line(length[i]) + s0[i]
        at_line = v < STAND_V and front[i] <= line_at + STOP_NEAR_M
        if at_line or new_done[i] == a or wait_s[i] > 0.0:
            new_wait[i] = wait_s[i] + dt
        if committed[i]:
            continue
        st = state[i]
        # Past its line (it crept): it stops where it can within CREEP_DECEL.
        hold_at = line_at if front[i] >= line_at - 0.3 else max(front[i] - v * v / (2.0 * CREEP_DECEL), CREEP_EDGE_M)
        if held[i]:
            stop_gap[i] = front[i] - hold_at + s0[i]
            if st == STOP and at_line and new_wait[i] >= STOP_DWELL_S:
                new_done[i] = a
            continue
        e = entry[i]
        long_i = length[i] > LONG_VEHICLE_M
        single = li[a, LEFT] < 0 and li[a, RIGHT] < 0
        wait = False
        # Don't block the box: the lane after the connector needs room for this vehicle.
        k = entry_k[i]
        x = path[i, k + 1] if k + 1 < p else -1
        if x >= 0 and not li[x, JUNC]:
            rear = np.inf
            v_last = 0.0
            for c in range(c_lane.shape[0]):
                if c_lane[c] == x and c_own[c] != i and c_own[c] != VIRTUAL and c_s[c] - c_half[c] < rear:
                    rear, v_last = c_s[c] - c_half[c], c_v[c]
            if rear < np.inf:
                for j in range(n):
                    if j != i and li[lane[j], JUNC] and path[j, 1] == x:
                        rear -= length[j] + s0[j]
                wait = rear + max(v_last, 0.0) * BOX_LOOK_S < length[i] + s0[i]
        # Bodies that will not have cleared the conflict zone GAP_MARGIN_S before this vehicle could reach it (a
        # loop that comes back beside its start takes one body at a time).
        top = max(v, factor[i] * lf[e, LIM])
        for q in range(n_occ):
            if wait:
                break
            c = occ[q]
            lng = long_i or occ_len[q] > LONG_VEHICLE_M
            if not (conflict_long if lng else conflict)[e, c]:
                continue
            clear = conf[3 if lng else 1, c, e] + REAR_CLEAR_M
            if c == e:
                wait = occ_rear[q] < clear
            elif occ_rear[q] < clear:
                t_q = time_to_cover(clear - occ_rear[q], occ_v[q], 0.5 * occ_a[q], occ_top[q])
                wait = t_q + GAP_MARGIN_S > time_to_cover(front[i] + conf[2 if lng else 0, e, c], v, a_max[i], top)
        # Other vehicles heading for conflicting connectors.
        for j in range(n):
            if wait:
                break
            if j == i or inc[j] < 0:
                continue
            ej = entry[j]
            lng = long_i or length[j] > LONG_VEHICLE_M
            if not (conflict_long if lng else conflict)[e, ej]:
                continue
            if lane[j] == lane[i]:
                wait = approach[j] and (s[j] > s[i] or (s[j] == s[i] and j < i))
                continue
            if committed[j]:
                wait = True
                continue
            if held[j]:
                continue
            if rank[j] < rank[i]:
                t_arr = time_to_cover(front[j] + conf[2 if lng else 0, ej, e], speed[j], a_max[j],
                                      max(speed[j], factor[j] * lf[lane[j], LIM]))
                if not approach[j] and t_arr > GAP_HORIZON_S:
                    continue
                t_clear = time_to_cover(front[i] + conf[3 if lng else 1, e, ej] + length[i] + CLEAR_MARGIN_M, v,
                                        a_max[i], top)
                if v < STAND_V:
                    t_clear += reaction[i]
                view = st != STOP or not single or front[i] <= CREEP_EDGE_M + VIEW_EDGE_M
                wait = not (view and t_arr >= crit_gap[i] and t_arr >= t_clear + GAP_MARGIN_S)
            elif rank[j] == rank[i] and approach[j]:
                wait = key[j] < key[i] or (key[j] == key[i] and j < i)
        if wait:
            # Only on a single-lane approach: beside another lane, long vehicles turning from it sweep the edge.
            creeper = single and (st == STOP or st == YIELD or li[e, TURN] == TURN_LEFT)
            if creeper and v <= CREEP_SPEED + 0.2 and front[i] <= line_at + STOP_NEAR_M:
                creep[i] = True
                hold_at = CREEP_EDGE_M
            stop_gap[i] = front[i] - hold_at + s0[i]
        elif st == YIELD:
            yield_gap[i] = front[i] - stop_line(length[i])
    return stop_gap, creep, yield_gap, new_done, new_wait
