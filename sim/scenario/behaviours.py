"""How a scripted actor moves: behaviour kinds by name in ``BEHAVIOURS``.

Adding a kind is one frozen dataclass with a ``kind`` name, decorated with ``@behaviour``."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from sim.registry import Registry

from .values import Kinded, kinded_from_dict, Record, ScenarioError, instance, number, numbers_, settle

MAX_SPEED_MPS = 100.0
"""Largest speed any scenario value may take, m/s."""
MAX_COORD_M = 1e6
"""Largest |x| or |y| of a position, m."""
ANGLE_LIMIT = 2 * math.pi
"""Headings lie within [-ANGLE_LIMIT, ANGLE_LIMIT], rad."""

BEHAVIOURS: Registry[type["Behaviour"]] = Registry("behaviour kind")


behaviour = BEHAVIOURS.decorator("kind")
"""Class decorator registering a Behaviour subclass under its ``kind``."""


class Behaviour(Kinded):
    """Base of behaviours; ``replays`` is True for kinds whose pose and speed come from a track."""

    replays: ClassVar[bool] = False


def behaviour_from_dict(value, path: str) -> Behaviour:
    """The behaviour a ``{kind: ..., <fields>}`` mapping describes."""
    return kinded_from_dict(BEHAVIOURS, value, path)


@behaviour
@dataclass(frozen=True)
class StaticBehaviour(Behaviour):
    """Stands still at its start pose for the whole episode."""

    kind: ClassVar[str] = "static"


@behaviour
@dataclass(frozen=True)
class IdmBehaviour(Behaviour):
    """Car following (IDM) and lane changes (MOBIL) from its start pose, like background traffic."""

    kind: ClassVar[str] = "idm"
    speed_factor: float = 1.0
    """Desired speed as a fraction of the lane speed limit, in [0.1, 2]."""
    time_headway: float = 1.5
    """Desired time gap to the leader, s, in [0.1, 5]."""
    min_gap: float = 2.0
    """Standstill gap to the leader, m, in [0.5, 20]."""
    max_accel: float = 1.5
    """Maximum acceleration, m/s^2, in [0.1, 6]."""
    comfort_decel: float = 2.0
    """Comfortable deceleration, m/s^2, in [0.1, 8]."""
    politeness: float = 0.3
    """MOBIL politeness factor, in [0, 1]."""

    def __post_init__(self):
        for name, lo, hi, unit in (("speed_factor", 0.1, 2.0, ""), ("time_headway", 0.1, 5.0, "s"),
                                   ("min_gap", 0.5, 20.0, "m"), ("max_accel", 0.1, 6.0, "m/s^2"),
                                   ("comfort_decel", 0.1, 8.0, "m/s^2"), ("politeness", 0.0, 1.0, "")):
            settle(self, name, number(getattr(self, name), name, lo, hi, unit))


@dataclass(frozen=True)
class Track(Record):
    """A recorded trajectory: samples at times t (s, >= 0, strictly increasing) of position x, y (m),
    heading (rad) and speed (m/s); all five tuples have the same length (>= 1)."""

    t: tuple[float, ...]
    x: tuple[float, ...]
    y: tuple[float, ...]
    heading: tuple[float, ...]
    speed: tuple[float, ...]

    def __post_init__(self):
        settle(self, "t", numbers_(self.t, "t", 0.0, 1e6, "s"))
        for name, lo, hi, unit in (("x", -MAX_COORD_M, MAX_COORD_M, "m"), ("y", -MAX_COORD_M, MAX_COORD_M, "m"),
                                   ("heading", -ANGLE_LIMIT, ANGLE_LIMIT, "rad"), ("speed", 0.0, MAX_SPEED_MPS, "m/s")):
            values = numbers_(getattr(self, name), name, lo, hi, unit)
            if len(values) != len(self.t):
                raise ScenarioError(f"expected {len(self.t)} values (as many as t), got {len(values)}", name)
            settle(self, name, values)
        for i in range(1, len(self.t)):
            if self.t[i] <= self.t[i - 1]:
                raise ScenarioError(f"times must increase, got {self.t[i]:g} after {self.t[i - 1]:g} (s)", f"t[{i}]")


@behaviour
@dataclass(frozen=True)
class ReplayBehaviour(Behaviour):
    """Follows ``track`` exactly, ignoring everyone; present only from track.t[0] to track.t[-1]."""

    kind: ClassVar[str] = "replay"
    replays: ClassVar[bool] = True
    PARSE = {"track": Track.from_dict}
    track: Track

    def __post_init__(self):
        instance(self.track, "track", Track, "a track {t, x, y, heading, speed}")

