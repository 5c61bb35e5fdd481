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
    np.testing.assert_allclose(played.actors.table[rows, 1 : 1 + state.traffic.n], state.actors.table[rows, 1:],
                               atol=1e-9)
    steady = state.traffic.d_rate == 0.0
    np.testing.assert_allclose(played.actors.table[2, 1 : 1 + state.traffic.n][steady],
                               state.actors.table[2, 1:][steady], atol=1e-9)
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
