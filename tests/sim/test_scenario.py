"""sim.scenario: validation errors name file and path, round trips, migrations, world checks, track
import, and fuzzing the loader (only ScenarioError may come out)."""
import copy
import csv
import json
import math
from functools import lru_cache

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim.scenario.migrate as migrate_module
from sim.registry import Registry
from sim.scenario.behaviours import IdmBehaviour, ReplayBehaviour
from sim.scenario.in_world import EGO_BOX_M, check_in_world, make_world
from sim.scenario.io import from_dict, load_scenario, loads, save_scenario
from sim.scenario.schema import XYPose
from sim.scenario.tracks import import_tracks
from sim.scenario.values import ScenarioError
from sim.world import WorldSpec, generate_world

SPEC = {"road_length_m": 800, "lanes_per_direction": [2, 2]}
# Deadline: a deeply nested YAML document costs ~0.9 s (Python recursion limit) and more under CI load.
FUZZ = settings(max_examples=200, deadline=10_000, database=None, suppress_health_check=[HealthCheck.too_slow])


@lru_cache(maxsize=None)
def world():
    return generate_world(WorldSpec.from_dict(SPEC), np.random.default_rng(12))


def lane_track(lane, s0, speed, n=5):
    """A track along a lane of the test world at constant speed, 1 s apart (plain floats)."""
    t = np.arange(n, dtype=float)
    xy, heading = world().lanes.cartesian(np.full(n, lane), s0 + speed * t, np.zeros(n))
    heading = (heading + math.pi) % (2 * math.pi) - math.pi
    return {"t": t.tolist(), "x": xy[:, 0].tolist(), "y": xy[:, 1].tolist(), "heading": heading.tolist(),
            "speed": [float(speed)] * n}


def valid_doc():
    """A document exercising every part of the schema, valid in the test world (lanes 4 and 5 are
    neighbours, 5 -> 61 -> 7 a route)."""
    return {
        "schema_version": 1,
        "name": "cut_in_short_gap",
        "description": "A car in the left lane cuts in ahead of the ego.",
        "world": {"seed": 12, "spec": dict(SPEC)},
        "traffic": {"count": 0},
        "ego": {"route": {"lanes": [5, 61, 7]}, "start": {"lane": 5, "s": 10.0}, "speed": 12.0},
        "actors": [
            {"id": "car1", "class": "car", "size": {"length": 4.5, "width": 1.8, "height": 1.5},
             "start": {"lane": 4, "s": 22.0, "d": 0.0}, "speed": 13.0,
             "behaviour": {"kind": "idm", "speed_factor": 1.0, "time_headway": 1.2, "min_gap": 2.0,
                           "max_accel": 1.5, "comfort_decel": 2.0, "politeness": 0.3}},
            {"id": "truck1", "class": "truck", "behaviour": {"kind": "replay", "track": lane_track(5, 60.0, 10.0)}},
            {"id": "parked", "class": "van", "start": {"lane": 4, "s": 150.0}, "behaviour": {"kind": "static"}},
        ],
        "events": [
            {"t": 3.0, "kind": "brake", "actor": "car1", "decel": 6.0, "duration": 1.5},
            {"t": 2.0, "kind": "lane_change", "actor": "car1", "direction": "right"},
        ],
        "success": {"max_seconds": 30.0, "min_route_completion": 1.0, "no_collision": True, "no_off_road": True},
    }


DELETE = object()


def mutate(doc, keys, value):
    """``doc`` with the item at ``keys`` replaced by ``value`` (deleted for DELETE)."""
    doc = copy.deepcopy(doc)
    parent = doc
    for k in keys[:-1]:
        parent = parent[k]
    if value is DELETE:
        del parent[keys[-1]]
    else:
        parent[keys[-1]] = value
    return doc


def write(tmp_path, doc, suffix=".yaml"):
    path = tmp_path / f"doc{suffix}"
    path.write_text(json.dumps(doc) if suffix == ".json" else yaml.safe_dump(doc, sort_keys=False))
    return path


# ------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_load_save_load_gives_an_identical_scenario(tmp_path, suffix):
    first = load_scenario(write(tmp_path, valid_doc(), suffix))
    out = save_scenario(first, tmp_path / f"saved{suffix}")
    again = load_scenario(out)
    assert again == first
    assert save_scenario(again, tmp_path / f"again{suffix}").read_text() == out.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"doc{suffix}", f"saved{suffix}", f"again{suffix}"])


def test_saved_yaml_is_plain_and_in_field_order(tmp_path):
    text = save_scenario(from_dict(valid_doc()), tmp_path / "s.yaml").read_text()
    assert text.startswith("schema_version: 1\nname: cut_in_short_gap\n")
    assert "!!" not in text and "&" not in text
    assert "start: {lane: 4, s: 22.0, d: 0.0}" in text


def test_shipped_scenario_loads_by_name_and_fits_its_world():
    s = load_scenario("cut_in_short_gap")
    check_in_world(s, make_world(s))
    assert s.ego.route.lanes and s.events


def test_missing_file_and_unknown_extension_name_the_file(tmp_path):
    with pytest.raises(ScenarioError, match="no_such_scenario: no such file"):
        load_scenario("no_such_scenario")
    bad = tmp_path / "doc.toml"
    bad.write_text("x = 1")
    with pytest.raises(ScenarioError, match=r"doc\.toml: unknown extension '\.toml'"):
        load_scenario(bad)


# ------------------------------------------------------------------------- validation errors
BAD = [
    (("actors", 0, "start", "s"), -3, "actors[0].start.s", "expected a number in [0, 100000] (m), got -3"),
    (("colour",), "red", "colour", "unknown field"),
    (("actors", 0, "size", "length"), -1.0, "actors[0].size.length", "expected a number in (0, 30] (m)"),
    (("ego", "speed"), 120, "ego.speed", "expected a number in [0, 100] (m/s), got 120"),
    (("ego", "speed"), "fast", "ego.speed", "expected a number"),
    (("ego", "speed"), True, "ego.speed", "expected a number"),
    (("ego", "start"), {"x": 0.0, "y": 0.0, "heading": 7.0}, "ego.start.heading", "in [-6.28319, 6.28319] (rad)"),
    (("ego", "start"), {"s": 3.0}, "ego.start", "expected a pose"),
    (("ego", "route"), {"lanes": [5], "length_m": 100.0}, "ego.route", "exactly one of lanes or length_m"),
    (("ego", "route", "lanes", 1), 6.5, "ego.route.lanes[1]", "expected an integer"),
    (("ego",), DELETE, "ego", "required field missing"),
    (("actors", 1, "behaviour", "track", "t", 2), 0.5, "actors[1].behaviour.track.t[2]", "times must increase"),
    (("actors", 1, "behaviour", "track", "x"), [0.0, 1.0], "actors[1].behaviour.track.x", "expected 5 values"),
    (("actors", 1, "behaviour", "track", "speed", 0), -1.0, "actors[1].behaviour.track.speed[0]", "(m/s)"),
    (("actors", 1, "start"), {"lane": 5, "s": 1.0}, "actors[1].start", "takes its start from its track"),
    (("actors", 1, "id"), "car1", "actors[1].id", "duplicate actor id 'car1'"),
    (("actors", 0, "id"), "ego", "actors[0].id", "reserved"),
    (("actors", 0, "class"), "tank", "actors[0].class", "expected one of ['car', 'suv', 'van', 'bus', 'truck', 'semi', 'pedestrian',"),
    (("actors", 0, "behaviour", "kind"), "teleport", "actors[0].behaviour.kind", "expected one of"),
    (("actors", 0, "behaviour", "politeness"), 2.0, "actors[0].behaviour.politeness", "in [0, 1]"),
    (("actors", 0, "behaviour", "aggression"), 1.0, "actors[0].behaviour.aggression", "unknown field"),
    (("actors", 0, "start"), DELETE, "actors[0].start", "needs a start pose"),
    (("actors", 2, "speed"), 3.0, "actors[2].speed", "a static actor stands still"),
    (("actors",), {"car1": {}}, "actors", "expected a list"),
    (("events", 0, "actor"), "car9", "events[0].actor", "unknown actor 'car9'"),
    (("events", 0, "actor"), "parked", "events[0].actor", "a brake event needs a idm actor"),
    (("events", 0, "kind"), "explode", "events[0].kind", "expected one of ['brake', 'lane_change']"),
    (("events", 0, "decel"), 0.0, "events[0].decel", "expected a number in (0, 12] (m/s^2)"),
    (("events", 1, "direction"), "up", "events[1].direction", "expected one of ['left', 'right']"),
    (("events", 0, "t"), 31.0, "events[0].t", "after the episode ends"),
    (("world", "seed"), 1.5, "world.seed", "expected an integer"),
    (("world", "spec", "lanes_per_direction"), [3, 1], "world.spec.lanes_per_direction", "need 1 <= low"),
    (("world", "spec", "lane_width_m"), "wide", "world.spec.lane_width_m", "expected a list"),
    (("traffic", "count"), -1, "traffic.count", "expected an int in 0..500"),
    (("traffic", "bogus"), 1, "traffic.bogus", "unknown field"),
    (("success", "no_collision"), "yes", "success.no_collision", "expected true or false"),
    (("success", "max_seconds"), float("nan"), "success.max_seconds", "expected a number"),
    (("name",), "has space", "name", "expected a string matching"),
    (("schema_version",), DELETE, "schema_version", "required field missing"),
]


@pytest.mark.parametrize("keys,value,path,message", BAD, ids=[b[2] for b in BAD])
def test_each_invalid_document_names_file_path_and_problem(tmp_path, keys, value, path, message):
    file = write(tmp_path, mutate(valid_doc(), keys, value))
    with pytest.raises(ScenarioError) as err:
        load_scenario(file)
    assert str(err.value).startswith(f"{file}: {path}: "), str(err.value)
    assert message in str(err.value)
    assert (err.value.file, err.value.path) == (str(file), path)


def test_json_errors_name_the_file_and_path_too(tmp_path):
    file = write(tmp_path, mutate(valid_doc(), ("actors", 0, "start", "s"), -3), ".json")
    with pytest.raises(ScenarioError, match=r"doc\.json: actors\[0\]\.start\.s: expected a number"):
        load_scenario(file)


def test_yaml_python_tags_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "ran"
    text = f"!!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(ScenarioError, match="not valid YAML"):
        loads(text)
    with pytest.raises(ScenarioError, match="not valid YAML"):
        loads("schema_version: 1\nname: !!python/object:builtins.dict {}\n")
    assert not marker.exists()


def test_repeated_keys_are_refused():
    with pytest.raises(ScenarioError, match="duplicate key 'name' \\(line 3\\)"):
        loads("schema_version: 1\nname: a\nname: b\n")
    with pytest.raises(ScenarioError, match="duplicate key 'name'"):
        loads('{"schema_version": 1, "name": "a", "name": "b"}', "json")


# ------------------------------------------------------------------------- schema versions
def test_migration_hook_applies_registered_steps_in_order(monkeypatch):
    registry = Registry("scenario migration")
    registry.add("0", lambda doc: {**{k: v for k, v in doc.items() if k != "vehicles"}, "actors": doc["vehicles"]})
    old = valid_doc()
    old["schema_version"] = 0
    old["vehicles"] = old.pop("actors")
    with pytest.raises(ScenarioError, match="schema_version: no migration from version 0"):
        from_dict(old)
    monkeypatch.setattr(migrate_module, "MIGRATIONS", registry)
    assert from_dict(old) == from_dict(valid_doc())


def test_document_newer_than_the_code_is_refused(tmp_path):
    file = write(tmp_path, mutate(valid_doc(), ("schema_version",), 2))
    with pytest.raises(ScenarioError, match=r"doc\.yaml: schema_version: version 2 is newer than this code reads"):
        load_scenario(file)


# ------------------------------------------------------------------------- in the world
def test_valid_document_fits_its_world_and_ego_box_matches_the_env():
    from sim.env.simulation import EGO_LENGTH, EGO_WIDTH

    check_in_world(from_dict(valid_doc()), world())
    assert EGO_BOX_M == (EGO_LENGTH, EGO_WIDTH)


IN_WORLD = [
    (("actors", 0, "start"), {"x": 1e5, "y": 1e5, "heading": 0.0}, "actors[0].start",
     "(100000.00, 100000.00) is off the drivable area"),
    (("actors", 0, "start"), {"lane": 5, "s": 13.0}, "actors[0].start", "overlaps the ego at t=0"),
    (("actors", 2, "start"), {"lane": 4, "s": 24.0, "d": 0.5}, "actors[2].start", "overlaps actor 'car1' at t=0"),
    (("actors", 1, "behaviour", "track", "x", 0), 1e5, "actors[1].behaviour.track", "off the drivable area"),
    (("actors", 0, "start", "lane"), 999, "actors[0].start.lane", "no lane 999 in this world"),
    (("actors", 0, "start", "s"), 5000.0, "actors[0].start.s", "the length of lane 4"),
    (("ego", "route", "lanes"), [5, 7], "ego.route.lanes[1]", "lane 7 does not follow lane 5"),
    (("ego", "route", "lanes"), [5, 4, 60], "ego.route.lanes[0]", None),  # lane change to 4 is fine: start lane
    (("ego", "start", "lane"), 4, "ego.start.lane", "expected the route's first lane 5"),
    (("ego", "start"), {"x": 1e5, "y": 0.0, "heading": 0.0}, "ego.start", "off the drivable area"),
]


@pytest.mark.parametrize("keys,value,path,message", IN_WORLD, ids=[f"{w[2]}-{i}" for i, w in enumerate(IN_WORLD)])
def test_check_in_world_names_the_path(keys, value, path, message):
    s = from_dict(mutate(valid_doc(), keys, value))
    if message is None:
        check_in_world(s, world())
        return
    with pytest.raises(ScenarioError) as err:
        check_in_world(s, world(), file="x.yaml")
    assert str(err.value).startswith(f"x.yaml: {path}: ") and message in str(err.value), str(err.value)


# ------------------------------------------------------------------------- track import
def recorded():
    """Two recorded tracks on the test world: the ego on lane 5, a car on lane 4 appearing 1 s later."""
    ego = lane_track(5, 10.0, 12.0, n=6)
    car = lane_track(4, 30.0, 13.0, n=4)
    car["t"] = [t + 1.0 for t in car["t"]]
    ego["t"] = [t + 100.0 for t in ego["t"]]  # absolute times: shifted to the ego's first sample
    car["t"] = [t + 100.0 for t in car["t"]]
    return [{"id": "rec_ego", "class": "car", "size": {"length": 4.7, "width": 1.85, "height": 1.5}, **ego},
            {"id": "car7", "class": "suv", "size": {"length": 4.8, "width": 1.9, "height": 1.7}, **car}]


def write_csv(path, tracks):
    rows = [(tr["id"], t, x, y, h, v, *tr["size"].values(), tr["class"]) for tr in tracks
            for t, x, y, h, v in zip(tr["t"], tr["x"], tr["y"], tr["heading"], tr["speed"])]
    rows.sort(key=lambda r: r[1])  # ids interleave
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "t", "x", "y", "heading", "speed", "length", "width", "height", "class"])
        w.writerows(rows)
    return path


def test_csv_and_json_tracks_import_into_the_same_valid_scenario(tmp_path):
    a = import_tracks(write_csv(tmp_path / "drive.csv", recorded()), 12, WorldSpec.from_dict(SPEC), ego_id="rec_ego")
    (tmp_path / "drive.json").write_text(json.dumps({"tracks": recorded()}))
    b = import_tracks(tmp_path / "drive.json", 12, WorldSpec.from_dict(SPEC), ego_id="rec_ego")
    assert a.actors == b.actors and a.ego == b.ego and a.success == b.success and a.name == b.name == "drive"
    check_in_world(a, world())
    (car,) = a.actors
    assert isinstance(car.behaviour, ReplayBehaviour) and car.vehicle_class == "suv"
    assert car.behaviour.track.t == (1.0, 2.0, 3.0, 4.0) and a.success.max_seconds == 5.0
    assert a.ego.start.x == pytest.approx(recorded()[0]["x"][0]) and a.ego.speed == 12.0
    assert a.ego.route.length_m == pytest.approx(60.0, rel=1e-2)
    assert load_scenario(save_scenario(a, tmp_path / "drive.yaml")) == a


def test_reactive_import_starts_idm_actors_at_their_first_sample(tmp_path):
    s = import_tracks(write_csv(tmp_path / "d.csv", recorded()), 12, WorldSpec.from_dict(SPEC), ego_id="rec_ego",
                      reactive=True)
    (car,) = s.actors
    assert isinstance(car.behaviour, IdmBehaviour) and isinstance(car.start, XYPose) and car.speed == 13.0


BAD_CSV = [
    ("id,t,x,y,heading,speed,length\nc,0,0,0,0,1,4\n", "line 1", "missing ['width']"),
    ("id,t,x,y,heading,speed,length,width,colour\n", "line 1", "unknown ['colour']"),
    ("id,t,x,y,heading,speed,length,width\nc,0,0,0,0,1,4,2\nc,1,abc,0,0,1,4,2\n", "line 3.x",
     "expected a number (finite), got 'abc'"),
    ("id,t,x,y,heading,speed,length,width\nc,0,0,0,0,1,4,2\nc,1,nan,0,0,1,4,2\n", "line 3.x", "expected a number"),
    ("id,t,x,y,heading,speed,length,width\nc,0,0,0,0,1,4,2\nd,0,9,0,0,1,4,2\nc,0,1,0,0,1,4,2\n", "line 4.t",
     "times of id 'c' must increase"),
    ("id,t,x,y,heading,speed,length,width\nc,0,0,0,0,-1,4,2\n", "line 2.speed", "[0, 100] (m/s)"),
    ("id,t,x,y,heading,speed,length,width\nc,0,0,0,0,1,4\n", "line 2", "expected 8 values, got 7"),
]


@pytest.mark.parametrize("content,path,message", BAD_CSV, ids=[b[1] + str(i) for i, b in enumerate(BAD_CSV)])
def test_bad_track_csv_names_file_line_and_column(tmp_path, content, path, message):
    file = tmp_path / "t.csv"
    file.write_text(content)
    with pytest.raises(ScenarioError) as err:
        import_tracks(file, 12, WorldSpec.from_dict(SPEC), ego_id="c")
    assert str(err.value).startswith(f"{file}: {path}: ") and message in str(err.value), str(err.value)


def test_bad_track_json_and_unknown_ego_id(tmp_path):
    tracks = recorded()
    tracks[1]["t"][2] = tracks[1]["t"][1]
    file = tmp_path / "t.json"
    file.write_text(json.dumps({"tracks": tracks}))
    with pytest.raises(ScenarioError, match=r"t\.json: tracks\[1\]\.t\[2\]: times must increase"):
        import_tracks(file, 12, WorldSpec.from_dict(SPEC), ego_id="rec_ego")
    file.write_text(json.dumps({"tracks": recorded()}))
    with pytest.raises(ScenarioError, match=r"t\.json: ego_id 'nobody': no track of that id"):
        import_tracks(file, 12, WorldSpec.from_dict(SPEC), ego_id="nobody")


# ------------------------------------------------------------------------- fuzzing
KEYS = sorted({"schema_version", "name", "world", "seed", "spec", "traffic", "count", "ego", "route", "lanes",
               "length_m", "start", "lane", "s", "d", "x", "y", "heading", "speed", "actors", "id", "class", "size",
               "length", "width", "height", "behaviour", "kind", "track", "t", "events", "actor", "decel",
               "direction", "success", "max_seconds", "idm", "replay", "static", "brake", "lane_change"})
scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**30), max_value=10**30)
           | st.floats() | st.text(max_size=8) | st.sampled_from(KEYS))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6) | st.integers(), inner, max_size=5),
                      max_leaves=25)


def only_scenario_errors(load):
    try:
        load()
    except ScenarioError:
        pass


@FUZZ
@given(doc=values)
def test_fuzz_random_documents_give_only_scenario_errors(doc):
    only_scenario_errors(lambda: from_dict(doc))
    if isinstance(doc, dict):
        only_scenario_errors(lambda: from_dict({"schema_version": 1, **doc}))


def paths(doc, prefix=()):
    """Every key path in a nested document."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for k, v in items:
        yield prefix + (k,)
        yield from paths(v, prefix + (k,))


VALID_PATHS = list(paths(valid_doc()))


@FUZZ
@given(data=st.data())
def test_fuzz_mutations_of_a_valid_document_give_only_scenario_errors(data):
    doc = valid_doc()
    for _ in range(data.draw(st.integers(1, 3))):
        keys = data.draw(st.sampled_from(VALID_PATHS))
        try:
            doc = mutate(doc, keys, data.draw(st.just(DELETE) | values))
        except (KeyError, IndexError, TypeError):  # an earlier mutation removed or replaced the parent
            pass
    only_scenario_errors(lambda: from_dict(doc))
    text = yaml.safe_dump(doc)
    only_scenario_errors(lambda: loads(text))


@FUZZ
@given(text=st.text(max_size=200) | st.sampled_from(["!!binary 'x'", "a: &a [*a]", "- " * 2000, "[" * 5000,
                                                     "x: !!set {a}", "2001-01-01", "1" * 5000, "{a: 1, a: 2}"]))
def test_fuzz_random_text_gives_only_scenario_errors(text):
    only_scenario_errors(lambda: loads(text, "yaml"))
    only_scenario_errors(lambda: loads(text, "json"))
