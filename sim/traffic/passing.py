"""Compiled going around: passing a stationary obstacle in the own lane (a parked or stalled car, a stopped
ego, a stalled traffic vehicle) with a smooth lateral offset, borrowing the oncoming lane when the obstacle
leaves too little room, and negotiating such a narrow passage with oncoming traffic.

A vehicle whose leader on its lane is a passable obstacle groups it with the obstacles right after it (a
zone), plans the offset that clears the zone by PASS_CLEAR_M and shifts out along a quintic smoothstep in
arc length, long enough to keep the lateral acceleration within PASS_LAT_ACCEL; it shifts back once its rear
is RETURN_CLEAR_M past the zone. A pass that needs the oncoming lane starts only when every oncoming body that
cannot pass beside it reaches the passage after the passer is back in its lane (plus PASS_MARGIN_S), or when
the passer reaches the passage NEGOTIATE_BIAS_S before them and each of them can stop comfortably before it:
then they yield (a virtual stop at the passage end, ``kernels._candidates``). Otherwise the passer waits
PASS_WAIT_GAP_M behind the obstacle. Passing is left to lane changes on roads with a same-direction lane.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from sim.traffic.kinematics import shift_span, shift_speed, time_to_cover
from sim.traffic.lane_map import JUNC, LEFT, LEN, ONC, ONC_A, ONC_B, RIGHT, WID

VIRTUAL = -2
"""Owner code of a passer's virtual stop among the candidates (``kernels._candidates``: -1 is an obstacle,
>= 0 a traffic vehicle)."""
STATIONARY_V = 0.3
"""Bodies slower than this are stationary (candidates for going around), m/s."""
LAT_CLEAR_M = 0.3
"""Two bodies farther apart sideways than this pass each other (a stationary or oncoming leader that is
this far to the side is no leader), m."""
PASS_CLEAR_M = 0.5
"""Sideways clearance planned when going around an obstacle, m."""
INTRUDE_TOL_M = 0.1
"""A body reaching this far over its lane's edge occupies the next lane too, m."""
FRONT_CLEAR_M = 1.0
"""The full offset is reached this far before the obstacle zone, m."""
RETURN_CLEAR_M = 1.5
"""The way back starts when the rear is this far past the zone, m."""
PASS_LAT_ACCEL = 1.5
"""Lateral acceleration a shift is planned for, m/s^2."""
MAX_LAT_ACCEL = 2.5
"""During a shift the speed is capped so that the lateral acceleration stays below this, m/s^2."""
MIN_SHIFT_M = 7.0
"""Shortest shift out or back, m."""
PASS_WAIT_GAP_M = 8.0
"""A vehicle waiting to go around stands this far behind the obstacle (room to steer out), m."""
PASS_LOOK_S = 3.0
"""A vehicle plans a pass this long (at its speed) before it would start shifting, s."""
PASSABLE_LENGTH_M = 3.0
"""Only bodies at least this long (vehicles) are gone around, m."""
STALL_GAP_M = 15.0
"""A standing traffic vehicle with no leader, junction or lane end this close is stalled (passable), m."""
PASS_MARGIN_S = 2.0
"""Oncoming traffic must reach the passage this long after the passer is back in its lane, s."""
NEGOTIATE_BIAS_S = 1.0
"""At a narrow passage the passer goes first if it reaches it this much sooner than the oncoming traffic, s."""
LANE_END_CLEAR_M = 5.0
"""A pass must be over this far before the lane ends, m."""
PASS_SPEED = 8.0
"""Speed a passer is assumed to reach through its pass (its desired speed if lower), m/s."""
YIELD_DECEL = 6.0
"""Once a pass has started, oncoming traffic that can stop at this deceleration counts as yielding, m/s^2."""


@njit(cache=True)
def virtual_stop(lf, li, lane, d, width, lat, zone):
    """(lane, s, d, w) of the stop an active passer sets for oncoming traffic (a stationary point at the far
    end of its passage, as wide as its intrusion), or lane -1 when it sets none."""
    on = li[lane, ONC]
    if on < 0 or np.isnan(zone[3]):
        return -1, 0.0, 0.0, 0.0
    target = d if np.isnan(lat[1]) else max(d, lat[3])
    e = target + 0.5 * width - 0.5 * lf[lane, WID]
    if e <= INTRUDE_TOL_M:
        return -1, 0.0, 0.0, 0.0
    return on, lf[lane, ONC_A] - lf[lane, ONC_B] * zone[3], 0.5 * lf[on, WID] - 0.5 * e, e


@njit(cache=True)
def _oncoming(i, lf, li, ln, s, half, v, v_pass, a_max, reaction, zone_rear, done_s, stop_s, e, path, off, lane,
              d, speed, length, width, v0, amax, b_comf, s0, zone, c_lane, c_s, c_v, c_half, c_d, c_w, c_own,
              started):
    """May vehicle ``i`` (go on) borrow the oncoming lane to pass a zone starting at ``zone_rear``? Its intrusion
    lasts until its centre reaches ``done_s``; oncoming bodies must stay beyond ``stop_s`` (own-lane s) until
    then. Once ``started``, oncoming vehicles count as yielding if they can stop at YIELD_DECEL, and a
    conflicting passer coming the other way keeps the passage if it is alongside already or has the lower
    index."""
    on = li[ln, ONC]
    a_on, b_on = lf[ln, ONC_A], lf[ln, ONC_B]
    hlo = 0.5 * lf[on, WID]
    n, p = path.shape
    s_i = s[i]
    t_done = time_to_cover(done_s - s_i, v, 0.8 * a_max, v_pass) + (reaction if v < STATIONARY_V else 0.0)
    rear = s_i - half
    t_first = np.inf
    all_yield = True
    for j in range(n):
        if j == i:
            continue
        pj = np.nan
        for k in range(p):
            if path[j, k] == on:
                pj = -off[j, k]
                break
        if np.isnan(pj):
            continue
        xj = (a_on - pj) / b_on
        hj = 0.5 * length[j]
        if xj + hj < rear or hlo - (d[j] + 0.5 * width[j]) - e >= LAT_CLEAR_M:
            continue
        fj = xj - hj
        if fj < stop_s:
            return False
        vj = speed[j]
        room = fj - stop_s
        t = room / vj if vj > STATIONARY_V else time_to_cover(room, 0.0, amax[j], v0[j])
        if t < t_done + PASS_MARGIN_S:
            t_first = min(t_first, t)
            towards = not np.isnan(zone[j, 3]) and li[lane[j], ONC] == ln  # a passer coming the other way
            if towards and (not started or j < i or s[j] + hj >= zone[j, 0]):
                return False
            decel = YIELD_DECEL if started else b_comf[j]
            all_yield = all_yield and vj * vj <= 2.0 * decel * max(room - s0[j], 0.0)
    for c in range(c_lane.shape[0]):
        own = c_own[c]
        if c_lane[c] != on or own == i or own == VIRTUAL or (own >= 0 and c < n) or c_v[c] < -STATIONARY_V:
            continue
        xc = (a_on - c_s[c]) / b_on
        if xc + c_half[c] < rear or hlo - (c_d[c] + 0.5 * c_w[c]) - e >= LAT_CLEAR_M:
            continue
        fc = xc - c_half[c]
        if fc < stop_s:
            return False
        if c_v[c] > STATIONARY_V and (fc - stop_s) / c_v[c] < t_done + PASS_MARGIN_S:
            return False  # an obstacle (the ego, a puppet) or another passer's body cannot be relied on to yield
    if t_first == np.inf:
        return True
    if not all_yield:
        return False
    if started:
        return True
    t_arrive = time_to_cover(zone_rear - (s_i + half), v, 0.8 * a_max, v_pass)
    return t_arrive + NEGOTIATE_BIAS_S < t_first


@njit(cache=True)
def plan_passes(lf, li, lane, s, d, speed, length, width, v0, a_max, b_comf, s0, reaction, lc_from, busy, lat, zone,
                lead_c, lead_gap, stalled, path, off, c_lane, c_s, c_v, c_half, c_d, c_w, c_own, c_skip):
    """Start, continue, turn back or abort passes. ``busy`` (N,) marks vehicles negotiating a junction or a
    lane end. Returns the new ``lat`` and ``zone`` (see TrafficState), ``hold`` (N,) True where a vehicle
    waits to go around (it stands PASS_WAIT_GAP_M behind the obstacle) and ``v_cap`` (N,) the speed cap of a
    lateral shift in progress (inf: none), m/s."""
    n = lane.shape[0]
    new_lat = lat.copy()
    new_zone = zone.copy()
    hold = np.zeros(n, np.bool_)
    v_cap = np.full(n, np.inf)
    for i in range(n):
        ln = lane[i]
        half = 0.5 * length[i]
        v = speed[i]
        v_pass = min(v0[i], max(v, PASS_SPEED))
        hl = 0.5 * lf[ln, WID]
        if not np.isnan(zone[i, 0]):
            if lat[i, 3] != 0.0 and s[i] >= zone[i, 2]:  # rear past the zone: back into the lane
                span = min(shift_span(v_pass, d[i], PASS_LAT_ACCEL, MIN_SHIFT_M), lf[ln, LEN] - s[i] - 0.5)
                new_lat[i, 0], new_lat[i, 1], new_lat[i, 2], new_lat[i, 3] = s[i], s[i] + span, d[i], 0.0
            elif lat[i, 3] != 0.0 and s[i] + half < zone[i, 0] and not np.isnan(zone[i, 3]):
                e = lat[i, 3] + 0.5 * width[i] - hl
                go = _oncoming(i, lf, li, ln, s, half, v, v_pass, a_max[i], reaction[i], zone[i, 0],
                               zone[i, 3] - half - 1.0, zone[i, 3], e, path, off, lane, d, speed, length, width, v0,
                               a_max, b_comf, s0, zone, c_lane, c_s, c_v, c_half, c_d, c_w, c_own, True)
                if not go and v * v <= 2.0 * b_comf[i] * (zone[i, 0] - s[i] - half - s0[i]):
                    span = shift_span(v, d[i], PASS_LAT_ACCEL, MIN_SHIFT_M)
                    new_lat[i, 0], new_lat[i, 1], new_lat[i, 2], new_lat[i, 3] = s[i], s[i] + span, d[i], 0.0
                    new_zone[i, :] = np.nan
        elif np.isnan(lat[i, 1]) and not busy[i] and lc_from[i] < 0 and abs(d[i]) < 0.1 and not li[ln, JUNC]:
            _start(i, lf, li, ln, s, d, v, v_pass, half, hl, width, length, a_max, reaction, lead_c, lead_gap, stalled,
                   path, off, lane, speed, v0, b_comf, s0, zone, c_lane, c_s, c_v, c_half, c_d, c_w, c_own, c_skip,
                   new_lat, new_zone, hold)
        if not np.isnan(new_lat[i, 1]) and s[i] < new_lat[i, 1]:
            v_cap[i] = shift_speed(new_lat[i, 1] - new_lat[i, 0], new_lat[i, 3] - new_lat[i, 2], MAX_LAT_ACCEL)
    return new_lat, new_zone, hold, v_cap


@njit(cache=True)
def _passable(c, stalled, c_v, c_half, c_own, c_skip):
    """Candidate ``c`` is a vehicle-sized stationary body that is gone around: an obstacle or a stalled traffic
    vehicle (not a lane changer or a virtual stop; pedestrians, cyclists and cones are waited for)."""
    own = c_own[c]
    return (c_skip[c] and own != VIRTUAL and c_v[c] < STATIONARY_V and 2.0 * c_half[c] >= PASSABLE_LENGTH_M
            and (own < 0 or stalled[own]))


@njit(cache=True)
def _start(i, lf, li, ln, s, d, v, v_pass, half, hl, width, length, a_max, reaction, lead_c, lead_gap, stalled, path,
           off, lane, speed, v0, b_comf, s0, zone, c_lane, c_s, c_v, c_half, c_d, c_w, c_own, c_skip, new_lat,
           new_zone, hold):
    """Plan a pass of the obstacle ahead of idle vehicle ``i`` if there is one: start it (``new_lat``,
    ``new_zone``) or mark the vehicle as waiting for it (``hold``)."""
    c = lead_c[i]
    if c < 0 or c_lane[c] != ln or not _passable(c, stalled, c_v, c_half, c_own, c_skip):
        return
    if lead_gap[i] > shift_span(v, 2.5, PASS_LAT_ACCEL, MIN_SHIFT_M) + v * PASS_LOOK_S + 10.0:
        return
    zone_rear = c_s[c] - c_half[c]
    zone_front = c_s[c] + c_half[c]
    left_edge = c_d[c] + 0.5 * c_w[c]
    last = c_s[c]
    while True:  # obstacles right after this one join the zone; anything else that close blocks the pass
        nxt = -1
        for q in range(c_lane.shape[0]):
            if c_lane[q] == ln and c_own[q] != i and c_s[q] > last and (nxt < 0 or c_s[q] < c_s[nxt]):
                nxt = q
        if nxt < 0 or c_s[nxt] - c_half[nxt] - zone_front > length[i] + 2.0 * RETURN_CLEAR_M + MIN_SHIFT_M:
            break
        if not _passable(nxt, stalled, c_v, c_half, c_own, c_skip):
            if c_v[nxt] < 3.0:
                return
            break
        zone_front = max(zone_front, c_s[nxt] + c_half[nxt])
        left_edge = max(left_edge, c_d[nxt] + 0.5 * c_w[nxt])
        last = c_s[nxt]
    d_need = left_edge + PASS_CLEAR_M + 0.5 * width[i]
    if d_need <= 0.05:
        return
    e = d_need + 0.5 * width[i] - hl
    on = li[ln, ONC]
    borrow = e > INTRUDE_TOL_M
    if borrow and (li[ln, LEFT] >= 0 or li[ln, RIGHT] >= 0 or on < 0 or e > lf[on, WID] - LAT_CLEAR_M):
        return
    return_s = zone_front + RETURN_CLEAR_M + half
    back = shift_span(v_pass, d_need, PASS_LAT_ACCEL, MIN_SHIFT_M)
    if return_s + back > lf[ln, LEN] - LANE_END_CLEAR_M:
        return
    stop_s = return_s + back + half + 1.0 if borrow else np.nan
    if borrow and not _oncoming(i, lf, li, ln, s, half, v, v_pass, a_max[i], reaction[i], zone_rear,
                                return_s + back, stop_s, e, path, off, lane, d, speed, length, width, v0, a_max,
                                b_comf, s0, zone, c_lane, c_s, c_v, c_half, c_d, c_w, c_own, False):
        hold[i] = True
        return
    x1 = zone_rear - FRONT_CLEAR_M - half
    span = shift_span(v, d_need, PASS_LAT_ACCEL, MIN_SHIFT_M)
    if x1 - s[i] < span:
        hold[i] = True
        return
    new_lat[i, 0], new_lat[i, 1], new_lat[i, 2], new_lat[i, 3] = max(s[i], x1 - 1.5 * span), x1, d[i], d_need
    new_zone[i, 0], new_zone[i, 1], new_zone[i, 2], new_zone[i, 3] = zone_rear, zone_front, return_s, stop_s
