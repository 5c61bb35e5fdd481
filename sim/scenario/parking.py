"""Parking-lot scenarios: a scenario document whose ``world`` is a lot (``kind: parking_lot``).

Same ``schema_version``, loader and errors as road scenarios (sim.scenario.io picks this schema when
``world.kind`` is ``parking_lot``). A parking scenario holds the lot (seed + LotSpec ranges), the ego's start
pose and goal bay, extra actors (static cars and cones, which join the lot's obstacles; cars and pedestrians
that move along a path of poses and wait while the ego is in their way), and success criteria (parked within
tolerances by ``max_seconds``, no collision). Lot-frame coordinates: m, x along the aisles, origin at the lot's
lower-left corner inside the curb (sim.parking.lot); headings rad counter-clockwise from +x."""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import ClassVar

from sim.parking.lot import LotSpec
from sim.registry import Registry
from sim.traffic.vehicle_classes import CLASS_NAMES

from .events import ACTOR_ID
from .poses import XYPose
from .schema import NAME, Size
from .values import (Kinded, Record, ScenarioError, choice, flag, instance, integer, join, kinded_from_dict, mapping,
                     number, sequence, settle, show, spec_to_dict, text, tuple_of)

WORLD_KIND = "parking_lot"
"""``world.kind`` of a parking scenario."""
MAX_LOT_SPEED_MPS = 5.0
"""Largest speed of anything in a parking scenario, m/s."""
VEHICLES = tuple(c for c in CLASS_NAMES if c != "semi")
"""Vehicle classes a lot actor may take (an articulated semi does not fit a lot)."""
CLASSES = (*VEHICLES, "pedestrian", "cone")
"""Classes of lot actors: vehicles (static or on a path), pedestrians (on a path), cones (static)."""
MIN_STEP_M = 0.1
"""Shortest distance between consecutive poses of a path, m."""
MAX_COUNTS = {"aisles": 10, "bays_per_row": 100, "cones": 50}
"""Largest values of the integer LotSpec ranges a document may ask for."""
MAX_LOT_M = 100.0
"""Largest value of the LotSpec ranges in metres (bay, aisle and end-zone sizes), m."""

LOT_BEHAVIOURS: Registry[type["LotBehaviour"]] = Registry("parking behaviour kind")
lot_behaviour = LOT_BEHAVIOURS.decorator("kind")


def lot_spec_from_dict(value, path: str) -> LotSpec:
    """A LotSpec from a mapping of some of its fields: (low, high) pairs as two-element lists (integers for
    aisles, bays_per_row and cones, at most MAX_COUNTS; metres at most MAX_LOT_M), probabilities as numbers;
    errors name the field."""
    defaults = {f.name: f.default for f in dataclasses.fields(LotSpec)}
    kwargs = {}
    for key, v in mapping(value, path, defaults).items():
        where, default = join(path, key), defaults[key]
        if isinstance(default, tuple):
            pair = sequence(v, where)
            if len(pair) != 2:
                raise ScenarioError(f"expected [low, high], got {show(v)}", where)
            if isinstance(default[0], int):
                kwargs[key] = tuple(integer(x, f"{where}[{i}]", 0, MAX_COUNTS[key]) for i, x in enumerate(pair))
            else:
                kwargs[key] = tuple(number(x, f"{where}[{i}]", 0.0, MAX_LOT_M, "m") for i, x in enumerate(pair))
        else:
            kwargs[key] = number(v, where, 0.0, 1.0)
    try:
        return LotSpec(**kwargs)
    except ValueError as e:
        m = re.match(r"LotSpec\.(\w+)", str(e))
        name = m.group(1) if m and m.group(1) in defaults else ""
        raise ScenarioError(str(e).removeprefix(f"LotSpec.{name} ").removeprefix(f"LotSpec.{name}"),
                            join(path, name)) from None


@dataclass(frozen=True)
class LotSection(Record):
    """The lot: ``generate_lot(lot, np.random.default_rng(seed))`` (the lot ``roadloop/Parking-v0`` draws after
    ``reset(seed=seed)``)."""

    PARSE = {"lot": lot_spec_from_dict}
    kind: str
    """Always WORLD_KIND."""
    seed: int
    """Seed of the lot generator, in [0, 2^63 - 1]."""
    lot: LotSpec = field(default_factory=LotSpec)

    def __post_init__(self):
        choice(self.kind, "kind", (WORLD_KIND,))
        settle(self, "seed", integer(self.seed, "seed"))
        instance(self.lot, "lot", LotSpec)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "seed": self.seed, "lot": spec_to_dict(self.lot)}


@dataclass(frozen=True)
class ParkingEgo(Record):
    """The ego: where it starts and which bay it must park in."""

    PARSE = {"start": XYPose.from_dict}
    start: XYPose | None = None
    """Start pose in the lot frame; None: the lot's entry pose."""
    speed: float = 0.0
    """Start speed along the heading, m/s, in [-5, 5] (negative: reversing)."""
    steer: float = 0.0
    """Start front wheel angle, rad, in [-1, 1] (left positive)."""
    goal_bay: int | None = None
    """Index of the goal bay in the lot's bays (rows from the bottom, bays along +x); None: the drawn one."""
    reverse_in: bool | None = None
    """Park facing the aisle (true) or nose in (false); None: as drawn."""

    def __post_init__(self):
        if self.start is not None:
            instance(self.start, "start", XYPose, "a pose {x, y, heading}")
        settle(self, "speed", number(self.speed, "speed", -MAX_LOT_SPEED_MPS, MAX_LOT_SPEED_MPS, "m/s"))
        settle(self, "steer", number(self.steer, "steer", -1.0, 1.0, "rad"))
        if self.goal_bay is not None:
            settle(self, "goal_bay", integer(self.goal_bay, "goal_bay", 0, 10_000))
        if self.reverse_in is not None:
            flag(self.reverse_in, "reverse_in")


class LotBehaviour(Kinded):
    """Base of the behaviours of lot actors."""


def lot_behaviour_from_dict(value, path: str) -> LotBehaviour:
    return kinded_from_dict(LOT_BEHAVIOURS, value, path)


@lot_behaviour
@dataclass(frozen=True)
class LotStatic(LotBehaviour):
    """Stands at its ``start`` pose all episode; it joins the lot's obstacles (planners see it)."""

    kind: ClassVar[str] = "static"


@lot_behaviour
@dataclass(frozen=True)
class LotPath(LotBehaviour):
    """Moves along ``path`` at ``speed`` from ``start_t``: its position runs along the straight segments between
    the poses and its heading turns evenly between theirs (so a car can back out of a bay: a segment against
    its heading is driven in reverse). It waits while the ego's box comes within 0.5 m of its own box anywhere
    along the next ``yield_m`` of its path; it stands where it starts (``start_s`` along the path) before
    ``start_t`` and at the last pose at the end."""

    kind: ClassVar[str] = "path"
    PARSE = {"path": tuple_of(XYPose.from_dict)}
    path: tuple
    """At least 2 poses {x, y, heading}, consecutive ones at least MIN_STEP_M apart."""
    speed: float = 1.0
    """m/s, in (0, 5]."""
    start_t: float = 0.0
    """s, in [0, 1e4]."""
    yield_m: float = 3.0
    """m, in [0, 30]; 0: never waits."""
    start_s: float = 0.0
    """Where along the path it starts, m of arc length from the first pose, at most the path's length (an
    exported episode's actors go on from where they were)."""

    def __post_init__(self):
        poses = tuple(instance(self.path, "path", (list, tuple), "a list of poses"))
        if len(poses) < 2:
            raise ScenarioError(f"expected at least 2 poses, got {len(poses)}", "path")
        for i, pose in enumerate(poses):
            instance(pose, f"path[{i}]", XYPose, "a pose {x, y, heading}")
            if i and math.hypot(pose.x - poses[i - 1].x, pose.y - poses[i - 1].y) < MIN_STEP_M:
                raise ScenarioError(f"expected at least {MIN_STEP_M:g} m from path[{i - 1}]", f"path[{i}]")
        settle(self, "path", poses)
        settle(self, "speed", number(self.speed, "speed", 0.0, MAX_LOT_SPEED_MPS, "m/s", lo_open=True))
        settle(self, "start_t", number(self.start_t, "start_t", 0.0, 1e4, "s"))
        settle(self, "yield_m", number(self.yield_m, "yield_m", 0.0, 30.0, "m"))
        length = sum(math.hypot(b.x - a.x, b.y - a.y) for a, b in zip(poses, poses[1:]))
        settle(self, "start_s", number(self.start_s, "start_s", 0.0, length, "m"))


@dataclass(frozen=True, kw_only=True)
class LotActor(Record):
    """Another road user, a parked car or a cone in the lot. Static actors need ``start``; path actors start at
    their path's first pose."""

    KEYS = {"vehicle_class": "class"}
    PARSE = {"size": Size.from_dict, "start": XYPose.from_dict, "behaviour": lot_behaviour_from_dict}
    id: str
    """Unique among actors."""
    vehicle_class: str = "car"
    """One of CLASSES (document key ``class``)."""
    size: Size | None = None
    """None: the middle of the class's size range (a cone: 0.4 m square)."""
    start: XYPose | None = None
    behaviour: LotBehaviour

    def __post_init__(self):
        text(self.id, "id", ACTOR_ID)
        choice(self.vehicle_class, "class", CLASSES)
        instance(self.behaviour, "behaviour", LotBehaviour, "a behaviour (static or path)")
        if self.size is not None:
            instance(self.size, "size", Size)
        moving = isinstance(self.behaviour, LotPath)
        if self.vehicle_class == "cone" and moving:
            raise ScenarioError("a cone stands still; use behaviour static", "behaviour.kind")
        if self.vehicle_class == "pedestrian" and not moving:
            raise ScenarioError("a pedestrian walks a path; use behaviour path", "behaviour.kind")
        if moving and self.start is not None:
            raise ScenarioError("a path actor starts at its path's first pose; remove start", "start")
        if not moving:
            if self.start is None:
                raise ScenarioError("required field missing (a static actor needs a start pose)", "start")
            instance(self.start, "start", XYPose, "a pose {x, y, heading}")


@dataclass(frozen=True)
class ParkingSuccess(Record):
    """Passed: parked in the goal bay within the tolerances by ``max_seconds`` (the episode's end)."""

    max_seconds: float = 60.0
    """Episode length, s, in (0, 1e4]."""
    position_tol_m: float = 0.5
    """Largest distance of the ego's centre from the goal pose, m, in (0, 5]."""
    heading_tol_rad: float = 0.2
    """Largest heading error, rad, in (0, pi]."""
    speed_tol_mps: float = 0.1
    """Largest speed when parked, m/s, in (0, 2]."""
    no_collision: bool = True
    """Fail on any collision of the ego."""

    def __post_init__(self):
        for name, hi, unit in (("max_seconds", 1e4, "s"), ("position_tol_m", 5.0, "m"),
                               ("heading_tol_rad", math.pi, "rad"), ("speed_tol_mps", 2.0, "m/s")):
            settle(self, name, number(getattr(self, name), name, 0.0, hi, unit, lo_open=True))
        flag(self.no_collision, "no_collision")


@dataclass(frozen=True, kw_only=True)
class ParkingScenario(Record):
    """One parking scenario; see the module docstring. Actors are a tuple (lists are converted)."""

    PARSE = {"world": LotSection.from_dict, "ego": ParkingEgo.from_dict, "actors": tuple_of(LotActor.from_dict),
             "success": ParkingSuccess.from_dict}
    name: str
    """Matches sim.scenario.schema.NAME."""
    description: str = ""
    world: LotSection
    ego: ParkingEgo = field(default_factory=ParkingEgo)
    actors: tuple[LotActor, ...] = ()
    success: ParkingSuccess = field(default_factory=ParkingSuccess)
    seed: int | None = None
    """Reset seed of the episode it reproduces; nothing in a parking scenario is left to chance, so it only
    fixes which seed evaluations use for their first repetition."""

    def __post_init__(self):
        text(self.name, "name", NAME)
        if self.seed is not None:
            settle(self, "seed", integer(self.seed, "seed"))
        text(self.description, "description")
        instance(self.world, "world", LotSection)
        instance(self.ego, "ego", ParkingEgo)
        instance(self.success, "success", ParkingSuccess)
        actors = tuple(instance(self.actors, "actors", (list, tuple), "a list"))
        seen = set()
        for i, actor in enumerate(actors):
            instance(actor, f"actors[{i}]", LotActor, "a LotActor")
            if actor.id in seen:
                raise ScenarioError(f"duplicate actor id {actor.id!r}", f"actors[{i}].id")
            seen.add(actor.id)
            b = actor.behaviour
            if isinstance(b, LotPath) and b.start_t > self.success.max_seconds:
                raise ScenarioError(f"after the episode ends (success.max_seconds {self.success.max_seconds:g} s), "
                                    f"got {b.start_t:g} (s)", f"actors[{i}].behaviour.start_t")
        settle(self, "actors", actors)


def is_parking_document(body) -> bool:
    """Whether a document body describes a parking scenario (its ``world.kind`` is WORLD_KIND)."""
    return isinstance(body, dict) and isinstance(body.get("world"), dict) and body["world"].get("kind") == WORLD_KIND
