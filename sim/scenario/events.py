"""Timed interventions on scripted actors: event kinds by name in ``EVENTS``.

An event fires at the first simulation step whose time is >= ``t``. Adding a kind is one frozen
dataclass deriving from Event with a ``kind`` name, decorated with ``@event``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sim.registry import Registry

from .values import Kinded, kinded_from_dict, choice, number, settle, text

EVENTS: Registry[type["Event"]] = Registry("event kind")
ACTOR_ID = r"[A-Za-z0-9_.:-]{1,64}"
"""Pattern of actor ids."""


event = EVENTS.decorator("kind")
"""Class decorator registering an Event subclass under its ``kind``."""


@dataclass(frozen=True)
class Event(Kinded):
    """Something that happens to actor ``actor`` at time ``t``; ``acts_on`` names the behaviour kinds
    it applies to."""

    acts_on: ClassVar[tuple[str, ...]] = ("idm",)
    t: float
    """Time of the event, s from the episode start, >= 0."""
    actor: str
    """Id of the actor it happens to."""

    def __post_init__(self):
        settle(self, "t", number(self.t, "t", 0.0, 1e6, "s"))
        text(self.actor, "actor", ACTOR_ID)


def event_from_dict(value, path: str) -> Event:
    """The event a ``{kind: ..., t: ..., actor: ..., <fields>}`` mapping describes."""
    return kinded_from_dict(EVENTS, value, path)


@event
@dataclass(frozen=True)
class BrakeEvent(Event):
    """The actor brakes at ``decel`` for ``duration`` (None: until it stands still), then resumes."""

    kind: ClassVar[str] = "brake"
    decel: float = 6.0
    """Deceleration, m/s^2, in (0, 12]."""
    duration: float | None = None
    """How long it brakes, s, > 0; None: until standstill."""

    def __post_init__(self):
        super().__post_init__()
        settle(self, "decel", number(self.decel, "decel", 0.0, 12.0, "m/s^2", lo_open=True))
        if self.duration is not None:
            settle(self, "duration", number(self.duration, "duration", 0.0, 1e4, "s", lo_open=True))


@event
@dataclass(frozen=True)
class LaneChangeEvent(Event):
    """The actor starts a lane change to its left or right neighbour lane."""

    kind: ClassVar[str] = "lane_change"
    direction: str = "left"
    """"left" or "right"."""

    def __post_init__(self):
        super().__post_init__()
        choice(self.direction, "direction", ("left", "right"))
