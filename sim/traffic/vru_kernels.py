"""Compiled (numba) step of pedestrians and cyclists: one loop over all vulnerable road users.

Like ``sim.traffic.kernels``: no random draws inside (the caller passes uniforms drawn from the episode's
Generator), no fastmath, no parallelism, so results are bit-identical run to run. Every actor reads the
previous state of the others (group leaders, people ahead, obstacles), so the order of the loop does not
matter.

Pedestrians follow a path with a scalar speed: a sidewalk line (WALK) or a link of the walking network
(WAIT: approaching the kerb and waiting for a gap; CROSS), with a lateral offset that moves like a
critically damped spring. Cyclists (RIDE) follow lanes with IDM.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.traffic.kernel_cache import drop_stale
from sim.traffic.vru_network import CORNER, CROSSWALK, SIDEWALK_HALF_M

drop_stale()  # before any cached kernel is loaded (see sim.traffic.kernel_cache)

WALK, WAIT, CROSS, RIDE = 0, 1, 2, 3

WALK_ACCEL = 1.0
"""Largest speed-up of a walking pedestrian, m/s^2."""
RUN_ACCEL = 2.5
"""Largest speed-up of a pedestrian breaking into a run, m/s^2."""
WALK_DECEL = 1.8
"""Hardest slowing of a pedestrian, m/s^2."""
STOP_DECEL = 0.8
"""Deceleration planned for stopping at a kerb or the end of a sidewalk, m/s^2."""
HALT_DECEL = 1.5
"""Deceleration planned for stopping on the road short of a vehicle's lane, m/s^2."""
PED_CLEAR_M = 0.6
"""Distance a pedestrian's centre keeps from a vehicle's body, m."""
PED_JERK = 6.0
"""Largest rate of change of a pedestrian's acceleration, m/s^3. Braking fades out as the speed drops
(deceleration at most sqrt(jerk speed)), so that it can reach zero with the stop."""
SPEED_GAIN = 2.0
"""Speed-error feedback of pedestrians, 1/s."""
TURN_SPEED = 0.8
"""Speed at which a pedestrian turns into a link, m/s (more only when further away)."""
TURN_GAIN = 0.5
DECIDE_AHEAD_M = 5.0
"""A pedestrian decides whether to take a link when its entry is this close, m."""
END_STOP_M = 0.3
"""A pedestrian turns round this far before the end of a sidewalk with no link, m."""
STOP_SLACK_M = 0.3
"""A pedestrian stopping (at a kerb, at the end of a sidewalk) may overrun its stop point by this much (and
never more), m."""
GROUP_REACH_M = 30.0
"""Group members farther than this from their leader make their own decisions, m."""
SLOT_GAIN = 0.8
"""Speed correction of a group member per metre behind its place, 1/s."""
FALL_IN_M = 0.8
"""A member walking beside its leader falls in this far behind it while making way for someone, m."""
SLOT_EXTRA = 0.4
"""A member catching up walks at most this much faster than its own or its leader's speed, m/s."""
FOLLOW_GAP_M = 0.8
"""A group member stepping off a link within this of its leader takes the leader's way, m."""
SPACE_GAP_M = 0.15
"""Personal space: two pedestrians keep this much room between their footprints (side by side: between the
shoulders, one behind the other: chest to back, crossing: between the footprints' circumcircles), m."""
SPACE_AHEAD_M = 5.0
"""A pedestrian heeds the people this far ahead of it, m."""
SPACE_SLACK_M = 0.25
"""A pedestrian following another (or waiting for one to pass) stops this far short of touching, m."""
SQUEEZE_S, SQUEEZE_SPEED = 2.0, 0.5
"""A pedestrian held up by others this long, s, squeezes past at this speed, m/s (jams in dense crowds): where
it would touch someone it still stops, except in the throng on a crosswalk."""
TOUCH_M = 0.03
"""Margin between two pedestrians' footprints that a step never closes, m (turning in place may take some)."""
PASS_AHEAD_S = 2.0
"""A pedestrian steps aside for an oncoming or standing one that it would reach within this time, s."""
FOLLOW_GAIN = 1.0
LAT_OMEGA = 1.5
"""Natural frequency of the lateral offset's motion, rad/s."""
LAT_ACCEL = 0.8
"""Largest lateral acceleration of a pedestrian's offset, m/s^2."""
LINE_OVERRUN_M = 2.0
"""Stepping off a link, a pedestrian may stand this far beyond the end of a sidewalk line (which extends
straight), m."""
LINK_SPILL_M = 3.5
"""Largest lateral offset on a crosswalk (crowds spill beyond its band), m; on other links the band's half
width less 0.2 m."""
GATHER_RATE = 0.4
"""Approaching the far end of a crosswalk, the largest offset shrinks by this much per metre to what the
sidewalk there can take in, m/m."""
STEP_OFF_SIDE_M = 0.8
"""A pedestrian stepping off a link this far to one side of its end walks on that way, m."""
SIDESTEP_TAN = 0.5
"""A pedestrian moving sideways (stepping aside, keeping its place) turns its body at most atan(0.5) from the way
it walks; vx, vy below are the direction it faces."""
YAW_RATE = 4.0
"""Largest turning rate of a pedestrian's heading, rad/s."""
IMPATIENCE = 0.5
"""Fraction of the gap acceptance a pedestrian gives up after waiting its patience."""
GAP_HORIZON_S = 30.0
THREAT_MARGIN_S = 1.0
"""A crossing pedestrian runs when a vehicle would reach its path less than this after it is clear, s."""
PASS_MARGIN_S = 1.0
"""A vehicle that will have passed this long before the pedestrian reaches its lane does not stop it, s."""
VEHICLE_REACTION_S = 1.0
VEHICLE_STOP_DECEL = 3.0
VEHICLE_STOP_MARGIN_M = 2.0
"""A pedestrian never steps out in front of a vehicle closer than its stopping distance: reaction time s,
comfortable braking m/s^2 and a margin m."""

CYCLE_ACCEL = 2.0
CYCLE_DECEL = 4.0
"""Bounds of a cyclist's acceleration, m/s^2."""
CYCLE_JERK = 4.0
CYCLE_JERK_HARD = 10.0
"""Largest rate of change of a cyclist's acceleration, m/s^3: normally, and when braking harder than 2 m/s^2."""
CYCLE_HEADWAY_S = 1.0
CYCLE_MIN_GAP_M = 1.5
CYCLE_IDM_ACCEL = 1.2
CYCLE_IDM_DECEL = 1.5
"""IDM time headway s, standstill gap m, acceleration and comfortable deceleration m/s^2 of cyclists."""
CYCLE_JUNCTION_SPEED = 5.0
"""Cyclists ride through junctions at most this fast, m/s."""
JUNCTION_CLEAR_M = 3.0
JUNCTION_HORIZON_S = 2.0
"""A cyclist enters a junction only when no vehicle is, or within JUNCTION_HORIZON_S will be, within
JUNCTION_CLEAR_M of its path through it (vehicles behind it excepted), m and s."""
CYCLE_EDGE_M = 0.8
"""Distance from a cyclist's centre to the right edge of its lane, m."""
CYCLE_LOOKAHEAD_M = 40.0
CYCLE_LAT_MARGIN_M = 0.3
"""Lateral clearance added to half widths when deciding what is in a cyclist's way, m."""
CYCLE_ROOM_M = 150.0
"""At a fork a cyclist prefers lanes from which it can ride this far before a dead end, m."""
CYCLE_LAT_OMEGA = 1.0
CYCLE_LAT_ACCEL = 1.0


@njit(cache=True)
def _wrap(a):
    return (a + math.pi) % (2.0 * math.pi) - math.pi


@njit(cache=True)
def _clip(v, lo, hi):
    return min(max(v, lo), hi)


@njit(cache=True)
def _segment(u, start, count, s):
    """Index j of the segment [j, j+1] of a polyline holding arc position s, and the fraction t along it
    (beyond 0..1 before the start or after the end: the end segments extend straight)."""
    lo = start
    hi = start + count - 2
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if u[mid] <= s:
            lo = mid
        else:
            hi = mid - 1
    seg = u[lo + 1] - u[lo]
    return lo, (s - u[lo]) / seg if seg > 0.0 else 0.0


@njit(cache=True)
def _line_frame(pts, u, start, count, s):
    """Point (x, y) and unit tangent (tx, ty) of a sidewalk line at arc position s, and the segment (j, t)."""
    j, t = _segment(u, start, count, s)
    dx = pts[j + 1, 0] - pts[j, 0]
    dy = pts[j + 1, 1] - pts[j, 1]
    norm = max(math.hypot(dx, dy), 1e-12)
    return pts[j, 0] + t * dx, pts[j, 1] + t * dy, dx / norm, dy / norm, j, t


@njit(cache=True)
def _link_frame(la, lb, k):
    """Start (ax, ay), unit direction (ex, ey) and length of link k."""
    dx = lb[k, 0] - la[k, 0]
    dy = lb[k, 1] - la[k, 1]
    length = max(math.hypot(dx, dy), 1e-12)
    return la[k, 0], la[k, 1], dx / length, dy / length, length


@njit(cache=True)
def _end_linked(line, dr, line_len, came, lkind, entry_link, entry_u, line_entries):
    """True when the end of sidewalk `line` in direction dr has a corner link other than `came`."""
    for e in range(line_entries[line], line_entries[line + 1]):
        k = entry_link[e]
        if k != came and lkind[k] == CORNER and (entry_u[e] > line_len - 0.01 if dr > 0 else entry_u[e] < 0.01):
            return True
    return False


@njit(cache=True)
def _gap(k, c, off, dr, v_cross, acceptance, la, lb, kerb, half, ox, oy, oh, ov, ol, ow, active):
    """What the vehicles mean for a pedestrian at (c, off) on link k, going in direction dr at v_cross m/s:
    ok: every vehicle coming towards the link arrives at least `acceptance` s after the pedestrian reaches its
    lane and is farther than its stopping distance (or has passed PASS_MARGIN_S before), and none stands on the
    link ahead;
    threat: one would arrive within THREAT_MARGIN_S of the pedestrian being clear of its lane;
    stop: distance (m) to the nearest lane ahead that a vehicle stands in or reaches first (inf when none)."""
    ax, ay, ex, ey, length = _link_frame(la, lb, k)
    nx, ny = -ey, ex
    road_lo, road_hi = kerb[k, 0], length - kerb[k, 1]
    ok = True
    threat = False
    stop = np.inf
    for j in range(ox.shape[0]):
        if not active[j]:
            continue
        rx, ry = ox[j] - ax, oy[j] - ay
        cv = rx * ex + ry * ey
        qv = rx * nx + ry * ny
        hw, hl = 0.5 * ow[j], 0.5 * ol[j]
        if cv + hw < road_lo - 0.5 or cv - hw > road_hi + 0.5:
            continue
        rel = (cv - c) * dr
        if rel < -hw - 0.5:
            continue
        vn = ov[j] * (math.cos(oh[j]) * nx + math.sin(oh[j]) * ny)
        closing = -vn if qv > 0.0 else vn
        edge = rel - hw - PED_CLEAR_M  # to the vehicle's side
        mine = abs(qv - off) - hl - PED_CLEAR_M  # from the vehicle's end to the pedestrian's own line
        if rel > 0.0 and (mine <= 0.0 or (edge > 0.0 and closing > 0.3
                                          and mine / closing < edge / max(v_cross, 0.5) + PASS_MARGIN_S)):
            stop = min(stop, max(edge, 0.0))
        dist = abs(qv) - hl - half[k]
        if dist <= 0.0:
            ok = False
            threat = threat or closing >= 0.3
            continue
        if closing < 0.3:
            continue
        tta = dist / closing
        if tta > GAP_HORIZON_S:
            continue
        reach = max(edge, 0.0) / v_cross
        clear = reach + (2.0 * hw + 1.0) / v_cross
        passed = tta + (2.0 * hl + 2.0 * half[k]) / closing
        if passed + PASS_MARGIN_S <= reach:
            continue
        stopping = closing * VEHICLE_REACTION_S + closing * closing / (2.0 * VEHICLE_STOP_DECEL)
        if tta < reach + acceptance or dist < stopping + VEHICLE_STOP_MARGIN_M:
            ok = False
        if tta < clear + THREAT_MARGIN_S:
            threat = True
    return ok, threat, stop


@njit(cache=True)
def _personal_space(i, fx, fy, v, kind, group, x, y, heading, speed, length, width, valid, dt):
    """How pedestrian i, walking at v m/s in unit direction (fx, fy), keeps its personal space (SPACE_GAP_M)
    from others: (largest speed m/s, m to step right, m to step left, m it may move right, m it may move left).
    It follows one ahead going its way, steps aside for one ahead coming towards it or standing (to the side it
    already leans to; both of a meeting pair see the same side, keep-right on a tie) and, when still in the way,
    waits; one crossing its path it lets go first when that one is nearer the crossing point. It moves sideways
    no closer to those beside it. A leader does not wait for its own members. Also returns how near (m, largest
    of |dx|, |dy|, less the distance it covers in ``dt``) the nearest other pedestrian is or may come."""
    v_cap = np.inf
    right = 0.0
    left = 0.0
    room_r = np.inf
    room_l = np.inf
    nearest = np.inf
    for q in range(kind.shape[0]):
        if q == i or kind[q] != 0 or not valid[q]:
            continue
        dx, dy = x[q] - x[i], y[q] - y[i]
        nearest = min(nearest, max(abs(dx), abs(dy)) - speed[q] * dt)
        ahead = dx * fx + dy * fy
        lat = fx * dy - fy * dx
        clear = 0.5 * (width[i] + width[q]) + SPACE_GAP_M
        if abs(ahead) < 0.5 * (length[i] + length[q]) + SPACE_GAP_M and abs(lat) < clear + 1.0:
            if lat > 0.0:
                room_l = min(room_l, max(lat - clear, 0.0))
            else:
                room_r = min(room_r, max(-lat - clear, 0.0))
        if ahead <= 0.0 or ahead > SPACE_AHEAD_M or group[q] == i:
            continue
        gap = ahead - 0.5 * (length[i] + length[q]) - SPACE_GAP_M - SPACE_SLACK_M
        hx, hy = math.cos(heading[q]), math.sin(heading[q])
        vq = speed[q] * (hx * fx + hy * fy)
        vq_lat = speed[q] * (fx * hy - fy * hx)
        if abs(vq_lat) > 0.3 and lat * vq_lat < 0.0 and abs(lat) > clear:
            # Crossing my path: the one farther from the crossing point waits.
            round_ = 0.5 * (math.hypot(length[i], width[i]) + math.hypot(length[q], width[q])) + SPACE_GAP_M
            if ahead > abs(lat) and (abs(lat) - round_) / abs(vq_lat) < (ahead + round_) / max(v, 0.3):
                v_cap = min(v_cap, max(FOLLOW_GAIN * (ahead - round_ - SPACE_SLACK_M), 0.0))
            continue
        if abs(lat) >= clear:
            continue
        if vq > 0.3:
            v_cap = min(v_cap, max(vq + FOLLOW_GAIN * gap, 0.0))
            continue
        gap += min(vq, 0.0) * PASS_AHEAD_S  # one coming towards it closes the gap too
        if ahead < clear + (v - vq) * PASS_AHEAD_S:
            if lat >= -0.05:
                right = max(right, clear - lat)
            else:
                left = max(left, clear + lat)
        v_cap = min(v_cap, max(FOLLOW_GAIN * gap, 0.0))
    return v_cap, right, left, room_r, room_l, nearest


@njit(cache=True)
def _at(m, a, b, c, off, pts, pu, la, lb):
    """World (x, y) of a pedestrian at arc position c and offset off on its sidewalk line (WALK: ``a``, ``b`` its
    first point and point count) or on link ``a``."""
    if m == WALK:
        line_len = pu[a + b - 1]
        px, py, tx, ty, _, _ = _line_frame(pts, pu, a, b, _clip(c, -LINE_OVERRUN_M, line_len + LINE_OVERRUN_M))
        off = _clip(off, -SIDEWALK_HALF_M, SIDEWALK_HALF_M)
        return px - off * ty, py + off * tx
    ax, ay, ex, ey, _ = _link_frame(la, lb, a)
    return ax + c * ex - off * ey, ay + c * ey + off * ex


@njit(cache=True)
def _boxes_overlap(ax, ay, ah, al, aw, bx, by, bh, bl, bw, margin):
    """Whether two oriented boxes come closer than ``margin`` (separating axes)."""
    dx, dy = bx - ax, by - ay
    if math.hypot(dx, dy) > 0.5 * (math.hypot(al, aw) + math.hypot(bl, bw)) + margin:
        return False
    ca, sa, cb, sb = math.cos(ah), math.sin(ah), math.cos(bh), math.sin(bh)
    for ux, uy in ((ca, sa), (-sa, ca), (cb, sb), (-sb, cb)):
        ra = 0.5 * al * abs(ca * ux + sa * uy) + 0.5 * aw * abs(-sa * ux + ca * uy)
        rb = 0.5 * bl * abs(cb * ux + sb * uy) + 0.5 * bw * abs(-sb * ux + cb * uy)
        if abs(dx * ux + dy * uy) > ra + rb + margin:
            return False
    return True


@njit(cache=True)
def _blocked(i, to, kind, x, y, heading, speed, length, width, valid, dt):
    """Whether pedestrian i moving to ``to`` (x, y) would touch (within TOUCH_M) another pedestrian where that one
    will be after ``dt`` s at its speed, or come closer to one it already touches. Pedestrian i counts as the
    square that holds its footprint at any heading (it turns as it steps)."""
    px, py = to
    side = math.hypot(length[i], width[i])
    for q in range(kind.shape[0]):
        if q == i or kind[q] != 0 or not valid[q]:
            continue
        near = 1.0 + speed[q] * dt
        if abs(x[q] - px) > near or abs(y[q] - py) > near:
            continue
        qx = x[q] + speed[q] * math.cos(heading[q]) * dt
        qy = y[q] + speed[q] * math.sin(heading[q]) * dt
        if not _boxes_overlap(px, py, heading[i], side, side, qx, qy, heading[q], length[q], width[q], TOUCH_M):
            continue
        if not _boxes_overlap(x[i], y[i], heading[i], side, side, x[q], y[q], heading[q], length[q], width[q],
                              TOUCH_M):
            return True
        if math.hypot(qx - px, qy - py) < math.hypot(x[q] - x[i], y[q] - y[i]):
            return True
    return False


@njit(cache=True)
def _aside(off_t, off, dr, right, left, room_r, room_l):
    """Lateral target `off_t` (m, left of the path) moved so that a pedestrian at `off` going in direction dr
    steps `right` m to its right or `left` m to its left (right wins when both), then kept within `room_r` m to
    its right and `room_l` m to its left."""
    t = off_t * dr
    if right > 0.0:
        t = min(t, off * dr - right)
    elif left > 0.0:
        t = max(t, off * dr + left)
    return _clip(t, off * dr - room_r, off * dr + room_l) * dr


@njit(cache=True)
def _idm(v, v0, gap, dv):
    r = v / max(v0, 0.1)
    brake = v * dv / (2.0 * math.sqrt(CYCLE_IDM_ACCEL * CYCLE_IDM_DECEL))
    s_star = CYCLE_MIN_GAP_M + max(0.0, v * CYCLE_HEADWAY_S + brake)
    q = s_star / max(gap, 0.1)
    return CYCLE_IDM_ACCEL * (1.0 - r * r * r * r - q * q)


@njit(cache=True)
def _ride_score(ride_ok, ride_room, lane):
    """How much a cyclist wants `lane` at a fork: 2 for room to ride on (CYCLE_ROOM_M), 1 for a preferred lane;
    -1 for a U-turn loop (never ridden)."""
    if ride_room[lane] < 0.0:
        return -1
    return (2 if ride_room[lane] >= CYCLE_ROOM_M else 0) + (1 if ride_ok[lane] else 0)


@njit(cache=True)
def pick_successor(succ, ride_ok, ride_room, lane, r):
    """A successor of `lane` chosen with uniform r among the best for cyclists (``_ride_score``); -1 at a dead
    end (where only a U-turn loop goes on)."""
    best = -1
    n_best = 0
    for q in range(succ.shape[1]):
        nxt = succ[lane, q]
        if nxt >= 0:
            score = _ride_score(ride_ok, ride_room, nxt)
            if score > best:
                best, n_best = score, 1
            elif score == best:
                n_best += 1
    if best < 0:
        return -1
    pick = int(r * n_best)
    for q in range(succ.shape[1]):
        nxt = succ[lane, q]
        if nxt >= 0 and _ride_score(ride_ok, ride_room, nxt) == best:
            if pick == 0:
                return nxt
            pick -= 1
    return -1


@njit(cache=True)
def step_kernel(net, lanes, style, st, obst, dt, uni):
    """One step of all VRUs. `net` (walking network), `lanes` (lane graph), `style` (fixed per actor), `st`
    (dynamic state) and `obst` (what they see) are tuples of arrays packed by ``sim.traffic.vru.step_vrus``;
    `uni` (M,3) uniforms. Returns the new dynamic state in the order of `st`."""
    kind = style[0]
    out = (st[0].copy(), st[1].copy(), st[2].copy(), st[3].copy(), st[4].copy(), st[5].copy(), st[6].copy(),
           st[7].copy(), st[8].copy(), st[9].copy(), st[10].copy(), st[11].copy(), st[12].copy(), st[13].copy(),
           st[14].copy())
    valid = style[14]
    for i in range(kind.shape[0]):
        if not valid[i]:
            continue
        if kind[i] == 0:
            _pedestrian(i, net, style, st, obst, dt, uni, out)
        else:
            _cyclist(i, lanes, style, st, obst, dt, uni, out)
    return out


@njit(cache=True)
def _pedestrian(i, net, style, st, obst, dt, uni, out):
    (pts, pu, plo, phi, line_start, line_count, la, lb, lkind, lline, lu, kerb, half, entry_link, entry_u,
     line_entries) = net
    (kind, length, width, group, slot_back, slot_side, desired, run_speed, gap_acc, patience, jaywalk, cross_chance,
     run_chance, keep_right, valid) = style
    (mode, path, along, direction, offset, offset_rate, speed, accel, heading, x, y, target, decided, wait,
     running) = st
    ox, oy, oh, ov, ol, ow, sees, _, _ = obst
    m, p, c, dr, v, a0 = mode[i], path[i], along[i], direction[i], speed[i], accel[i]
    tgt, dec, wt, run = target[i], decided[i], wait[i], running[i]
    lead = group[i]
    member = lead != i and math.hypot(x[lead] - x[i], y[lead] - y[i]) < GROUP_REACH_M
    v_max = desired[i] + (SLOT_EXTRA if member else 0.0)
    v_t = v_max
    limit = np.nan  # position never passed this step (kerb, end of sidewalk)
    off_t = 0.0
    if m == WALK:
        _, _, fx, fy, _, _ = _line_frame(pts, pu, line_start[p], line_count[p], c)
    else:
        _, _, fx, fy, _ = _link_frame(la, lb, p)
    v_space, right, left, room_r, room_l, nearest = _personal_space(i, dr * fx, dr * fy, v, kind, group, x, y,
                                                                    heading, speed, length, width, valid, dt)
    if m == WALK:
        st, cnt = line_start[p], line_count[p]
        line_len = pu[st + cnt - 1]
        run = run and v > desired[i] + 0.1  # running until slowed to walking pace
        if member and tgt < 0:
            # Heading where the leader, on this sidewalk, heads or has gone (back to it if already past).
            k2 = target[lead] if mode[lead] == WALK else path[lead]
            if (k2 >= 0 and k2 != dec and (lline[k2, 0] == p or lline[k2, 1] == p)
                    and (mode[lead] != WALK or path[lead] == p)):
                tgt = k2
        if tgt < 0:
            best_e, best_d = -1, DECIDE_AHEAD_M
            beyond = c > line_len if dr > 0 else c < 0.0
            for e in range(line_entries[p], line_entries[p + 1]):
                dd = (entry_u[e] - c) * dr
                reach = -1e-9
                if lkind[entry_link[e]] == CORNER:  # at an end: only towards it, also when already beyond it
                    if (entry_u[e] < 0.01) != (dr < 0):
                        continue
                    if beyond:
                        reach = -LINE_OVERRUN_M
                if entry_link[e] != dec and reach <= dd < best_d:
                    best_e, best_d = e, dd
            if best_e >= 0:
                k = entry_link[best_e]
                # Members do what their leader did there (took it, or passed it by); until it has, nothing.
                if lkind[k] == CORNER:
                    choice = 1
                elif member:
                    took = (target[lead] == k or (mode[lead] != WALK and path[lead] == k)
                            or (mode[lead] == WALK and decided[lead] == k and path[lead] != p))
                    choice = 1 if took else (0 if decided[lead] == k else -1)
                else:
                    choice = 1 if uni[i, 0] < (cross_chance[i] if lkind[k] == CROSSWALK else jaywalk[i]) else 0
                if choice == 1:
                    tgt = k
                elif choice == 0:
                    dec = k
        if tgt >= 0:
            side = 0 if lline[tgt, 0] == p else 1
            dist = max((lu[tgt, side] - c) * dr, 0.0)
            v_t = min(v_t, TURN_SPEED + TURN_GAIN * dist)
            beyond = c > line_len if dr > 0 else c < 0.0
            if (lu[tgt, side] - c) * dr < -0.05 and not (lkind[tgt] == CORNER and beyond):
                v_t = 0.0  # a member past where its group turned off: stop, then turn back
                if v < 0.05:
                    dr = -dr
            if lkind[tgt] != CORNER and not (member and path[lead] == tgt and mode[lead] == CROSS):
                # Plan to stop at the kerb (members behind their leader, but on the link); the lateral offset
                # on the sidewalk already brings the pedestrian nearer to it.
                _, _, tx, ty, _, _ = _line_frame(pts, pu, st, cnt, lu[tgt, side])
                _, _, ex, ey, _ = _link_frame(la, lb, tgt)
                toward = offset[i] * (ex * -ty + ey * tx) * (1.0 if side == 0 else -1.0)
                stop = dist + max(kerb[tgt, side] - slot_back[i] - toward, 0.1)
                v_t = min(v_t, math.sqrt(2.0 * STOP_DECEL * max(stop - 0.05, 0.0)))
        else:
            dist_end = line_len - c if dr > 0 else c
            v_t = min(v_t, math.sqrt(2.0 * STOP_DECEL * max(dist_end - END_STOP_M - 0.05, 0.0)))
            limit = line_len - END_STOP_M + STOP_SLACK_M if dr > 0 else END_STOP_M - STOP_SLACK_M
            if dist_end <= END_STOP_M + 0.05 and v < 0.05:
                dr = -dr
                dec = -1
                limit = np.nan
                v_t = v_max
        _, _, _, _, j, t = _line_frame(pts, pu, st, cnt, c + dr * 1.0)
        t = _clip(t, 0.0, 1.0)
        lo = plo[j] * (1.0 - t) + plo[j + 1] * t
        hi = phi[j] * (1.0 - t) + phi[j + 1] * t
        same = member and mode[lead] == WALK and path[lead] == p
        back, beside = slot_back[i], slot_side[i]
        if same and beside > 0.0:
            place = -dr * keep_right[lead] + dr * beside
            if right > 0.0 or left > 0.0 or place < lo - 0.05 or place > hi + 0.05:
                back, beside = back + FALL_IN_M, 0.0  # making way, or no room beside: fall in behind the leader
        if same and direction[lead] == dr:
            err = (along[lead] - dr * (back - slot_back[lead]) - c) * dr
            v_t = min(v_t, max(speed[lead] + SLOT_GAIN * err, 0.0), max(desired[i], speed[lead]) + SLOT_EXTRA)
        off_t = -dr * keep_right[lead] + dr * beside if same else -dr * keep_right[i]
        off_t = _clip(_aside(off_t, offset[i], dr, right, left, room_r, room_l), lo, hi)
    else:
        k = p
        _, _, _, _, length_k = _link_frame(la, lb, k)
        if m == WAIT:
            limit = kerb[k, 0] + STOP_SLACK_M if dr > 0 else length_k - kerb[k, 1] - STOP_SLACK_M
            remaining = (limit - dr * (STOP_SLACK_M + slot_back[i]) - c) * dr
            if member and path[lead] == k and mode[lead] != WALK and lead != i:
                go = mode[lead] == CROSS
            else:
                # The gap is judged at the pace the pedestrian will cross at (some run).
                acc = gap_acc[i] * (1.0 - IMPATIENCE * min(wt / max(patience[i], 1e-6), 1.0))
                pace = run_speed[i] if uni[i, 2] < run_chance[i] else desired[i]
                go, _, _ = _gap(k, c, offset[i], dr, pace, acc, la, lb, kerb, half, ox, oy, oh, ov, ol, ow, sees)
            if go:
                m = CROSS
                run = running[lead] if member and path[lead] == k else uni[i, 2] < run_chance[i]
                limit = np.nan
                wt = 0.0
            else:
                v_t = min(v_t, math.sqrt(2.0 * STOP_DECEL * max(remaining - 0.05, 0.0)))
                if remaining < 0.3 and v < 0.2:
                    wt += dt
        if m == CROSS:
            together = member and mode[lead] == CROSS and path[lead] == k and direction[lead] == dr
            if lkind[k] == CORNER:
                run = run and v > desired[i] + 0.1
                v_t = v_max
            else:
                # Hurry when a vehicle comes; stop short of a lane a vehicle stands in or reaches first.
                _, threat, stop = _gap(k, c, offset[i], dr, max(v, 0.5), 0.0, la, lb, kerb, half, ox, oy, oh, ov,
                                       ol, ow, sees)
                run = run or threat or (together and running[lead])
                v_t = run_speed[i] if run else v_max
                v_t = min(v_t, math.sqrt(2.0 * HALT_DECEL * max(stop - PED_CLEAR_M, 0.0)))
            if together:
                err = (along[lead] - dr * (slot_back[i] - slot_back[lead]) - c) * dr
                v_t = min(v_t, max(speed[lead] + SLOT_GAIN * err, 0.0))
        if member and path[lead] == k and mode[lead] != WALK:
            off_t = -dr * keep_right[lead] + dr * slot_side[i]
        else:
            off_t = -dr * keep_right[i]
        spill = half[k] - 0.2
        if lkind[k] == CROSSWALK:
            # Crowds spill beyond the band, and before the far end gather to what its sidewalk can take in.
            far = 1 if dr > 0 else 0
            q = lline[k, far]
            room = min(lu[k, far], pu[line_start[q] + line_count[q] - 1] - lu[k, far]) + LINE_OVERRUN_M - 0.3
            near_end = max(room, spill) + GATHER_RATE * max((length_k - c if dr > 0 else c) - 1.0, 0.0)
            spill = min(LINK_SPILL_M, near_end)
        off_t = _clip(_aside(off_t, offset[i], dr, right, left, np.inf, np.inf), -spill, spill)  # crowds gather
    if m == WAIT:
        v_t = min(v_t, v_space)
    elif v_space < 0.05:
        # Held up by others (``wait`` counts how long while walking): in a jam, squeeze past after SQUEEZE_S.
        wt += dt
        v_t = min(v_t, SQUEEZE_SPEED) if wt >= SQUEEZE_S else 0.0
    else:
        wt = 0.0
        v_t = min(v_t, v_space)
    # Longitudinal motion: speed feedback, bounded acceleration and jerk.
    a_max = RUN_ACCEL if run and v_t > desired[i] else WALK_ACCEL
    a_des = _clip(SPEED_GAIN * (v_t - v), max(-WALK_DECEL, -math.sqrt(PED_JERK * v)), a_max)
    a = a0 + _clip(a_des - a0, -PED_JERK * dt, PED_JERK * dt)
    v_new = max(v + a * dt, 0.0)
    c_new = c + dr * v_new * dt
    if not np.isnan(limit) and (c_new - limit) * dr > 0.0:
        c_new = c if (c - limit) * dr > 0.0 else limit
        v_new = 0.0
    # Lateral offset: critically damped spring towards off_t.
    off, rate = offset[i], offset_rate[i]
    lat_a = _clip(LAT_OMEGA * LAT_OMEGA * (off_t - off) - 2.0 * LAT_OMEGA * rate, -LAT_ACCEL, LAT_ACCEL)
    rate += lat_a * dt
    off += rate * dt
    # Never into someone: of the whole move, the move along the way only and the sidestep only, the first that
    # keeps clear of everyone (where they will be) is made, else the pedestrian stops dead (a jam squeezing past
    # moves only where there is room); not in the throng on a crosswalk (crowds gather there and pass, squeezing).
    fr_a, fr_b = (line_start[p], line_count[p]) if m == WALK else (p, -1)
    if nearest - v_new * dt - abs(off - offset[i]) <= 1.0 and not (m == CROSS and lkind[p] == CROSSWALK) and _blocked(
            i, _at(m, fr_a, fr_b, c_new, off, pts, pu, la, lb), kind, x, y, heading, speed, length, width, valid, dt):
        if not _blocked(i, _at(m, fr_a, fr_b, c_new, offset[i], pts, pu, la, lb), kind, x, y, heading, speed,
                        length, width, valid, dt):
            off, rate = offset[i], 0.0
        else:
            c_new, v_new = c, 0.0
            if _blocked(i, _at(m, fr_a, fr_b, c, off, pts, pu, la, lb), kind, x, y, heading, speed, length, width,
                        valid, dt):
                off, rate = offset[i], 0.0
    # Pose, and moving from a sidewalk onto a link or back: position and speed carry over, the direction of
    # motion turns at once (the heading follows at YAW_RATE).
    if m == WALK:
        st, cnt = line_start[p], line_count[p]
        line_len = pu[st + cnt - 1]
        c_new = _clip(c_new, -LINE_OVERRUN_M, line_len + LINE_OVERRUN_M)
        off = _clip(off, -SIDEWALK_HALF_M, SIDEWALK_HALF_M)
        px, py, tx, ty, _, _ = _line_frame(pts, pu, st, cnt, c_new)
        wx, wy = px - off * ty, py + off * tx
        side = _clip(rate, -SIDESTEP_TAN * v_new, SIDESTEP_TAN * v_new)
        vx, vy = dr * v_new * tx - side * ty, dr * v_new * ty + side * tx
        if tgt >= 0:
            side = 0 if lline[tgt, 0] == p else 1
            if (c_new - lu[tgt, side]) * dr >= 0.0:
                ax, ay, ex, ey, _ = _link_frame(la, lb, tgt)
                m = CROSS if lkind[tgt] == CORNER else WAIT
                p, dec, dr, wt = tgt, tgt, 1 if side == 0 else -1, 0.0
                tgt = -1
                c_new = (wx - ax) * ex + (wy - ay) * ey
                off = -(wx - ax) * ey + (wy - ay) * ex
                rate = 0.0
    else:
        ax, ay, ex, ey, length_k = _link_frame(la, lb, p)
        wx, wy = ax + c_new * ex - off * ey, ay + c_new * ey + off * ex
        side = _clip(rate, -SIDESTEP_TAN * v_new, SIDESTEP_TAN * v_new)
        vx, vy = dr * v_new * ex - side * ey, dr * v_new * ey + side * ex
        if m == CROSS and ((dr > 0 and c_new >= length_k) or (dr < 0 and c_new <= 0.0)):
            far = 1 if dr > 0 else 0
            q = lline[p, far]
            st, cnt = line_start[q], line_count[q]
            line_len = pu[st + cnt - 1]
            ue = lu[p, far]
            px, py, tx, ty, _, _ = _line_frame(pts, pu, st, cnt, ue)
            dec = p
            m, p = WALK, q
            c_new = _clip(ue + (wx - px) * tx + (wy - py) * ty, -LINE_OVERRUN_M, line_len + LINE_OVERRUN_M)
            off = _clip(-(wx - px) * ty + (wy - py) * tx, -SIDEWALK_HALF_M, SIDEWALK_HALF_M)
            rate = 0.0
            k2 = target[lead] if mode[lead] == WALK else path[lead]  # the link the leader is heading for or on
            if member and k2 >= 0 and k2 != dec and (lline[k2, 0] == q or lline[k2, 1] == q):
                ue = lu[k2, 0] if lline[k2, 0] == q else lu[k2, 1]
                if lkind[k2] == CORNER:
                    dr = -1 if ue < 0.01 else 1
                else:
                    dr = 1 if ue >= c_new else -1
                tgt = k2
            elif member and mode[lead] == WALK and path[lead] == q:
                ahead = along[lead] - c_new
                dr = direction[lead] if abs(ahead) < FOLLOW_GAP_M else (1 if ahead > 0.0 else -1)
            else:
                # The way it already is to the side of the link's end (people of a crowd spread out), else a
                # random way (a group draws the leader's number: members stepping off with it choose alike),
                # unless the sidewalk ends (with no link on) too soon to stop comfortably.
                if abs(c_new - ue) > STEP_OFF_SIDE_M:
                    dr = 1 if c_new > ue else -1
                else:
                    dr = 1 if uni[lead, 1] < 0.5 else -1
                room = line_len - c_new if dr > 0 else c_new
                if room < v_new * v_new / (2.0 * STOP_DECEL) + END_STOP_M + 1.0 and not _end_linked(
                        q, dr, line_len, dec, lkind, entry_link, entry_u, line_entries):
                    dr = -dr
    # Heading turns towards the direction of motion (standing: towards the way it is going), rate limited.
    if math.hypot(vx, vy) > 0.1:
        h_des = math.atan2(vy, vx)
    elif m != WALK:
        ax, ay, ex, ey, _ = _link_frame(la, lb, p)
        h_des = math.atan2(dr * ey, dr * ex)
    else:
        h_des = heading[i]
    dh = _clip(_wrap(h_des - heading[i]), -YAW_RATE * dt, YAW_RATE * dt)
    (n_mode, n_path, n_along, n_dir, n_off, n_rate, n_speed, n_accel, n_head, n_x, n_y, n_target, n_dec, n_wait,
     n_run) = out
    n_mode[i], n_path[i], n_along[i], n_dir[i] = m, p, c_new, dr
    n_off[i], n_rate[i], n_speed[i], n_accel[i] = off, rate, v_new, (v_new - v) / dt
    n_head[i], n_x[i], n_y[i] = _wrap(heading[i] + dh), wx, wy
    n_target[i], n_dec[i], n_wait[i], n_run[i] = tgt, dec, wt, run


@njit(cache=True)
def _junction_clear(conn, cx, cy, ch, cs, lpts, lstart, lnpts, ox, oy, oh, ov, sees, base):
    """True when no vehicle (ahead of or beside a cyclist at (cx, cy) heading (ch, cs)) is, or in the next
    JUNCTION_HORIZON_S s at its speed will be, within JUNCTION_CLEAR_M of junction connector `conn`."""
    for q in range(base):
        if not sees[q] or (ox[q] - cx) * ch + (oy[q] - cy) * cs < 0.0:
            continue
        for step in range(3):
            t = 0.5 * JUNCTION_HORIZON_S * step
            px = ox[q] + ov[q] * math.cos(oh[q]) * t
            py = oy[q] + ov[q] * math.sin(oh[q]) * t
            for j in range(lstart[conn], lstart[conn] + lnpts[conn], 4):
                if math.hypot(lpts[j, 0] - px, lpts[j, 1] - py) < JUNCTION_CLEAR_M:
                    return False
    return True


@njit(cache=True)
def _lane_point(lpts, lps, lph, lstart, lnpts, lane, s):
    j, t = _segment(lps, lstart[lane], lnpts[lane], s)
    h = lph[j] + t * _wrap(lph[j + 1] - lph[j])
    return (lpts[j, 0] + t * (lpts[j + 1, 0] - lpts[j, 0]), lpts[j, 1] + t * (lpts[j + 1, 1] - lpts[j, 1]), h, j, t)


@njit(cache=True)
def _cyclist(i, lanes, style, st, obst, dt, uni, out):
    lpts, lps, lph, lcurv, lstart, lnpts, llen, lwid, llim, succ, right, in_junc, ride_ok, ride_room = lanes
    _, length, width, _, _, _, desired, _, _, _, _, _, _, _, _ = style
    _, path, along, _, offset, offset_rate, speed, accel, heading, x, y, target, _, _, _ = st
    ox, oy, oh, ov, ol, ow, _, sees, base = obst
    lane, s, d, v, a0, nxt = path[i], along[i], offset[i], speed[i], accel[i], target[i]
    v0 = min(desired[i], llim[lane])
    if in_junc[lane]:
        v0 = min(v0, CYCLE_JUNCTION_SPEED)
    elif nxt >= 0 and in_junc[nxt]:
        v0 = min(v0, math.sqrt(CYCLE_JUNCTION_SPEED ** 2 + 2.0 * CYCLE_IDM_DECEL * max(llen[lane] - s, 0.0)))
    _, _, _, j, t = _lane_point(lpts, lps, lph, lstart, lnpts, lane, s)
    kappa = lcurv[j] * (1.0 - t) + lcurv[j + 1] * t
    ch, cs = math.cos(heading[i]), math.sin(heading[i])
    gap, v_lead = np.inf, 0.0
    for q in range(ox.shape[0]):
        if q == base + i or not sees[q]:
            continue
        dx, dy = ox[q] - x[i], oy[q] - y[i]
        ahead = dx * ch + dy * cs
        if ahead <= 0.0 or ahead > CYCLE_LOOKAHEAD_M:
            continue
        lat = -dx * cs + dy * ch - 0.5 * kappa * ahead * ahead
        if abs(lat) > 0.5 * (math.hypot(ol[q], ow[q]) + width[i]) + CYCLE_LAT_MARGIN_M:
            continue  # (beyond its diagonal: clear at any angle)
        # The other's box projected on the cyclist's axes (a vehicle at an angle reaches farther sideways).
        rc, rs = abs(math.cos(oh[q] - heading[i])), abs(math.sin(oh[q] - heading[i]))
        if abs(lat) > 0.5 * (ol[q] * rs + ow[q] * rc + width[i]) + CYCLE_LAT_MARGIN_M:
            continue
        g = ahead - 0.5 * (ol[q] * rc + ow[q] * rs + length[i])
        if g < gap:
            gap, v_lead = g, ov[q] * math.cos(oh[q] - heading[i])
    to_end = llen[lane] - s - 0.5 * length[i] - 1.0
    if nxt < 0 or (in_junc[nxt] and not in_junc[lane] and to_end < v * v / (2.0 * CYCLE_IDM_DECEL) + 5.0
                   and not _junction_clear(nxt, x[i], y[i], ch, cs, lpts, lstart, lnpts, ox, oy, oh, ov, sees, base)):
        if to_end < gap:
            gap, v_lead = to_end, 0.0
    a_des = _clip(_idm(v, v0, gap, v - v_lead), max(-CYCLE_DECEL, -math.sqrt(CYCLE_JERK * v)), CYCLE_ACCEL)
    jerk = CYCLE_JERK_HARD if a_des < -2.0 else CYCLE_JERK
    a = _clip(a0 + _clip(a_des - a0, -jerk * dt, jerk * dt), -CYCLE_DECEL, CYCLE_ACCEL)
    v_new = max(v + a * dt, 0.0)
    s += v_new * dt / max(1.0 - kappa * d, 0.5)
    if s > llen[lane]:
        if nxt >= 0:
            s -= llen[lane]
            lane = nxt
            nxt = pick_successor(succ, ride_ok, ride_room, lane, uni[i, 0])
        else:
            s = llen[lane]
            v_new = 0.0
    if not in_junc[lane] and right[lane] >= 0:
        while right[lane] >= 0:
            r = right[lane]
            d += 0.5 * (lwid[lane] + lwid[r])
            s = s * llen[r] / llen[lane]
            lane = r
        nxt = pick_successor(succ, ride_ok, ride_room, lane, uni[i, 1])
    d_t = -(0.5 * lwid[lane] - CYCLE_EDGE_M)
    rate = offset_rate[i]
    lat_a = _clip(CYCLE_LAT_OMEGA * CYCLE_LAT_OMEGA * (d_t - d) - 2.0 * CYCLE_LAT_OMEGA * rate,
                  -CYCLE_LAT_ACCEL, CYCLE_LAT_ACCEL)
    rate += lat_a * dt
    d += rate * dt
    px, py, h, _, _ = _lane_point(lpts, lps, lph, lstart, lnpts, lane, s)
    _, n_path, n_along, _, n_off, n_rate, n_speed, n_accel, n_head, n_x, n_y, n_target, _, _, _ = out
    n_path[i], n_along[i], n_off[i], n_rate[i] = lane, s, d, rate
    n_speed[i], n_accel[i], n_target[i] = v_new, (v_new - v) / dt, nxt
    n_x[i], n_y[i] = px - d * math.sin(h), py + d * math.cos(h)
    n_head[i] = _wrap(h + math.atan2(rate, max(v_new, 1.0)))
