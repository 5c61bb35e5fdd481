"""Evaluation runs: suites, deterministic episode seeds, workers and Ray giving the same episodes, the
run folder (logs, metrics.json, report with videos), and the ``roadloop eval`` command."""
import dataclasses
import json

import pytest

from sim.cli import main
from sim.eval.episode import EpisodeJob, run_episode
from sim.eval.evaluate import EvalConfig, evaluate, evaluate_baselines, finish
from sim.eval.runner import Runner
from sim.eval.suite import Case, SuiteError, episode_seed, load_suite
from sim.scenario.episode_log import load_log
from sim.scenario.io import SCENARIO_DIR, load_scenario, save_scenario
from sim.scenario.replay import replay

SHIPPED = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def test_default_suite_is_shipped_scenarios_plus_generated_worlds():
    cases = load_suite("default")
    names = [c.name for c in cases]
    assert sorted(n for n in names if not n.startswith("world-")) == SHIPPED
    worlds = [c for c in cases if c.scenario is None]
    assert len(worlds) == 10 and len({c.config["world_seed"] for c in worlds}) == 10


def test_suite_parts_combine_and_bad_parts_are_named(tmp_path):
    assert [c.name for c in load_suite("cut_in_short_gap,procedural:2")] == ["cut_in_short_gap", "world-000",
                                                                               "world-001"]
    folder = tmp_path / "mined"
    folder.mkdir()
    save_scenario(dataclasses.replace(load_scenario("lead_car_hard_brake"), name="x1"), folder / "x1.yaml")
    assert [c.name for c in load_suite(str(folder))] == ["x1"]
    with pytest.raises(SuiteError, match="no_such_thing"):
        load_suite("no_such_thing")
    with pytest.raises(SuiteError, match="procedural:K"):
        load_suite("procedural:zero")
    with pytest.raises(SuiteError, match="more than once"):
        load_suite("cut_in_short_gap,cut_in_short_gap")
    with pytest.raises(SuiteError, match="holds no scenario"):
        (tmp_path / "empty").mkdir()
        load_suite(str(tmp_path / "empty"))


def test_episode_seeds_are_deterministic_distinct_and_honour_a_scenario_seed():
    case = load_suite("cut_in_short_gap")[0]
    seeds = [episode_seed(0, case, rep) for rep in range(20)]
    assert seeds == [episode_seed(0, case, rep) for rep in range(20)] and len(set(seeds)) == 20
    assert episode_seed(1, case, 0) != seeds[0]
    seeded = dataclasses.replace(case, scenario={**case.scenario, "seed": 77})
    assert episode_seed(0, seeded, 0) == 77 and episode_seed(0, seeded, 1) != 77


def _jobs(tmp_path, names=("cut_in_short_gap", "lead_car_hard_brake"), reps=2):
    cases = load_suite(",".join(names))
    return [EpisodeJob(c, r, episode_seed(0, c, r), "lane_keeping", log_path=str(tmp_path / f"{c.name}-{r}.npz"),
                       key=(k, r)) for k, c in enumerate(cases) for r in range(reps)]


def _by_key(results):
    return {tuple(r["key"]): (r["metrics"], r["failures"], r["danger"]) for r in results}


def test_an_episode_result_has_metrics_failures_and_a_log_that_replays(tmp_path):
    job = _jobs(tmp_path, ("lead_car_hard_brake",), 1)[0]
    r = run_episode(job)
    assert r["error"] is None, r["error"]
    assert 0.0 <= r["metrics"]["route_completion"] <= 1.0 and 0.0 <= r["danger"] <= 1.0
    assert r["steps"] == load_log(r["log"]).steps
    assert replay(load_log(r["log"])).identical
    json.dumps(r)


def test_workers_give_the_same_episodes_as_one_process(tmp_path):
    jobs = _jobs(tmp_path)
    with Runner(1) as runner:
        one = _by_key(runner.run(jobs))
    with Runner(2) as runner:
        two = _by_key(runner.run(jobs))
    assert one == two and len(one) == 4


def test_ray_backend_on_a_local_instance_gives_the_same_episodes(tmp_path):
    jobs = _jobs(tmp_path, ("cut_in_short_gap",), 2)
    with Runner(1) as runner:
        local = _by_key(runner.run(jobs))
    with Runner(2, backend="ray") as runner:
        remote = _by_key(runner.run(jobs))
    assert local == remote


def test_runner_refuses_bad_settings():
    with pytest.raises(ValueError, match="backend"):
        Runner(1, backend="slurm")
    with pytest.raises(ValueError, match="workers"):
        Runner(0)
    with pytest.raises(ValueError, match="address"):
        Runner(2, address="10.0.0.1:6379")


def test_an_episode_that_raises_is_reported_not_lost(tmp_path):
    bad = Case("bad", None, {"world_seed": 0, "num_traffic": -5})
    r = run_episode(EpisodeJob(bad, 0, 0, "lane_keeping", log_when="never"))
    assert r["error"] is not None and "TrafficSpec.count" in r["error"]


def test_evaluation_writes_logs_metrics_and_a_report_with_videos(tmp_path):
    cfg = EvalConfig(agent="lane_keeping", suite="cut_in_short_gap,lead_car_hard_brake", episodes=2, workers=2,
                     runs_dir=str(tmp_path), name="t", videos=1)
    summary = evaluate(cfg, progress=False)
    report = finish(cfg, summary)
    saved = json.loads((tmp_path / "t" / "metrics.json").read_text())
    assert saved["agent"] == "lane_keeping" and len(saved["episodes"]) == 4 and not saved["errors"]
    assert set(saved["by_case"]) == {"cut_in_short_gap", "lead_car_hard_brake"}
    for name in ("score", "route_completion", "collision", "min_ttc_s", "max_abs_jerk", "passed"):
        assert name in saved["aggregate"]
    agg = saved["aggregate"]["score"]
    assert agg["ci_low"] <= agg["mean"] <= agg["ci_high"] and agg["n"] == 4
    with_video = [e for e in saved["episodes"] if e["video"]]
    assert len(with_video) == 1 and with_video[0]["replay_identical"] is True
    assert (tmp_path / "t" / with_video[0]["video"]).stat().st_size > 1000
    assert (tmp_path / "t" / with_video[0]["camera_video"]).stat().st_size > 1000  # the rig, re-driven with cameras
    html = report.read_text()
    assert "lane_keeping" in html and html.count("data:video/mp4;base64,") == 2
    again = evaluate(cfg, progress=False)
    finish(dataclasses.replace(cfg, camera_videos=0), again)
    assert "previous run" in (tmp_path / "t" / "report.html").read_text()
    assert [e["metrics"] for e in again["episodes"]] == [e["metrics"] for e in saved["episodes"]]


def test_eval_command_runs_a_suite_and_prints_the_report_path(tmp_path, capsys):
    rc = main(["eval", "--agent", "lane_keeping", "--suite", "cut_in_short_gap", "--mine-budget", "0",
               "--runs-dir", str(tmp_path), "--name", "cli", "--videos", "0"])
    out = capsys.readouterr().out
    assert rc == 0 and "report:" in out and (tmp_path / "cli" / "report.html").exists()


def test_baselines_run_the_same_cases_and_seeds(tmp_path):
    cfg = EvalConfig(agent="lane_keeping", suite="cut_in_short_gap", runs_dir=str(tmp_path), name="b", videos=0)
    base = evaluate_baselines(cfg, ["lane_keeping"], progress=False)
    own = evaluate(cfg, progress=False)
    assert base["lane_keeping"]["episodes"] == 1 and base["lane_keeping"]["errors"] == 0
    assert base["lane_keeping"]["aggregate"]["score"] == own["aggregate"]["score"]  # same seeds, same episode
    assert not (tmp_path / "b-lane_keeping" / "logs").exists()  # baselines write no logs
    with pytest.raises(SystemExit, match=r"--baselines: unknown agents \['nobody'\]"):
        main(["eval", "--agent", "lane_keeping", "--suite", "cut_in_short_gap", "--mine-budget", "0",
              "--runs-dir", str(tmp_path), "--baselines", "nobody"])
