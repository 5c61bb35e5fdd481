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
