"""The hybrid planner driving closed loop: the suite's hand-built cases and shipped scenarios."""
import copy
from dataclasses import replace

import gymnasium as gym
import numpy as np
import pytest

import sim  # noqa: F401
from agents import best_agent, make_agent
from sim.eval.metrics import MAX_ABS_LAT_ACCEL, MAX_LON_ACCEL
from sim.scenario.io import from_dict, load_scenario, to_dict
from sim.traffic.signals import STATE_NAMES


def drive(scenario, steps=None):
    """Run the hybrid planner on ``scenario``; returns per-step infos and the planner's decisions."""
    env = gym.make("roadloop/Scenario-v0", scenario=scenario)
    agent = make_agent("hybrid_planner")
    obs, info = env.reset(seed=0)
    agent.reset(obs, info)
    infos, decisions = [info], []
    for _ in range(steps or 10_000):
        obs, _, term, trunc, info = env.step(agent.act(obs, info))
        infos.append(info)
        decisions.append(agent.last["maneuver"])
        if term or trunc:
            break
    env.close()
    return infos, decisions


def test_is_the_default_agent():
    assert best_agent() in ("autopilot", "privileged_autopilot", "hybrid_planner")
    with pytest.raises(RuntimeError, match="reset"):
        make_agent("hybrid_planner").act(None, {})


@pytest.mark.parametrize("name", ["cut_in_short_gap", "four_way_stop", "cyclist_ahead"])
def test_drives_shipped_scenarios_without_collision(name):
    infos, _ = drive(name)
    last = infos[-1]
    assert not last["collision"] and not last["off_road"]
    assert last["scenario"]["success"]


def test_lead_car_brakes_hard_no_collision_and_comfort_until_then():
    infos, _ = drive("lead_car_hard_brake")
    assert not any(i["collision"] for i in infos)
    assert min(i["speed"] for i in infos) < 6.0  # it slowed from 21 m/s behind the lead car
    calm = [i for i in infos if i["t"] < 2.9]  # before the lead car's emergency braking
    assert max(i["accel"] for i in calm) <= MAX_LON_ACCEL and max(abs(i["lat_accel"]) for i in calm) < MAX_ABS_LAT_ACCEL


def _stalled(oncoming_column: bool):
    doc = to_dict(load_scenario("stalled_car_on_curve"))
    if oncoming_column:
        lead = next(a for a in doc["actors"] if a["id"] == "oncoming")
        for k in range(1, 7):
            car = copy.deepcopy(lead)
            car["id"] = f"oncoming{k}"
            car["start"]["s"] = lead["start"]["s"] + 14.0 * k
            doc["actors"].append(car)
    return from_dict(doc)


def test_stalled_car_goes_around_when_the_oncoming_lane_is_free():
    infos, decisions = drive(_stalled(False))
    assert not any(i["collision"] for i in infos)
    assert "go_around" in decisions and infos[-1]["scenario"]["success"]


def test_stalled_car_waits_while_oncoming_cars_come():
    infos, decisions = drive(_stalled(True), steps=120)
    assert not any(i["collision"] for i in infos)
    # behind the stalled car (its centre 130.45 m along the route) and in its own lane while they pass
    assert max(i["progress_m"] for i in infos) + 0.5 * 4.7 < 130.45 - 0.5 * 4.6
    assert max(abs(i["route_offset_m"]) for i in infos) < 1.0
    assert infos[-1]["speed"] < 1.0


def test_stops_for_amber_and_red_lights():
    """With lights at its junction (the control it draws), unprotected_left_turn's light turns amber at about 3 s and
    red at 9 s; the ego can stop for the amber one."""
    s = load_scenario("unprotected_left_turn")
    infos, _ = drive(replace(s, world=replace(s.world, controls=((0, "lights"),))), steps=150)
    approach = infos[0]["lane_id"]
    signals = infos[0]["vector_space"]["signals"]
    row = int(np.flatnonzero(signals["valid"] & (signals["lane"] == approach))[0])
    red = [i for i in infos if i["vector_space"]["signals"]["state"][row] == STATE_NAMES.index("red")]
    assert len(red) > 30 and not any(i["collision"] for i in infos)
    assert all(i["lane_id"] == approach for i in red) and red[-1]["speed"] < 0.5
