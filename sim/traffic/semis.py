"""Semi-trailer trucks in traffic: a traffic vehicle of class "semi" drives the lane graph as one long body
(its length is the whole rig's, so following gaps and junction clearances fit) and is shown as two actors, a
tractor at the front of that body and a trailer that follows the tractor's fifth wheel with the kinematics of
``sim.traffic.trailer`` (off-tracking inside turns, over the curb on tight ones).

``Semis`` holds the trailers' state; ``semi_rows`` turns traffic rows into tractor and trailer rows.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.assets.meshes import TRACTOR_SIZE
from sim.traffic import trailer as T
from sim.traffic.vehicle_classes import CLASS_NAMES

SEMI = CLASS_NAMES.index("semi")
RESPAWN_JUMP_M = 5.0
"""A hitch moving farther than this in one step is a respawned vehicle: its trailer is re-aligned, m."""


class Semis(NamedTuple):
    """Trailers of the semis in traffic: ``owner`` (K,) traffic index, ``theta`` (K,) trailer heading (rad),
    ``hitch`` (K, 2) fifth-wheel position (m) at the last step, ``params`` T.TrailerParams."""

    owner: np.ndarray
    theta: np.ndarray
    hitch: np.ndarray
    params: T.TrailerParams


def _tractors(table: np.ndarray) -> np.ndarray:
    """Tractor rows (7, K) from the semis' whole-rig rows: the tractor's box at the front of the rig's."""
    x, y, h, v, length = table[:5]
    ahead = 0.5 * length - 0.5 * TRACTOR_SIZE[0]
    out = np.array(table, float, copy=True)
    out[0], out[1] = x + ahead * np.cos(h), y + ahead * np.sin(h)
    out[4], out[5], out[6] = TRACTOR_SIZE
    return out


def attach(kind: np.ndarray, table: np.ndarray) -> Semis:
    """Aligned trailers for the semis among traffic vehicles of class ``kind`` (N,) at rows ``table`` (7, N)."""
    owner = np.flatnonzero(np.asarray(kind) == SEMI)
    params = T.TrailerParams.standard(owner.size)
    tractors = _tractors(table[:, owner])
    hitch = T.hitch_points(tractors[0], tractors[1], tractors[2], params).T
    return Semis(owner, T.init_trailers(tractors[2]), hitch, params)


def follow(semis: Semis, table: np.ndarray) -> Semis:
    """Advance the trailers to the traffic rows ``table`` (7, N) of this step (exact tractrix update from
    the fifth wheel's motion; re-aligned after a respawn)."""
    if semis.owner.size == 0:
        return semis
    tractors = _tractors(table[:, semis.owner])
    hitch = T.hitch_points(tractors[0], tractors[1], tractors[2], semis.params).T
    theta = T.step_trailers_from_poses(semis.theta, semis.hitch.T, hitch.T, tractors[2], semis.params)
    jumped = np.hypot(*(hitch - semis.hitch).T) > RESPAWN_JUMP_M
    theta = np.where(jumped, tractors[2], theta)
    return Semis(semis.owner, theta, hitch, semis.params)


def semi_rows(semis: Semis, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(tractor rows (7, K) replacing the semis' rows, trailer rows (7, K)) from traffic rows ``table`` (7, N)."""
    tractors = _tractors(table[:, semis.owner])
    speed = tractors[3]
    trailers = T.trailer_boxes(semis.theta, tractors[0], tractors[1], tractors[2], speed, np.zeros_like(speed),
                               semis.params)
    return tractors, trailers
