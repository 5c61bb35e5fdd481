"""Parking planners on the shared lattice: primitives match the env's dynamics, the collision grid is
conservative, A* (both heuristics) and MCTS reach the goal on fixed lots with collision-free paths, MCTS counts
nodes as A* does and expands far fewer, the plans are tracked closed-loop to success, the shipped network loads
with weights_only, and bad input errors are clear."""
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

import sim  # noqa: F401
from agents import make_agent
from agents.planning.astar import FreeSpaceHeuristic, RouteField, astar, euclidean_heuristic, route_heuristic
from agents.planning.lattice import (GOAL_POSITION_TOL_M, GRID_M, HEADINGS, MARGIN_M, STEP_M, Lattice,
                                     make_primitives)
from agents.planning.mcts import mcts
from agents.planning.parking_agent import ParkingAgent
from agents.planning.value_net import CHANNELS, WEIGHTS, ParkingNet, StateEncoder, load_net
from sim.env.parking import Ego, ParkingConfig, ego_params, ego_step, local_occupancy
from sim.parking import LotSpec, generate_lot

PARAMS = ego_params(ParkingConfig())
SEEDS = (0, 3)
"""Lots every planner is checked on."""


def _lattice(seed: int) -> tuple:
    lot = generate_lot(LotSpec(), np.random.default_rng(seed))
    return lot, Lattice(lot.obstacles, lot.size, lot.entry, lot.goal, PARAMS)


@pytest.fixture(scope="module")
def net():
    return load_net()


def test_primitives_match_env_dynamics():
    """Driving the env's ego at a primitive's steer for its length ends where the primitive ends, both gears."""
    prims = make_primitives(PARAMS)
    start = np.array([5.0, 3.0, 0.7])
    for p in range(len(prims)):
        gear = int(prims.gear[p])
        ego = Ego(start, gear * 1.0, float(prims.steer[p]))
        end = ego_step(ego, float(prims.steer[p]), 0.0, PARAMS, float(prims.length[p]))
        rel = prims.samples[p, -1]
        c, s = math.cos(start[2]), math.sin(start[2])
        expect = start + np.array([c * rel[0] - s * rel[1], s * rel[0] + c * rel[1], rel[2]])
        np.testing.assert_allclose(end.pose, expect, atol=1e-9)
    assert sorted(prims.gear.tolist()) == [-1] * 5 + [1] * 5
    bins = prims.samples[:, -1, 2] / (2 * math.pi / HEADINGS)
    assert np.allclose(bins, np.round(bins), atol=1e-9) and sorted(set(np.round(np.abs(bins)))) == [0, 1, 2]


def test_collision_grid_is_conservative():
    """A pose free in the configuration-space grid keeps MARGIN_M - GRID_M / sqrt(2) of exact clearance; a pose
    whose box touches an obstacle or leaves the lot is never free."""
    lot, lattice = _lattice(SEEDS[0])
    rng = np.random.default_rng(0)
    poses = np.stack([rng.uniform(-1, lot.size[0] + 1, 4000), rng.uniform(-1, lot.size[1] + 1, 4000),
                      rng.integers(HEADINGS, size=4000) * 2 * math.pi / HEADINGS], axis=1)
    free = ~lattice.collides(poses)
    assert 400 < free.sum() < 3600
    assert not lot.collides(*poses[free].T, margin=MARGIN_M - GRID_M / math.sqrt(2)).any()
    assert lot.collides(*poses.T).sum() > 400 and not (free & lot.collides(*poses.T)).any()


def _check_path(lot, lattice, plan):
    assert plan.success and plan.nodes_expanded > 0 and plan.path_length_m > 0
    assert not lot.collides(*plan.poses.T, margin=MARGIN_M - GRID_M / math.sqrt(2)).any(), "the path breaks the margin"
    end = plan.poses[-1]
    assert math.hypot(end[0] - lot.goal[0], end[1] - lot.goal[1]) <= GOAL_POSITION_TOL_M + 1e-9
    assert plan.gears.shape == plan.steers.shape == (len(plan.poses),)
    assert math.isclose(math.cos(end[2] - lot.goal[2]), 1.0, abs_tol=1e-9)
    steps = np.hypot(*np.diff(plan.poses[:, :2], axis=0).T)
    assert steps.max() < 0.5, "consecutive path poses are one collision sample apart"
    moved = np.cos(plan.poses[:-1, 2]) * np.diff(plan.poses[:, 0]) + np.sin(plan.poses[:-1, 2]) * np.diff(plan.poses[:, 1])
    assert (np.sign(moved) == plan.gears[1:]).all(), "each pose's gear is the direction of the motion to it"
    assert plan.path_length_m >= STEP_M * len(plan.prims)
    assert plan.gear_changes == int((np.diff(plan.gears) != 0).sum())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("heuristic", ["euclidean", "route"])
def test_astar_reaches_goal(seed, heuristic):
    lot, lattice = _lattice(seed)
    plan = astar(lattice, heuristic)
    _check_path(lot, lattice, plan)


@pytest.mark.parametrize("seed", SEEDS)
def test_mcts_reaches_goal(seed, net):
    lot, lattice = _lattice(seed)
    plan = mcts(lattice, net)
    _check_path(lot, lattice, plan)
    again = mcts(Lattice(lot.obstacles, lot.size, lot.entry, lot.goal, PARAMS), net)
    assert again.prims == plan.prims and again.nodes_expanded == plan.nodes_expanded


def test_mcts_counts_nodes_as_astar_and_expands_far_fewer(net):
    """Both count states whose successors were generated; on a fixed lot MCTS with the network expands well
    over 100x fewer than Euclidean A* and fewer than route A*, which expands fewer than Euclidean A*."""
    lot, lattice = _lattice(SEEDS[1])
    calls = []
    successors = lattice.successors
    lattice.successors = lambda state: calls.append(state) or successors(state)
    plan = mcts(lattice, net)
    assert plan.success and plan.nodes_expanded == len(calls) == len({lattice.key(s) for s in calls})
    euclid, route = astar(lattice, "euclidean"), astar(lattice, "route")
    assert euclid.success and route.success
    assert plan.nodes_expanded * 100 < euclid.nodes_expanded and plan.nodes_expanded < route.nodes_expanded
    assert route.nodes_expanded < euclid.nodes_expanded


def test_route_heuristic_dominates_euclidean():
    lot, lattice = _lattice(2)
    euclid, route = euclidean_heuristic(lattice), route_heuristic(lattice)
    rng = np.random.default_rng(0)
    states = [(float(rng.uniform(0, lot.size[0])), float(rng.uniform(0, lot.size[1])), int(rng.integers(HEADINGS)))
              for _ in range(200)]
    assert all(route(s) >= euclid(s) for s in states)
    assert sum(route(s) > euclid(s) + 1.0 for s in states) > 20, "the route heuristic adds information"
    far_side = RouteField(lattice)
    assert far_side(*lot.goal[:2]) < 0.5
    free = FreeSpaceHeuristic(lattice)
    goal_state = lattice.snap(lot.goal)
    assert free(goal_state) == 0.0
    turned = (goal_state[0], goal_state[1], (goal_state[2] + HEADINGS // 2) % HEADINGS)
    assert free(turned) > 5.0, "turning round on the spot costs several primitives"


def test_encoder_matches_env_occupancy():
    lot, lattice = _lattice(1)
    state = (lot.entry[0] + 3.0, lot.entry[1] + 0.5, HEADINGS // 8)
    grid, vec = StateEncoder(lattice).encode([state], [0])
    assert grid.shape == (1, len(CHANNELS), 32, 32) and vec.shape == (1, 6)
    occ = local_occupancy(lot, lattice.pose(state), 32, 0.5)
    assert (grid[0, 0] != occ[0]).mean() < 0.03 and (grid[0, 1] != occ[1]).mean() < 0.03


@pytest.mark.parametrize("name", ["parking_astar", "parking_astar_euclidean", "parking_mcts"])
def test_closed_loop_tracking_parks(name):
    env = gym.make("roadloop/Parking-v0")
    obs, info = env.reset(seed=SEEDS[0])
    agent = make_agent(name)
    agent.reset(obs, info)
    assert agent.plan.success
    for _ in range(1200):
        obs, r, term, trunc, info = env.step(agent.act(obs, info))
        if term or trunc:
            break
    assert info["is_success"] and info["collision"] == ""


def test_checkpoint_loads_with_weights_only():
    assert WEIGHTS.is_file() and WEIGHTS.stat().st_size < 400_000
    blob = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    assert set(blob) == {"config", "state_dict"}
    net = load_net()
    assert isinstance(net, ParkingNet) and not net.training
    logits, value = net(torch.zeros(2, len(CHANNELS), 32, 32), torch.zeros(2, 6))
    assert logits.shape == (2, len(make_primitives(PARAMS))) and value.shape == (2,)


def test_bad_input_errors(tmp_path):
    lot, lattice = _lattice(0)
    with pytest.raises(ValueError, match="unknown heuristic 'manhattan'"):
        astar(lattice, "manhattan")
    with pytest.raises(ValueError, match="max_nodes"):
        astar(lattice, "route", max_nodes=0)
    with pytest.raises(ValueError, match="weight must be"):
        astar(lattice, "route", weight=0.5)
    with pytest.raises(ValueError, match="cell_m must be"):
        Lattice(lot.obstacles, lot.size, lot.entry, lot.goal, PARAMS, cell_m=0.0)
    with pytest.raises(ValueError, match="unknown parking planner 'rrt'"):
        ParkingAgent("rrt")
    with pytest.raises(ValueError, match=f"not on the {HEADINGS}-bin lattice"):
        Lattice(lot.obstacles, lot.size, lot.entry, lot.goal + [0, 0, 0.1], PARAMS)
    with pytest.raises(ValueError, match="start pose must be finite"):
        Lattice(lot.obstacles, lot.size, lot.entry + [0, 0, np.nan], lot.goal, PARAMS)
    with pytest.raises(ValueError, match="obstacles must be"):
        Lattice(lot.obstacles[:, :4], lot.size, lot.entry, lot.goal, PARAMS)
    with pytest.raises(FileNotFoundError, match="train_parking_value"):
        load_net(tmp_path / "missing.pt")
    (tmp_path / "bad.pt").write_bytes(b"")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="not a parking value checkpoint"):
        load_net(tmp_path / "bad.pt")
    with pytest.raises(KeyError, match="unknown agent 'parking_rrt'"):
        make_agent("parking_rrt")


def test_a_start_off_the_heading_bins_snaps_to_the_nearest_bin():
    """A start heading between bins (a replan mid-drive) plans from the nearest bin; the bin's collision grid
    covers half a bin either side, so the snapped state is free exactly when the pose's box is."""
    lot, lattice = _lattice(SEEDS[0])
    bin_rad = 2 * math.pi / HEADINGS
    for off in (0.3, -0.45):
        start = lot.entry + [0.0, 0.0, off * bin_rad]
        snapped = Lattice(lot.obstacles, lot.size, start, lot.goal, PARAMS, cspace=lattice.cspace)
        assert snapped.start == lattice.start
        result = astar(snapped, "route")
        assert result.success and not snapped.collides(result.poses).any()
    assert Lattice(lot.obstacles, lot.size, lot.entry + [0.0, 0.0, 0.6 * bin_rad], lot.goal, PARAMS,
                   cspace=lattice.cspace).start[2] == (lattice.start[2] + 1) % HEADINGS
