"""One closed-loop episode of an agent on a case, as a worker runs it: metrics, failures, optional log."""
from __future__ import annotations

import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

import sim  # noqa: F401  (registers the environments)
from sim.eval.metrics import episode_metrics
from sim.eval.suite import Case
from sim.eval.trace import TraceCollector
from sim.mining.detectors import danger, detect_failures
from sim.scenario.episode_log import save_log
from sim.scenario.io import from_dict
from sim.scenario.recorder import EpisodeRecorder

MAX_CACHED_ENVS = 8
"""Environments a worker keeps (with their worlds built) for the cases it saw last."""
TRAJECTORY_EVERY = 5
"""The result's ego trajectory keeps every this many steps."""
LOG_WHEN = ("always", "failure", "never")

_envs: OrderedDict[str, gym.Env] = OrderedDict()


@dataclass(frozen=True)
class EpisodeJob:
    """What a worker needs to run one episode. ``log_when``: write the episode log to ``log_path``
    always, only when a detector fires ("failure"), or never; ``key`` is echoed back in the result."""

    case: Case
    rep: int
    seed: int
    agent: str
    agent_kwargs: dict = field(default_factory=dict)
    obs_mode: str = "vector"
    log_path: str | None = None
    log_when: str = "always"
    detectors: tuple[str, ...] | None = None
    key: tuple = ()

    def __post_init__(self):
        if self.log_when not in LOG_WHEN:
            raise ValueError(f"EpisodeJob.log_when: expected one of {LOG_WHEN}, got {self.log_when!r}")
        if self.log_when != "never" and not self.log_path:
            raise ValueError(f"EpisodeJob: log_when={self.log_when!r} needs a log_path")


def _env(case: Case, obs_mode: str) -> gym.Env:
    """A (cached) environment for ``case``."""
    key = repr((case.name, case.scenario, sorted(case.config.items()), obs_mode))
    if key in _envs:
        _envs.move_to_end(key)
        return _envs[key]
    if case.scenario is not None:
        env = gym.make("roadloop/Scenario-v0", scenario=from_dict(case.scenario, case.source), obs_mode=obs_mode,
                       **case.config)
    else:
        env = gym.make("roadloop/Drive-v0", obs_mode=obs_mode, **case.config)
    _envs[key] = env
    while len(_envs) > MAX_CACHED_ENVS:
        _envs.popitem(last=False)[1].close()
    return env


def run_episode(job: EpisodeJob) -> dict:
    """Run ``job``; returns a JSON-able result: key, case, rep, seed, metrics, failures (dicts), danger,
    log (path or None), trajectory (ego xy every TRAJECTORY_EVERY steps), steps, wall_s, and error (None, or
    the traceback of an exception the episode raised)."""
    from agents import make_agent

    t0 = time.perf_counter()
    out = {"key": list(job.key), "case": job.case.name, "rep": job.rep, "seed": job.seed, "agent": job.agent,
           "metrics": {}, "failures": [], "danger": 0.0, "log": None, "trajectory": [], "steps": 0, "error": None}
    try:
        env = _env(job.case, job.obs_mode)
        agent = make_agent(job.agent, **job.agent_kwargs)
        obs, info = env.reset(seed=job.seed)
        agent.reset(obs, info)
        collector = TraceCollector(env, agent)
        collector.add(info)
        recorder = EpisodeRecorder(env, {"seed": job.seed}, job.agent, obs) if job.log_when != "never" else None
        done = False
        while not done:
            action = agent.act(obs, info)
            obs, reward, terminated, truncated, info = env.step(action)
            collector.add(info, terminated, truncated)
            if recorder is not None:
                recorder.record(env, action, obs, reward, terminated, truncated)
            done = terminated or truncated
        trace = collector.trace(case=job.case.name, seed=job.seed)
        metrics = episode_metrics(trace)
        names = list(job.detectors) if job.detectors is not None else None
        failures = detect_failures(trace, metrics, names)
        out.update(metrics=metrics, failures=[f.to_dict() for f in failures], danger=danger(trace, metrics, names),
                   steps=trace.steps,
                   trajectory=np.round(trace.ego[::TRAJECTORY_EVERY, :2], 1).tolist())
        if recorder is not None and (job.log_when == "always" or failures):
            out["log"] = str(save_log(recorder.log(case=job.case.name), job.log_path))
    except Exception:
        out["error"] = traceback.format_exc()
    out["wall_s"] = time.perf_counter() - t0
    return out
