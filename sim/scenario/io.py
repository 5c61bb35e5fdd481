"""Scenario files: YAML (.yaml, .yml) or JSON (.json), chosen by extension; never pickle.

YAML is read with a SafeLoader (no python tags, nothing executed) that also refuses duplicate
keys. A bare name such as ``"cut_in_short_gap"`` resolves from the ``scenarios/`` folder of the
repository. Saving writes a temporary file beside the target and renames it over the target."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from sim.atomic import atomic_open

from .migrate import SCHEMA_VERSION, migrate
from .parking import WORLD_KIND, ParkingScenario, is_parking_document
from .schema import Scenario
from .values import ScenarioError, show

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
"""Shipped scenarios, found by bare name."""
FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}
MAX_BYTES = 64 * 2**20
"""Largest scenario file read, bytes."""
INLINE_CHARS = 80
"""YAML output writes a mapping of scalars on one line when it is about this short."""


def from_dict(doc, file: str = "") -> Scenario | ParkingScenario:
    """The scenario of a whole document (with ``schema_version``, migrated when older): a ParkingScenario when
    ``world.kind`` is ``parking_lot``, else a (road) Scenario."""
    try:
        body = {k: v for k, v in migrate(doc).items() if k != "schema_version"}
        if is_parking_document(body):
            return ParkingScenario.from_dict(body)
        world = body.get("world")
        if isinstance(world, dict) and "kind" in world:
            raise ScenarioError(f"expected {WORLD_KIND!r}, or no kind for a road world, got {show(world['kind'])}",
                                "world.kind")
        return Scenario.from_dict(body)
    except ScenarioError as e:
        raise e.in_file(file) if file else e


def to_dict(scenario: Scenario | ParkingScenario) -> dict:
    """The document of a Scenario: plain dicts, lists, str, float, int and bool only."""
    return {"schema_version": SCHEMA_VERSION, **scenario.to_dict()}


def loads(text: str, fmt: str = "yaml", file: str = "<string>") -> Scenario | ParkingScenario:
    """The Scenario in ``text`` of format "yaml" or "json"; any problem is a ScenarioError."""
    try:
        if fmt == "yaml":
            doc = yaml.load(text, Loader=_Loader)  # a SafeLoader: no object construction
        elif fmt == "json":
            doc = parse_json(text)
        else:
            raise ScenarioError(f"unknown format {fmt!r}; known: yaml, json")
    except yaml.YAMLError as e:
        raise ScenarioError(f"not valid YAML: {' '.join(str(e).split())}", file=file) from None
    except RecursionError:
        raise ScenarioError("nested too deeply", file=file) from None
    except ScenarioError as e:
        raise e.in_file(file) from None
    except ValueError as e:  # integers too long to convert
        raise ScenarioError(f"not valid YAML: {e}", file=file) from None
    return from_dict(doc, file)


def parse_json(text: str):
    """The JSON value in ``text``; syntax errors, NaN/Infinity and repeated keys raise ScenarioError."""
    try:
        return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise ScenarioError("nested too deeply") from None
    except ScenarioError:
        raise
    except ValueError as e:
        raise ScenarioError(f"not valid JSON: {e}") from None


def dumps(scenario: Scenario | ParkingScenario, fmt: str = "yaml") -> str:
    """Text of the scenario document: YAML in field order, short lists inline, or indented JSON."""
    doc = to_dict(scenario)
    if fmt == "json":
        return json.dumps(doc, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    raise ScenarioError(f"unknown format {fmt!r}; known: yaml, json")


def resolve(path) -> Path:
    """``path`` itself when it exists, else a bare name looked up in SCENARIO_DIR."""
    p = Path(path)
    if p.exists() or p.parent != Path(".") or p.suffix in FORMATS:
        return p
    for suffix in FORMATS:
        if (SCENARIO_DIR / (p.name + suffix)).exists():
            return SCENARIO_DIR / (p.name + suffix)
    return p


def load_scenario(path) -> Scenario | ParkingScenario:
    """The scenario in a file (or shipped scenario name); errors name the file."""
    p = resolve(path)
    if not p.is_file():
        raise ScenarioError(f"no such file, nor a scenario of that name in {SCENARIO_DIR}", file=str(p))
    fmt = _format(p)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise ScenarioError(f"file of {size} bytes exceeds {MAX_BYTES}", file=str(p))
        text = p.read_bytes().decode("utf-8")
    except OSError as e:
        raise ScenarioError(f"cannot read: {e.strerror or e}", file=str(p)) from None
    except UnicodeDecodeError as e:
        raise ScenarioError(f"not UTF-8 text: {e.reason} at byte {e.start}", file=str(p)) from None
    return loads(text, fmt, str(p))


def save_scenario(scenario: Scenario | ParkingScenario, path) -> Path:
    """Write the scenario to ``path`` (format by extension) atomically; returns the path."""
    p = Path(path)
    text = dumps(scenario, _format(p))
    with atomic_open(p, "w", encoding="utf-8") as f:
        f.write(text)
    return p


def _format(p: Path) -> str:
    if p.suffix.lower() not in FORMATS:
        raise ScenarioError(f"unknown extension {p.suffix!r}; use one of {list(FORMATS)}", file=str(p))
    return FORMATS[p.suffix.lower()]


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated in one mapping."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise ScenarioError(f"duplicate key {key_node.value!r} (line {key_node.start_mark.line + 1})")
                seen.add(key_node.value)
        return super().construct_mapping(node, deep)


class _Dumper(yaml.SafeDumper):
    """SafeDumper writing lists of scalars and short mappings of scalars inline, never emitting anchors."""

    def ignore_aliases(self, data):
        return True


def _represent_list(dumper, data):
    flow = bool(data) and not any(isinstance(x, (dict, list)) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_dict(dumper, data):
    flow = (not any(isinstance(v, (dict, list)) for v in data.values())
            and sum(len(str(k)) + len(str(v)) + 4 for k, v in data.items()) <= INLINE_CHARS)
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)


def _no_constant(name):
    raise ScenarioError(f"{name} is not a number this schema accepts")


def _unique_keys(pairs):
    out = dict(pairs)
    if len(out) < len(pairs):
        seen = set()
        raise ScenarioError(f"duplicate key {next(k for k, _ in pairs if k in seen or seen.add(k))!r}")
    return out
