"""A closed-loop evaluation run: every case of a suite, ``episodes`` times, in parallel, into
``<runs_dir>/<name>/``: per-episode logs, ``metrics.json`` (written atomically) and ``report.html`` with
top-down videos of the worst episodes (re-simulated from their logs, which also checks they replay)."""
from __future__ import annotations

import datetime
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from tqdm import tqdm

from sim.atomic import atomic_open
from sim.eval.aggregate import aggregate, aggregate_by, counts
from sim.eval.episode import EpisodeJob
from sim.eval.metrics import METRICS
from sim.eval.runner import Runner
from sim.eval.suite import episode_seed, load_suite
from sim.scenario.episode_log import code_version


@dataclass(frozen=True)
class EvalConfig:
    """One evaluation run (see the module docstring)."""

    agent: str
    suite: str = "default"
    episodes: int = 1
    """Repetitions of every case (different seeds)."""
    workers: int = 1
    backend: str = "local"
    address: str | None = None
    seed: int = 0
    name: str | None = None
    """Run folder name; default ``<agent>-<suite>``."""
    runs_dir: str = "runs"
    videos: int = 3
    """Worst episodes that get a top-down video in the report."""
    camera_videos: int = 1
    """Worst episodes that also get a camera video (the 8-camera rig, re-driven in camera mode)."""
    obs_mode: str = "vector"
    logs: bool = True
    """Write every episode's log (needed for the report's videos)."""

    def __post_init__(self):
        if not (isinstance(self.episodes, int) and self.episodes >= 1):
            raise ValueError(f"episodes must be an int >= 1, got {self.episodes!r}")

    @property
    def run_name(self) -> str:
        return self.name or f"{self.agent}-{''.join(c if c.isalnum() or c in '-_' else '_' for c in self.suite)}"

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / self.run_name


def write_json(data: dict, path: Path) -> Path:
    """``data`` as JSON at ``path``, written atomically."""
    with atomic_open(path) as f:
        json.dump(data, f, indent=1)
    return path


def evaluate(cfg: EvalConfig, progress: bool = True) -> dict:
    """Run the evaluation; returns the metrics.json dict (also written to ``run_dir``)."""
    cases = load_suite(cfg.suite)
    logs = cfg.run_dir / "logs"
    jobs = [EpisodeJob(case, rep, episode_seed(cfg.seed, case, rep), cfg.agent, obs_mode=cfg.obs_mode,
                       log_path=str(logs / f"{case.name}-{rep:03d}.npz"), key=(k, rep),
                       log_when="always" if cfg.logs else "never")
            for k, case in enumerate(cases) for rep in range(cfg.episodes)]
    results = []
    t0 = time.perf_counter()
    with Runner(cfg.workers, cfg.backend, cfg.address) as runner:
        bar = tqdm(total=len(jobs), desc=f"eval {cfg.agent}", unit="ep", file=sys.stderr, disable=not progress)
        not_passed = 0
        for result in runner.run(jobs):
            results.append(result)
            not_passed += result["error"] is not None or not result["metrics"].get("passed", False)
            bar.set_postfix(not_passed=not_passed)
            bar.update(1)
        bar.close()
    wall = time.perf_counter() - t0
    results.sort(key=lambda r: tuple(r["key"]))
    errors = [r for r in results if r["error"] is not None]
    ok = [r for r in results if r["error"] is None]
    rows = [dict(r["metrics"], case=r["case"]) for r in ok]
    summary = {
        "name": cfg.run_name, "agent": cfg.agent, "suite": cfg.suite, "seed": cfg.seed,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(), "workers": cfg.workers, "backend": cfg.backend, "wall_s": wall,
        "episodes_per_min": 60.0 * len(results) / wall if wall > 0 else None,
        "aggregate": aggregate(rows), "by_case": aggregate_by(rows, "case"),
        "counts": {"collision_type": counts(rows, "collision_type"),
                   "failures": counts([{"d": f["detector"]} for r in ok for f in r["failures"]], "d")},
        "metric_info": {k: vars(v) for k, v in METRICS.items()},
        "episodes": [{"case": r["case"], "rep": r["rep"], "seed": r["seed"], "log": r["log"], "metrics": r["metrics"],
                      "failures": r["failures"], "trajectory": r["trajectory"], "video": None, "camera_video": None,
                      "wall_s": r["wall_s"]} for r in ok],
        "errors": [{"case": r["case"], "rep": r["rep"], "seed": r["seed"], "error": r["error"]} for r in errors],
        "mining": None,
    }
    return summary


BASELINE_METRICS = ("score", "passed", "route_completion", "progress_m", "collision", "off_road", "comfortable")
"""Metrics of the baselines table of the report."""


def evaluate_baselines(cfg: EvalConfig, agents: list[str], progress: bool = True) -> dict:
    """The same suite, seeds and workers driven by each of ``agents`` (without logs or videos):
    {agent: {"episodes": N, "aggregate": {metric: stats} for BASELINE_METRICS}}."""
    from agents import agent_obs_mode

    out = {}
    for name in agents:
        run = evaluate(replace(cfg, agent=name, name=f"{cfg.run_name}-{name}", obs_mode=agent_obs_mode(name),
                               logs=False, videos=0, camera_videos=0), progress)
        out[name] = {"episodes": len(run["episodes"]), "errors": len(run["errors"]),
                     "aggregate": {m: run["aggregate"][m] for m in BASELINE_METRICS if m in run["aggregate"]}}
    return out


def _previous(cfg: EvalConfig, compare: str | None) -> tuple[dict | None, str]:
    """The run to compare with: ``compare`` (metrics.json or its folder), else this run's previous metrics."""
    if compare is not None:
        path = Path(compare)
        path = path / "metrics.json" if path.is_dir() else path
        if not path.is_file():
            raise FileNotFoundError(f"--compare: no metrics.json at {path}")
        return json.loads(path.read_text()), str(path)
    previous = cfg.run_dir / "metrics.json"
    if previous.is_file():
        return json.loads(previous.read_text()), "previous run"
    return None, ""


def finish(cfg: EvalConfig, summary: dict, compare: str | None = None) -> Path:
    """Render top-down videos of the worst episodes (re-simulating their logs, which must replay bit-exactly) and
    camera videos of the worst ``camera_videos``, write metrics.json and report.html; returns the report's path."""
    from sim.eval.report import write_report
    from sim.eval.view import worst_episodes
    from sim.scenario.episode_log import load_log
    from sim.scenario.replay import camera_video, replay

    other, label = _previous(cfg, compare)
    for i in worst_episodes(summary, cfg.videos) if cfg.videos else []:
        ep = summary["episodes"][i]
        if ep["log"] is None:
            continue
        video = cfg.run_dir / "videos" / f"{ep['case']}-{ep['rep']:03d}.mp4"
        log = load_log(ep["log"])
        ep["replay_identical"] = replay(log, video=video).identical
        ep["video"] = str(video.relative_to(cfg.run_dir))
        if i in worst_episodes(summary, cfg.camera_videos):
            camera = video.with_name(f"{video.stem}-camera.mp4")
            ep["replay_identical"] &= camera_video(log, camera)
            ep["camera_video"] = str(camera.relative_to(cfg.run_dir))
    write_json(summary, cfg.run_dir / "metrics.json")
    return write_report(cfg.run_dir, summary, other, label)
