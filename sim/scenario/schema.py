"""The scenario schema: frozen dataclasses validated on construction (units in field docstrings).

A Scenario is data: a world (seed + WorldSpec), optional background traffic, the ego's route and
start, scripted actors with behaviours, timed events and success criteria. ``Scenario.from_dict``
reads the document body (see sim.scenario.io for files and ``schema_version``); every error is a
ScenarioError naming the path in the document."""
from __future__ import annotations

from dataclasses import dataclass, field

from sim.traffic.signals import CONTROL_KINDS
from sim.traffic.spec import TrafficSpec
from sim.traffic.actor_classes import SCRIPTED_CLASSES
from sim.traffic.vehicle_classes import CLASS_NAMES
from sim.world.spec import WorldSpec

from .behaviours import Behaviour, behaviour_from_dict
from .events import ACTOR_ID, Event, event_from_dict
from .poses import LanePose, Pose, XYPose, pose_from_dict
from .values import (MAX_SPEED_MPS, Record, ScenarioError, choice, flag, instance, integer, join, number, settle, show,
                     spec_from_dict, spec_to_dict, text, tuple_of)

NAME = r"[A-Za-z0-9_.-]{1,128}"
"""Pattern of scenario names (usable as file names)."""
EGO_ID = "ego"
"""Reserved: no scripted actor may take this id."""


@dataclass(frozen=True)
class Size(Record):
    """Outer dimensions of a vehicle's box."""

    length: float
    """m, in (0, 30]."""
    width: float
    """m, in (0, 5]."""
    height: float | None = None
    """m, in (0, 6]; None: sampled from the vehicle class."""

    def __post_init__(self):
        settle(self, "length", number(self.length, "length", 0.0, 30.0, "m", lo_open=True))
        settle(self, "width", number(self.width, "width", 0.0, 5.0, "m", lo_open=True))
        if self.height is not None:
            settle(self, "height", number(self.height, "height", 0.0, 6.0, "m", lo_open=True))


@dataclass(frozen=True)
class RouteSpec(Record):
    """The ego's route: exactly one of ``lanes`` (given) or ``length_m`` (sampled by the sim)."""

    lanes: tuple[int, ...] | None = None
    """Lane ids in driving order; each next lane is a successor or a left/right neighbour."""
    length_m: float | None = None
    """Route length, m, in (0, 1e5]: the sim samples a route of this length from the ego's start lane."""

    def __post_init__(self):
        if (self.lanes is None) == (self.length_m is None):
            raise ScenarioError(f"expected exactly one of lanes or length_m, got {show(self.to_dict())}")
        if self.lanes is not None:
            settle(self, "lanes", tuple_of(integer)(self.lanes, "lanes"))
            if not self.lanes:
                raise ScenarioError("expected at least one lane id", "lanes")
        else:
            settle(self, "length_m", number(self.length_m, "length_m", 0.0, 1e5, "m", lo_open=True))


@dataclass(frozen=True)
class Ego(Record):
    """The agent-driven vehicle: its route, start pose and start speed."""

    PARSE = {"route": RouteSpec.from_dict, "start": pose_from_dict}
    route: RouteSpec
    start: Pose
    """On the route's first lane."""
    speed: float = 0.0
    """Start speed, m/s, in [0, 100]."""

    def __post_init__(self):
        instance(self.route, "route", RouteSpec)
        instance(self.start, "start", (LanePose, XYPose), "a pose")
        settle(self, "speed", number(self.speed, "speed", 0.0, MAX_SPEED_MPS, "m/s"))


@dataclass(frozen=True, kw_only=True)
class Actor(Record):
    """A scripted road user. Replay actors take pose and speed from their track (``start`` and
    ``speed`` absent); the others need ``start`` (speed defaults to 0; static actors stay at 0)."""

    KEYS = {"vehicle_class": "class"}
    PARSE = {"size": Size.from_dict, "start": pose_from_dict, "behaviour": behaviour_from_dict}
    id: str
    """Unique among actors; not "ego"."""
    vehicle_class: str = "car"
    """One of sim.traffic.actor_classes.SCRIPTED_CLASSES (document key ``class``): a vehicle class, or
    pedestrian, cyclist, dog (these move by static, walk, crowd (pedestrians only) or replay behaviours)."""
    size: Size | None = None
    """None: sampled from the class."""
    start: Pose | None = None
    speed: float | None = None
    """Start speed, m/s, in [0, 100]."""
    behaviour: Behaviour

    def __post_init__(self):
        text(self.id, "id", ACTOR_ID)
        if self.id == EGO_ID:
            raise ScenarioError(f"{EGO_ID!r} is reserved for the ego", "id")
        choice(self.vehicle_class, "class", SCRIPTED_CLASSES)
        if self.vehicle_class not in CLASS_NAMES and self.behaviour.kind == "idm":
            raise ScenarioError(f"a {self.vehicle_class} cannot drive by idm; use walk, static or replay", "behaviour.kind")
        if self.behaviour.kind == "crowd" and self.vehicle_class != "pedestrian":
            raise ScenarioError(f"a crowd is made of pedestrians, got class {self.vehicle_class!r}", "class")
        if self.size is not None:
            instance(self.size, "size", Size)
        instance(self.behaviour, "behaviour", Behaviour, "a behaviour")
        if self.behaviour.replays:
            for name in ("start", "speed"):
                if getattr(self, name) is not None:
                    raise ScenarioError(f"a {self.behaviour.kind} actor takes its {name} from its track; remove it",
                                        name)
            return
        if self.start is None:
            raise ScenarioError(f"required field missing (a {self.behaviour.kind} actor needs a start pose)", "start")
        instance(self.start, "start", (LanePose, XYPose), "a pose")
        settle(self, "speed", number(0.0 if self.speed is None else self.speed, "speed", 0.0, MAX_SPEED_MPS, "m/s"))
        if self.behaviour.kind == "static" and self.speed != 0.0:
            raise ScenarioError(f"a static actor stands still, got {self.speed:g} (m/s)", "speed")


@dataclass(frozen=True)
class Success(Record):
    """When an episode of the scenario counts as passed; it ends at ``max_seconds``."""

    max_seconds: float = 60.0
    """Episode length, s, in (0, 1e5]."""
    min_route_completion: float = 1.0
    """Fraction of the route the ego must complete, in [0, 1]."""
    no_collision: bool = True
    """Fail on any collision of the ego."""
    no_off_road: bool = True
    """Fail when the ego leaves the drivable area."""

    def __post_init__(self):
        settle(self, "max_seconds", number(self.max_seconds, "max_seconds", 0.0, 1e5, "s", lo_open=True))
        settle(self, "min_route_completion", number(self.min_route_completion, "min_route_completion", 0.0, 1.0))
        flag(self.no_collision, "no_collision")
        flag(self.no_off_road, "no_off_road")


def junction_controls(value, path: str) -> tuple[tuple[int, str], ...]:
    """``{junction id: kind}`` (ids may be digit strings, as JSON keys are) as sorted (id, kind) pairs."""
    if isinstance(value, dict):
        value = list(value.items())
    if not isinstance(value, (tuple, list)) or not all(isinstance(p, (tuple, list)) and len(p) == 2 for p in value):
        raise ScenarioError(f"expected a mapping of junction id to control kind, got {show(value)}", path)
    out = {}
    for j, kind in value:
        where = join(path, str(j))
        out[integer(int(j) if isinstance(j, str) and j.isdigit() else j, where, 0, 10**6)] = choice(kind, where,
                                                                                                    CONTROL_KINDS)
    return tuple(sorted(out.items()))


@dataclass(frozen=True)
class WorldSection(Record):
    """The world: ``generate_world(spec, np.random.default_rng(seed))``."""

    PARSE = {"spec": lambda v, p: spec_from_dict(WorldSpec, v, p)}
    seed: int
    """Seed of the world generator, in [0, 2^63 - 1]."""
    spec: WorldSpec = field(default_factory=WorldSpec)
    controls: tuple[tuple[int, str], ...] = ()
    """Junction controls that replace the drawn ones: ``{junction id: kind}`` in the document, kinds among
    sim.traffic.signals.CONTROL_KINDS; whether the junction exists and fits the kind is checked against the world."""

    def __post_init__(self):
        settle(self, "seed", integer(self.seed, "seed"))
        instance(self.spec, "spec", WorldSpec)
        settle(self, "controls", junction_controls(self.controls, "controls"))

    def to_dict(self) -> dict:
        out = super().to_dict()
        out.pop("controls")
        return {**out, "controls": dict(self.controls)} if self.controls else out


@dataclass(frozen=True, kw_only=True)
class Scenario(Record):
    """One scenario; see the module docstring. Actors and events are tuples (lists are converted)."""

    PARSE = {"world": WorldSection.from_dict, "traffic": lambda v, p: spec_from_dict(TrafficSpec, v, p),
             "ego": Ego.from_dict, "actors": tuple_of(Actor.from_dict), "events": tuple_of(event_from_dict),
             "success": Success.from_dict}
    name: str
    """Matches NAME."""
    description: str = ""
    world: WorldSection
    traffic: TrafficSpec = field(default_factory=lambda: TrafficSpec(count=0))
    """Background IDM traffic around the ego; absent: none."""
    ego: Ego
    actors: tuple[Actor, ...] = ()
    events: tuple[Event, ...] = ()
    success: Success = field(default_factory=Success)
    seed: int | None = None
    """Reset seed of the episode this scenario reproduces (mined failures carry it): it fixes what the
    scenario leaves to chance (sizes left open, background traffic, junction turns). Evaluations use it for
    their first repetition; None: any seed."""

    def __post_init__(self):
        text(self.name, "name", NAME)
        if self.seed is not None:
            settle(self, "seed", integer(self.seed, "seed"))
        text(self.description, "description")
        instance(self.world, "world", WorldSection)
        instance(self.traffic, "traffic", TrafficSpec)
        instance(self.ego, "ego", Ego)
        instance(self.success, "success", Success)
        for name, cls in (("actors", Actor), ("events", Event)):
            items = tuple(instance(getattr(self, name), name, (list, tuple), "a list"))
            for i, item in enumerate(items):
                instance(item, f"{name}[{i}]", cls, f"an {cls.__name__}")
            settle(self, name, items)
        actors: dict[str, Actor] = {}
        for i, actor in enumerate(self.actors):
            if actor.id in actors:
                raise ScenarioError(f"duplicate actor id {actor.id!r}", f"actors[{i}].id")
            actors[actor.id] = actor
        for i, ev in enumerate(self.events):
            if ev.actor not in actors:
                raise ScenarioError(f"unknown actor {ev.actor!r}; known: {list(actors)}", f"events[{i}].actor")
            if actors[ev.actor].behaviour.kind not in ev.acts_on:
                raise ScenarioError(f"a {ev.kind} event needs a {' or '.join(ev.acts_on)} actor, "
                                    f"{ev.actor!r} is {actors[ev.actor].behaviour.kind}", f"events[{i}].actor")
            if ev.t > self.success.max_seconds:
                raise ScenarioError(f"after the episode ends (success.max_seconds {self.success.max_seconds:g} s), "
                                    f"got {ev.t:g} (s)", f"events[{i}].t")

    def to_dict(self) -> dict:
        return {**super().to_dict(), "traffic": spec_to_dict(self.traffic)}

