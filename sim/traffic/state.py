"""Traffic state: one array per quantity over N vehicles, positions in lane (Frenet) coordinates."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

PATH_LEN = 3
"""Lanes kept in each vehicle's look-ahead path: the current lane and the next two."""


@dataclass(frozen=True)
class TrafficState:
    """State of N traffic vehicles. Shapes (N,) unless stated; SI units.

    A vehicle drives along ``path[:, 0]`` (its lane) at arc length ``s`` with lateral offset ``d``
    (positive left) that decays to zero after a lane change from ``lc_from``.
    """

    lane: np.ndarray  # int64 lane id
    prev_lane: np.ndarray  # int64 lane the vehicle came from (its rear may still be there), -1 unknown
    path: np.ndarray  # (N, PATH_LEN) int64 lane ids, -1 past a dead end
    s: np.ndarray  # m along the lane
    d: np.ndarray  # m lateral offset from the lane centre
    d_rate: np.ndarray  # m/s
    speed: np.ndarray  # m/s
    accel: np.ndarray  # m/s^2
    lc_from: np.ndarray  # int64 lane left by a lane change in progress, -1 none
    lc_cooldown: np.ndarray  # s until the next lane change is allowed
    kind: np.ndarray  # int8 index into vehicle_classes.CLASS_NAMES
    length: np.ndarray  # m
    width: np.ndarray  # m
    height: np.ndarray  # m
    colour: np.ndarray  # (N, 3) uint8 RGB
    speed_factor: np.ndarray  # desired speed / speed limit
    time_headway: np.ndarray  # s
    min_gap: np.ndarray  # m
    max_accel: np.ndarray  # m/s^2
    comfort_decel: np.ndarray  # m/s^2
    politeness: np.ndarray  # MOBIL politeness
    scripted: np.ndarray  # bool: placed by a scenario (never recycled)

    @property
    def n(self) -> int:
        return int(self.lane.shape[0])

    def replace(self, **kw) -> "TrafficState":
        return replace(self, **kw)

    def arrays(self) -> dict[str, np.ndarray]:
        """All fields by name (for logs and equality checks)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
