"""Compiled yielding of traffic to pedestrians and cyclists on the carriageway.

Each vehicle projects every walker near its path (a pedestrian crossing or waiting at a kerb, a cyclist) onto
the centerlines of its path and predicts its motion across the path at constant velocity. A walker inside
the vehicle's corridor (its width plus YIELD_CLEAR_M each side) is a leader moving at its speed along the path
(a cyclist ahead is followed); one that will enter the corridor before the vehicle has passed it by
YIELD_MARGIN_S, and not have left it YIELD_MARGIN_S before the vehicle arrives, is a stop where it crosses the
path. Pedestrians on a crosswalk (or waiting at its kerb to cross) have priority: they count as crossing at
ZEBRA_SPEED at least, so vehicles stop for them and wait until they are clear of their lane.

``walkers`` packs the VRUs of ``sim.traffic.vru`` for the kernel; ``vru_leaders`` is called by
``sim.traffic.kernels.step_kernel``.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from sim.traffic.kinematics import time_to_cover

YIELD_CLEAR_M = 0.5
"""Lateral clearance a vehicle keeps from a pedestrian's or cyclist's body, m."""
YIELD_MARGIN_S = 1.5
"""A vehicle passes a crossing walker only if its rear is past this long before the walker enters its corridor,
or the walker has left it this long before the vehicle arrives, s."""
ZEBRA_SPEED = 1.0
"""Crossing speed assumed for a pedestrian on a crosswalk or waiting at its kerb (it has priority), m/s."""
KERB_READY_M = 1.0
"""A pedestrian waiting for a crosswalk this close to its kerb is about to cross, m."""
YIELD_LOOK_S = 4.0
"""Vehicles look this long (at their desired speed) beyond their comfortable stopping distance, s."""
YIELD_LOOK_M = 25.0
"""Shortest look-ahead for walkers, m."""
CROSS_V = 0.1
"""Slower lateral motion than this is not crossing, m/s."""
BEHIND_M = 0.3
"""Walkers whose body reaches more than this behind the front bumper are left alone (alongside or behind), m."""
CHUNK = 16
"""Centerline segments examined or skipped together when projecting a walker."""
MAX_WALKER_HALF_M = 1.0
"""Half of the longest walker body (a cyclist is at most 1.85 m long), m."""


class Walkers(NamedTuple):
    """Pedestrians and cyclists traffic yields to. ``xy`` (K, 2) m; ``vel`` (K, 2) m/s predicted velocity;
    ``heading`` (K,) rad of the body; ``length``, ``width`` (K,) m; ``waiting`` (K,) bool: a pedestrian at the
    kerb of a crosswalk, about to cross."""

    xy: np.ndarray
    vel: np.ndarray
    heading: np.ndarray
    length: np.ndarray
    width: np.ndarray
    waiting: np.ndarray

    @classmethod
    def none(cls) -> Walkers:
        z = np.zeros(0)
        return cls(np.zeros((0, 2)), np.zeros((0, 2)), z, z, z, np.zeros(0, bool))


def walkers(vrus, network) -> Walkers:
    """The VRUs of ``vrus`` (sim.traffic.vru.VruState) that may be in a vehicle's way: cyclists (at their
    velocity), pedestrians crossing (along their link; on a crosswalk at ZEBRA_SPEED at least) and pedestrians
    waiting at a kerb (standing, except within KERB_READY_M of a crosswalk's kerb: crossing at ZEBRA_SPEED).
    Pedestrians on sidewalks and corner links are left out. ``network`` is the world's WalkNetwork."""
    from sim.traffic.vru_kernels import CROSS, RIDE, WAIT
    from sim.traffic.vru_network import CORNER, CROSSWALK

    if vrus.n == 0:
        return Walkers.none()
    mode = vrus.mode
    ped = vrus.kind == 0
    link = np.where(ped & (mode != RIDE), vrus.path, 0)
    kind = network.kind[link] if network.kind.size else np.full(vrus.n, CORNER)
    keep = np.flatnonzero(((ped & ((mode == WAIT) | (mode == CROSS)) & (kind != CORNER)) | (~ped & (mode == RIDE)))
                          & vrus.valid)
    if keep.size == 0:
        return Walkers.none()
    link, kind, ped, mode = link[keep], kind[keep], ped[keep], mode[keep]
    span = network.b[link] - network.a[link]
    length = np.maximum(np.hypot(span[:, 0], span[:, 1]), 1e-9)
    dr = vrus.direction[keep].astype(float)
    e = dr[:, None] * span / length[:, None]  # unit direction of walking along the link
    speed = vrus.speed[keep]
    h = vrus.heading[keep]
    kerb = np.where(dr > 0, network.kerb[link, 0], length - network.kerb[link, 1])
    ready = ped & (kind == CROSSWALK) & (mode == WAIT) & ((kerb - vrus.along[keep]) * dr < KERB_READY_M)
    zebra = ped & (kind == CROSSWALK) & (mode == CROSS)
    walk = np.where(zebra | ready, np.maximum(speed, ZEBRA_SPEED), np.where(mode == WAIT, 0.0, speed))
    vel = np.where(ped[:, None], e * walk[:, None], np.stack([np.cos(h), np.sin(h)], axis=1) * speed[:, None])
    return Walkers(np.stack([vrus.x[keep], vrus.y[keep]], axis=1), vel, h, vrus.length[keep], vrus.width[keep], ready)


@njit(cache=True)
def _project(points, point_s, lane_start, lane_npts, ln, lo, hi, x, y, bound):
    """Nearest point of lane ``ln``'s centerline between arc lengths lo and hi to (x, y): (distance, arc length,
    signed lateral offset (left positive), distance beyond the range's ends along the tangent, tangent x,
    tangent y); distance inf when the range is empty. Runs of CHUNK segments whose every point is farther than
    ``bound`` are skipped unexamined (then the result is farther than ``bound``, or inf)."""
    best = np.inf
    bs = 0.0
    bd = 0.0
    bx = 0.0
    tx = 1.0
    ty = 0.0
    skip_to = -1
    a, b = lane_start[ln], lane_start[ln] + lane_npts[ln] - 2
    while a < b:  # the last segment starting at or before lo
        mid = (a + b + 1) // 2
        if point_s[mid] <= lo:
            a = mid
        else:
            b = mid - 1
    end = lane_start[ln] + lane_npts[ln] - 1
    skip_beyond = bound + 0.25 * CHUNK + 0.5  # points <= 0.5 m apart: a run's points lie within 0.25 CHUNK of its middle
    for j in range(a, end):
        s0 = point_s[j]
        s1 = point_s[j + 1]
        if s0 > hi:
            break
        if (j - a) % CHUNK == 0:
            c = min(j + CHUNK // 2, end)
            if math.hypot(x - points[c, 0], y - points[c, 1]) > skip_beyond:
                skip_to = j + CHUNK
        if j < skip_to:
            continue
        ax, ay = points[j, 0], points[j, 1]
        dx, dy = points[j + 1, 0] - ax, points[j + 1, 1] - ay
        seg = math.hypot(dx, dy)
        if seg <= 0.0:
            continue
        ux, uy = dx / seg, dy / seg
        t_raw = (x - ax) * ux + (y - ay) * uy
        t = min(max(t_raw, 0.0), seg)
        px, py = ax + t * ux, ay + t * uy
        dist = math.hypot(x - px, y - py)
        if dist < best:
            best = dist
            bs = s0 + t * (s1 - s0) / seg
            bd = -(x - px) * uy + (y - py) * ux
            bx = abs(t_raw - t)
            tx, ty = ux, uy
    return best, bs, bd, bx, tx, ty


@njit(cache=True)
def _lane_xy(points, point_s, lane_start, lane_npts, ln, s):
    """The centerline point of lane ``ln`` at or before arc length ``s`` (0.5 m apart at most)."""
    a, b = lane_start[ln], lane_start[ln] + lane_npts[ln] - 1
    while a < b:
        mid = (a + b + 1) // 2
        if point_s[mid] <= s:
            a = mid
        else:
            b = mid - 1
    return points[a, 0], points[a, 1]


@njit(cache=True)
def vru_leaders(points, point_s, lane_start, lane_npts, path, off, d, speed, length, width, a_max, v0, b_comf,
                w_xy, w_vel, w_heading, w_len, w_wid, w_wait):
    """Per vehicle: bumper gap (m, inf: none), speed along the path (m/s; 0 for a crossing) and path index of
    the nearest walker it yields to. A pedestrian waiting at a crosswalk's kerb is yielded to only by vehicles
    that can stop for it at their comfortable deceleration."""
    n, p = path.shape
    gap = np.full(n, np.inf)
    lead_v = np.zeros(n)
    lead_k = np.zeros(n, np.int64)
    m = w_xy.shape[0]
    if m == 0:
        return gap, lead_v, lead_k
    for i in range(n):
        half = 0.5 * length[i]
        v = speed[i]
        top = max(v, v0[i])
        look = half + max(YIELD_LOOK_M, v * v / (2.0 * b_comf[i]) + YIELD_LOOK_S * top)
        vx, vy = _lane_xy(points, point_s, lane_start, lane_npts, path[i, 0], -off[i, 0])
        # Skipped before projecting: walkers that cannot matter. Path points within the look-ahead lie within
        # look + half + 2 m of the vehicle (a path is never shorter than the straight line; projections count up
        # to 1 m beyond the range), and a walker must reach the corridor (half width + its own half extent +
        # clearance, around the vehicle's offset d) before the vehicle could pass the farthest of them (t_pass)
        # plus the margin.
        corridor = 1.0 + 0.5 * width[i] + MAX_WALKER_HALF_M + YIELD_CLEAR_M + abs(d[i])
        reach = look + half + 2.0
        t_max = time_to_cover(look + 2.0 * (half + MAX_WALKER_HALF_M), v, 0.5 * a_max[i], top) + YIELD_MARGIN_S
        for j in range(m):
            x, y = w_xy[j, 0], w_xy[j, 1]
            bound = corridor + math.hypot(w_vel[j, 0], w_vel[j, 1]) * t_max
            r = reach + bound
            if (x - vx) * (x - vx) + (y - vy) * (y - vy) > r * r:
                continue
            best = np.inf
            along = 0.0
            lat = 0.0
            beyond = 0.0
            tx = 1.0
            ty = 0.0
            kb = 0
            for k in range(p):
                ln = path[i, k]
                if ln < 0:
                    break
                hi = look - off[i, k]
                if hi < 0.0:
                    break
                dist, sl, dl, bx, ux, uy = _project(points, point_s, lane_start, lane_npts, ln,
                                                    -off[i, k] - half - 2.0, hi, x, y, bound)
                if dist < best:
                    best, along, lat, beyond, tx, ty, kb = dist, off[i, k] + sl, dl, bx, ux, uy, k
            if best == np.inf or beyond > 1.0:
                continue
            ch, sh = math.cos(w_heading[j]), math.sin(w_heading[j])
            cos_a = abs(ch * tx + sh * ty)
            sin_a = abs(-ch * ty + sh * tx)
            ext_along = 0.5 * (w_len[j] * cos_a + w_wid[j] * sin_a)
            ahead = along - half - ext_along
            if ahead < -BEHIND_M:
                continue
            rel = lat - (d[i] if kb == 0 else 0.0)
            hw = 0.5 * width[i] + 0.5 * (w_len[j] * sin_a + w_wid[j] * cos_a) + YIELD_CLEAR_M
            v_along = w_vel[j, 0] * tx + w_vel[j, 1] * ty
            v_lat = -w_vel[j, 0] * ty + w_vel[j, 1] * tx
            inside = abs(rel) < hw
            g = max(ahead, 0.0)
            if abs(v_lat) < CROSS_V:
                if inside and g < gap[i]:  # in the way, moving along the path (or standing): a leader
                    gap[i], lead_v[i], lead_k[i] = g, v_along, kb
                continue
            if inside:
                t_in = 0.0
                t_out = ((hw - abs(rel)) if rel * v_lat > 0.0 else (hw + abs(rel))) / abs(v_lat)
            else:
                if rel * v_lat > 0.0:
                    continue  # moving away
                t_in = (abs(rel) - hw) / abs(v_lat)
                t_out = (abs(rel) + hw) / abs(v_lat)
            if w_wait[j] and v * v > 2.0 * b_comf[i] * max(ahead - 1.0, 0.0):
                continue  # too close to stop comfortably for a pedestrian still on the kerb: it waits
            t_arrive = time_to_cover(ahead, v, a_max[i], top)
            t_pass = time_to_cover(ahead + 2.0 * (half + ext_along), v, 0.5 * a_max[i], top)
            if t_in < t_pass + YIELD_MARGIN_S and t_out + YIELD_MARGIN_S > t_arrive and g < gap[i]:
                gap[i], lead_v[i], lead_k[i] = g, 0.0, kb
    return gap, lead_v, lead_k
