"""The lane-keeping baseline and the agent registry."""
import gymnasium as gym
import pytest

import sim  # noqa: F401
from agents import agent_names, make_agent, register_agent
from agents.lane_keeping import LaneKeepingAgent


def test_completes_a_route_on_an_empty_road():
    env = gym.make("roadloop/Drive-v0", num_traffic=0, route_length_m=150.0, episode_seconds=60.0,
                   world={"road_length_m": 800.0, "obstacles_on_lanes_per_km": 0.0})
    agent = make_agent("lane_keeping")
    done_ok = 0
    for seed in range(3):
        obs, info = env.reset(seed=seed)
        agent.reset(obs, info)
        while True:
            obs, _, term, trunc, info = env.step(agent.act(obs, info))
            assert abs(info["route_offset_m"]) < 2.0
            if term or trunc:
                break
        done_ok += info["route_complete"] and not info["collision"] and not info["off_road"]
    assert done_ok == 3


def test_registry_refuses_duplicates_and_unknown_names():
    assert "lane_keeping" in agent_names()
    with pytest.raises(ValueError, match="already registered"):
        register_agent("lane_keeping", LaneKeepingAgent)
    with pytest.raises(ValueError, match="unknown agent 'nobody'"):
        make_agent("nobody")


def test_act_before_reset_is_an_error():
    with pytest.raises(RuntimeError, match="reset"):
        LaneKeepingAgent().act(None, {})
