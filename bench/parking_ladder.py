"""Parking search ladder: nodes expanded, success, path length and planning time of the three lattice planners
(A* with the Euclidean heuristic, A* with the route heuristic, MCTS with the learned network) on the same lots.

    .venv/bin/python bench/parking_ladder.py [--lots 50] [--seed 1000] [--max-nodes 2000000] [--mcts-nodes 5000]
                                             [--weights agents/planning/weights/parking_value.pt]
                                             [--closed-loop] [--out ladder.json]

Lot i is ``roadloop/Parking-v0``'s lot for seed ``seed + i`` (default options), planned from its entry pose by
the parking agent of each planner. A planner that hits its node budget (``--max-nodes`` for A*, ``--mcts-nodes``
for MCTS) counts as a failure with that many nodes; the capped seeds are listed. Nodes (states whose successors
were generated) and planning time are over all runs, path length and gear changes over successes. With
``--closed-loop`` each agent then drives its plan in the env and the share of episodes that end parked (success,
no collision, within the episode time) is reported too. Prints a table and, with ``--out``, writes the per-lot
results and the summary as JSON.
"""
import argparse
import json

import numpy as np
import torch
from tqdm import tqdm

import gymnasium as gym

import sim  # noqa: F401  (registers the environments)
from agents.planning.parking_agent import PLANNERS, ParkingAgent
from agents.planning.value_net import WEIGHTS, load_net


def summarise(runs: list[dict]) -> dict:
    nodes = np.array([r["nodes"] for r in runs])
    ok = [r for r in runs if r["success"]]
    return {"lots": len(runs), "success_rate": len(ok) / len(runs), "capped": sum(r["capped"] for r in runs),
            "nodes_median": float(np.median(nodes)), "nodes_mean": float(nodes.mean()),
            "path_length_m_mean": float(np.mean([r["length"] for r in ok])) if ok else None,
            "gear_changes_mean": float(np.mean([r["gear_changes"] for r in ok])) if ok else None,
            "capped_seeds": [r["seed"] for r in runs if r["capped"]],
            "time_s_median": float(np.median([r["time"] for r in runs])),
            "time_s_mean": float(np.mean([r["time"] for r in runs])),
            "closed_loop_success_rate": (float(np.mean([r["parked"] for r in runs]))
                                         if runs[0]["parked"] is not None else None)}


def drive(env, agent, obs, info) -> bool:
    """Run the episode with ``agent`` (already reset on ``obs``, ``info``); True when it ends parked."""
    while True:
        obs, _, terminated, truncated, info = env.step(agent.act(obs, info))
        if terminated or truncated:
            return bool(info["is_success"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--max-nodes", type=int, default=2_000_000)
    parser.add_argument("--mcts-nodes", type=int, default=5000)
    parser.add_argument("--weights", default=str(WEIGHTS))
    parser.add_argument("--closed-loop", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.manual_seed(0)
    net = load_net(args.weights)
    env = gym.make("roadloop/Parking-v0")
    runs = {p: [] for p in PLANNERS}
    for i in tqdm(range(args.lots), desc="lots"):
        for name in PLANNERS:
            obs, info = env.reset(seed=args.seed + i)
            agent = ParkingAgent(name, max_nodes=args.mcts_nodes if name == "mcts" else args.max_nodes, net=net)
            agent.reset(obs, info)
            plan = agent.plan
            parked = drive(env, agent, obs, info) if args.closed_loop else None
            runs[name].append({"seed": args.seed + i, "success": plan.success, "nodes": plan.nodes_expanded,
                               "capped": plan.capped, "length": plan.path_length_m, "time": plan.time_s,
                               "gear_changes": plan.gear_changes if plan.success else None,
                               "parked": parked})
    summary = {p: summarise(r) for p, r in runs.items()}
    print(f"{'planner':<16} {'success':>8} {'capped':>6} {'nodes med':>10} {'nodes mean':>11} {'path m':>7} "
          f"{'gears':>6} {'time med s':>10} {'time mean s':>11} {'parked':>7}")
    for p, s in summary.items():
        length = f"{s['path_length_m_mean']:7.1f}" if s["path_length_m_mean"] is not None else f"{'-':>7}"
        gears = f"{s['gear_changes_mean']:6.2f}" if s["gear_changes_mean"] is not None else f"{'-':>6}"
        parked = f"{s['closed_loop_success_rate']:7.0%}" if s["closed_loop_success_rate"] is not None else f"{'-':>7}"
        print(f"{p:<16} {s['success_rate']:8.0%} {s['capped']:6d} {s['nodes_median']:10.0f} {s['nodes_mean']:11.0f} "
              f"{length} {gears} {s['time_s_median']:10.3f} {s['time_s_mean']:11.3f} {parked}")
    for p, s in summary.items():
        if s["capped_seeds"]:
            print(f"{p}: capped on seeds {s['capped_seeds']}")
    e, m = summary["astar_euclidean"], summary["mcts"]
    print(f"Euclidean A* / MCTS nodes: median {e['nodes_median'] / max(m['nodes_median'], 1):.1f}x, "
          f"mean {e['nodes_mean'] / max(m['nodes_mean'], 1):.1f}x")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "summary": summary, "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
