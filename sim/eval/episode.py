"""One closed-loop episode of an agent on a case, as a worker runs it: metrics, failures, optional log.

A parking-lot scenario is driven by the job's agent when that drives parking envs (``agents.agent_env_kind``),
else by DEFAULT_PARKING_AGENT; the result's ``agent`` and its metrics' ``driver`` name who drove."""
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
from sim.mining.detectors import Failure, danger, detect_failures
from sim.parking.lot import KIND_NAMES
from sim.scenario.episode_log import save_log
from sim.scenario.io import from_dict
from sim.scenario.parking import is_parking_document
from sim.scenario.recorder import EpisodeRecorder

MAX_CACHED_ENVS = 8
"""Environments a worker keeps (with their worlds built) for the cases it saw last."""
TRAJECTORY_EVERY = 5
"""The result's ego trajectory keeps every this many steps."""
LOG_WHEN = ("always", "failure", "never")
DEFAULT_PARKING_AGENT = "parking_astar"
"""Drives parking-lot cases when the agent under evaluation is not a parking agent."""

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
    if is_parking_case(case):
        env = gym.make("roadloop/Scenario-v0", scenario=from_dict(case.scenario, case.source), **case.config)
    elif case.scenario is not None:
        env = gym.make("roadloop/Scenario-v0", scenario=from_dict(case.scenario, case.source), obs_mode=obs_mode,
                       **case.config)
    else:
        env = gym.make("roadloop/Drive-v0", obs_mode=obs_mode, **case.config)
    _envs[key] = env
    while len(_envs) > MAX_CACHED_ENVS:
        _envs.popitem(last=False)[1].close()
    return env


def is_parking_case(case: Case) -> bool:
    """Whether ``case`` plays a parking-lot scenario."""
    return case.scenario is not None and is_parking_document(case.scenario)


def _driver(case: Case, name: str, kwargs: dict) -> tuple[str, object]:
    """(name, agent) of who drives ``case`` for an evaluation of agent ``name`` (see the module docstring); an
    agent that does not drive the case's kind of env (``agents.agent_env_kind``) raises EnvKindError."""
    from agents import agent_env_kind, check_env_kind, make_agent

    if is_parking_case(case) and agent_env_kind(name) not in ("parking", "any"):
        return DEFAULT_PARKING_AGENT, make_agent(DEFAULT_PARKING_AGENT)
    check_env_kind(name, "parking" if is_parking_case(case) else "drive")
    return name, make_agent(name, **kwargs)


def run_episode(job: EpisodeJob) -> dict:
    """Run ``job``; returns a JSON-able result: key, case, rep, seed, agent (who drove), metrics, failures (dicts),
    danger, log (path or None), trajectory (ego xy every TRAJECTORY_EVERY steps), steps, wall_s, and error (None,
    or the traceback of an exception the episode raised)."""
    t0 = time.perf_counter()
    out = {"key": list(job.key), "case": job.case.name, "rep": job.rep, "seed": job.seed, "agent": job.agent,
           "metrics": {}, "failures": [], "danger": 0.0, "log": None, "trajectory": [], "steps": 0, "error": None}
    try:
        env = _env(job.case, job.obs_mode)
        name, agent = _driver(job.case, job.agent, job.agent_kwargs)
        out["agent"] = name
        if is_parking_case(job.case):
            out.update(_parking_episode(job, env, agent, name))
            out["wall_s"] = time.perf_counter() - t0
            return out
        obs, info = env.reset(seed=job.seed)
        agent.reset(obs, info)
        collector = TraceCollector(env, agent)
        collector.add(info)
        recorder = EpisodeRecorder(env, {"seed": job.seed}, name, obs) if job.log_when != "never" else None
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


def _parking_episode(job: EpisodeJob, env: gym.Env, agent, name: str) -> dict:
    """Drive a parking-lot case; the parts of the result that differ from a road case's (see parking_metrics)."""
    obs, info = env.reset(seed=job.seed)
    agent.reset(obs, info)
    recorder = EpisodeRecorder(env, {"seed": job.seed}, name, obs) if job.log_when != "never" else None
    infos, xy, done = [info], [info["vector_space"]["ego"][:2]], False
    while not done:
        action = agent.act(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        infos.append(info)
        xy.append(info["vector_space"]["ego"][:2])
        if recorder is not None:
            recorder.record(env, action, obs, reward, terminated, truncated)
        done = terminated or truncated
    metrics = dict(parking_metrics(infos, 1.0 / env.unwrapped.config.control_hz), driver=name)
    failures = []
    if metrics["collision"]:
        step = metrics["collision_step"]
        failures.append(Failure("collision", step, "parking_lot", (metrics["collision_kind"],),
                                f"the ego touched a {metrics['collision_kind']} at t={infos[step]['t']:.1f} s"))
    out = {"metrics": metrics, "failures": [f.to_dict() for f in failures], "danger": float(metrics["collision"]),
           "steps": len(infos) - 1, "trajectory": np.round(np.array(xy)[::TRAJECTORY_EVERY], 1).tolist()}
    if recorder is not None and (job.log_when == "always" or failures):
        out["log"] = str(save_log(recorder.log(case=job.case.name), job.log_path))
    return out


def parking_metrics(infos: list[dict], dt: float) -> dict:
    """Metrics of a parking episode from the infos after reset and after every step: ``route_completion`` is the
    fraction of the start distance to the goal pose covered (1 when parked), ``progress_m`` that distance in m;
    ``score`` is 0 after a collision, 1 when parked, else half the route completion; ``passed`` is the scenario's
    verdict."""
    distance = np.array([i["distance_m"] for i in infos])
    speed = np.abs([i["speed"] for i in infos])
    hits = [k for k, i in enumerate(infos) if i["collision"]]
    last = infos[-1]
    parked = bool(last["is_success"])
    completion = 1.0 if parked else float(np.clip(1.0 - distance[-1] / max(distance[0], 1e-9), 0.0, 1.0))
    collision = bool(hits)
    kind = infos[hits[0]]["collision"] if hits else ""
    verdict = last.get("scenario", {"success": parked and not collision})
    return {"route_completion": completion, "progress_m": float(distance[0] - distance[-1]),
            "seconds": round((len(infos) - 1) * dt, 9), "steps": len(infos) - 1, "mean_speed": float(speed.mean()),
            "collision": collision, "collision_kind": kind,
            "collision_type": ("static" if kind in KIND_NAMES or kind == "boundary" else "actor") if kind else "",
            "at_fault_collision": collision, "collision_step": hits[0] if hits else None,
            "off_road": kind == "boundary", "parked": parked, "final_distance_m": float(distance[-1]),
            "final_heading_error_rad": float(last["heading_error_rad"]), "passed": bool(verdict["success"]),
            "score": 0.0 if collision else (1.0 if parked else 0.5 * completion)}
