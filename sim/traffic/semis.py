"""Semi-trailer trucks in traffic: a traffic vehicle of class "semi" drives the lane graph as one long body
(its length is the whole rig's, so following gaps and junction clearances fit) and is shown as two actors, a
tractor at the front of that body that follows the lane like any vehicle and a trailer that follows the
tractor's fifth wheel with the kinematics of ``sim.traffic.trailer`` (off-tracking inside turns, over the curb
on tight ones).

``traffic_rows`` gives the actor rows of traffic (a semi as its tractor), ``Semis`` holds the trailers' state
and ``semi_rows`` adds the trailer rows.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.assets.meshes import TRACTOR_SIZE
from sim.traffic import kernels as K
from sim.traffic import trailer as T
from sim.traffic.passing import INTRUDE_TOL_M
from sim.traffic.state import TrafficState
from sim.traffic.traffic import traffic_poses
from sim.traffic.vehicle_classes import CLASS_NAMES

SEMI = CLASS_NAMES.index("semi")
ALIGNED_RAD = 0.02
"""A trailer within this of its tractor's heading is in line with it (it off-tracks no more than the rig), rad."""
RESPAWN_JUMP_M = 5.0
"""A hitch moving farther than this in one step is a respawned vehicle: its trailer is re-aligned, m."""


class Semis(NamedTuple):
    """Trailers of the semis in traffic: ``owner`` (K,) traffic index, ``theta`` (K,) trailer heading (rad),
    ``hitch`` (K, 2) fifth-wheel position (m) at the last step, ``params`` T.TrailerParams."""

    owner: np.ndarray
    theta: np.ndarray
    hitch: np.ndarray
    params: T.TrailerParams


def traffic_rows(lmap, traffic: TrafficState) -> np.ndarray:
    """(7, N) actor rows (x, y, heading, speed, length, width, height) of traffic vehicles on ``lmap`` (a
    LaneMap): a semi's row is its tractor, a TRACTOR_SIZE body whose front is the rig's front, posed along its
    path like any vehicle (its axles follow the lane, so it does not swing out of it on tight turns)."""
    x, y, h = traffic_poses(lmap, traffic)
    rows = np.stack([x, y, h, traffic.speed, traffic.length, traffic.width, traffic.height])
    owner = np.flatnonzero(traffic.kind == SEMI)
    if owner.size == 0:
        return rows
    lane, s = traffic.lane[owner].copy(), traffic.s[owner] + 0.5 * (traffic.length[owner] - TRACTOR_SIZE[0])
    for k, i in enumerate(owner):  # the tractor's centre may be on the next lane of the path already
        for nxt in traffic.path[i, 1:]:
            if nxt < 0 or s[k] <= lmap.length[lane[k]]:
                break
            s[k] -= lmap.length[lane[k]]
            lane[k] = nxt
    rows[:3, owner] = K.poses_kernel(lmap.points, lmap.point_s, lmap.point_heading, lmap.lane_start, lmap.lane_npts,
                                     lmap.lf, lane, s, traffic.d[owner], traffic.d_rate[owner], traffic.speed[owner],
                                     np.full(owner.size, TRACTOR_SIZE[0]))
    rows[4:, owner] = np.array(TRACTOR_SIZE, float)[:, None]
    return rows


def attach(kind: np.ndarray, table: np.ndarray) -> Semis:
    """Aligned trailers for the semis among traffic vehicles of class ``kind`` (N,) at rows ``table`` (7, N)
    (``traffic_rows``)."""
    owner = np.flatnonzero(np.asarray(kind) == SEMI)
    params = T.TrailerParams.standard(owner.size)
    tractors = table[:, owner]
    hitch = T.hitch_points(tractors[0], tractors[1], tractors[2], params).T
    return Semis(owner, T.init_trailers(tractors[2]), hitch, params)


def follow(semis: Semis, table: np.ndarray) -> Semis:
    """Advance the trailers to the traffic rows ``table`` (7, N) (``traffic_rows``) of this step (exact tractrix
    update from the fifth wheel's motion; re-aligned after a respawn)."""
    if semis.owner.size == 0:
        return semis
    tractors = table[:, semis.owner]
    hitch = T.hitch_points(tractors[0], tractors[1], tractors[2], semis.params).T
    theta = T.step_trailers_from_poses(semis.theta, semis.hitch.T, hitch.T, tractors[2], semis.params)
    jumped = np.hypot(*(hitch - semis.hitch).T) > RESPAWN_JUMP_M
    theta = np.where(jumped, tractors[2], theta)
    return Semis(semis.owner, theta, hitch, semis.params)


def semi_rows(semis: Semis, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(tractor rows (7, K), trailer rows (7, K)) of the semis from traffic rows ``table`` (7, N)
    (``traffic_rows``)."""
    tractors = table[:, semis.owner]
    speed = tractors[3]
    trailers = T.trailer_boxes(semis.theta, tractors[0], tractors[1], tractors[2], speed, np.zeros_like(speed),
                               semis.params)
    return tractors, trailers


def trailer_intrusions(lane_graph, tractors: np.ndarray, trailers: np.ndarray):
    """Trailers (rows (7, K), ``semi_rows``) that reach over the edge of their lane into a same-direction lane
    beside it (off-tracking after a turn), as obstacles occupying that lane: (lane, s, speed along it, length,
    xy) arrays (for ``sim.traffic.traffic.Obstacles``' ``lane2`` fields). Trailers in line with their tractor
    (rows (7, K)) within ALIGNED_RAD are left out."""
    bent = np.abs((tractors[2] - trailers[2] + np.pi) % (2.0 * np.pi) - np.pi) > ALIGNED_RAD
    if not bent.any():
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros((0, 2))
    x, y, h, v, length, width = trailers[:6, bent]
    lane, s, d = lane_graph.locate(np.stack([x, y], axis=1), h)
    _, lane_h = lane_graph.cartesian(lane, s, np.zeros(lane.size))
    dh = h - lane_h
    ends = d[:, None] + 0.5 * length[:, None] * np.sin(dh)[:, None] * np.array([1.0, -1.0])  # front, rear
    reach = 0.5 * width * np.abs(np.cos(dh))
    half = 0.5 * lane_graph.lane_width[lane] + INTRUDE_TOL_M
    out = []
    for side, over in ((lane_graph.left, ends.max(axis=1) + reach > half),
                       (lane_graph.right, ends.min(axis=1) - reach < -half)):
        k = np.flatnonzero(over & (side[lane] >= 0))
        nb = side[lane[k]]
        out.append((nb, s[k] * lane_graph.lane_length[nb] / lane_graph.lane_length[lane[k]], v[k] * np.cos(dh[k]),
                    length[k], np.stack([x[k], y[k]], axis=1)))
    return tuple(np.concatenate(parts) for parts in zip(*out))
