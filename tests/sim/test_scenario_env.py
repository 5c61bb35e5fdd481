"""roadloop/Scenario-v0: scenarios played closed-loop, events, export from Drive-v0, replay."""
import gymnasium as gym
import numpy as np
import pytest

import sim  # noqa: F401
from agents import make_agent
from sim.scenario.episode_log import load_log
from sim.scenario.io import load_scenario, save_scenario
from sim.scenario.recorder import RecordEpisodes
from sim.scenario.replay import replay
from tests.conftest import assert_same


def _drive(env, agent, seed=0):
    obs, info = env.reset(seed=seed)
    agent.reset(obs, info)
    history = []
    while True:
        obs, r, term, trunc, info = env.step(agent.act(obs, info))
        history.append((env.unwrapped.state, info))
        if term or trunc:
            return history


def test_cut_in_scenario_plays_its_events():
    scenario = load_scenario("cut_in_short_gap")
    env = gym.make("roadloop/Scenario-v0")
    history = _drive(env, make_agent("lane_keeping"))
    car = env.unwrapped.state.plan.traffic_index["car1"]
    lane_change = next(e for e in scenario.events if e.kind == "lane_change")
    brake = next(e for e in scenario.events if e.kind == "brake")
    before = [s for s, _ in history if s.t <= lane_change.t - 0.05][-1]
    after = [s for s, _ in history if s.t >= lane_change.t + 0.5][0]
    assert after.traffic.lane[car] == env.unwrapped.scene.world.lanes.right[before.traffic.lane[car]]
    braking = [s for s, _ in history if brake.t + 0.15 <= s.t <= brake.t + brake.duration - 0.05]
    assert braking and all(abs(s.traffic.accel[car] + brake.decel) < 1e-9 for s in braking)
    outcome = history[-1][1]["scenario"]
    assert outcome["name"] == "cut_in_short_gap" and isinstance(outcome["success"], bool)
    assert len(history) <= round(scenario.success.max_seconds * 10)


def test_scenario_episodes_are_deterministic_and_replay_bit_exactly(tmp_path):
    a = _drive(gym.make("roadloop/Scenario-v0"), make_agent("lane_keeping"), seed=3)
    b = _drive(gym.make("roadloop/Scenario-v0"), make_agent("lane_keeping"), seed=3)
    assert len(a) == len(b)
    for (_, ia), (_, ib) in zip(a, b):
        assert_same(ia, ib)
    env = RecordEpisodes(gym.make("roadloop/Scenario-v0", obs_mode="bev", episode_seconds=8.0), tmp_path)
    env.reset(seed=1)
    while not env.paths:
        env.step(np.array([0.0, 0.2], np.float32))
    log = load_log(env.paths[0])
    assert log.meta["scenario"]["name"] == "cut_in_short_gap"
    assert replay(log).identical


def test_export_from_drive_and_play_it_back(tmp_path):
    drive = gym.make("roadloop/Drive-v0", num_traffic=8, world={"road_length_m": 800.0})
    drive.reset(seed=5)
    for _ in range(30):
        drive.step(np.array([0.0, 0.3], np.float32))
    state = drive.unwrapped.state
    scenario = drive.unwrapped.export_scenario(name="exported_test")
    path = save_scenario(scenario, tmp_path / "exported_test.yaml")
    env = gym.make("roadloop/Scenario-v0", scenario=str(path))
    env.reset(seed=0)
    played = env.unwrapped.state
    np.testing.assert_array_equal(played.actors.table[:, 0], state.actors.table[:, 0])
    rows = [0, 1, 3, 4, 5, 6]  # all but heading: a lane change's lateral speed is not part of a scenario
    vehicles = slice(1, 1 + state.traffic.n)  # pedestrians and cyclists are not exported
    np.testing.assert_allclose(played.actors.table[rows, vehicles], state.actors.table[rows, vehicles], atol=1e-9)
    steady = state.traffic.d_rate == 0.0
    np.testing.assert_allclose(played.actors.table[2, vehicles][steady], state.actors.table[2, vehicles][steady],
                               atol=1e-9)
    env.step(np.array([0.0, 0.3], np.float32))


def test_bad_scenario_names_the_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(load_scenario_text().replace("speed: 13.0", "speed: -13.0"))
    with pytest.raises(ValueError, match=r"bad.yaml: actors\[0\].speed"):
        gym.make("roadloop/Scenario-v0", scenario=str(bad))


def load_scenario_text() -> str:
    from pathlib import Path

    return (Path(__file__).resolve().parents[2] / "scenarios" / "cut_in_short_gap.yaml").read_text()


def _lane_track_csv(path, world, lanes_and_ids, speed=8.0, seconds=6.0):
    """A CSV of tracks along lane centerlines (id, t, x, y, heading, speed, length, width)."""
    rows = ["id,t,x,y,heading,speed,length,width"]
    for actor_id, lane, s0 in lanes_and_ids:
        t = np.arange(0.0, seconds + 1e-9, 0.5)
        xy, h = world.lanes.cartesian(np.full(t.size, lane), s0 + speed * t, np.zeros(t.size))
        rows += [f"{actor_id},{ti},{x},{y},{hh},{speed},4.5,1.8" for ti, (x, y), hh in zip(t, xy, h)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("reactive", [False, True])
def test_imported_tracks_play_as_replayed_or_reactive_actors(tmp_path, reactive):
    from sim.scenario.tracks import import_tracks
    from sim.world import WorldSpec, generate_world

    spec = WorldSpec(road_length_m=800.0, lanes_per_direction=(2, 2))
    world = generate_world(spec, np.random.default_rng(12))
    lane = int(np.argmax(world.lanes.lane_length * (world.lanes.lane_junction < 0)))
    csv = _lane_track_csv(tmp_path / "drive.csv", world, [("me", lane, 5.0), ("lead", lane, 40.0)])
    scenario = import_tracks(csv, world_seed=12, world_spec=spec, ego_id="me", reactive=reactive)
    env = gym.make("roadloop/Scenario-v0", scenario=scenario)
    env.reset(seed=0)
    for _ in range(20):
        env.step(np.array([0.0, 0.0], np.float32))
    state = env.unwrapped.state
    lead = state.actors.table[:, -1] if not reactive else state.actors.table[:, 1]
    expected, _ = world.lanes.cartesian(np.array([lane]), np.array([40.0 + 8.0 * state.t]), np.zeros(1))
    if reactive:  # an IDM car: it drives on from its first sample, along its lane
        assert state.actors.puppets == 0 and state.traffic.lane[0] in (lane, *world.lanes.lanes[lane].successors)
        assert lead[3] > 0.0
    else:  # a puppet: exactly where its track says
        assert state.actors.puppets == 1 and state.actors.valid[-1]
        np.testing.assert_allclose(lead[:2], expected[0], atol=0.05)


def test_walkers_and_crowds_move_on_their_paths():
    """A walk actor stands at its first pose until start_t, then moves along its path at its speed facing
    where it goes, and stands at the end; a crowd is `count` pedestrians, drawn from the episode's seed."""
    from sim.traffic.actor_classes import ACTOR_CODE

    env = gym.make("roadloop/Scenario-v0", scenario="pedestrian_behind_parked_van")
    env.reset(seed=0)
    st = env.unwrapped.state
    walker = len(st.actors.kind) - 1  # puppets come last: the van, then the walker
    assert st.actors.kind[walker] == ACTOR_CODE["pedestrian"]
    start = st.actors.table[:2, walker].copy()
    poses = []
    for _ in range(95):
        env.step(np.array([0.0, -1.0], np.float32))  # the ego stays back
        poses.append(env.unwrapped.state.actors.table[:4, walker].copy())
    poses = np.array(poses)
    t = 0.1 * np.arange(1, 96)
    before = t < 4.0 - 1e-9
    assert np.allclose(poses[before, :2], start) and np.all(poses[before, 3] == 0)
    moving = (t > 4.1) & (t < 8.5)
    step = np.hypot(*np.diff(poses[:, :2], axis=0).T)
    assert np.allclose(step[moving[1:]], 0.16, atol=1e-6)  # 1.6 m/s at 10 Hz
    heading = np.arctan2(*np.diff(poses[:, :2], axis=0)[moving[1:]][:, ::-1].T)
    assert np.allclose(np.cos(heading - poses[1:][moving[1:], 2]), 1.0, atol=1e-6)
    assert np.allclose(poses[-1, :2], poses[-2, :2]) and poses[-1, 3] == 0  # 7.8 m at 1.6 m/s: done by 8.9 s
    env.close()

    crowds = []
    for seed in (0, 0, 1):
        env = gym.make("roadloop/Scenario-v0", scenario="crowd_crossing")
        env.reset(seed=seed)
        a = env.unwrapped.state.actors
        assert a.puppets == 120 and np.all(a.kind[-120:] == ACTOR_CODE["pedestrian"])
        crowds.append(a.table[:2, -120:].copy())
        env.close()
    assert np.array_equal(crowds[0], crowds[1]) and not np.array_equal(crowds[0], crowds[2])


@pytest.mark.parametrize("actor,path,message", [
    ({"class": "pedestrian", "start": {"lane": 10, "s": 5.0}, "behaviour": {"kind": "idm"}}, "actors[0].behaviour.kind",
     "cannot drive by idm"),
    ({"class": "car", "behaviour": {"kind": "crowd", "count": 3, "path": [{"lane": 10, "s": 5.0}, {"lane": 10, "s": 9.0}]}},
     "actors[0].class", "a crowd is made of pedestrians"),
    ({"class": "dog", "behaviour": {"kind": "walk", "path": [{"lane": 10, "s": 5.0}]}}, "actors[0].behaviour.path",
     "at least 2 poses"),
    ({"class": "dog", "behaviour": {"kind": "walk", "speed": 0, "path": [{"lane": 10, "s": 5.0}, {"lane": 10, "s": 9.0}]}},
     "actors[0].behaviour.speed", "expected a number"),
])
def test_road_users_on_foot_are_validated(actor, path, message):
    from sim.scenario.schema import Scenario
    from sim.scenario.values import ScenarioError

    doc = {"name": "x", "world": {"seed": 3}, "ego": {"route": {"length_m": 50.0}, "start": {"lane": 10, "s": 5.0}},
           "actors": [{"id": "a", **actor}]}
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(doc, "")
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value), str(err.value)


def test_a_scenario_pins_junction_controls(tmp_path):
    from dataclasses import replace
    from pathlib import Path

    from sim.scenario.schema import WorldSection
    from sim.scenario.values import ScenarioError

    scenario = load_scenario("four_way_stop")
    assert scenario.world.controls == ((0, "all_way_stop"),)
    env = gym.make("roadloop/Scenario-v0", scenario=scenario, obs_mode="vector")
    env.reset(seed=0)
    assert env.unwrapped.scene.lane_map.signals.kind[0] == "all_way_stop"
    lights = replace(scenario, world=replace(scenario.world, controls=((0, "lights"),)))
    env = gym.make("roadloop/Scenario-v0", scenario=lights, obs_mode="vector")
    env.reset(seed=0)
    assert env.unwrapped.scene.lane_map.signals.kind[0] == "lights"
    assert WorldSection.from_dict(scenario.world.to_dict()) == scenario.world
    missing = replace(scenario, world=replace(scenario.world, controls=((99, "lights"),)))
    with pytest.raises(ScenarioError, match=r"world.controls.*no junction \[99\]"):
        gym.make("roadloop/Scenario-v0", scenario=missing).reset(seed=0)
    bad = tmp_path / "bad.yaml"
    text = (Path(__file__).resolve().parents[2] / "scenarios" / "four_way_stop.yaml").read_text()
    bad.write_text(text.replace("{0: all_way_stop}", "{0: roundabout}"))
    with pytest.raises(ValueError, match=r"bad.yaml: world.controls.0: expected one of"):
        load_scenario(str(bad))
