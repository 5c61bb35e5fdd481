"""``BatchedDriveEnv``: N ``roadloop/Drive-v0`` worlds stepped together, bit-identical to N single envs.

World ``i`` of ``reset(seed=s)`` is the single env reset with seed ``s + i`` (Gymnasium's SyncVectorEnv
convention) and then stepped with the same actions: observations, rewards, terminations, truncations and the
metrics in ``info`` are the same bit for bit. Autoreset follows Gymnasium's default ``NEXT_STEP`` mode: the
step after a world's episode ends resets that world (its action is ignored, reward 0, no termination).

What runs once for all worlds: the ego dynamics (one physics call), the traffic step (``sim.traffic.batched``:
one compiled call over every world's vehicles) and, in ``vector`` mode, the nearest-actor part of the observation
(``VectorObservation.observe_many``). What is still a Python loop over worlds (``Simulation.before_traffic`` and
``after_traffic``): the route projection, the obstacles traffic must respect, traffic recycling (every
``RECYCLE_EVERY`` steps), trailers, pedestrians and cyclists, the actor table, collision queries, rewards, the
route part of the observation and ``bev`` drawing; and resets.
"""
from __future__ import annotations

from collections import OrderedDict

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from sim.env.config import DriveConfig
from sim.env.observations import Frame, make_observation
from sim.env.reward import reward, route_complete, terminated
from sim.env.simulation import EGO_LENGTH, EGO_WIDTH, Simulation, contact_world
from sim.physics import VehicleParams, VehicleState
from sim.traffic.batched import WorldTables, step_traffic_worlds

SUPPORTED_MODES = ("vector", "bev")
"""Observation modes of the batched env (others: ``vectorization_mode="sync"`` over the single env)."""
MAX_IDLE_CONTACT_WORLDS = 16
"""Contact worlds kept for scenes no world is on now (a world pool's scenes come back)."""
STATE_FIELDS = ("x", "y", "heading", "speed", "lateral_speed", "yaw_rate", "steer", "accel")
"""VehicleState fields, in order."""


class BatchedDriveEnv(VectorEnv):
    """``num_envs`` Drive-v0 worlds with one configuration (the single env's keyword options or ``config=``).

    Observation modes: SUPPORTED_MODES. Spaces: the single env's, batched (observations (N, ...), actions (N, 2)
    in [-1, 1]). ``info`` holds the single env's per-step metrics as (N,) arrays (with Gymnasium's ``_name``
    masks, all True); the privileged ``vector_space``, ``map`` and ``action_mapping`` of the single env are left
    out. Worlds on the same scene (a ``num_worlds`` pool) share its tables and contact world."""

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 1, config: DriveConfig | None = None, render_mode: str | None = None,
                 **kwargs):
        self._contacts: OrderedDict[int, tuple] = OrderedDict()
        """id(scene) -> (scene, ContactWorld), shared by the worlds on that scene."""
        if not (isinstance(num_envs, int) and not isinstance(num_envs, bool) and num_envs >= 1):
            raise ValueError(f"roadloop/Drive-v0 (batched): num_envs must be an int >= 1, got {num_envs!r}")
        if render_mode is not None:
            raise ValueError(f"roadloop/Drive-v0 (batched): render_mode must be None, got {render_mode!r}")
        if "scenario" in kwargs:
            raise ValueError("roadloop/Drive-v0 (batched): scenarios are not supported; use vectorization_mode='sync'")
        if config is not None and kwargs:
            raise ValueError(f"roadloop/Drive-v0 (batched): pass either config= or keyword options, not both "
                             f"({sorted(kwargs)})")
        self.config = config if config is not None else DriveConfig.from_kwargs(**kwargs)
        if self.config.obs_mode not in SUPPORTED_MODES:
            raise ValueError(f"roadloop/Drive-v0 (batched): obs_mode {self.config.obs_mode!r} is not supported by "
                             f"the batched env (supported: {SUPPORTED_MODES}); use vectorization_mode='sync'")
        self.num_envs = num_envs
        self.render_mode = None
        self.sim = Simulation(self.config)
        self.obs_type = make_observation(self.config.obs_mode, self.config)
        self.single_observation_space = self.obs_type.space()
        self.single_action_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._rngs: list[np.random.Generator | None] = [None] * num_envs
        self._scenes: list = [None] * num_envs
        self._states: list = [None] * num_envs
        self._tables: WorldTables | None = None
        space = self.single_observation_space
        self._obs = np.zeros((num_envs, *space.shape), space.dtype)
        self._autoreset = np.zeros(num_envs, bool)
        self._params: dict[int, VehicleParams] = {}

    def reset(self, *, seed: int | list | None = None, options: dict | None = None):
        """Reset every world: world ``i`` with seed ``seed + i`` (a list: one seed per world; None: go on with
        each world's generator, seeded from entropy the first time)."""
        if options:
            raise ValueError(f"roadloop/Drive-v0 (batched): reset options are not supported, got {sorted(options)}")
        if seed is None or isinstance(seed, (int, np.integer)):
            seeds = [None if seed is None else int(seed) + i for i in range(self.num_envs)]
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(f"roadloop/Drive-v0 (batched): expected {self.num_envs} seeds, got {len(seeds)}")
        for i, s in enumerate(seeds):
            self._reset_world(i, s)
        if self._tables is None:
            self._tables = WorldTables([s.lane_map for s in self._scenes])
        self._autoreset[:] = False
        return self._obs.copy(), self._info()

    def _reset_world(self, i: int, seed: int | None = None) -> None:
        """What DriveEnv.reset does, for world ``i``."""
        if seed is not None or self._rngs[i] is None:
            self._rngs[i], _ = seeding.np_random(seed)
        rng = self._rngs[i]
        scene = self.sim.new_scene(rng)
        self._scenes[i] = scene
        self._contact_world(scene)
        self._states[i] = self.sim.reset(scene, rng)
        if self._tables is not None:
            self._tables.set(i, scene.lane_map)
        self._observe_world(i)

    def _observe_world(self, i: int) -> None:
        self._obs[i] = self.obs_type.observe(Frame(self._states[i], self._scenes[i]))

    def step(self, actions):
        if any(st is None for st in self._states):
            raise RuntimeError("roadloop/Drive-v0 (batched): call reset() before step()")
        actions = np.asarray(actions, dtype=np.float64)
        if actions.shape != (self.num_envs, 2):
            raise ValueError(f"roadloop/Drive-v0 (batched): actions must have shape ({self.num_envs}, 2), got "
                             f"{actions.shape}")
        if not np.isfinite(actions).all():
            raise ValueError("roadloop/Drive-v0 (batched): actions must be finite, got "
                             f"{actions[~np.isfinite(actions).all(axis=1)].tolist()}")
        actions = np.clip(actions, -1.0, 1.0)
        rewards = np.zeros(self.num_envs)
        terms = np.zeros(self.num_envs, bool)
        truncs = np.zeros(self.num_envs, bool)
        for i in np.flatnonzero(self._autoreset):
            self._reset_world(int(i))
        live = np.flatnonzero(~self._autoreset)
        if live.size:
            rewards[live], terms[live], truncs[live] = self._advance(live, actions[live])
        self._autoreset = terms | truncs
        return self._obs.copy(), rewards, terms, truncs, self._info()

    def _advance(self, live: np.ndarray, actions: np.ndarray):
        """Step the worlds ``live`` with ``actions`` (len(live), 2): (rewards, terminated, truncated) of each."""
        sim, cfg = self.sim, self.config
        prev = [self._states[i] for i in live]
        rngs = [self._rngs[i] for i in live]
        scenes = [self._scenes[i] for i in live]
        steer, accel = self._controls(actions)
        egos = VehicleState(*(np.concatenate([getattr(st.ego, f) for st in prev]) for f in STATE_FIELDS))
        moved = sim.model.forward(egos, self._ego_params(live.size), steer, accel, cfg.dt, cfg.substeps)
        cols = [getattr(moved, f) for f in STATE_FIELDS]
        moves = [sim.before_traffic(scene, st, VehicleState(*(c[j : j + 1] for c in cols)), rng)
                 for j, (scene, st, rng) in enumerate(zip(scenes, prev, rngs))]
        traffic = step_traffic_worlds(self._tables, live.tolist(), [m.traffic for m in moves],
                                      [m.obstacles for m in moves], [m.walkers for m in moves], cfg.dt, rngs,
                                      [m.ego_xy for m in moves], cfg.traffic, [st.step_index for st in prev],
                                      [m.forced for m in moves])
        rewards = np.empty(live.size)
        terms = np.empty(live.size, bool)
        truncs = np.empty(live.size, bool)
        for j, i in enumerate(live):
            st = sim.after_traffic(scenes[j], self._contact_world(scenes[j]), prev[j], moves[j], traffic[j], rngs[j])
            self._states[i] = st
            rewards[j] = reward(cfg.reward, prev[j], st)
            terms[j] = terminated(st)
            truncs[j] = not terms[j] and st.t >= cfg.episode_seconds - 1e-9
        frames = [Frame(self._states[i], self._scenes[i]) for i in live]
        if hasattr(self.obs_type, "observe_many"):
            self._obs[live] = self.obs_type.observe_many(frames)
        else:
            for i, frame in zip(live, frames):
                self._obs[i] = self.obs_type.observe(frame)
        return rewards, terms, truncs

    def _controls(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``Simulation.controls`` of each row of ``actions`` (W, 2): steer targets (W,) rad, accelerations (W,)
        m/s^2."""
        p = self.sim.ego_params
        a = actions[:, 1]
        return actions[:, 0] * p.max_steer, np.where(a >= 0, a * p.max_accel, a * p.max_brake)

    def _ego_params(self, n: int) -> VehicleParams:
        if n not in self._params:
            self._params[n] = VehicleParams.car(n, length=EGO_LENGTH, width=EGO_WIDTH)
        return self._params[n]

    def _info(self) -> dict:
        """The single env's per-step metrics (sim.env.reward.metrics) of every world, as (N,) arrays."""
        states = self._states
        goal = np.array([st.route.goal_s for st in states])
        progress = np.array([st.progress_m for st in states])
        info = {
            "t": np.array([st.t for st in states]),
            "speed": np.array([st.ego.speed[0] for st in states]),
            "accel": np.array([st.accel for st in states]),
            "jerk": np.array([st.jerk for st in states]),
            "lat_accel": np.array([st.lat_accel for st in states]),
            "progress_m": progress,
            "route_completion": np.where(goal > 0, np.clip(progress / np.where(goal > 0, goal, 1.0), 0.0, 1.0), 1.0),
            "route_offset_m": np.array([st.route_offset_m for st in states]),
            "lane_id": np.array([st.lane for st in states], np.int64),
            "collision": np.array([st.collision for st in states], object),
            "off_road": np.array([st.off_road for st in states], bool),
            "route_complete": np.array([route_complete(st) for st in states], bool),
        }
        for k in list(info):
            info["_" + k] = np.ones(self.num_envs, bool)
        return info

    def _contact_world(self, scene):
        """The contact world of ``scene`` (shared by the worlds on it; a few of scenes no world is on are kept)."""
        key = id(scene)
        if key in self._contacts:
            self._contacts.move_to_end(key)
            return self._contacts[key][1]
        self._contacts[key] = (scene, contact_world(scene.world))
        used = {id(s) for s in self._scenes if s is not None} | {key}
        idle = [k for k in self._contacts if k not in used]
        for k in idle[: max(len(idle) - MAX_IDLE_CONTACT_WORLDS, 0)]:
            self._contacts.pop(k)[1].close()
        return self._contacts[key][1]

    def close_extras(self, **kwargs):
        for _, contacts in self._contacts.values():
            contacts.close()
        self._contacts.clear()
