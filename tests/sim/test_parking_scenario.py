"""Parking-lot scenarios: the schema's parking section (errors name file and path), checks against the lot, round
trips and migrations, roadloop/Scenario-v0 playing them (actors backing out, walking, waiting for the ego), export
from Parking-v0, episode logs, bit-exact replay, re-drives, and `roadloop eval` on a parking case."""
import copy
import json
import math
import pickle

import gymnasium as gym
import numpy as np
import pytest
import yaml
from gymnasium.utils.env_checker import check_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim  # noqa: F401  (registers the environments)
import sim.scenario.migrate as migrate_module
from agents import make_agent
from sim.cli import main
from sim.env.parking import ParkingEnv
from sim.eval.episode import DEFAULT_PARKING_AGENT, EpisodeJob, run_episode
from sim.eval.report import render_report
from sim.eval.suite import Case
from sim.parking.lot import CAR, EGO_LENGTH_M, EGO_WIDTH_M
from sim.physics import boxes_overlap
from sim.registry import Registry
from sim.scenario.episode_log import LogError, load_log
from sim.scenario.in_world import make_world
from sim.scenario.io import dumps, from_dict, load_scenario, loads, save_scenario, to_dict
from sim.scenario.lot_plan import make_lot
from sim.scenario.parking import LotPath, ParkingScenario
from sim.scenario.recorder import RecordEpisodes
from sim.scenario.replay import camera_video, replay
from sim.scenario.values import ScenarioError
from tests.conftest import assert_same

UP, DOWN, LEFT = math.pi / 2, -math.pi / 2, math.pi
LOT = {"aisles": [1, 1], "bays_per_row": [7, 7], "bay_width_m": [3.0, 3.2], "bay_depth_m": [5.5, 5.8],
       "aisle_width_m": [7.5, 8.5], "end_zone_m": [9.0, 11.0], "occupancy": 0.8, "island_probability": 0.0,
       "cones": [0, 0], "reverse_in_probability": 0.4}
"""With world seed 2: bays 0..6 along the bottom (y 2.79), 7..13 along the top (y 16.70), x = 10.71 + 3.05 j;
free bays 5, 10 and 11; the aisle spans y 5.58..13.91, the lot x 0..40.75."""


def bay_x(j):
    return 10.71 + 3.05 * (j % 7)


def doc():
    """A valid parking document: a parked SUV, a walker crossing the aisle and a car backing out of bay 5."""
    return {
        "schema_version": 1, "name": "park_test", "description": "Reverse into bay 11.",
        "world": {"kind": "parking_lot", "seed": 2, "lot": dict(LOT)},
        "ego": {"start": {"x": 12.0, "y": 9.75, "heading": 0.0}, "goal_bay": 11, "reverse_in": True},
        "actors": [
            {"id": "suv", "class": "suv", "size": {"length": 4.7, "width": 1.9},
             "start": {"x": bay_x(10), "y": 16.9, "heading": UP}, "behaviour": {"kind": "static"}},
            {"id": "walker", "class": "pedestrian",
             "behaviour": {"kind": "path", "speed": 1.2, "start_t": 0.0,
                           "path": [{"x": 18.45, "y": 0.8, "heading": UP}, {"x": 18.45, "y": 15.5, "heading": UP}]}},
            {"id": "leaver", "class": "car", "size": {"length": 4.5, "width": 1.8},
             "behaviour": {"kind": "path", "speed": 1.0, "start_t": 1.0,
                           "path": [{"x": bay_x(5), "y": 3.0, "heading": DOWN},
                                    {"x": bay_x(5), "y": 5.0, "heading": DOWN},
                                    {"x": 27.5, "y": 6.8, "heading": LEFT}, {"x": 6.0, "y": 6.8, "heading": LEFT}]}},
        ],
        "success": {"max_seconds": 20.0, "position_tol_m": 0.5, "heading_tol_rad": 0.2, "speed_tol_mps": 0.1,
                    "no_collision": True},
    }


def tiny_doc():
    """Nose into bay 10 from 8 m in front of it: planners solve it in a few nodes."""
    return {"schema_version": 1, "name": "tiny", "world": {"kind": "parking_lot", "seed": 2, "lot": dict(LOT)},
            "ego": {"start": {"x": bay_x(10), "y": 8.0, "heading": UP}, "goal_bay": 10, "reverse_in": False},
            "success": {"max_seconds": 15.0}}


def mutate(d, keys, value):
    d = copy.deepcopy(d)
    parent = d
    for k in keys[:-1]:
        parent = parent[k]
    if value is None:
        del parent[keys[-1]]
    else:
        parent[keys[-1]] = value
    return d


def write(tmp_path, d, suffix=".yaml"):
    path = tmp_path / f"lot{suffix}"
    path.write_text(json.dumps(d) if suffix == ".json" else yaml.safe_dump(d, sort_keys=False))
    return path


# ------------------------------------------------------------------------- schema
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_load_save_load_gives_an_identical_parking_scenario(tmp_path, suffix):
    first = load_scenario(write(tmp_path, doc(), suffix))
    assert isinstance(first, ParkingScenario) and isinstance(first.actors[1].behaviour, LotPath)
    out = save_scenario(first, tmp_path / f"saved{suffix}")
    again = load_scenario(out)
    assert again == first
    assert save_scenario(again, tmp_path / f"again{suffix}").read_text() == out.read_text()
    assert to_dict(again)["world"]["kind"] == "parking_lot" and to_dict(again)["schema_version"] == 1


def test_the_shipped_parking_scenario_round_trips():
    s = load_scenario("parking_lot_manoeuvre")
    assert isinstance(s, ParkingScenario) and loads(dumps(s)) == s and loads(dumps(s, "json"), "json") == s


@pytest.mark.parametrize("keys, value, path, message", [
    (("world", "kind"), "parking", "world.kind", "expected 'parking_lot', or no kind for a road world"),
    (("world", "seed"), -1, "world.seed", "expected an integer"),
    (("world", "lot", "aisles"), [0, 1], "world.lot.aisles", "1 <= low <= high"),
    (("world", "lot", "aisles"), [1.5, 2], "world.lot.aisles[0]", "expected an integer"),
    (("world", "lot", "bays_per_row"), [5], "world.lot.bays_per_row", "expected [low, high]"),
    (("world", "lot", "bay_width_m"), [3.2, 3.0], "world.lot.bay_width_m", "low <= high"),
    (("world", "lot", "occupancy"), 1.5, "world.lot.occupancy", "expected a number in [0, 1]"),
    (("world", "lot", "bays"), 4, "world.lot.bays", "unknown field"),
    (("ego", "goal_bay"), -1, "ego.goal_bay", "expected an integer"),
    (("ego", "speed"), 9.0, "ego.speed", "[-5, 5] (m/s)"),
    (("ego", "start", "heading"), 9.0, "ego.start.heading", "(rad)"),
    (("ego", "reverse_in"), "yes", "ego.reverse_in", "expected true or false"),
    (("actors", 0, "class"), "semi", "actors[0].class", "expected one of"),
    (("actors", 0, "start"), None, "actors[0].start", "a static actor needs a start pose"),
    (("actors", 1, "behaviour"), {"kind": "static"}, "actors[1].behaviour.kind", "a pedestrian walks a path"),
    (("actors", 1, "behaviour", "speed"), 0.0, "actors[1].behaviour.speed", "in (0, 5] (m/s)"),
    (("actors", 1, "behaviour", "path"), [{"x": 1.0, "y": 1.0, "heading": 0.0}], "actors[1].behaviour.path",
     "at least 2 poses"),
    (("actors", 1, "behaviour", "path", 1), {"x": 18.5, "y": 0.8, "heading": 0.0}, "actors[1].behaviour.path[1]",
     "at least 0.1 m from path[0]"),
    (("actors", 1, "behaviour", "start_s"), 20.0, "actors[1].behaviour.start_s", "in [0, 14.7] (m)"),
    (("actors", 2, "behaviour", "start_t"), 30.0, "actors[2].behaviour.start_t", "after the episode ends"),
    (("actors", 2, "behaviour", "kind"), "idm", "actors[2].behaviour.kind",
     "expected one of ['path', 'static'], got 'idm'"),
    (("actors", 2, "start"), {"x": 1.0, "y": 1.0, "heading": 0.0}, "actors[2].start", "remove start"),
    (("actors", 2, "id"), "suv", "actors[2].id", "duplicate actor id 'suv'"),
    (("success", "position_tol_m"), 0.0, "success.position_tol_m", "in (0, 5] (m)"),
    (("success", "min_route_completion"), 1.0, "success.min_route_completion", "unknown field"),
])
def test_each_invalid_parking_document_names_file_path_and_problem(tmp_path, keys, value, path, message):
    file = write(tmp_path, mutate(doc(), keys, value))
    with pytest.raises(ScenarioError) as e:
        load_scenario(file)
    assert e.value.file == str(file) and e.value.path == path, str(e.value)
    assert message in e.value.message and str(e.value).startswith(f"{file}: {path}: ")


def test_a_cone_cannot_walk():
    bad = mutate(doc(), ("actors", 2, "class"), "cone")
    with pytest.raises(ScenarioError, match="actors\\[2\\].behaviour.kind: a cone stands still"):
        from_dict(bad)


@pytest.mark.parametrize("keys, value, path, message", [
    (("ego", "goal_bay"), 99, "ego.goal_bay", "no bay 99 in this lot (bays 0..13)"),
    (("ego", "goal_bay"), 9, "ego.goal_bay", "bay 9 is taken by a parked car or a cone in this lot; free bays: [5, "
                                             "10, 11]"),
    (("ego", "start"), {"x": bay_x(9), "y": 16.0, "heading": UP}, "ego.start", "overlaps a car"),
    (("ego", "start"), {"x": 1.0, "y": 9.75, "heading": 0.0}, "ego.start", "the ego at (1.00, 9.75) overlaps a curb"),
    (("ego", "start"), {"x": -20.0, "y": 9.75, "heading": 0.0}, "ego.start", "leaves the lot"),
    (("actors", 0, "start"), {"x": -3.0, "y": 9.0, "heading": 0.0}, "actors[0].start", "leaves the lot"),
    (("actors", 0, "start"), {"x": bay_x(9), "y": 16.9, "heading": UP}, "actors[0].start", "overlaps a car"),
    (("actors", 0, "start"), {"x": 20.0, "y": 18.7, "heading": 0.0}, "actors[0].start", "overlaps a curb"),
    (("actors", 0, "start"), {"x": bay_x(11), "y": 16.9, "heading": UP}, "actors[0].start", "is in the goal bay 11"),
    (("actors", 1, "behaviour", "path", 0), {"x": bay_x(3), "y": 0.8, "heading": UP}, "actors[1].behaviour.path[0]",
     "overlaps a car"),
    (("actors", 2, "behaviour", "path", 3), {"x": 6.0, "y": 3.0, "heading": LEFT}, "actors[2].behaviour.path[3]",
     "on the way from path[2] overlaps a car"),
    (("actors", 2, "behaviour", "path"),
     [{"x": 14.0, "y": 9.75, "heading": 0.0}, {"x": 20.0, "y": 9.75, "heading": 0.0}], "actors[2].behaviour",
     "overlaps the ego at t=0"),
])
def test_checks_against_the_lot_name_file_and_path(tmp_path, keys, value, path, message):
    file = write(tmp_path, mutate(doc(), keys, value))
    scenario = load_scenario(file)  # the schema alone accepts it
    with pytest.raises(ScenarioError) as e:
        gym.make("roadloop/Scenario-v0", scenario=str(file))
    assert e.value.path == path and e.value.file == str(file) and message in e.value.message, str(e.value)
    with pytest.raises(ScenarioError, match=message.replace("[", "\\[").replace("(", "\\(").replace(")", "\\)")):
        make_lot(scenario)


def test_migration_hook_applies_to_parking_documents(monkeypatch):
    registry = Registry("scenario migration")
    registry.add("0", lambda d: {**{k: v for k, v in d.items() if k != "lot_world"}, "world": d["lot_world"]})
    old = doc()
    old["schema_version"] = 0
    old["lot_world"] = old.pop("world")
    with pytest.raises(ScenarioError, match="schema_version: no migration from version 0"):
        from_dict(old)
    monkeypatch.setattr(migrate_module, "MIGRATIONS", registry)
    assert from_dict(old) == from_dict(doc())


KEYS = ["kind", "parking_lot", "seed", "lot", "aisles", "ego", "goal_bay", "start", "x", "y", "heading", "actors",
        "class", "behaviour", "path", "static", "speed", "start_t", "yield_m", "start_s", "success", "max_seconds"]
values = st.recursive(st.none() | st.booleans() | st.integers(-5, 60) | st.floats() | st.sampled_from(KEYS),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner,
                                                                                  max_size=3), max_leaves=10)


def paths(d, prefix=()):
    items = d.items() if isinstance(d, dict) else enumerate(d) if isinstance(d, list) else ()
    for k, v in items:
        yield prefix + (k,)
        yield from paths(v, prefix + (k,))


@settings(max_examples=150, deadline=10_000, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_mutations_of_a_parking_document_give_only_scenario_errors(data):
    d = doc()
    for _ in range(data.draw(st.integers(1, 3))):
        keys = data.draw(st.sampled_from(list(paths(d))))
        try:
            d = mutate(d, keys, data.draw(values))
        except (KeyError, IndexError, TypeError):
            pass
    try:
        make_lot(from_dict(d))
    except ScenarioError:
        pass


def test_road_world_tools_refuse_a_parking_scenario():
    with pytest.raises(ScenarioError, match="world.kind: 'parking_lot_manoeuvre' is a parking-lot scenario"):
        make_world(load_scenario("parking_lot_manoeuvre"))


# ------------------------------------------------------------------------- playing
def test_scenario_v0_plays_the_shipped_parking_scenario():
    env = gym.make("roadloop/Scenario-v0", scenario="parking_lot_manoeuvre")
    base = env.unwrapped
    assert isinstance(base, ParkingEnv) and base.scenario.name == "parking_lot_manoeuvre"
    check_env(base)
    obs, info = env.reset(seed=0)
    vs = info["vector_space"]
    assert base.lot.goal_bay == 11 and base.lot.reverse_in and vs["goal"][2] == pytest.approx(DOWN)
    assert vs["actors"].shape == (2, 5) and set(base.lot_actors.classes) == {"pedestrian", "car"}
    suv = load_scenario("parking_lot_manoeuvre").actors[0].start
    assert (np.abs(vs["obstacles"][vs["obstacle_kind"] == CAR][:, :2] - [suv.x, suv.y]) < 1e-9).all(axis=1).any()
    np.testing.assert_allclose(vs["ego"][:3], [14.0, 9.75, 0.0])
    assert gym.make("roadloop/Parking-v0", scenario="parking_lot_manoeuvre").unwrapped.scenario == base.scenario
    with pytest.raises(ValueError, match="not a parking scenario"):
        gym.make("roadloop/Parking-v0", scenario="cut_in_short_gap")


def _play(env, actions, seed=0):
    obs, info = env.reset(seed=seed)
    out = [(obs, info)]
    for a in actions:
        step = env.step(np.asarray(a, np.float32))
        out.append(step)
        if step[2] or step[3]:
            break
    return out


def test_a_car_backs_out_of_its_bay_then_drives_off_forward():
    env = gym.make("roadloop/Scenario-v0", scenario=from_dict(doc()))
    steps = _play(env, [[0.0, 0.0]] * 150)
    leaver = [(s[-1]["vector_space"]["actors"][1], s[-1]["vector_space"]["actor_speed"][1]) for s in steps]
    assert leaver[10][1] == 0.0 and leaver[10][0][1] == 3.0, "it waits in its bay until start_t = 1 s"
    backing = leaver[20]
    assert backing[1] == -1.0 and backing[0][1] > 3.0 and backing[0][2] == pytest.approx(DOWN), "reverse, nose in"
    driving = leaver[120]
    assert driving[1] == 1.0 and driving[0][1] == pytest.approx(6.8) and math.cos(driving[0][2]) == pytest.approx(-1)
    moved = (120 - 10) * 0.1  # 1 m/s from t = 1 s: 2 m straight back, the arc, then forward along y = 6.8
    assert driving[0][0] == pytest.approx(27.5 - (moved - 2.0 - math.hypot(27.5 - bay_x(5), 1.8)), abs=1e-6)


def test_actors_wait_for_the_ego_unless_told_not_to():
    """The ego stands in the aisle across the leaver's way out: looking 1 m ahead, it backs out partway and stops
    short of the ego for good; with yield_m 0 it backs into the ego (a collision that ends the episode and fails
    the verdict)."""
    blocking = mutate(doc(), ("ego", "start"), {"x": bay_x(5), "y": 8.3, "heading": 0.0})
    blocking = mutate(mutate(blocking, ("actors", 1), None), ("actors", 1, "behaviour", "yield_m"), 1.0)
    steps = _play(gym.make("roadloop/Scenario-v0", scenario=from_dict(blocking)), [[0.0, 0.0]] * 200)
    assert not any(s[2] for s in steps[1:]) and steps[-1][-1]["collision"] == ""
    car = steps[-1][-1]["vector_space"]["actors"][0]
    assert 3.5 < car[1] < 4.5 and steps[-1][-1]["vector_space"]["actor_speed"][0] == 0.0, "it stopped partway out"
    assert steps[-1][-1]["scenario"]["failed"][0].startswith("not parked")
    rude = mutate(blocking, ("actors", 1, "behaviour", "yield_m"), 0.0)
    steps = _play(gym.make("roadloop/Scenario-v0", scenario=from_dict(rude)), [[0.0, 0.0]] * 200)
    last = steps[-1]
    assert last[2] and last[-1]["collision"] == "car" and "collision (car)" in last[-1]["scenario"]["failed"]


def test_the_walker_waits_while_the_ego_is_in_its_way_then_crosses():
    ego_in_way = mutate(doc(), ("ego", "start"), {"x": 18.0, "y": 9.75, "heading": 0.0})
    steps = _play(gym.make("roadloop/Scenario-v0", scenario=from_dict(ego_in_way)), [[0.0, 0.0]] * 120)
    walker_y = [s[-1]["vector_space"]["actors"][0][1] for s in steps]
    ego = steps[0][-1]["vector_space"]["ego"]
    walker = steps[-1][-1]["vector_space"]["actors"][0]
    assert walker_y[-1] == walker_y[-30] < ego[1] - 0.9, "it stands short of the ego"
    assert not boxes_overlap(tuple(np.array([v]) for v in (*ego[:3], EGO_LENGTH_M, EGO_WIDTH_M)),
                             tuple(np.array([v]) for v in walker)).any()
    # the ego drives on; the walker then crosses to the end of its path
    drive_on = [[0.0, 1.0]] * 20 + [[0.0, -1.0]] * 10 + [[0.0, 0.0]] * 150
    steps = _play(gym.make("roadloop/Scenario-v0", scenario=from_dict(ego_in_way)), drive_on)
    assert len(steps) == len(drive_on) + 1 and steps[-1][-1]["vector_space"]["actors"][0][1] == pytest.approx(15.5)


def test_a_pickled_scenario_env_goes_on_identically():
    env = gym.make("roadloop/Scenario-v0", scenario=from_dict(doc())).unwrapped
    env.reset(seed=0)
    for _ in range(25):
        env.step(np.array([0.1, 0.4], np.float32))
    twin = pickle.loads(pickle.dumps(env))
    for _ in range(30):
        for u, v in zip(env.step(np.array([0.0, -0.3], np.float32)), twin.step(np.array([0.0, -0.3], np.float32))):
            assert_same(u, v)


def test_parked_in_the_goal_bay_is_a_pass():
    at_goal = mutate(doc(), ("ego", "start"), {"x": bay_x(11) + 0.2, "y": 16.70, "heading": DOWN})
    env = gym.make("roadloop/Scenario-v0", scenario=from_dict(at_goal))
    *_, (obs, reward, terminated, truncated, info) = _play(env, [[0.0, 0.0]])
    assert terminated and info["is_success"] and info["scenario"] == {"name": "park_test", "success": True,
                                                                      "failed": ()}
    assert env.unwrapped.config.episode_seconds == 20.0 and env.unwrapped.config.goal_position_tol_m == 0.5


# ------------------------------------------------------------------------- export
def test_export_from_parking_v0_plays_on_identically(tmp_path):
    env = gym.make("roadloop/Parking-v0")
    rng = np.random.default_rng(0)
    actions = rng.uniform(-0.4, 0.6, (60, 2)).astype(np.float32)
    env.reset(seed=5)
    for a in actions[:20]:
        env.step(a)
    exported = env.unwrapped.export_scenario("from_parking", "twenty steps in")
    assert exported.world.seed == 5 and exported.ego.goal_bay == env.unwrapped.lot.goal_bay
    loaded = load_scenario(save_scenario(exported, tmp_path / "from_parking.yaml"))
    assert loaded == exported
    twin = gym.make("roadloop/Scenario-v0", scenario=str(tmp_path / "from_parking.yaml"), episode_seconds=180.0)
    twin.reset(seed=0)
    for a in actions[20:]:
        a_step, b_step = env.step(a), twin.step(a)
        assert_same(a_step[0], b_step[0], "obs")
        assert a_step[1:4] == b_step[1:4]
    with pytest.raises(RuntimeError, match="reset\\(seed=...\\)"):
        env.reset()
        env.unwrapped.export_scenario()


def test_export_mid_scenario_carries_moving_actors_on(tmp_path):
    env = gym.make("roadloop/Scenario-v0", scenario=from_dict(doc()))
    env.reset(seed=0)
    for _ in range(35):
        env.step(np.array([0.0, 0.3], np.float32))
    exported = env.unwrapped.export_scenario("mid")
    assert exported.actors[2].behaviour.start_t == 0.0 and exported.actors[2].behaviour.start_s > 0.0
    twin = gym.make("roadloop/Scenario-v0", scenario=load_scenario(save_scenario(exported, tmp_path / "mid.json")))
    twin.reset(seed=0)
    for _ in range(60):
        a, b = env.step(np.array([0.1, -0.2], np.float32)), twin.step(np.array([0.1, -0.2], np.float32))
        assert_same(a[0], b[0], "obs")
        np.testing.assert_array_equal(a[-1]["vector_space"]["actors"], b[-1]["vector_space"]["actors"])


# ------------------------------------------------------------------------- logs and replay
def _record(tmp_path, scenario, actions, agent="scripted"):
    env = RecordEpisodes(gym.make("roadloop/Scenario-v0", scenario=scenario), tmp_path, agent=agent)
    _play(env, actions, seed=3)
    return env.paths[0]


def test_parking_episodes_are_logged_and_replay_bit_exactly(tmp_path):
    actions = [[0.1, 1.0]] * 20 + [[0.0, -1.0]] * 10 + [[0.0, 0.0]] * 500
    path = _record(tmp_path, from_dict(doc()), actions)
    log = load_log(path)
    assert log.meta["env_id"] == "roadloop/Scenario-v0" and log.meta["scenario"]["world"]["kind"] == "parking_lot"
    assert log.meta["config"]["episode_seconds"] == 20.0 and log.meta["code_version"]
    assert log.steps == 200 and log.arrays["actors"].shape == (201, 7, 3)
    np.testing.assert_array_equal(log.arrays["kind"], [-1, 6, 0])  # ego, pedestrian, car
    assert log.arrays["actors"][50, 3, 2] == -1.0 and log.arrays["actors"][-1, 3, 2] == 1.0  # backing out, leaving
    assert not log.arrays["collision"].any() and log.arrays["truncated"][-1]
    video = tmp_path / "top.mp4"
    result = replay(log, video=video)
    assert result.identical, result.first_mismatch
    assert video.stat().st_size > 1000
    np.testing.assert_array_equal(result.log.arrays["actors"], log.arrays["actors"])
    assert camera_video(log, tmp_path / "camera.mp4") and (tmp_path / "camera.mp4").stat().st_size > 1000
    damaged = dict(log.arrays, actions=log.arrays["actions"].copy())
    damaged["actions"][40, 1] += 0.5
    changed = replay(type(log)(log.meta, damaged))
    assert not changed.identical and changed.first_mismatch == (40, "reward")  # the reward of step 40 first


def test_parking_v0_episodes_replay_too(tmp_path):
    """Logs of plain roadloop/Parking-v0 episodes: after a seeded reset, and after an unseeded one (the log keeps
    the generator state the lot was drawn from)."""
    env = RecordEpisodes(gym.make("roadloop/Parking-v0", episode_seconds=3.0), tmp_path)
    _play(env, [[0.3, 0.8]] * 40, seed=4)
    _play(env, [[-0.3, -0.8]] * 40, seed=None)
    first, second = (load_log(p) for p in env.paths)
    assert first.meta["env_id"] == "roadloop/Parking-v0" and first.meta["scenario"] is None
    assert first.meta["reset"] == {"seed": 4} and "rng_state" in second.meta["reset"]
    assert replay(first).identical and replay(second).identical


def test_from_step_and_redrive_with_another_parking_agent(tmp_path, capsys):
    path = _record(tmp_path, from_dict(tiny_doc()), [[0.0, -0.5]] * 6 + [[0.0, 0.5]] * 6 + [[0.0, 0.0]] * 200)
    log = load_log(path)
    assert log.steps == 150 and log.arrays["truncated"][-1]
    assert log.arrays["progress_m"][-1] > log.arrays["progress_m"][0] + 0.2, "the logged ego backed away from its bay"
    redrive = replay(log, agent=make_agent("parking_astar_euclidean"), agent_name="parking_astar_euclidean")
    assert redrive.identical and redrive.log.meta["agent"] == "parking_astar_euclidean"
    assert redrive.log.arrays["terminated"][-1] and redrive.log.arrays["progress_m"][-1] < 0.5, "it parks"
    later = replay(log, agent=make_agent("parking_astar"), agent_name="parking_astar", from_step=10)
    assert later.identical and later.log.meta["redrive_from_step"] == 10
    np.testing.assert_array_equal(later.log.arrays["ego"][:11], log.arrays["ego"][:11])
    assert later.log.arrays["progress_m"][-1] < 0.5
    out = tmp_path / "new.npz"
    assert main(["replay", str(path), "--agent", "random", "--from-step", "12", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "12 of 150 logged steps re-simulated: bit-identical" in text and "m from the goal" in text
    assert replay(load_log(out)).identical
    assert main(["replay", str(path)]) == 0 and "150 of 150 logged steps re-simulated: bit-identical" in \
        capsys.readouterr().out


def test_a_truncated_parking_log_is_detected(tmp_path):
    path = _record(tmp_path, from_dict(tiny_doc()), [[0.0, -0.5]] * 20)
    data = path.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(LogError, match="not a complete roadloop episode log"):
        load_log(cut)


# ------------------------------------------------------------------------- evaluation
def test_eval_drives_a_parking_case_with_a_parking_agent(tmp_path):
    case = Case("tiny", to_dict(from_dict(tiny_doc())), {}, "tiny.yaml")
    job = EpisodeJob(case, 0, 7, "lane_keeping", log_path=str(tmp_path / "tiny.npz"))
    r = run_episode(job)
    assert r["error"] is None, r["error"]
    assert r["agent"] == DEFAULT_PARKING_AGENT and r["metrics"]["driver"] == DEFAULT_PARKING_AGENT
    m = r["metrics"]
    assert m["parked"] and m["passed"] and m["score"] == 1.0 and m["route_completion"] == 1.0 and not m["collision"]
    assert replay(load_log(r["log"])).identical and load_log(r["log"]).meta["agent"] == DEFAULT_PARKING_AGENT
    own = run_episode(EpisodeJob(case, 0, 7, "parking_astar_euclidean", log_when="never"))
    assert own["agent"] == "parking_astar_euclidean" and own["metrics"]["passed"]
    html = render_report({"agent": "lane_keeping", "episodes": [{"case": "tiny", "metrics": m, "failures": []}]})
    assert "tiny <span class=note>(driven by parking_astar)</span>" in html


def test_drive_v0_refuses_a_parking_scenario_naming_the_envs_that_play_it():
    for scenario in ("parking_lot_manoeuvre", from_dict(tiny_doc())):
        with pytest.raises(ValueError, match="is a parking scenario .* roadloop/Scenario-v0 or roadloop/Parking-v0"):
            gym.make("roadloop/Drive-v0", scenario=scenario)


def test_mining_around_a_parking_scenario_perturbs_goal_bay_and_actor_timing(tmp_path):
    from sim.mining.campaign import CampaignConfig, mine
    from sim.mining.space import Param, make_space

    space = make_space("around:parking_lot_manoeuvre")
    assert [p.path for p in space.params] == [
        "ego.goal_bay", "actors[1].behaviour.start_t", "actors[1].behaviour.speed", "actors[2].behaviour.start_t",
        "actors[2].behaviour.speed"]
    assert space.params[0].choices == (5, 11), "the free bays (bay 10 holds the scenario's SUV)"
    base = load_scenario("parking_lot_manoeuvre")
    assert to_dict(space.build(space.center(), name=base.name)) == to_dict(base)
    rng = np.random.default_rng(0)
    built = [space.build(rng.uniform(size=space.dim)) for _ in range(20)]
    assert {s.ego.goal_bay for s in built} == {5, 11}
    assert all(0.0 <= s.actors[2].behaviour.start_t <= 17.0 and 0.6 <= s.actors[2].behaviour.speed <= 1.4
               for s in built)
    with pytest.raises(ValueError, match="with 2 choices, lo and hi must be 0 and 1"):
        Param("ego.goal_bay", 5, 11, choices=(5, 11))
    cfg = CampaignConfig(name="lot", agent="parking_astar", space="around:parking_lot_manoeuvre", strategy="perturb",
                         budget=2, batch=2, runs_dir=str(tmp_path / "runs"), mined_dir=str(tmp_path / "mined"))
    m = mine(cfg, progress=False)
    assert m["episodes"] == 2 and m["invalid"] == 0
