"""Evaluation suites: named lists of cases, and the deterministic seed of every episode.

A suite spec is a comma-separated list of
- ``default``: the shipped scenarios plus ``procedural:10``;
- ``scenarios``: every scenario file shipped in ``scenarios/`` (not the mined ones);
- ``procedural:K``: K generated worlds (world seeds 0..K-1) driven like ``roadloop/Drive-v0`` with traffic;
- a shipped scenario's name, a scenario file, or a folder of scenario files (searched recursively, e.g.
  ``scenarios/mined/<campaign>`` as a regression suite)."""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.scenario.io import FORMATS, SCENARIO_DIR, load_scenario, to_dict
from sim.scenario.values import ScenarioError

DEFAULT_SUITE = "scenarios,procedural:10"
PROCEDURAL_EPISODE_S = 40.0
"""Length of a procedural case's episodes, s."""
PROCEDURAL_ROUTE_M = 400.0
"""Route length of a procedural case, m."""


class SuiteError(ValueError):
    """A suite spec naming nothing that exists; the message says which part."""


@dataclass(frozen=True)
class Case:
    """One thing to evaluate: a scenario document, or (``scenario`` None) a generated world driven with the
    environment options ``config`` (DriveConfig keyword options)."""

    name: str
    scenario: dict | None = None
    config: dict = field(default_factory=dict)
    source: str = ""
    """Where the case came from (file path, or the spec part)."""


def _scenario_case(path: Path, name: str | None = None) -> Case:
    scenario = load_scenario(path)
    return Case(name or scenario.name, to_dict(scenario), {}, str(path))


def _procedural(k: int) -> list[Case]:
    return [Case(f"world-{seed:03d}", None, {"world_seed": seed, "episode_seconds": PROCEDURAL_EPISODE_S,
                                            "route_length_m": PROCEDURAL_ROUTE_M}, f"procedural:{k}")
            for seed in range(k)]


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in FORMATS and p.is_file())


def load_suite(spec: str) -> list[Case]:
    """The cases of a suite spec (see the module docstring); SuiteError or ScenarioError names the bad part."""
    cases: list[Case] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            raise SuiteError(f"suite {spec!r}: empty part")
        if part == "default":
            cases += load_suite(DEFAULT_SUITE)
        elif part == "scenarios":
            cases += [_scenario_case(p) for p in sorted(SCENARIO_DIR.glob("*")) if p.suffix in FORMATS]
        elif part.startswith("procedural"):
            head, _, count = part.partition(":")
            if head != "procedural" or not count.isdigit() or not 1 <= int(count) <= 100_000:
                raise SuiteError(f"suite {spec!r}: expected procedural:K with K in 1..100000, got {part!r}")
            cases += _procedural(int(count))
        elif Path(part).is_dir():
            files = _files(Path(part))
            if not files:
                raise SuiteError(f"suite {spec!r}: folder {part} holds no scenario files ({', '.join(FORMATS)})")
            cases += [_scenario_case(p) for p in files]
        else:
            try:
                cases.append(_scenario_case(Path(part)))
            except ScenarioError as e:
                if e.path or Path(part).exists():
                    raise
                raise SuiteError(f"suite {spec!r}: {part!r} is not a suite name (default, scenarios, "
                                 f"procedural:K), a folder, a scenario file or a shipped scenario") from None
    names = [c.name for c in cases]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SuiteError(f"suite {spec!r}: case names appear more than once: {dupes}")
    return cases


def episode_seed(base_seed: int, case: Case, rep: int) -> int:
    """Reset seed of repetition ``rep`` of ``case``: the scenario's own seed for rep 0 when it has one
    (mined failures reproduce), else derived from (base_seed, case name, rep), whatever the worker."""
    if rep == 0 and case.scenario is not None and case.scenario.get("seed") is not None:
        return int(case.scenario["seed"])
    ss = np.random.SeedSequence([base_seed, zlib.crc32(case.name.encode()), rep])
    return int(ss.generate_state(1, np.uint64)[0] % 2**63)
