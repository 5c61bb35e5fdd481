"""The shipped scenario suite (scenarios/*.yaml): every file loads, fits its world (or lot), plays to the end
with the baseline in roadloop/Scenario-v0 (lane keeping on roads, the route A* parking agent in a parking lot)
with a verdict, and its recorded episode replays bit for bit."""
from dataclasses import replace
from pathlib import Path

import gymnasium as gym
import pytest

import sim  # noqa: F401  (registers the environments)
from agents import make_agent
from sim.scenario.episode_log import load_log
from sim.scenario.in_world import check_in_world, make_world
from sim.scenario.io import load_scenario
from sim.scenario.lot_plan import make_lot
from sim.scenario.parking import ParkingScenario
from sim.scenario.recorder import RecordEpisodes
from sim.scenario.replay import replay

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
SUITE = sorted(SCENARIO_DIR.glob("*.yaml"))
CAP_S = 15.0
"""Road episodes are cut to this many seconds to keep the suite fast. Scenario-v0 takes its episode length from
success.max_seconds (an ``episode_seconds=`` option is overridden), so the cap shortens the scenario itself.
Parking episodes run whole: the baseline parks within it (its time goes on planning at reset)."""
PARKING_BASELINE = "parking_astar"


def _capped(scenario):
    cap = min(CAP_S, scenario.success.max_seconds)
    return replace(scenario, success=replace(scenario.success, max_seconds=cap),
                   events=tuple(e for e in scenario.events if e.t <= cap))


def test_the_suite_is_there():
    names = {p.stem for p in SUITE}
    assert len(names) >= 10 and {"cut_in_short_gap", "parking_lot_manoeuvre"} <= names


@pytest.mark.parametrize("path", SUITE, ids=[p.stem for p in SUITE])
def test_scenario_loads_fits_plays_and_replays(path, tmp_path):
    scenario = load_scenario(path.stem)
    assert scenario.name == path.stem and scenario.description
    if isinstance(scenario, ParkingScenario):
        make_lot(scenario)
        capped, baseline, options = scenario, PARKING_BASELINE, {}
    else:
        check_in_world(scenario, make_world(scenario), file=str(path))
        capped, baseline, options = _capped(scenario), "lane_keeping", {"obs_mode": "vector"}
    env = RecordEpisodes(gym.make("roadloop/Scenario-v0", scenario=capped, **options), tmp_path, agent=baseline)
    agent = make_agent(baseline)
    obs, info = env.reset(seed=0)
    agent.reset(obs, info)
    steps = 0
    while True:
        obs, _, terminated, truncated, info = env.step(agent.act(obs, info))
        steps += 1
        if terminated or truncated:
            break
        assert steps <= round(capped.success.max_seconds * 10) + 1
    verdict = info["scenario"]
    assert verdict["name"] == scenario.name and isinstance(verdict["success"], bool)
    assert verdict["success"] == (not verdict["failed"])
    env.close()

    assert len(env.paths) == 1
    log = load_log(env.paths[0])
    assert log.meta["scenario"]["name"] == scenario.name and log.steps == steps
    result = replay(log)
    assert result.identical, result.first_mismatch
