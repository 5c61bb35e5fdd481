"""A mining campaign: a search strategy proposes scenarios from a space, workers run the agent on them,
detectors find failures, and every episode is committed to the campaign's failure store as it finishes.

Distinct failures: a failure is a duplicate when an earlier distinct failure of the same cluster
(detector, road type, actors involved) lies within DEDUP_RADIUS of it in every parameter (cube units);
each distinct failure is written as an ordinary scenario file (with the seed that reproduces it) under
``<mined_dir>/<campaign>/``. A campaign resumes from its store: finished batches are re-told to the
strategy (which is deterministic given its seed and history), and only the missing episodes run.
``perturb`` on an ``around:SCENARIO`` space starts from the scenario itself (a recorded failure's
neighbourhood becomes a family of related scenarios).

Chance is searched too: with ``realizations`` R > 0 the episode seed (background traffic, sizes and
junction turns left open) is one of R per campaign, chosen by one more cube coordinate, so that a failure
and its neighbours share their randomness (common random numbers) and a failure that needed a particular
draw can be found again near it. A space whose scenario fixes its own seed (``around:`` a mined failure)
keeps that seed for every proposal."""
from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from sim.eval.episode import EpisodeJob
from sim.eval.runner import Runner
from sim.eval.suite import Case
from sim.mining.space import ScenarioSpace, make_space
from sim.mining.store import FailureStore, StoreError
from sim.mining.strategies import make_strategy
from sim.scenario.episode_log import code_version
from sim.scenario.io import save_scenario, to_dict
from sim.scenario.values import ScenarioError

DEDUP_RADIUS = 0.05
"""Failures of one cluster closer than this in every cube coordinate are one failure."""
CAMPAIGN_KEYS = ("agent", "space", "strategy", "seed", "batch", "detectors", "realizations")
"""Settings a resumed campaign must share with the stored one."""


@dataclass(frozen=True)
class CampaignConfig:
    """A mining campaign; files go to ``<runs_dir>/mining/<name>/`` (store, logs) and
    ``<mined_dir>/<name>/`` (scenario files of distinct failures)."""

    name: str
    agent: str
    space: str = "cut_in"
    strategy: str = "surrogate"
    budget: int = 200
    """Episodes in total (a resumed campaign runs up to this many)."""
    batch: int = 16
    """Proposals per strategy round."""
    seed: int = 0
    detectors: tuple[str, ...] | None = None
    """Detectors that count as failures (None: all registered)."""
    workers: int = 1
    backend: str = "local"
    address: str | None = None
    runs_dir: str = "runs"
    mined_dir: str = "scenarios/mined"
    obs_mode: str = "vector"
    realizations: int = 16
    """Episode seeds the search chooses among (see the module docstring); 0: a fresh seed per episode."""

    def __post_init__(self):
        if not (isinstance(self.realizations, int) and self.realizations >= 0):
            raise ValueError(f"realizations must be an int >= 0, got {self.realizations!r}")
        if not (isinstance(self.budget, int) and self.budget >= 1):
            raise ValueError(f"budget must be an int >= 1, got {self.budget!r}")
        if not (isinstance(self.batch, int) and self.batch >= 1):
            raise ValueError(f"batch must be an int >= 1, got {self.batch!r}")

    @property
    def store_path(self) -> Path:
        return Path(self.runs_dir) / "mining" / self.name / "campaign.sqlite"

    @property
    def scenario_dir(self) -> Path:
        return Path(self.mined_dir) / self.name


def _seed(*entropy: int) -> int:
    return int(np.random.SeedSequence(list(entropy)).generate_state(1, np.uint64)[0] % 2**63)


@dataclass(frozen=True)
class Chance:
    """How a campaign seeds its episodes: the scenario's own ``fixed`` seed, one of ``realizations`` seeds
    picked by the last cube coordinate, or (both None/0) a fresh seed per (batch, index)."""

    seed: int
    fixed: int | None
    realizations: int

    @property
    def extra_dims(self) -> int:
        return 1 if self.fixed is None and self.realizations else 0

    def episode_seed(self, u: np.ndarray, batch: int, idx: int) -> int:
        if self.fixed is not None:
            return self.fixed
        if self.realizations:
            return _seed(self.seed, min(int(u[-1] * self.realizations), self.realizations - 1))
        return _seed(self.seed, batch, idx)


def _chance(cfg: CampaignConfig, space: ScenarioSpace) -> Chance:
    return Chance(cfg.seed, space.base.get("seed"), cfg.realizations)


class Dedup:
    """Distinct failures so far, per cluster key: their cube points and store ids."""

    def __init__(self):
        self.points: dict[str, list[tuple[np.ndarray, int]]] = {}

    def duplicate_of(self, key: str, u: np.ndarray) -> int | None:
        for point, fid in self.points.get(key, ()):
            if np.max(np.abs(point - u)) < DEDUP_RADIUS:
                return fid
        return None

    def add(self, key: str, u: np.ndarray, fid: int) -> None:
        self.points.setdefault(key, []).append((np.asarray(u, float), fid))


def _meta(cfg: CampaignConfig, space: ScenarioSpace) -> dict:
    return {"agent": cfg.agent, "space": cfg.space, "strategy": cfg.strategy, "seed": cfg.seed, "batch": cfg.batch,
            "detectors": list(cfg.detectors) if cfg.detectors is not None else None, "budget": cfg.budget,
            "realizations": cfg.realizations, "dim": space.dim + _chance(cfg, space).extra_dims,
            "params": [asdict(p) for p in space.params], "code_version": code_version()}


def mine(cfg: CampaignConfig, resume: bool = False, progress: bool = True, strategy_params: dict | None = None) -> dict:
    """Run (or, with ``resume``, continue) a campaign; returns its summary (see ``summary``)."""
    space = make_space(cfg.space)
    path = cfg.store_path
    if path.exists() and not resume:
        raise StoreError(f"{path}: campaign {cfg.name!r} exists; continue it with --resume or pick another --name")
    if resume and not path.exists():
        raise StoreError(f"{path}: no campaign {cfg.name!r} to resume")
    meta = _meta(cfg, space)
    with FailureStore(path, meta) as store:
        stored = store.meta
        changed = [k for k in CAMPAIGN_KEYS if stored.get(k) != meta.get(k)]
        if changed:
            raise StoreError(f"{path}: campaign {cfg.name!r} was started with other settings: "
                             + ", ".join(f"{k} {stored.get(k)!r} (now {meta.get(k)!r})" for k in changed))
        _run(cfg, space, store, progress, strategy_params or {})
        return summary(store, cfg)


def _run(cfg: CampaignConfig, space: ScenarioSpace, store: FailureStore, progress: bool, strategy_params: dict):
    chance = _chance(cfg, space)
    if cfg.strategy == "perturb" and "around" in space.meta:
        centre = np.concatenate([space.center(), np.full(chance.extra_dims, 0.5)])
        strategy_params = {"seeds": centre[None], **strategy_params}
    strategy = make_strategy(cfg.strategy, space.dim + chance.extra_dims, cfg.seed, **strategy_params)
    episodes: dict[tuple[int, int], dict] = {(e["batch"], e["idx"]): e for e in store.episodes()}
    dedup = Dedup()
    for f in store.failures():
        if f["distinct_of"] is None:
            dedup.add(f["cluster_key"], np.asarray(f["params"]), f["id"])
    n_batches = math.ceil(cfg.budget / cfg.batch)
    bar = tqdm(total=cfg.budget, initial=min(len(episodes), cfg.budget), desc=f"mining {cfg.name}", unit="ep",
               file=sys.stderr, disable=not progress)
    failures = store.failures()
    counts = {"failures": len(failures), "distinct": sum(f["distinct_of"] is None for f in failures)}
    bar.set_postfix(counts)
    with Runner(cfg.workers, cfg.backend, cfg.address) as runner:
        for b in range(n_batches):
            n = min(cfg.batch, cfg.budget - b * cfg.batch)
            x = strategy.ask(b, n)
            jobs = []
            for i in range(n):
                done = episodes.get((b, i))
                if done is not None:
                    if not np.allclose(done["params"], x[i], rtol=0, atol=1e-12):
                        raise StoreError(f"{cfg.store_path}: batch {b} episode {i} was stored with other parameters "
                                         "than the strategy proposes now (was the strategy's code changed?)")
                    continue
                seed = chance.episode_seed(x[i], b, i)
                try:
                    scenario = space.build(x[i][:space.dim], name=f"{cfg.name}-b{b:04d}-{i:03d}", seed=seed)
                except ScenarioError as e:
                    episodes[(b, i)] = _commit_invalid(store, b, i, x[i], seed, str(e))
                    bar.update(1)
                    continue
                case = Case(scenario.name, to_dict(scenario), {}, f"{cfg.space}:b{b}:{i}")
                log = Path(cfg.runs_dir) / "mining" / cfg.name / "logs" / f"b{b:04d}-{i:03d}.npz"
                jobs.append(EpisodeJob(case, 0, seed, cfg.agent, obs_mode=cfg.obs_mode, log_path=str(log),
                                       log_when="failure", detectors=cfg.detectors, key=(b, i)))
            for result in runner.run(jobs):
                bi = tuple(result["key"])
                episodes[bi], found, distinct = _commit(store, cfg, space, dedup, bi, x[bi[1]], result)
                counts = {"failures": counts["failures"] + found, "distinct": counts["distinct"] + distinct}
                bar.set_postfix(counts)
                bar.update(1)
            rows = [episodes[(b, i)] for i in range(n)]
            strategy.tell(np.array([r["params"] for r in rows]), np.array([r["danger"] for r in rows]),
                          np.array([bool(r["failed"]) for r in rows]))
    bar.close()


def _commit_invalid(store, b, i, u, seed, error: str) -> dict:
    """Commit a proposal the space could not build (told to the strategy as harmless)."""
    store.add_episode(b, i, [float(v) for v in u], seed, 0.0, False, {"invalid": error}, None, "", [])
    return {"batch": b, "idx": i, "params": [float(v) for v in u], "danger": 0.0, "failed": False}


def _commit(store, cfg: CampaignConfig, space: ScenarioSpace, dedup: Dedup, bi, u, result: dict) -> dict:
    """Commit one episode and its failures; distinct failures get a scenario file first (so that a committed
    failure always points at a complete file). Returns (the row told to the strategy, failures, distinct)."""
    b, i = bi
    if result["error"] is not None:
        raise RuntimeError(f"campaign {cfg.name}: episode b{b} #{i} ({result['case']}) raised:\n{result['error']}")
    failures = []
    for f in result["failures"]:
        dup = dedup.duplicate_of(f["cluster_key"], u)
        row = dict(f, distinct_of=dup, log_path=result["log"], scenario_path=None)
        if dup is None:
            name = f"{cfg.name}-b{b:04d}-{i:03d}-{f['detector']}"
            scenario = space.build(u[:space.dim], name=name, seed=result["seed"], description=(
                f"Mined by campaign {cfg.name} (agent {cfg.agent}, space {cfg.space}, strategy {cfg.strategy}): "
                f"{f['detector']} at step {f['step']} on {f['road_type']}: {f['detail']}"))
            cfg.scenario_dir.mkdir(parents=True, exist_ok=True)
            row["scenario_path"] = str(save_scenario(scenario, cfg.scenario_dir / f"{name}.yaml"))
        failures.append(row)
    failed = bool(failures)
    episode_id = store.add_episode(b, i, [float(v) for v in u], result["seed"], result["danger"], failed,
                                   result["metrics"], result["log"], result["case"], failures)
    new = [(f, fid) for f, fid in zip(failures, store.failure_ids(episode_id)) if f["distinct_of"] is None]
    for f, fid in new:
        dedup.add(f["cluster_key"], np.asarray(u, float), fid)
    row = {"batch": b, "idx": i, "params": [float(v) for v in u], "danger": result["danger"], "failed": failed}
    return row, len(failures), len(new)


def summary(store: FailureStore, cfg: CampaignConfig) -> dict:
    """The campaign as the report and ``roadloop failures`` show it."""
    episodes = store.episodes()
    failures = store.failures()
    distinct, curve = 0, []
    first = {}
    for f in failures:
        if f["distinct_of"] is None:
            first.setdefault((f["batch"], f["idx"]), 0)
            first[(f["batch"], f["idx"])] += 1
    for k, e in enumerate(episodes, 1):
        distinct += first.get((e["batch"], e["idx"]), 0)
        curve.append([k, distinct])
    return {"campaign": cfg.name, "agent": cfg.agent, "space": cfg.space, "strategy": cfg.strategy,
            "budget": cfg.budget, "episodes": len(episodes),
            "invalid": sum("invalid" in e["metrics"] for e in episodes),
            "failures": len(failures), "distinct_failures": distinct, "clusters": store.clusters(),
            "mined_scenarios": [f["scenario_path"] for f in failures if f["scenario_path"]],
            "curve": curve, "store": str(cfg.store_path)}
