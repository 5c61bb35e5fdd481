"""info["vector_space"]["signals"]: every controlled junction approach (stop line, heading, lane, state) in
fixed-shape arrays, matching the states traffic drives by."""
from dataclasses import replace

import gymnasium as gym
import numpy as np

import sim  # noqa: F401
from sim.env.vector_space import MAX_SIGNALS, signals_table
from sim.traffic.signals import AMBER, GREEN, NONE, RED, STOP, YIELD


def test_signals_in_info_match_the_junction_controls_and_change_over_time():
    env = gym.make("roadloop/Drive-v0", num_traffic=2, num_pedestrians=0, num_cyclists=0)
    _, info = env.reset(seed=3)  # a world with lights, a stop sign and yield signs
    u = env.unwrapped
    sig, lanes = u.scene.lane_map.signals, u.scene.world.lanes
    controlled = sig.lane[sig.light | (sig.sign != NONE)]
    assert controlled.size > 0
    seen = set()
    for k in range(60):
        s = info["vector_space"]["signals"]
        assert {key: v.shape[0] for key, v in s.items()} == {key: MAX_SIGNALS for key in s}
        n = int(s["valid"].sum())
        assert n == min(controlled.size, MAX_SIGNALS) and not s["valid"][n:].any() and (s["state"][n:] == 0).all()
        lane = s["lane"][:n]
        assert set(lane) <= set(controlled)
        end = lanes.lane_start[lane] + lanes.lane_npts[lane] - 1
        assert np.allclose(s["xy"][:n], lanes.points[end]) and np.allclose(s["heading"][:n], lanes.point_heading[end])
        assert np.array_equal(s["state"][:n], sig.states(k * u.config.dt)[lane])
        seen |= {(int(a), int(b)) for a, b in zip(lane, s["state"][:n])}
        _, _, term, trunc, info = env.step(np.array([0.0, 0.0]))
        assert not (term or trunc)
    lights = set(sig.lane[sig.light])
    assert {st for ln, st in seen if ln not in lights} == {STOP, YIELD}
    # Over a cycle, every light goes green, amber and red.
    cycle = np.array([signals_table(replace(u.state, t=float(t)), u.scene)["state"] for t in np.arange(0.0, 150.0, 0.5)])
    valid = info["vector_space"]["signals"]["valid"] & info["vector_space"]["signals"]["light"]
    assert valid.sum() == len(lights) > 0
    assert all(set(cycle[:, j]) == {GREEN, AMBER, RED} for j in np.flatnonzero(valid))
    env.close()


def test_bev_stop_lines_channel_shows_the_stop_lines_in_force():
    from sim.env.observations import Frame
    from sim.env.observations.bev import CHANNELS, STOP_STATES
    from sim.env.simulation import Actors

    env = gym.make("roadloop/Drive-v0", obs_mode="bev", num_traffic=0, num_pedestrians=0, num_cyclists=0)
    env.reset(seed=3)  # lights, a stop sign and yield signs
    u = env.unwrapped
    b = u.config.bev
    k = CHANNELS.index("stop_lines")
    centre = (int(round(b.ego_row * b.size)) - int(round(10.0 / b.m_per_px)), b.size // 2)  # 10 m ahead of the ego
    seen = set()
    for t in np.arange(0.0, 120.0, 20.0):
        state = replace(u.state, t=float(t))
        s = signals_table(state, u.scene)
        for j in np.flatnonzero(s["valid"]):
            # The ego 10 m before the stop line of lane j, facing it: the line is drawn just when it is in force.
            h = s["heading"][j]
            table = state.actors.table.copy()
            table[:3, 0] = (*(s["xy"][j] - 10.0 * np.array([np.cos(h), np.sin(h)])), h)
            obs = u.obs_type.observe(Frame(replace(state, actors=Actors(table, state.actors.kind,
                                                                         state.actors.valid)), u.scene))
            row, col = centre
            drawn = obs[row - 2:row + 3, col - 2:col + 3, k].any()
            assert drawn == (s["state"][j] in STOP_STATES), (t, j, s["state"][j])
            seen.add(int(s["state"][j]))
    assert {GREEN, RED, STOP, YIELD} <= seen
    env.close()
