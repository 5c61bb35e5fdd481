"""Distinct failures found per 1,000 episodes by each search strategy, against uniform random sampling,
with the same agent, space, budget, batch size and seeds; the real mining pipeline (``sim.mining.mine``).

    python bench/mining_efficiency.py --budget 1000 --workers 2 --out runs/mining_efficiency.json

``perturb`` starts from the first failure uniform random found with the same seed (local perturbation
needs a failure to start from); its row says so."""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sim.mining.campaign import CampaignConfig, mine
from sim.mining.store import FailureStore


@dataclass
class Args:
    agent: str = "lane_keeping"
    space: str = "cut_in"
    strategies: tuple[str, ...] = ("uniform", "cross_entropy", "surrogate", "perturb")
    budget: int = 1000
    batch: int = 25
    seeds: tuple[int, ...] = (0,)
    detectors: tuple[str, ...] = ()
    """Detectors that count as failures (empty: all)."""
    workers: int = 2
    out: str = "runs/mining_efficiency.json"
    keep: str = ""
    """Folder to keep the campaigns in (default: a temporary folder, deleted)."""


def first_failure(store_path: Path) -> np.ndarray | None:
    with FailureStore(store_path) as store:
        failures = store.failures()
    return np.asarray(failures[0]["params"]) if failures else None


def main(args: Args) -> None:
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mining-bench-"))
    detectors = tuple(args.detectors) or None
    rows = []
    try:
        for seed in args.seeds:
            found = None
            for strategy in args.strategies:
                params = {}
                if strategy == "perturb":
                    if found is None:
                        rows.append({"seed": seed, "strategy": strategy, "skipped": "uniform found no failure"})
                        continue
                    params = {"seeds": found[None]}
                cfg = CampaignConfig(name=f"{strategy}-{seed}", agent=args.agent, space=args.space, strategy=strategy,
                                     budget=args.budget, batch=args.batch, seed=seed, detectors=detectors,
                                     workers=args.workers, runs_dir=str(root), mined_dir=str(root / "mined"))
                t0 = time.perf_counter()
                m = mine(cfg, strategy_params=params)
                wall = time.perf_counter() - t0
                if strategy == "uniform":
                    found = first_failure(cfg.store_path)
                valid = m["episodes"] - m["invalid"]
                rows.append({"seed": seed, "strategy": strategy, "episodes": m["episodes"], "invalid": m["invalid"],
                             "failures": m["failures"], "distinct": m["distinct_failures"],
                             "clusters": len(m["clusters"]),
                             "distinct_per_1000": 1000.0 * m["distinct_failures"] / max(m["episodes"], 1),
                             "failure_rate": m["failures"] / max(valid, 1), "wall_s": wall,
                             "episodes_per_min": 60.0 * m["episodes"] / wall,
                             "started_from": "uniform's first failure" if strategy == "perturb" else ""})
                print(json.dumps(rows[-1]), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    base = {r["seed"]: r["distinct_per_1000"] for r in rows if r["strategy"] == "uniform"}
    print(f"\n{args.agent} on space {args.space}, budget {args.budget}, batch {args.batch}, "
          f"detectors {list(detectors) if detectors else 'all'}")
    print(f"{'seed':>4} {'strategy':>14} {'episodes':>8} {'failures':>8} {'distinct':>8} {'clusters':>8} "
          f"{'per 1000':>9} {'vs uniform':>10}")
    for r in rows:
        if "skipped" in r:
            print(f"{r['seed']:>4} {r['strategy']:>14}  skipped: {r['skipped']}")
            continue
        b = base.get(r["seed"])
        r["vs_uniform"] = r["distinct_per_1000"] / b if b else None
        ratio = f"{r['vs_uniform']:.1f}x" if b else ("inf" if r["distinct"] else "-")
        print(f"{r['seed']:>4} {r['strategy']:>14} {r['episodes']:>8} {r['failures']:>8} {r['distinct']:>8} "
              f"{r['clusters']:>8} {r['distinct_per_1000']:>9.1f} {ratio:>10}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))
    print(f"-> {out}")


def parse() -> Args:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    d = Args()
    p.add_argument("--agent", default=d.agent)
    p.add_argument("--space", default=d.space)
    p.add_argument("--strategies", nargs="+", default=list(d.strategies))
    p.add_argument("--budget", type=int, default=d.budget)
    p.add_argument("--batch", type=int, default=d.batch)
    p.add_argument("--seeds", type=int, nargs="+", default=list(d.seeds))
    p.add_argument("--detectors", nargs="*", default=list(d.detectors))
    p.add_argument("--workers", type=int, default=d.workers)
    p.add_argument("--out", default=d.out)
    p.add_argument("--keep", default=d.keep)
    a = p.parse_args()
    return Args(**{**vars(a), "strategies": tuple(a.strategies), "seeds": tuple(a.seeds),
                   "detectors": tuple(a.detectors)})


if __name__ == "__main__":
    main(parse())
