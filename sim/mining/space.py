"""Search spaces: maps from the unit cube [0, 1]^d to scenarios, which search strategies explore.

A ``ScenarioSpace`` takes a base scenario document and sets d of its values, each a ``Param`` naming a
path in the document (``actors[0].start.s``, ``events[1].decel``, ``ego.speed``, ``world.seed``) and a
range. ``around(scenario)`` derives such a space from any scenario (actor positions and speeds, event
times and strengths, the ego's speed; for a parking-lot scenario ``around_lot``: lot seed, goal bay, actor start
times and speeds), so a recorded failure can be perturbed locally. ``SPACES`` holds
the named spaces ``roadloop mine --space`` offers."""
from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from sim.registry import Registry
from sim.scenario.in_world import check_in_world, make_world
from sim.scenario.io import from_dict, load_scenario, to_dict
from sim.scenario.migrate import SCHEMA_VERSION
from sim.scenario.lot_plan import make_lot
from sim.scenario.parking import MAX_LOT_SPEED_MPS, ParkingScenario
from sim.scenario.schema import Scenario
from sim.scenario.values import ScenarioError

_STEP = re.compile(r"([A-Za-z_]\w*)|\[(\d+)\]")
_PATH = re.compile(r"[A-Za-z_]\w*(\[\d+\])*(\.[A-Za-z_]\w*(\[\d+\])*)*")


@dataclass(frozen=True)
class Param:
    """One searched value: the document ``path`` it sets, its range [lo, hi] and unit; ``integer`` values are
    rounded (e.g. a world seed); with ``choices`` (lo 0, hi len - 1) the cube's [0, 1] is split evenly among
    those values (e.g. the free bays of a lot)."""

    path: str
    lo: float
    hi: float
    unit: str = ""
    integer: bool = False
    choices: tuple = ()

    def __post_init__(self):
        if not self.lo <= self.hi:
            raise ValueError(f"Param {self.path}: lo {self.lo} > hi {self.hi}")
        if not _PATH.fullmatch(self.path):
            raise ValueError(f"Param {self.path!r}: expected a path like actors[0].start.s")
        if self.choices and (self.lo, self.hi) != (0, len(self.choices) - 1):
            raise ValueError(f"Param {self.path}: with {len(self.choices)} choices, lo and hi must be 0 and "
                             f"{len(self.choices) - 1}, got {self.lo} and {self.hi}")

    def value(self, u: float):
        if self.choices:
            return self.choices[min(int(float(u) * len(self.choices)), len(self.choices) - 1)]
        v = self.lo + float(u) * (self.hi - self.lo)
        return int(round(v)) if self.integer else v

    def unit_of(self, v: float) -> float:
        """The cube coordinate of value ``v`` (clipped to [0, 1]; of a choice, the middle of its share)."""
        if self.choices:
            return (self.choices.index(v) + 0.5) / len(self.choices)
        return float(np.clip((v - self.lo) / (self.hi - self.lo), 0.0, 1.0)) if self.hi > self.lo else 0.5


def _steps(path: str) -> list:
    return [m.group(1) if m.group(1) is not None else int(m.group(2)) for m in _STEP.finditer(path)]


def get_path(doc, path: str):
    for step in _steps(path):
        doc = doc[step]
    return doc


def set_path(doc, path: str, value) -> None:
    """Set ``path`` in the nested dict/list ``doc`` (the last mapping key may be new)."""
    *head, last = _steps(path)
    for step in head:
        doc = doc[step]
    doc[last] = value


@dataclass(frozen=True, eq=False)
class ScenarioSpace:
    """Scenarios that differ from ``base`` (a scenario document body) in the values ``params`` name."""

    name: str
    base: dict
    params: tuple[Param, ...]
    description: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return len(self.params)

    @cached_property
    def _world(self):
        return make_world(from_dict({"schema_version": SCHEMA_VERSION, **self.base}))

    def values(self, u) -> dict[str, float]:
        """The parameter values at cube point ``u`` (d,), by path."""
        u = np.asarray(u, dtype=np.float64).reshape(-1)
        if u.shape != (self.dim,) or not np.all((u >= 0) & (u <= 1)):
            raise ValueError(f"space {self.name}: expected a point in [0, 1]^{self.dim}, got {u.tolist()}")
        return {p.path: p.value(x) for p, x in zip(self.params, u)}

    def build(self, u, name: str | None = None, seed: int | None = None, description: str = "") -> Scenario:
        """The scenario at cube point ``u``, checked against its world (ScenarioError when it is invalid, e.g.
        actors overlap)."""
        doc = copy.deepcopy(self.base)
        for path, v in self.values(u).items():
            set_path(doc, path, v)
        doc["name"] = name or f"{self.name}-candidate"
        if description:
            doc["description"] = description
        if seed is not None:
            doc["seed"] = int(seed)
        scenario = from_dict({"schema_version": SCHEMA_VERSION, **doc})
        if isinstance(scenario, ParkingScenario):
            make_lot(scenario)
        else:
            check_in_world(scenario, self._world if doc["world"] == self.base["world"] else make_world(scenario))
        return scenario

    def center(self) -> np.ndarray:
        """The cube point of the base document's own values."""
        return np.array([p.unit_of(float(get_path(self.base, p.path))) for p in self.params])


def _body(scenario: Scenario) -> dict:
    doc = to_dict(scenario)
    doc.pop("schema_version", None)
    return doc


def around(scenario: Scenario, name: str | None = None, shift_m: float = 15.0, speed_ratio: float = 0.4,
           shift_s: float = 1.5) -> ScenarioSpace:
    """A space of local perturbations of ``scenario``: every lane-posed actor's start ``s`` +- ``shift_m``,
    every non-static actor's speed and the ego's speed +- ``speed_ratio`` of it (at least +- 2 m/s), every
    event's time +- ``shift_s`` and a brake's deceleration in [2, 10] m/s^2. A parking-lot scenario gets
    ``around_lot``'s space."""
    if isinstance(scenario, ParkingScenario):
        return around_lot(scenario, name, speed_ratio=speed_ratio)
    doc = _body(scenario)
    params = []
    for i, a in enumerate(doc.get("actors", [])):
        start = a.get("start")
        if isinstance(start, dict) and "lane" in start:
            params.append(Param(f"actors[{i}].start.s", max(0.0, start["s"] - shift_m), start["s"] + shift_m, "m"))
        if a["behaviour"]["kind"] == "idm":
            v = float(a.get("speed", 0.0))
            params.append(Param(f"actors[{i}].speed", max(0.0, min(v * (1 - speed_ratio), v - 2.0)),
                                max(v * (1 + speed_ratio), v + 2.0), "m/s"))
    v = float(doc["ego"].get("speed", 0.0))
    params.append(Param("ego.speed", max(0.0, min(v * (1 - speed_ratio), v - 2.0)), max(v * (1 + speed_ratio), v + 2.0),
                        "m/s"))
    for k, ev in enumerate(doc.get("events", [])):
        params.append(Param(f"events[{k}].t", max(0.0, ev["t"] - shift_s), ev["t"] + shift_s, "s"))
        if ev["kind"] == "brake":
            params.append(Param(f"events[{k}].decel", 2.0, 10.0, "m/s^2"))
    return ScenarioSpace(name or f"around-{scenario.name}", doc, tuple(params),
                         f"local perturbations of scenario {scenario.name}", {"around": scenario.name})


def around_lot(scenario: ParkingScenario, name: str | None = None, speed_ratio: float = 0.4, shift_s: float = 5.0,
               seeds: int = 0) -> ScenarioSpace:
    """A space of perturbations of parking scenario ``scenario``: the goal bay (one of the bays the scenario is
    valid with), every path actor's start time
    +- ``shift_s`` (within the episode) and speed +- ``speed_ratio`` of it (within (0, MAX_LOT_SPEED_MPS]), and
    with ``seeds`` > 0 the lot's seed +- ``seeds`` (another lot: most such proposals are invalid, as their goal
    bay is taken)."""
    doc = _body(scenario)
    lot = make_lot(scenario)
    doc["ego"]["goal_bay"] = int(lot.goal_bay)
    free = [k for k in range(len(lot.bays)) if _valid(dataclasses.replace(
        scenario, ego=dataclasses.replace(scenario.ego, goal_bay=k)))]
    params = [Param("ego.goal_bay", 0, len(free) - 1, choices=tuple(free))]
    if seeds:
        seed = int(doc["world"]["seed"])
        params.append(Param("world.seed", max(0, seed - seeds), seed + seeds, integer=True))
    end = scenario.success.max_seconds
    for i, a in enumerate(doc.get("actors", [])):
        b = a["behaviour"]
        if b["kind"] == "path":
            t, v = float(b.get("start_t", 0.0)), float(b.get("speed", 1.0))
            params.append(Param(f"actors[{i}].behaviour.start_t", max(0.0, t - shift_s), min(end, t + shift_s), "s"))
            params.append(Param(f"actors[{i}].behaviour.speed", max(0.1, v * (1 - speed_ratio)),
                                min(MAX_LOT_SPEED_MPS, v * (1 + speed_ratio)), "m/s"))
    return ScenarioSpace(name or f"around-{scenario.name}", doc, tuple(params),
                         f"perturbations of parking scenario {scenario.name}", {"around": scenario.name})


def _valid(scenario: ParkingScenario) -> bool:
    """Whether ``scenario`` passes make_lot's checks."""
    try:
        make_lot(scenario)
    except ScenarioError:
        return False
    return True


@dataclass(frozen=True, eq=False)
class WorldSpace(ScenarioSpace):
    """A ScenarioSpace over generated worlds: its params may set the world's seed and spec, the background
    traffic and the ego's speed; ``ego.start.lane`` is a fraction in [0, 1] that picks the ego's start among
    the world's lanes outside junctions (by id order), and the ego drives a sampled route of ``route_m``."""

    route_m: float = 300.0

    def build(self, u, name: str | None = None, seed: int | None = None, description: str = "") -> Scenario:
        values = self.values(u)
        doc = copy.deepcopy(self.base)
        for path, v in values.items():
            if path != "ego.start.lane":
                set_path(doc, path, v)
        world = make_world(from_dict({"schema_version": SCHEMA_VERSION, **doc}))
        g = world.lanes
        lanes = np.flatnonzero((g.lane_junction < 0) & (g.lane_length > 20.0))
        lane = int(lanes[min(int(values.get("ego.start.lane", 0.0) * len(lanes)), len(lanes) - 1)])
        doc["ego"]["start"] = {"lane": lane, "s": 5.0}
        doc["ego"]["route"] = {"length_m": self.route_m}
        fixed = ScenarioSpace(self.name, doc, ())
        fixed.__dict__["_world"] = world  # the cached_property's slot: this world is built already
        return fixed.build(np.zeros(0), name, seed, description)

    def center(self) -> np.ndarray:
        return np.full(self.dim, 0.5)


SPACES: Registry = Registry("search space")
"""Named spaces: factories returning a ScenarioSpace."""


def _cut_in() -> ScenarioSpace:
    return ScenarioSpace("cut_in", _body(load_scenario("cut_in_short_gap")), (
        Param("actors[0].start.s", 12.0, 45.0, "m"),
        Param("actors[0].speed", 8.0, 20.0, "m/s"),
        Param("ego.speed", 8.0, 18.0, "m/s"),
        Param("events[0].t", 0.0, 4.0, "s"),
        Param("events[1].t", 0.5, 8.0, "s"),
        Param("events[1].decel", 1.0, 9.0, "m/s^2"),
        Param("events[1].duration", 0.5, 4.0, "s"),
    ), "a car in the next lane cuts in ahead of the ego and brakes: where, how fast, when and how hard")


def _lead_brake() -> ScenarioSpace:
    return ScenarioSpace("lead_brake", _body(load_scenario("lead_car_hard_brake")), (
        Param("actors[0].start.s", 20.0, 60.0, "m"),
        Param("actors[0].speed", 10.0, 25.0, "m/s"),
        Param("ego.speed", 10.0, 25.0, "m/s"),
        Param("events[0].t", 0.5, 8.0, "s"),
        Param("events[0].decel", 1.0, 10.0, "m/s^2"),
    ), "the car ahead brakes to a standstill: gap, speeds, when and how hard")


def _procedural() -> ScenarioSpace:
    base = {"name": "procedural", "description": "a generated world with traffic",
            "world": {"seed": 0, "spec": {"road_length_m": 1200.0}}, "traffic": {"count": 20},
            "ego": {"route": {"length_m": 300.0}, "start": {"lane": 0, "s": 5.0}, "speed": 8.0},
            "success": {"max_seconds": 40.0, "min_route_completion": 1.0}}
    return WorldSpace("procedural", base, (
        Param("world.seed", 0, 100_000, integer=True),
        Param("world.spec.curvature_max", 0.002, 0.04, "1/m"),
        Param("world.spec.junctions_per_km", 0.0, 5.0, "1/km"),
        Param("traffic.count", 0, 40, integer=True),
        Param("ego.speed", 0.0, 15.0, "m/s"),
        Param("ego.start.lane", 0.0, 1.0, "fraction"),
    ), "generated worlds: road shape, junction density, traffic, the ego's start and speed")


SPACES.add("procedural", _procedural)
SPACES.add("cut_in", _cut_in)
SPACES.add("lead_brake", _lead_brake)


def make_space(name: str) -> ScenarioSpace:
    """A named space, or ``around:<scenario name or file>`` for local perturbations of any scenario."""
    if name.startswith("around:"):
        return around(load_scenario(name.partition(":")[2]))
    return SPACES.get(name)()
