"""Recording episodes of ``roadloop/Drive-v0``, ``roadloop/Parking-v0`` and ``roadloop/Scenario-v0`` (road or
parking scenarios) into EpisodeLogs."""
from __future__ import annotations

import hashlib
from pathlib import Path

import gymnasium as gym
import numpy as np

from sim.env import parking
from sim.env.simulation import COLLISION_KINDS
from sim.scenario.episode_log import EpisodeLog, code_version, save_log
from sim.scenario.io import to_dict


def reset_spec(env: gym.Env, seed: int | None) -> dict:
    """How to reproduce the coming ``reset(seed=seed)``: the seed, or the generator state it will start from."""
    base = env.unwrapped
    if seed is not None:
        return {"seed": int(seed)}
    if base._np_random is None:  # gymnasium would seed from OS entropy: pick and keep a seed instead
        return {"seed": int(np.random.SeedSequence().entropy % 2**63)}
    return {"rng_state": base.np_random.bit_generator.state}


def obs_digest(obs) -> int:
    """64-bit digest of an observation's bytes (logs compare observations without storing them); a dict
    observation (camera mode) is digested key by key in sorted order."""
    h = hashlib.blake2b(digest_size=8)
    for key, value in sorted(obs.items()) if isinstance(obs, dict) else [("", obs)]:
        a = np.ascontiguousarray(value)
        h.update(f"{key}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return int.from_bytes(h.digest(), "little")


def _ego_row(state) -> np.ndarray:
    e = state.ego
    return np.array([e.x[0], e.y[0], e.heading[0], e.speed[0], e.lateral_speed[0], e.yaw_rate[0], e.steer[0],
                     e.accel[0]])


def snapshot(base: gym.Env) -> tuple:
    """(ego row (8,), actor table (7, M), kind (M,), progress_m, collision index, off_road) of an unwrapped env's
    current state. A parking env's ego row is x, y, heading, signed speed, 0, 0, steer, 0 (its kinematic ego has no
    lateral speed and no yaw-rate or acceleration state), its actors are the ego and the moving actors, its
    ``progress_m`` is the distance left to the goal pose and its collision indexes parking.COLLISION_KINDS."""
    if isinstance(base, parking.ParkingEnv):
        ego, plan = base.ego, base.lot_actors
        table = np.zeros((7, 1 + plan.n))
        table[:3, 0], table[3, 0] = ego.pose, ego.speed
        table[4:7, 0] = parking.EGO_LENGTH_M, parking.EGO_WIDTH_M, parking.EGO_HEIGHT_M
        if plan.n:
            boxes = base.actor_table()
            table[:3, 1:], table[3, 1:], table[4:7, 1:] = boxes[:, :3].T, base.actor_speed, plan.size.T
        row = np.array([*ego.pose, ego.speed, 0.0, 0.0, ego.steer, 0.0])
        collision = base.collision
        distance = float(np.hypot(*(ego.pose[:2] - base.lot.goal[:2])))
        return (row, table, np.concatenate([[-1], plan.code]).astype(np.int8), distance,
                parking.COLLISION_KINDS.index(collision), collision == "boundary")
    state = base.state
    return (_ego_row(state), state.actors.table.copy(), state.actors.kind.copy(), state.progress_m,
            COLLISION_KINDS.index(state.collision), state.off_road)


class EpisodeRecorder:
    """Collects one episode step by step and turns it into an EpisodeLog."""

    def __init__(self, env: gym.Env, reset: dict, agent: str | None, obs):
        base = env.unwrapped
        default_id = parking.ENV_ID if isinstance(base, parking.ParkingEnv) else "roadloop/Drive-v0"
        self.meta = {"code_version": code_version(), "env_id": env.spec.id if env.spec else default_id,
                     "config": base.config.to_dict(), "reset": reset, "agent": agent,
                     "scenario": to_dict(base.scenario) if base.scenario is not None else None}
        ego, table, self.kind, progress, _, _ = snapshot(base)
        self.actions, self.ego, self.actors, self.progress = [], [ego], [table], [progress]
        self.digests = [obs_digest(obs)]
        self.reward, self.terminated, self.truncated, self.collision, self.off_road = [], [], [], [], []

    def record(self, env: gym.Env, action, obs, reward: float, terminated: bool, truncated: bool) -> None:
        ego, table, _, progress, collision, off_road = snapshot(env.unwrapped)
        self.digests.append(obs_digest(obs))
        self.actions.append(np.asarray(action, dtype=np.float64).reshape(2))
        self.ego.append(ego)
        self.actors.append(table)
        self.progress.append(progress)
        self.reward.append(reward)
        self.terminated.append(terminated)
        self.truncated.append(truncated)
        self.collision.append(collision)
        self.off_road.append(off_road)

    def log(self, **meta) -> EpisodeLog:
        arrays = {
            "actions": np.asarray(self.actions, dtype=np.float64).reshape(-1, 2), "ego": np.asarray(self.ego),
            "actors": np.asarray(self.actors), "kind": self.kind, "reward": np.asarray(self.reward, dtype=np.float64),
            "terminated": np.asarray(self.terminated, dtype=bool), "truncated": np.asarray(self.truncated, dtype=bool),
            "collision": np.asarray(self.collision, dtype=np.int8), "off_road": np.asarray(self.off_road, dtype=bool),
            "progress_m": np.asarray(self.progress, dtype=np.float64),
            "obs_digest": np.asarray(self.digests, dtype=np.uint64),
        }
        return EpisodeLog(dict(self.meta, steps=len(self.actions), **meta), arrays)


class RecordEpisodes(gym.Wrapper):
    """Writes every finished episode to ``directory/episode-NNNNN.npz`` (atomically)."""

    def __init__(self, env: gym.Env, directory, agent: str | None = None):
        super().__init__(env)
        self.directory = Path(directory)
        self.agent = agent
        self.episode = 0
        self.recorder: EpisodeRecorder | None = None
        self.paths: list[Path] = []

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        spec = reset_spec(self.env, seed)
        obs, info = self.env.reset(seed=spec.get("seed"), options=options) if "seed" in spec else self.env.reset(
            options=options)
        self.recorder = EpisodeRecorder(self.env, spec, self.agent, obs)
        return obs, info

    def step(self, action):
        if self.recorder is None:
            raise RuntimeError("RecordEpisodes: the episode has ended (or not begun): call reset() first")
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.recorder.record(self.env, action, obs, reward, terminated, truncated)
        if terminated or truncated:
            path = self.directory / f"episode-{self.episode:05d}.npz"
            self.paths.append(save_log(self.recorder.log(), path))
            self.episode += 1
            self.recorder = None
        return obs, reward, terminated, truncated, info
