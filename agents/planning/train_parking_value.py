"""Train the parking MCTS network (policy prior over primitives + value) by imitation of A* with the route
heuristic, CleanRL one-file style.

Data: for each generated lot (seeds ``seed + i``), A* (route heuristic) plans from the lot's entry and from
``starts_per_lot - 1`` random collision-free lattice states; every state on a solved path gives a sample with
the primitive A* took (policy target) and minus its cost-to-go / VALUE_SCALE_M (value target). Lots
``eval_seed + i`` are held out: after training, MCTS with the new network plans on them.

Reproduce the shipped checkpoint ``agents/planning/weights/parking_value.pt`` (CPU; 12 minutes on 2 shared cores,
of which 3 generating the data):

    .venv/bin/python agents/planning/train_parking_value.py

Outputs go to ``runs/parking_value/<run_name>/``: ``metrics.csv`` (per epoch), ``summary.json``,
``learning_curve.png`` and ``checkpoint.pt``; with ``--save-weights`` (default on) the checkpoint is also copied
to the shipped path. Smoke test: ``--lots 3 --epochs 2 --eval-lots 1 --no-save-weights``.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
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

from agents.planning.astar import RouteField, astar, route_heuristic  # noqa: E402
from agents.planning.lattice import Lattice  # noqa: E402
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
    """A* plans per lot: from the entry and from random free states."""
    max_nodes: int = 6_000
    """Node budget of each A* plan (unsolved plans are skipped)."""
    epochs: int = 60
    batch_size: int = 256
    learning_rate: float = 2e-3
    value_weight: float = 1.0
    eval_seed: int = 10_000
    eval_lots: int = 20
    """Held-out lots MCTS is tried on after training."""
    threads: int = 2
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


def random_starts(lattice: Lattice, rng: np.random.Generator, count: int) -> list:
    """Up to ``count`` collision-free lattice states drawn uniformly over the lot."""
    out = []
    for _ in range(50 * count):
        if len(out) == count:
            break
        state = (float(rng.uniform(0, lattice.size[0])), float(rng.uniform(0, lattice.size[1])),
                 int(rng.integers(lattice.headings)))
        if not lattice.collides(lattice.pose(state)[None])[0]:
            out.append(state)
    return out


def lot_samples(seed: int, args: Args, params) -> tuple[list, int]:
    """(grid, vec, primitive, value) samples from the A* plans on lot ``seed``, and the number of plans solved."""
    rng = np.random.default_rng(seed)
    lot = generate_lot(LotSpec(), rng)
    base = Lattice(lot.obstacles, lot.size, lot.entry, lot.goal, params)
    route = RouteField(base)
    starts = [base.start] + random_starts(base, rng, args.starts_per_lot - 1)
    samples, solved = [], 0
    for start in starts:
        lattice = Lattice(lot.obstacles, lot.size, base.pose(start), lot.goal, params)
        plan = astar(lattice, route_heuristic(lattice, route), max_nodes=args.max_nodes)
        if not plan.success or not plan.prims:
            continue
        solved += 1
        gears, cost_so_far, gear, g = [], [], 0, 0.0
        for p in plan.prims:
            gears.append(gear)
            cost_so_far.append(g)
            g += lattice.step_cost(p, gear)
            gear = int(lattice.prims.gear[p])
        to_go = plan.cost - np.array(cost_so_far)  # the plan's cost includes its connector onto the goal
        grids, vecs = StateEncoder(lattice, route).encode(plan.states[:-1], gears)
        for i, p in enumerate(plan.prims):
            samples.append((grids[i], vecs[i], p, -to_go[i] / VALUE_SCALE_M))
    return samples, solved


def main(args: Args) -> dict:
    # Seeding
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    run_dir = Path(args.out_dir) / args.run_name
    run_dir.mkdir(parents=True, exist_ok=True)
    params = ego_params(ParkingConfig())
    t0 = time.perf_counter()

    # Data: A* (route heuristic) plans on generated lots
    data, plans = [], 0
    for i in tqdm(range(args.lots), desc="A* plans", unit="lot"):
        samples, solved = lot_samples(args.seed + i, args, params)
        data.extend(samples)
        plans += solved
    if not data:
        raise RuntimeError("no A* plan solved: nothing to train on")
    grids = torch.from_numpy(np.stack([d[0] for d in data]))
    vecs = torch.from_numpy(np.stack([d[1] for d in data]))
    prims = torch.tensor([d[2] for d in data], dtype=torch.long)
    values = torch.tensor([d[3] for d in data], dtype=torch.float32)
    n = len(data)
    perm = torch.randperm(n)
    n_val = max(1, n // 10)
    val, train = perm[:n_val], perm[n_val:]
    data_s = time.perf_counter() - t0

    # Training
    net = ParkingNet()
    opt = torch.optim.Adam(net.parameters(), lr=args.learning_rate)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs)
    rows = []
    for epoch in tqdm(range(args.epochs), desc="epochs"):
        net.train()
        order = train[torch.randperm(len(train))]
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
            row = {"epoch": epoch + 1, "train_loss": total / len(train),
                   "val_policy_loss": float(F.cross_entropy(logits, prims[val])),
                   "val_policy_acc": float((logits.argmax(1) == prims[val]).float().mean()),
                   "val_value_mae_m": float((value - values[val]).abs().mean()) * VALUE_SCALE_M}
        rows.append(row)
    save_net(net, run_dir / "checkpoint.pt")

    # Evaluation on held-out lots
    results = []
    for i in tqdm(range(args.eval_lots), desc="MCTS eval", unit="lot"):
        lot = generate_lot(LotSpec(), np.random.default_rng(args.eval_seed + i))
        plan = mcts(Lattice(lot.obstacles, lot.size, lot.entry, lot.goal, params), net)
        results.append((plan.success, plan.nodes_expanded))
    summary = {"args": dataclasses.asdict(args), "samples": n, "plans": plans, "data_seconds": data_s,
               "seconds": time.perf_counter() - t0, "final": rows[-1],
               "eval_success_rate": float(np.mean([r[0] for r in results])) if results else None,
               "eval_median_nodes": float(np.median([r[1] for r in results])) if results else None}

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
