"""Mining campaigns: search spaces, the campaign loop and its store, resuming without repeating work,
surviving a kill, and mined scenarios that reproduce their failures."""
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from sim.eval.episode import EpisodeJob, run_episode
from sim.eval.suite import Case, episode_seed, load_suite
from sim.mining.campaign import CampaignConfig, mine
from sim.mining.space import Param, around, get_path, make_space
from sim.mining.store import FailureStore, StoreError
from sim.scenario.io import load_scenario, to_dict
from sim.scenario.values import ScenarioError
from sim.cli import main
from sim.registry import UnknownNameError

DETECTORS = ("collision", "harsh_braking", "near_miss")
"""Failures a tiny budget finds on lead_brake with the baseline (hard brakes close ahead)."""


def test_space_maps_the_cube_onto_document_values():
    space = make_space("lead_brake")
    u = np.linspace(0.0, 1.0, space.dim)
    scenario = to_dict(space.build(u, name="probe", seed=5))
    for p, x in zip(space.params, u):
        assert get_path(scenario, p.path) == pytest.approx(p.lo + x * (p.hi - p.lo))
    assert scenario["seed"] == 5 and scenario["name"] == "probe"
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        space.build(np.full(space.dim, 1.5))
    with pytest.raises(UnknownNameError, match="cut_in"):
        make_space("nope")
    with pytest.raises(ValueError, match="path"):
        Param("actors[0]..s", 0, 1)


def test_around_a_scenario_contains_it_and_rejects_overlaps():
    base = load_scenario("narrow_street_parked_cars")
    space = around(base)
    rebuilt = space.build(space.center(), name=base.name)
    assert to_dict(rebuilt)["actors"] == to_dict(base)["actors"]
    rng = np.random.default_rng(0)
    errors = 0
    for _ in range(30):
        try:
            space.build(rng.random(space.dim))
        except ScenarioError as e:
            errors += 1
            assert "overlaps" in str(e) or "expected" in str(e)
    assert errors < 30


def test_procedural_space_builds_worlds_that_play():
    space = make_space("procedural")
    rng = np.random.default_rng(0)
    seen = set()
    for k in range(3):
        scenario = space.build(rng.random(space.dim), name=f"w{k}", seed=k)
        seen.add(scenario.world.seed)
        assert 0 <= scenario.traffic.count <= 40 and scenario.ego.route.length_m == 300.0
    assert len(seen) == 3
    case = Case(scenario.name, to_dict(scenario))
    r = run_episode(EpisodeJob(case, 0, 2, "lane_keeping", log_when="never"))
    assert r["error"] is None and r["steps"] > 0


def _cfg(tmp_path, **kw):
    base = dict(name="t", agent="lane_keeping", space="lead_brake", strategy="cross_entropy", budget=12, batch=4,
                seed=3, detectors=DETECTORS, runs_dir=str(tmp_path / "runs"), mined_dir=str(tmp_path / "mined"))
    return CampaignConfig(**{**base, **kw})


def test_campaign_stores_every_episode_and_writes_distinct_failures_as_scenarios(tmp_path):
    cfg = _cfg(tmp_path)
    m = mine(cfg, progress=False)
    assert m["episodes"] == 12 and m["failures"] >= 1
    with FailureStore(cfg.store_path) as store:
        assert store.done() == {(b, i) for b in range(3) for i in range(4)}
        distinct = store.failures(distinct_only=True)
    assert len(distinct) == m["distinct_failures"] == len(m["mined_scenarios"])
    for f in distinct:
        assert os.path.exists(f["scenario_path"]) and os.path.exists(f["log_path"])
    assert {c.name for c in load_suite(str(cfg.scenario_dir))} == {
        load_scenario(p).name for p in m["mined_scenarios"]}


def test_every_mined_scenario_reproduces_its_failure_and_its_log_replays(tmp_path, capsys):
    cfg = _cfg(tmp_path)
    mine(cfg, progress=False)
    with FailureStore(cfg.store_path) as store:
        distinct = store.failures(distinct_only=True)
    assert distinct
    runs = ["--runs-dir", cfg.runs_dir]
    assert main(["failures", cfg.name, *runs]) == 0
    listed = capsys.readouterr().out
    assert all(f"#{f['id']}" in listed for f in distinct)
    assert main(["replay", "--campaign", cfg.name, "--failure", str(distinct[0]["id"]), *runs]) == 0
    assert "bit-identical" in capsys.readouterr().out
    for f in distinct:
        case = load_suite(f["scenario_path"])[0]
        r = run_episode(EpisodeJob(case, 0, episode_seed(0, case, 0), "lane_keeping", log_when="never",
                                   detectors=DETECTORS))
        assert f["cluster_key"] in [g["cluster_key"] for g in r["failures"]], (f, r["failures"])


def test_perturbing_a_mined_failure_spawns_a_family_of_failures(tmp_path):
    cfg = _cfg(tmp_path)
    first = mine(cfg, progress=False)
    seed_failure = first["mined_scenarios"][0]
    family = mine(_cfg(tmp_path, name="family", space=f"around:{seed_failure}", strategy="perturb", budget=8,
                       batch=8), progress=False)
    assert family["failures"] >= 0.5 * family["episodes"]  # 7 of 8 when written
    with FailureStore(_cfg(tmp_path, name="family").store_path) as store:
        seeds = {e["seed"] for e in store.episodes()}
    assert seeds == {load_scenario(seed_failure).seed}, "a failure's family keeps its randomness"


def test_chance_is_searched_among_a_few_seeds(tmp_path):
    cfg = _cfg(tmp_path, realizations=2)
    mine(cfg, progress=False)
    with FailureStore(cfg.store_path) as store:
        episodes = store.episodes()
    assert len({e["seed"] for e in episodes}) == 2
    assert all(len(e["params"]) == make_space("lead_brake").dim + 1 for e in episodes)


def test_resume_runs_only_the_missing_episodes_and_refuses_other_settings(tmp_path):
    first = mine(_cfg(tmp_path), progress=False)
    with FailureStore(_cfg(tmp_path).store_path) as store:
        before = {(e["batch"], e["idx"]): e["created"] for e in store.episodes()}
    more = mine(_cfg(tmp_path, budget=20), resume=True, progress=False)
    with FailureStore(_cfg(tmp_path).store_path) as store:
        after = store.episodes()
    assert more["episodes"] == 20 and len({(e["batch"], e["idx"]) for e in after}) == 20
    assert all(e["created"] == before[(e["batch"], e["idx"])] for e in after if (e["batch"], e["idx"]) in before)
    assert more["distinct_failures"] >= first["distinct_failures"]
    fresh = mine(_cfg(tmp_path, name="fresh", budget=20), progress=False)
    assert [e["params"] for e in FailureStore(_cfg(tmp_path, name="fresh").store_path).episodes()] == [
        e["params"] for e in after]
    assert fresh["failures"] == more["failures"]
    with pytest.raises(StoreError, match="strategy"):
        mine(_cfg(tmp_path, strategy="uniform"), resume=True, progress=False)
    with pytest.raises(StoreError, match="--resume"):
        mine(_cfg(tmp_path), progress=False)


def test_a_killed_campaign_loses_nothing_committed_and_resumes(tmp_path):
    runs = tmp_path / "runs"
    args = [sys.executable, "-m", "sim.cli", "mine", "--agent", "lane_keeping", "--space", "lead_brake",
            "--strategy", "cross_entropy", "--budget", "24", "--batch", "4", "--name", "k", "--detectors",
            ",".join(DETECTORS), "--runs-dir", str(runs), "--mined-dir", str(tmp_path / "mined")]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = runs / "mining" / "k" / "campaign.sqlite"
    deadline = time.monotonic() + 120
    committed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db) as conn:
                    committed = conn.execute("SELECT COUNT(*) FROM episodes").fetchone()[0]
            except sqlite3.OperationalError:
                committed = 0
        if committed >= 6:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the campaign ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with FailureStore(db) as store:
        kept = store.episodes()
        for f in store.failures():
            assert f["scenario_path"] is None or os.path.exists(f["scenario_path"])
    assert 6 <= len(kept) < 24
    done = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with FailureStore(db) as store:
        episodes = store.episodes()
    assert len(episodes) == 24 and len({(e["batch"], e["idx"]) for e in episodes}) == 24
    kept_by_key = {(e["batch"], e["idx"]): e for e in kept}
    for e in episodes:
        if (e["batch"], e["idx"]) in kept_by_key:
            assert e == kept_by_key[(e["batch"], e["idx"])]
