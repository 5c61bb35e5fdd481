"""Scenarios from recorded trajectories.

Units: times s, positions m, headings rad (counter-clockwise from +x), speeds m/s, sizes m.

CSV: one row per actor per time, with the header (columns in any order, no others)::

    id,t,x,y,heading,speed,length,width[,height][,class]

Rows of one id come in increasing t (rows of different ids may interleave). An actor's size is the
median of its rows; ``class`` (default ``car``) must be the same on all rows of an id.

JSON::

    {"tracks": [{"id": "car1", "class": "car", "size": {"length": 4.5, "width": 1.8, "height": 1.5},
                 "t": [...], "x": [...], "y": [...], "heading": [...], "speed": [...]}]}

``class`` and ``size`` are optional (``car``; a size sampled from the class); ``height`` too.

Times are shifted so the scenario starts at t = 0: at the ego's first sample when ``ego_id`` names
a track, else at the earliest sample; earlier samples are dropped, and so are actors left without
any. Headings are wrapped to [-pi, pi).
"""
from __future__ import annotations

import csv
import io as _io
import math
import re
import statistics
from pathlib import Path

from sim.traffic.vehicle_classes import CLASS_NAMES
from sim.world.spec import WorldSpec

from .behaviours import IdmBehaviour, ReplayBehaviour, Track
from .events import ACTOR_ID
from .io import parse_json
from .schema import Actor, Ego, RouteSpec, Scenario, Size, Success, WorldSection, XYPose
from .values import MAX_SPEED_MPS, ScenarioError, choice, join, mapping, number, numbers_, sequence, show, text

COLUMNS = ("id", "t", "x", "y", "heading", "speed", "length", "width")
OPTIONAL_COLUMNS = ("height", "class")
TRACK_FIELDS = ("t", "x", "y", "heading", "speed")
CSV_RANGES = {"speed": (0.0, MAX_SPEED_MPS, "m/s"), "length": (0.0, math.inf, "m", True),
              "width": (0.0, math.inf, "m", True), "height": (0.0, math.inf, "m", True)}
"""Ranges CSV cells are checked against on their line (lo, hi, unit[, lo_open]); sizes' upper limits come from Size."""


def import_tracks(path, world_seed: int, world_spec: WorldSpec = WorldSpec(), ego_id: str | None = None,
                  reactive: bool = False, *, ego: Ego | None = None, success: Success | None = None,
                  name: str | None = None) -> Scenario:
    """A Scenario whose actors follow the tracks in a .csv or .json file (format: module docstring).

    Actors replay their tracks, or with ``reactive`` drive IDM from their first sample (all at t=0).
    Exactly one of ``ego_id`` (that track gives the ego's start pose and speed, and a route of its
    path length, at least 1 m) and ``ego`` is given. ``success`` defaults to max_seconds = the last
    sample's time (at least 1 s); ``name`` to the file's stem. Errors name the file and the line
    (CSV) or path (JSON)."""
    p = Path(path)
    try:
        if (ego_id is None) == (ego is None):
            raise ScenarioError("give exactly one of ego_id and ego")
        tracks = _read(p)
        ids = [tr["id"] for tr in tracks]
        if ego_id is not None and ego_id not in ids:
            raise ScenarioError(f"ego_id {ego_id!r}: no track of that id; ids: {show(ids)}")
        t0 = tracks[ids.index(ego_id)]["t"][0] if ego_id is not None else min(tr["t"][0] for tr in tracks)
        actors, end = [], 1.0
        for tr in tracks:
            keep = [i for i, t in enumerate(tr["t"]) if t >= t0]
            if not keep:
                continue
            try:
                track = Track(**{k: tuple(_shift(k, tr[k][i], t0) for i in keep) for k in TRACK_FIELDS})
            except ScenarioError as e:
                raise e.within(tr["path"]) from None
            end = max(end, track.t[-1])
            if tr["id"] == ego_id:
                length = sum(math.hypot(x1 - x0, y1 - y0) for x0, y0, x1, y1 in
                             zip(track.x, track.y, track.x[1:], track.y[1:]))
                ego = Ego(route=RouteSpec(length_m=max(length, 1.0)),
                          start=XYPose(track.x[0], track.y[0], track.heading[0]), speed=track.speed[0])
            elif reactive:
                actors.append(Actor(id=tr["id"], vehicle_class=tr["class"], size=tr["size"],
                                    start=XYPose(track.x[0], track.y[0], track.heading[0]), speed=track.speed[0],
                                    behaviour=IdmBehaviour()))
            else:
                actors.append(Actor(id=tr["id"], vehicle_class=tr["class"], size=tr["size"],
                                    behaviour=ReplayBehaviour(track)))
        return Scenario(name=name or (re.sub(r"[^A-Za-z0-9_.-]", "_", p.stem)[:128] or "imported"),
                        description=f"Imported from {p.name}.", world=WorldSection(world_seed, world_spec), ego=ego,
                        actors=tuple(actors), success=success or Success(max_seconds=end))
    except ScenarioError as e:
        raise e.in_file(p) from None


def _shift(field: str, value: float, t0: float) -> float:
    if field == "t":
        return value - t0
    if field == "heading":
        return (value + math.pi) % (2 * math.pi) - math.pi
    return value


def _read(p: Path) -> list[dict]:
    """Tracks as dicts {path (where in the file), id, class, size (Size | None), t, x, y, heading, speed
    (lists of floats)}."""
    try:
        content = p.read_bytes().decode("utf-8")
    except OSError as e:
        raise ScenarioError(f"cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ScenarioError(f"not UTF-8 text: {e.reason} at byte {e.start}") from None
    if p.suffix.lower() == ".csv":
        tracks = [_track(tr, f"id {tr['id']!r}") for tr in _read_csv(content)]
    elif p.suffix.lower() == ".json":
        doc = mapping(parse_json(content), "", ("tracks",), ("tracks",))
        tracks = [_track(tr, f"tracks[{i}]") for i, tr in enumerate(sequence(doc["tracks"], "tracks"))]
    else:
        raise ScenarioError(f"unknown extension {p.suffix!r}; use .csv or .json")
    if not tracks:
        raise ScenarioError("no tracks")
    return tracks


def _track(doc, path: str) -> dict:
    """One JSON-style track checked: numbers finite, arrays of one length, t increasing."""
    fields = ("id", "class", "size") + TRACK_FIELDS
    mapping(doc, path, fields, ("id",) + TRACK_FIELDS)
    raw_id = doc["id"]
    out = {"path": path, "id": text(str(raw_id) if isinstance(raw_id, int) and not isinstance(raw_id, bool) else raw_id,
                      join(path, "id"), ACTOR_ID),
           "class": choice(doc.get("class", "car"), join(path, "class"), CLASS_NAMES),
           "size": Size.from_dict(doc["size"], join(path, "size")) if "size" in doc else None}
    for k in TRACK_FIELDS:
        lo, hi = (0.0, MAX_SPEED_MPS) if k == "speed" else (-math.inf, math.inf)
        out[k] = numbers_(doc[k], join(path, k), lo, hi)
        if len(out[k]) != len(out["t"]):
            raise ScenarioError(f"expected {len(out['t'])} values (as many as t), got {len(out[k])}", join(path, k))
    for i in range(1, len(out["t"])):
        if out["t"][i] <= out["t"][i - 1]:
            raise ScenarioError(f"times must increase, got {out['t'][i]:g} after {out['t'][i - 1]:g} (s)",
                                join(path, f"t[{i}]"))
    return out


def _read_csv(content: str) -> list[dict]:
    """CSV rows grouped by id into JSON-style tracks; errors name the line and column."""
    reader = csv.reader(_io.StringIO(content, newline=""))
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        raise ScenarioError(f"header needs the columns {','.join(COLUMNS)}[,height][,class] once each; "
                            f"missing {missing}, unknown {unknown}, got {header}", "line 1")
    tracks: dict[str, dict] = {}
    for row in reader:
        if not row:
            continue
        line = f"line {reader.line_num}"
        if len(row) != len(header):
            raise ScenarioError(f"expected {len(header)} values, got {len(row)}", line)
        cells = {h: c.strip() for h, c in zip(header, row)}
        tr = tracks.setdefault(cells["id"], {"id": cells["id"], "class": cells.get("class", "car"),
                                             "sizes": [], **{k: [] for k in TRACK_FIELDS}})
        if cells.get("class", "car") != tr["class"]:
            raise ScenarioError(f"class {cells['class']!r} differs from {tr['class']!r} on earlier rows of id "
                                f"{cells['id']!r}", join(line, "class"))
        values = {k: number(_float(v), join(line, k), *CSV_RANGES.get(k, ())) for k, v in cells.items()
                  if k not in ("id", "class")}
        if tr["t"] and values["t"] <= tr["t"][-1]:
            raise ScenarioError(f"times of id {cells['id']!r} must increase, got {values['t']:g} after "
                                f"{tr['t'][-1]:g} (s)", join(line, "t"))
        for k in TRACK_FIELDS:
            tr[k].append(values[k])
        tr["sizes"].append([values[k] for k in ("length", "width", "height") if k in values])
    for tr in tracks.values():
        sizes = tr.pop("sizes")
        tr["size"] = dict(zip(("length", "width", "height"), map(statistics.median, zip(*sizes))))
    return list(tracks.values())


def _float(cell: str):
    """The number in a CSV cell, or the cell itself (for the error message) when it holds none."""
    try:
        return float(cell)
    except ValueError:
        return cell

