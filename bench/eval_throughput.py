"""Evaluation throughput: episodes per minute of ``roadloop eval`` on one suite with 1 worker, K local
worker processes and a local Ray instance with K CPUs; scaling = rate / rate with 1 worker, all in one run.

    python bench/eval_throughput.py --suite scenarios --episodes 4 --workers 2 --out runs/eval_throughput.json

Each configuration runs the whole suite (no videos, no report) into a temporary folder; the time includes
starting the workers (or Ray) and writing every episode log."""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from sim.eval.evaluate import EvalConfig, evaluate


def measure(suite: str, episodes: int, workers: int, backend: str, root: Path) -> dict:
    cfg = EvalConfig(agent="lane_keeping", suite=suite, episodes=episodes, workers=workers, backend=backend,
                     runs_dir=str(root), name=f"{backend}-{workers}", videos=0)
    t0 = time.perf_counter()
    summary = evaluate(cfg, progress=False)
    wall = time.perf_counter() - t0
    n = len(summary["episodes"])
    return {"backend": backend, "workers": workers, "episodes": n, "errors": len(summary["errors"]), "wall_s": wall,
            "episodes_per_min": 60.0 * n / wall,
            "mean_score": summary["aggregate"]["score"]["mean"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", default="scenarios")
    p.add_argument("--episodes", type=int, default=4, help="episodes per case")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--no-ray", action="store_true")
    p.add_argument("--out", default="runs/eval_throughput.json")
    a = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="eval-bench-"))
    rows = []
    try:
        configs = [("local", 1), ("local", a.workers)] + ([] if a.no_ray else [("ray", a.workers)])
        for backend, workers in configs:
            rows.append(measure(a.suite, a.episodes, workers, backend, root))
            print(json.dumps(rows[-1]), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    base = rows[0]["episodes_per_min"]
    print(f"\nsuite {a.suite}, {a.episodes} episodes per case")
    print(f"{'backend':>8} {'workers':>7} {'episodes':>8} {'wall s':>8} {'ep/min':>8} {'scaling':>8} {'score':>6}")
    for r in rows:
        r["scaling"] = r["episodes_per_min"] / base
        print(f"{r['backend']:>8} {r['workers']:>7} {r['episodes']:>8} {r['wall_s']:>8.1f} "
              f"{r['episodes_per_min']:>8.1f} {r['scaling']:>7.2f}x {r['mean_score']:>6.3f}")
    if len({round(r["mean_score"], 12) for r in rows}) != 1:
        print("WARNING: the configurations gave different mean scores")
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(a), "rows": rows}, indent=1))
    print(f"-> {out}")


if __name__ == "__main__":
    main()
