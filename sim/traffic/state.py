"""Traffic state: one array per quantity over N vehicles, positions in lane (Frenet) coordinates."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

PATH_LEN = 3
"""Lanes kept in each vehicle's look-ahead path: the current lane and the next two."""
REACTION_SLOTS = 16
"""Past speeds kept per vehicle (control steps), for its followers' reaction delay."""
DEFAULT_STYLE = {"reaction": 0.5, "crit_gap": 5.0}
"""Reaction time s and critical gap s of vehicles built without them (e.g. a scenario's IDM actors)."""


@dataclass(frozen=True)
class TrafficState:
    """State of N traffic vehicles. Shapes (N,) unless stated; SI units.

    A vehicle drives along ``path[:, 0]`` (its lane) at arc length ``s`` with lateral offset ``d``
    (positive left) that decays to zero after a lane change from ``lc_from``, or follows ``lat`` while going
    around an obstacle: ``d`` goes from ``lat[:, 2]`` at ``s = lat[:, 0]`` to ``lat[:, 3]`` at ``s = lat[:, 1]``
    (a quintic smoothstep in s; NaN ``lat[:, 1]`` when inactive). ``zone`` is the obstacle zone being passed on
    the own lane: (rear end, front end, s where the way back starts, s before which oncoming traffic waits
    (own lane's s)), NaN when none.
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
    # Left None, the fields below get DEFAULT_STYLE and a fresh vehicle's state (no history, stop, wait or pass).
    reaction: np.ndarray | None = None  # s, delay of the perception of the leader's speed
    crit_gap: np.ndarray | None = None  # s, smallest accepted gap in priority traffic
    speed_hist: np.ndarray | None = None  # (N, REACTION_SLOTS) m/s, past speeds (ring by step index), NaN unset
    stop_done: np.ndarray | None = None  # int64 incoming lane at whose stop sign the vehicle has stopped, -1 none
    wait_s: np.ndarray | None = None  # s, time since the vehicle first stood at its junction line (0: not waiting)
    lat: np.ndarray | None = None  # (N, 4) lateral plan: s from, s to (m), d from, d to (m)
    zone: np.ndarray | None = None  # (N, 4) m, obstacle zone being passed (see above)

    def __post_init__(self):
        n = self.lane.shape[0]
        fresh = {"reaction": lambda: np.full(n, DEFAULT_STYLE["reaction"]),
                 "crit_gap": lambda: np.full(n, DEFAULT_STYLE["crit_gap"]),
                 "speed_hist": lambda: np.full((n, REACTION_SLOTS), np.nan),
                 "stop_done": lambda: np.full(n, -1, np.int64), "wait_s": lambda: np.zeros(n),
                 "lat": lambda: np.full((n, 4), np.nan), "zone": lambda: np.full((n, 4), np.nan)}
        for name, make in fresh.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, make())

    @property
    def n(self) -> int:
        return int(self.lane.shape[0])

    def replace(self, **kw) -> "TrafficState":
        return replace(self, **kw)

    def arrays(self) -> dict[str, np.ndarray]:
        """All fields by name (for logs and equality checks)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
