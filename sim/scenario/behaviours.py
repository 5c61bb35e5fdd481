"""How a scripted actor moves: behaviour kinds by name in ``BEHAVIOURS``.

Adding a kind is one frozen dataclass with a ``kind`` name, decorated with ``@behaviour``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sim.registry import Registry

from .poses import LanePose, XYPose, pose_from_dict
from .values import (ANGLE_LIMIT, MAX_COORD_M, MAX_SPEED_MPS, Kinded, Record, ScenarioError, instance, integer,
                     kinded_from_dict, number, numbers_, settle, tuple_of)


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



def _path(value, path: str) -> tuple:
    return _checked_path(tuple_of(pose_from_dict)(value, path), path)


def _checked_path(value, path: str) -> tuple:
    poses = tuple(instance(value, path, (list, tuple), "a list of poses"))
    if len(poses) < 2:
        raise ScenarioError(f"expected at least 2 poses, got {len(poses)}", path)
    for i, pose in enumerate(poses):
        instance(pose, f"{path}[{i}]", (LanePose, XYPose), "a pose {lane, s, d} or {x, y, heading}")
    return poses


@behaviour
@dataclass(frozen=True)
class WalkBehaviour(Behaviour):
    """Moves along ``path`` (poses; headings are ignored: it faces where it goes) at ``speed`` from time
    ``start_t``, ignoring everyone; it stands at the first pose before and at the last one after. A
    pedestrian stepping out, a cyclist, a dog: its pose comes from the path (no ``start``, no ``speed``)."""

    kind: ClassVar[str] = "walk"
    replays: ClassVar[bool] = True
    PARSE = {"path": _path}
    path: tuple
    speed: float = 1.4
    """m/s, in (0, 40]."""
    start_t: float = 0.0
    """s, in [0, 1e5]."""

    def __post_init__(self):
        settle(self, "path", _checked_path(self.path, "path"))
        settle(self, "speed", number(self.speed, "speed", 0.0, 40.0, "m/s", lo_open=True))
        settle(self, "start_t", number(self.start_t, "start_t", 0.0, 1e5, "s"))


@behaviour
@dataclass(frozen=True)
class CrowdBehaviour(Behaviour):
    """``count`` pedestrians crossing along ``path`` as a loose group (ids ``<id>.0`` ..): each walks the
    path shifted across it by up to ``spread_m`` / 2 and back along it by up to ``depth_m``, at a speed drawn
    from ``speed`` (min, max), setting off at a time drawn from ``start_t`` (min, max); draws come from the
    episode's generator (the scenario's ``seed`` fixes them)."""

    kind: ClassVar[str] = "crowd"
    replays: ClassVar[bool] = True
    PARSE = {"path": _path}
    count: int
    """in [1, 500]."""
    path: tuple
    speed: tuple[float, float] = (1.0, 1.8)
    """m/s, 0 < min <= max <= 10."""
    start_t: tuple[float, float] = (0.0, 0.0)
    """s, 0 <= min <= max <= 1e5."""
    spread_m: float = 4.0
    """m, in [0, 50]."""
    depth_m: float = 3.0
    """m, in [0, 100]."""

    def __post_init__(self):
        settle(self, "count", integer(self.count, "count", 1, 500))
        settle(self, "path", _checked_path(self.path, "path"))
        for name, lo, hi, unit in (("speed", 0.0, 10.0, "m/s"), ("start_t", 0.0, 1e5, "s")):
            pair = numbers_(getattr(self, name), name, lo, hi, unit)
            if len(pair) != 2 or pair[0] > pair[1] or (name == "speed" and pair[0] <= 0):
                raise ScenarioError(f"expected (min, max) with {'0 <' if name == 'speed' else '0 <='} min <= max, "
                                    f"got {list(pair)}", name)
            settle(self, name, pair)
        settle(self, "spread_m", number(self.spread_m, "spread_m", 0.0, 50.0, "m"))
        settle(self, "depth_m", number(self.depth_m, "depth_m", 0.0, 100.0, "m"))
