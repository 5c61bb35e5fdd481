"""Re-simulating episode logs (road and parking): bit-exact replay, re-driving from step K with another agent,
videos."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

import sim  # noqa: F401  (registers the environments)
from sim.env.config import DriveConfig
from sim.env.parking import ENV_ID as PARKING_ID, ParkingConfig
from sim.scenario.episode_log import EpisodeLog
from sim.scenario.io import from_dict
from sim.scenario.parking import ParkingScenario
from sim.scenario.recorder import EpisodeRecorder
from sim.video import write_mp4

COMPARED = ("ego", "actors", "obs_digest", "reward", "terminated", "truncated", "collision", "off_road", "progress_m")
PER_STATE = ("ego", "actors", "obs_digest", "progress_m")
"""Arrays with one row per state (T+1); the others have one per step (T)."""


@dataclass(frozen=True)
class ReplayResult:
    """``identical``: every compared array matched bit for bit over the replayed steps; ``first_mismatch``:
    (step, array name) of the first difference, or None; ``log``: the new episode (re-drives differ after
    ``from_step``)."""

    identical: bool
    first_mismatch: tuple[int, str] | None
    log: EpisodeLog


def is_parking(log: EpisodeLog) -> bool:
    """Whether ``log`` comes from a parking env (Parking-v0, or Scenario-v0 playing a parking scenario)."""
    scenario = log.meta.get("scenario")
    return log.meta["env_id"] == PARKING_ID or isinstance(scenario and from_dict(scenario), ParkingScenario)


def make_env(log: EpisodeLog, render: bool = False, **overrides) -> gym.Env:
    """The environment a log was recorded in (with config ``overrides``, e.g. another observation mode of a road
    log), reset to the log's first state; returns (env, obs, info) of that reset."""
    config_cls = ParkingConfig if is_parking(log) else DriveConfig
    config = config_cls.from_kwargs(**{**log.meta["config"], **overrides})
    scenario = from_dict(log.meta["scenario"]) if log.meta.get("scenario") else None
    env = gym.make(log.meta["env_id"], config=config, scenario=scenario, render_mode="rgb_array" if render else None)
    reset = log.meta["reset"]
    if "seed" in reset:
        obs, info = env.reset(seed=reset["seed"])
    else:
        env.reset(seed=0)
        env.unwrapped.np_random.bit_generator.state = reset["rng_state"]
        obs, info = env.reset()
    return env, obs, info


def replay(log: EpisodeLog, agent=None, agent_name: str | None = None, from_step: int = 0,
           video: str | Path | None = None) -> ReplayResult:
    """Re-simulate ``log``. Without ``agent`` the logged actions are replayed and every step is compared;
    with one, the logged actions drive steps ``< from_step`` (compared), then ``agent`` drives to the end."""
    if not 0 <= from_step <= log.steps:
        raise ValueError(f"from_step must be in 0..{log.steps} (the log's steps), got {from_step}")
    env, obs, info = make_env(log, render=video is not None)
    base = env.unwrapped
    recorder = EpisodeRecorder(env, log.meta["reset"], agent_name if agent is not None else log.meta.get("agent"), obs)
    frames = [env.render()] if video is not None else []
    steps = log.steps if agent is None else None
    k = 0
    done = False
    while not done and (steps is None or k < steps):
        if agent is not None and k == from_step:
            agent.reset(obs, dict(info, action_mapping=base.action_mapping()))
        action = log.arrays["actions"][k] if agent is None or k < from_step else agent.act(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        recorder.record(env, action, obs, reward, terminated, truncated)
        if video is not None:
            frames.append(env.render())
        done = terminated or truncated
        k += 1
    env.close()
    new = recorder.log(redrive_from_step=from_step if agent is not None else None)
    compared = log.steps if agent is None else from_step
    mismatch = _first_mismatch(log, new, compared)
    if video is not None:
        write_mp4(frames, video, fps=base.config.control_hz)
    return ReplayResult(mismatch is None, mismatch, new)


def _first_mismatch(old: EpisodeLog, new: EpisodeLog, steps: int):
    """First (step, array) where ``new`` differs from ``old`` over the first ``steps`` steps."""
    if new.steps < steps:
        return (new.steps, "steps")
    for k in range(steps + 1):
        for name in COMPARED:
            a, b = old.arrays[name], new.arrays[name]
            if name in PER_STATE or k < steps:
                if not np.array_equal(a[k], b[k]):
                    return (k, name)
    return None


CAMERA_VIDEO = {"width": 160, "height": 120}
"""Camera options of ``camera_video``: the default 8-camera rig at 160x120."""


def camera_video(log: EpisodeLog, video: str | Path, camera: dict | None = None) -> bool:
    """Re-drive ``log``'s actions in camera mode (``camera``: CameraConfig options, default CAMERA_VIDEO) and
    write an MP4 of the whole rig (a mosaic of every camera) with a progress bar. Sensor noise has its own
    generator, so the episode is the log's: returns whether every step's actors matched the log bit for bit.
    A parking env has no camera rig: a parking log's video is its top-down view (``replay`` with a video)."""
    from tqdm import tqdm

    from sim.labels.sheet import rig_mosaic

    if is_parking(log):
        return replay(log, video=video).identical
    env, obs, _ = make_env(log, obs_mode="camera", camera=camera or CAMERA_VIDEO)
    frames, same = [rig_mosaic(obs)], True
    for k in tqdm(range(log.steps), desc="camera video", unit="step", leave=False):
        obs, *_ = env.step(log.arrays["actions"][k])
        frames.append(rig_mosaic(obs))
        same = same and np.array_equal(env.unwrapped.state.actors.table, log.arrays["actors"][k + 1])
    rate = env.unwrapped.config.control_hz
    env.close()
    write_mp4(frames, video, fps=rate)
    return same
