"""Parking agents around moving actors: they hold for an actor that does not yield and then park, replan around
an actor that stands in their way, and re-drive a parking log from a step whose heading is off the lattice; agents
declare the kind of env they drive, and a parking agent on a road env says what it needs."""
import math

import gymnasium as gym
import numpy as np
import pytest

import sim  # noqa: F401  (registers the environments)
from agents import (EnvKindError, agent_env_kind, agent_names, agents_for, check_env_kind, make_agent,
                    register_agent)
from agents.planning.lattice import HEADINGS
from sim.scenario.episode_log import load_log
from sim.scenario.io import from_dict
from sim.scenario.recorder import RecordEpisodes
from sim.scenario.replay import replay
from tests.sim.test_parking_scenario import doc, mutate, tiny_doc


def _drive(scenario, agent, steps=900):
    env = gym.make("roadloop/Scenario-v0", scenario=scenario)
    obs, info = env.reset(seed=0)
    agent.reset(obs, info)
    infos = [info]
    for _ in range(steps):
        obs, _, term, trunc, info = env.step(agent.act(obs, info))
        infos.append(info)
        if term or trunc:
            break
    return infos


def _rude_walker(start_t):
    """Reverse into bay 11 while a walker that never yields (yield_m 0) crosses the aisle at x 18.45."""
    d = mutate(mutate(doc(), ("actors", 2), None), ("actors", 1, "behaviour", "yield_m"), 0.0)
    d = mutate(d, ("actors", 1, "behaviour", "start_t"), start_t)
    return from_dict(mutate(d, ("success", "max_seconds"), 60.0))


@pytest.mark.parametrize("start_t", [0.0, 4.0])
def test_the_agent_holds_for_a_walker_that_does_not_yield_then_parks(start_t):
    scenario = _rude_walker(start_t)
    blind = make_agent("parking_astar")
    blind._blocking = lambda *args: None
    assert _drive(scenario, blind)[-1]["collision"] == "pedestrian", "without looking out, the walker hits the ego"
    infos = _drive(scenario, make_agent("parking_astar"))
    last = infos[-1]
    assert last["is_success"] and last["collision"] == "" and last["scenario"]["success"]
    held = [k for k, i in enumerate(infos) if abs(i["speed"]) < 1e-3 and i["vector_space"]["actor_speed"][0] != 0]
    assert len(held) >= 20, "it stood still for 2 s or more while the walker crossed"
    walker = np.array([i["vector_space"]["actors"][0][1] for i in infos])
    ego_x = np.array([i["vector_space"]["ego"][0] for i in infos])
    assert ego_x[held[0]] < 18.45 < ego_x.max() and walker[held[0]] < walker[held[-1]], \
        "it stopped short of the walker's line and crossed it after the walker had walked on"


def test_the_agent_replans_around_an_actor_that_stands_in_its_way():
    """A car stands on the ego's way (it leaves only at t = 80 s): the agent holds, replans from where it
    stands with the car as an obstacle and parks."""
    d = mutate(mutate(doc(), ("actors", 2), None), ("actors", 1), None)
    car = {"id": "waiting", "class": "car", "size": {"length": 4.5, "width": 1.8},
           "behaviour": {"kind": "path", "speed": 1.0, "start_t": 80.0,
                         "path": [{"x": 21.0, "y": 9.0, "heading": 0.0}, {"x": 30.0, "y": 9.0, "heading": 0.0}]}}
    d["actors"].append(car)
    agent = make_agent("parking_astar")
    infos = _drive(from_dict(mutate(d, ("success", "max_seconds"), 90.0)), agent)
    assert agent.replans >= 1 and infos[-1]["is_success"] and infos[-1]["collision"] == ""


def test_redrive_from_a_step_off_the_heading_lattice_parks(tmp_path):
    env = RecordEpisodes(gym.make("roadloop/Scenario-v0", scenario=from_dict(tiny_doc())), tmp_path, agent="scripted")
    env.reset(seed=3)
    for a in [[0.4, -0.5]] * 8 + [[0.0, 0.0]] * 300:
        *_, term, trunc, _ = env.step(np.asarray(a, np.float32))
        if term or trunc:
            break
    log = load_log(env.paths[0])
    bins = log.arrays["ego"][12, 2] / (2 * math.pi / HEADINGS)
    assert abs(bins - round(bins)) > 0.05, "the ego's heading at step 12 is off the lattice's bins"
    redrive = replay(log, agent=make_agent("parking_astar"), agent_name="parking_astar", from_step=12)
    assert redrive.identical and redrive.log.arrays["terminated"][-1] and redrive.log.arrays["progress_m"][-1] < 0.5


def test_agents_declare_the_env_kind_they_drive():
    assert agent_env_kind("parking_astar") == agent_env_kind("parking_mcts") == "parking"
    assert agent_env_kind("hybrid_planner") == agent_env_kind("lane_keeping") == "drive"
    assert "parking_astar" in agents_for("parking") and "parking_astar" not in agents_for("drive")
    check_env_kind("parking_astar", "parking")
    with pytest.raises(EnvKindError, match=r"agent 'parking_astar' drives parking envs \(roadloop/Parking-v0"):
        check_env_kind("parking_astar", "drive")
    with pytest.raises(EnvKindError, match=r"agent 'hybrid_planner' drives drive envs \(roadloop/Drive-v0"):
        check_env_kind("hybrid_planner", "parking")
    with pytest.raises(ValueError, match="env_kind must be one of"):
        register_agent("kindless", lambda: None, env_kind="boat")
    assert "kindless" not in agent_names()


def test_a_parking_agent_on_a_drive_env_fails_at_reset_naming_what_it_needs():
    env = gym.make("roadloop/Drive-v0", num_traffic=0)
    obs, info = env.reset(seed=0)
    with pytest.raises(EnvKindError, match=r"ParkingAgent\('astar_route'\) drives parking envs .*Parking-v0"):
        make_agent("parking_astar").reset(obs, info)
