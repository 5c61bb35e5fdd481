"""Train the parking MCTS network (policy prior over primitives + value) by imitation of A* with the route
heuristic and a round of self-play, CleanRL one-file style.

Data: for each generated lot (seeds ``seed + i``), A* (route heuristic) plans from the lot's entry and from
``starts_per_lot - 1`` random collision-free lattice states (half anywhere, half near the goal); every state on a
solved path gives a sample with the primitive A* took (policy target) and minus its cost-to-go / VALUE_SCALE_M
(value target). A network is trained on that; then, per self-play round, MCTS with it drives every training lot
from the entry, A* plans from a few states along each MCTS path (the states MCTS reaches when it strays from the
A* plans: a bay entered nose-first for a reverse-in goal, say) add their samples, and a fresh network is trained
on all the data. Lots ``eval_seed + i`` are held out: after training, MCTS with the final network plans on them.

Reproduce the shipped checkpoint ``agents/planning/weights/parking_value.pt`` (CPU; 9.5 minutes on 2 cores shared
with other jobs, of which 3.6 generating the first data):

    .venv/bin/python agents/planning/train_parking_value.py

Outputs go to ``runs/parking_value/<run_name>/``: ``metrics.csv`` (per epoch of the last training),
``summary.json``, ``learning_curve.png`` and ``checkpoint.pt``; with ``--save-weights`` (default on) the
checkpoint is also copied to the shipped path. Smoke test: ``--lots 3 --epochs 2 --eval-lots 1 --no-save-weights``.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import multiprocessing
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from tqdm import tqdm  # noqa: E402

from agents.planning.astar import RouteField, astar  # noqa: E402
from agents.planning.lattice import CELL_M, Lattice  # noqa: E402
from agents.planning.mcts import mcts  # noqa: E402
from agents.planning.value_net import VALUE_SCALE_M, WEIGHTS, ParkingNet, StateEncoder, save_net  # noqa: E402
from sim.env.parking import ParkingConfig, ego_params  # noqa: E402
from sim.parking import LotSpec, generate_lot  # noqa: E402


@dataclass
class Args:
    seed: int = 0
    """Seed of torch, of the data split and of the first training lot."""
    lots: int = 100
    """Training lots (seeds seed .. seed + lots - 1)."""
    starts_per_lot: int = 3
    """A* plans per lot: from the entry and from random free states (half over the lot, half near the goal)."""
    near_goal_m: float = 8.0
    """Random states near the goal lie within this distance of it on each axis, m."""
    self_play_rounds: int = 1
    self_play_states: int = 3
    """States labelled by A* per lot and self-play round."""
    self_play_nodes: int = 1_500
    """Node budget of the self-play MCTS."""
    max_nodes: int = 300_000
    """Node budget of each A* plan (unsolved plans are skipped)."""
    cell_m: float = CELL_M
    """Closed-set resolution of the A* plans that make the data, m."""
    heuristic_weight: float = 1.0
    """Weight on the route heuristic of those plans (> 1: weighted A*, faster and slightly suboptimal)."""
    epochs: int = 30
    batch_size: int = 256
    learning_rate: float = 2e-3
    value_weight: float = 1.0
    eval_seed: int = 10_000
    eval_lots: int = 20
    """Held-out lots MCTS is tried on after training."""
    workers: int = 2
    """Processes generating the data."""
    threads: int = 1
    """Torch threads training (on shared cores, one thread is several times faster than two)."""
    run_name: str = "parking_value"
    out_dir: str = "runs/parking_value"
    save_weights: bool = True
    """Copy the checkpoint to agents/planning/weights/parking_value.pt."""


def parse_args() -> Args:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for f in dataclasses.fields(Args):
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
        else:
            parser.add_argument(flag, type={"int": int, "float": float, "str": str}[f.type], default=f.default)
    return Args(**vars(parser.parse_args()))


def random_starts(lattice: Lattice, rng: np.random.Generator, count: int, near_m: float | None = None) -> list:
    """Up to ``count`` collision-free lattice states drawn uniformly over the lot, or within ``near_m`` of the
    goal (any heading)."""
    out = []
    for _ in range(50 * count):
        if len(out) == count:
            break
        if near_m is None:
            x, y = rng.uniform(0, lattice.size[0]), rng.uniform(0, lattice.size[1])
        else:
            x, y = lattice.goal[:2] + rng.uniform(-near_m, near_m, 2)
        state = (float(x), float(y), int(rng.integers(lattice.headings)))
        if not lattice.collides(lattice.pose(state)[None])[0]:
            out.append(state)
    return out


def lot_samples(seed: int, args: Args, params, starts: list | None = None) -> tuple[list, int]:
    """(grid, vec, primitive, value) samples from the A* plans on lot ``seed`` from ``starts`` (default: the
    entry, random states over the lot and near the goal), and the number of plans solved."""
    rng = np.random.default_rng(seed)
    lot = generate_lot(LotSpec(), rng)
    base = Lattice(lot.obstacles, lot.size, lot.entry, lot.goal, params, cell_m=args.cell_m)
    route = RouteField(base)
    if starts is None:
        extra = args.starts_per_lot - 1
        starts = ([base.start] + random_starts(base, rng, extra - extra // 2)
                  + random_starts(base, rng, extra // 2, near_m=args.near_goal_m))
    samples, solved = [], 0
    for start in starts:
        lattice = base.with_start(base.pose(start))
        plan = astar(lattice, "route", max_nodes=args.max_nodes, weight=args.heuristic_weight, route=route)
        if not plan.success or not plan.prims:
            continue
        solved += 1
        gears, cost_so_far, prev, g = [], [], -1, 0.0
        for p in plan.prims:
            gears.append(int(lattice.prims.gear[prev]) if prev >= 0 else 0)
            cost_so_far.append(g)
            g += lattice.step_cost(p, prev)
            prev = p
        to_go = plan.cost - np.array(cost_so_far)  # the plan's cost includes its connector onto the goal
        grids, vecs = StateEncoder(lattice, route).encode(plan.states[:-1], gears)
        for i, p in enumerate(plan.prims):
            samples.append((grids[i], vecs[i], p, -to_go[i] / VALUE_SCALE_M))
    return samples, solved


def self_play_states(net: ParkingNet, seed: int, args: Args, params) -> list:
    """Up to ``args.self_play_states`` states, evenly spaced, along the path MCTS with ``net`` finds on lot
    ``seed`` from its entry (none when it fails)."""
    lot = generate_lot(LotSpec(), np.random.default_rng(seed))
    plan = mcts(Lattice(lot.obstacles, lot.size, lot.entry, lot.goal, params), net, max_nodes=args.self_play_nodes)
    inner = plan.states[1:-1]
    return inner[::max(1, len(inner) // args.self_play_states)][:args.self_play_states]


def make_data(tasks: list, args: Args, params) -> tuple[list, int]:
    """Samples and solved plans of ``lot_samples`` over ``tasks`` (seed, starts or None), in worker processes."""
    data, plans = [], 0
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        work = pool.imap(_lot_samples, [(seed, starts, args, params) for seed, starts in tasks])
        for samples, solved in tqdm(work, total=len(tasks), desc="A* plans", unit="lot"):
            data.extend(samples)
            plans += solved
    return data, plans


def _lot_samples(task: tuple) -> tuple[list, int]:
    seed, starts, args, params = task
    return lot_samples(seed, args, params, starts)


def train(data: list, args: Args) -> tuple[ParkingNet, list]:
    """A fresh network fitted to ``data`` (10% held out for validation) and its per-epoch metrics."""
    grids = torch.from_numpy(np.stack([d[0] for d in data]))
    vecs = torch.from_numpy(np.stack([d[1] for d in data]))
    prims = torch.tensor([d[2] for d in data], dtype=torch.long)
    values = torch.tensor([d[3] for d in data], dtype=torch.float32)
    n = len(data)
    perm = torch.randperm(n)
    n_val = max(1, n // 10)
    val, train_idx = perm[:n_val], perm[n_val:]
    net = ParkingNet()
    opt = torch.optim.Adam(net.parameters(), lr=args.learning_rate)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs)
    rows = []
    for epoch in tqdm(range(args.epochs), desc="epochs"):
        net.train()
        order = train_idx[torch.randperm(len(train_idx))]
        total = 0.0
        for start in range(0, len(order), args.batch_size):
            idx = order[start:start + args.batch_size]
            logits, value = net(grids[idx], vecs[idx])
            loss = F.cross_entropy(logits, prims[idx]) + args.value_weight * F.mse_loss(value, values[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        net.eval()
        with torch.no_grad():
            logits, value = net(grids[val], vecs[val])
            rows.append({"epoch": epoch + 1, "samples": n, "train_loss": total / len(train_idx),
                         "val_policy_loss": float(F.cross_entropy(logits, prims[val])),
                         "val_policy_acc": float((logits.argmax(1) == prims[val]).float().mean()),
                         "val_value_mae_m": float((value - values[val]).abs().mean()) * VALUE_SCALE_M})
    return net, rows


def main(args: Args) -> dict:
    # Seeding
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    run_dir = Path(args.out_dir) / args.run_name
    run_dir.mkdir(parents=True, exist_ok=True)
    params = ego_params(ParkingConfig())
    t0 = time.perf_counter()

    # Data: A* (route heuristic) plans on generated lots, one lot per worker process at a time (in seed order)
    seeds = range(args.seed, args.seed + args.lots)
    data, plans = make_data([(seed, None) for seed in seeds], args, params)
    if not data:
        raise RuntimeError("no A* plan solved: nothing to train on")
    data_s = time.perf_counter() - t0

    # Training, then self-play rounds: MCTS with the network drives the training lots, A* labels states along
    # its paths (where it wanders off the A* plans), and a fresh network is trained on all the data
    torch.set_num_threads(args.threads)
    net, rows = train(data, args)
    for _ in range(args.self_play_rounds):
        tasks = [(seed, self_play_states(net, seed, args, params)) for seed in tqdm(seeds, desc="self-play")]
        more, solved = make_data([t for t in tasks if t[1]], args, params)
        data.extend(more)
        plans += solved
        net, rows = train(data, args)
    save_net(net, run_dir / "checkpoint.pt")
    n = len(data)

    # Evaluation on held-out lots
    results = []
    for i in tqdm(range(args.eval_lots), desc="MCTS eval", unit="lot"):
        lot = generate_lot(LotSpec(), np.random.default_rng(args.eval_seed + i))
        plan = mcts(Lattice(lot.obstacles, lot.size, lot.entry, lot.goal, params), net)
        results.append((plan.success, plan.nodes_expanded, plan.path_length_m))
    summary = {"args": dataclasses.asdict(args), "samples": n, "plans": plans, "data_seconds": data_s,
               "seconds": time.perf_counter() - t0, "final": rows[-1],
               "eval_success_rate": float(np.mean([r[0] for r in results])) if results else None,
               "eval_median_nodes": float(np.median([r[1] for r in results])) if results else None,
               "eval_mean_path_m": float(np.mean([r[2] for r in results if r[0]])) if any(r[0] for r in results) else None}

    # Metrics, learning curve, checkpoint
    with open(run_dir / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    ep = [r["epoch"] for r in rows]
    ax[0].plot(ep, [r["train_loss"] for r in rows], label="train loss")
    ax[0].plot(ep, [r["val_policy_loss"] for r in rows], label="val policy CE")
    ax[0].set_xlabel("epoch")
    ax[0].legend()
    ax[1].plot(ep, [r["val_policy_acc"] for r in rows], label="val policy accuracy")
    ax[1].plot(ep, [r["val_value_mae_m"] / VALUE_SCALE_M for r in rows], label=f"val value MAE (/{VALUE_SCALE_M:g} m)")
    ax[1].set_xlabel("epoch")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(run_dir / "learning_curve.png", dpi=100)
    plt.close(fig)
    if args.save_weights:
        WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run_dir / "checkpoint.pt", WEIGHTS)
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main(parse_args())
