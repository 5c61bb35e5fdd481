"""``roadloop/Drive-v0``: drive a route through a procedurally generated world with traffic."""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path

import gymnasium as gym
import numpy as np

from sim.env.config import DriveConfig
from sim.env.observations import Frame, make_observation
from sim.env.reward import metrics, reward, terminated
from sim.env.simulation import Simulation, contact_world
from sim.env.topdown import render_topdown
from sim.env.scenario_export import export_scenario, scenario_outcome
from sim.env.vector_space import lane_map_arrays, obstacles_table, vector_space
from sim.scenario.io import load_scenario
from sim.scenario.parking import ParkingScenario

MAX_CACHED_CONTACT_WORLDS = 16


SENSOR_STREAM = 0x5E45
"""Spawn-key word of the sensors' generator (see ``sensor_rng``)."""


def sensor_rng(np_random: np.random.Generator) -> np.random.Generator:
    """The sensors' own generator for an episode, a function of (never drawing from) the env's generator state at
    reset. Sensor noise then leaves the simulation's draws alone, so an episode is the same in every observation
    mode, a vector-mode log replays in camera mode, and a log's generator state reproduces the noise too."""
    digest = hashlib.sha256(repr(np_random.bit_generator.state).encode()).digest()
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int.from_bytes(digest, "little"),
                                                                       SENSOR_STREAM])))


class DriveEnv(gym.Env):
    """Gymnasium shell around :class:`sim.env.simulation.Simulation`.

    Action: Box(-1, 1, (2,)) = (steering, acceleration), normalised: steer target = a[0] * 0.6 rad
    (positive left), acceleration = a[1] * 3.0 m/s^2 when a[1] >= 0 else a[1] * 8.0 m/s^2; values outside
    [-1, 1] are clipped, NaN/inf raise ValueError. Options: any :class:`DriveConfig` field as a keyword
    (nested configs as dicts), plus ``num_traffic`` and ``bev_size``.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, render_mode: str | None = None, config: DriveConfig | None = None, scenario=None, **kwargs):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"roadloop/Drive-v0: render_mode must be None or 'rgb_array', got {render_mode!r}")
        if config is not None and kwargs:
            raise ValueError(f"roadloop/Drive-v0: pass either config= or keyword options, not both ({sorted(kwargs)})")
        self.scenario = load_scenario(scenario) if isinstance(scenario, (str, Path)) else scenario
        if isinstance(self.scenario, ParkingScenario):
            raise ValueError(f"roadloop/Drive-v0: {self.scenario.name!r} is a parking scenario (its world is a "
                             "parking_lot); play it in roadloop/Scenario-v0 or roadloop/Parking-v0")
        if self.scenario is not None:
            s = self.scenario
            kwargs = {"episode_seconds": s.success.max_seconds, **kwargs, "world": s.world.spec, "traffic": s.traffic}
        self.config = config if config is not None else DriveConfig.from_kwargs(**kwargs)
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "render_fps": self.config.control_hz}
        self.sim = Simulation(self.config)
        self.obs_type = make_observation(self.config.obs_mode, self.config)
        self.observation_space = self.obs_type.space()
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.scene = self.obstacles = self.contacts = self.state = None
        self._map: tuple = (None, None)
        """(scene, its ``lane_map_arrays``) for ``info["map"]`` at reset."""
        self._sensor_rng: np.random.Generator | None = None
        """Sensor noise of the current episode (``sensor_rng``)."""
        self._contacts: OrderedDict[int, tuple] = OrderedDict()
        """Contact worlds of recent scenes (id -> (scene, ContactWorld)); more than one only with a world pool."""
        self._max_contacts = min(self.config.num_worlds or 1, MAX_CACHED_CONTACT_WORLDS)

    def _frame(self) -> Frame:
        return Frame(self.state, self.scene)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._sensor_rng = sensor_rng(self.np_random)
        if options:
            raise ValueError(f"roadloop/Drive-v0: reset options are not supported, got {sorted(options)}")
        if self.scenario is None:
            scene = self.sim.new_scene(self.np_random)
        else:
            scene = self.sim.scenario_scene(self.scenario)
        if scene is not self.scene:
            self.scene = scene
            self.obstacles = obstacles_table(scene)
            self.contacts = self._contact_world(scene)
        if self.scenario is None:
            self.state = self.sim.reset(scene, self.np_random)
        else:
            self.state = self.sim.reset_scenario(scene, self.scenario, self.np_random)
        info = self._info()
        info["action_mapping"] = self.action_mapping()
        info["map"] = self._lane_map_arrays()
        return self._observe(info), info

    def _lane_map_arrays(self):
        """``lane_map_arrays`` of the current scene, built once per scene."""
        if self._map[0] is not self.scene:
            self._map = (self.scene, lane_map_arrays(self.scene))
        return self._map[1]

    def action_mapping(self) -> dict:
        """Physical limits behind the normalised action (rad, m/s^2, m)."""
        p = self.sim.ego_params
        return {"max_steer": float(p.max_steer[0]), "max_accel": float(p.max_accel[0]),
                "max_brake": float(p.max_brake[0]), "wheelbase": float(p.wheelbase[0])}

    def step(self, action):
        if self.state is None:
            raise RuntimeError("roadloop/Drive-v0: call reset() before step()")
        action = np.asarray(action, dtype=np.float64).reshape(-1)
        if action.shape != (2,):
            raise ValueError(f"roadloop/Drive-v0: action must have 2 values (steer, accel), got shape {action.shape}")
        if not np.isfinite(action).all():
            raise ValueError(f"roadloop/Drive-v0: action must be finite, got {action.tolist()}")
        action = np.clip(action, -1.0, 1.0)
        prev = self.state
        self.state = self.sim.step(self.scene, self.contacts, prev, action, self.np_random)
        r = reward(self.config.reward, prev, self.state)
        term = terminated(self.state)
        trunc = not term and self.state.t >= self.config.episode_seconds - 1e-9
        info = self._info()
        if self.scenario is not None and (term or trunc):
            info["scenario"] = scenario_outcome(self.scenario, self.state)
        return self._observe(info), r, term, trunc, info

    def _observe(self, info: dict):
        """The observation of the current state; camera mode draws its sensor noise from its own generator
        (``sensor_rng``: the simulation's draws, hence the episode, are the same in every mode) and,
        when ``camera.labels`` is set, puts its labels in ``info["labels"]``."""
        if self.config.obs_mode != "camera":
            return self.obs_type.observe(self._frame())
        obs, labels = self.obs_type.capture(self._frame(), self._sensor_rng)
        if labels is not None:
            info["labels"] = labels
        return obs

    def _info(self) -> dict:
        info = metrics(self.state)
        info["vector_space"] = vector_space(self.state, self.obstacles, self._max_actors(), self.scene)
        if self.state.notes:
            info["notes"] = self.state.notes
        return info

    def _max_actors(self) -> int:
        """Fixed length of the actor arrays in ``info["vector_space"]``."""
        n = 1 + 2 * self.config.traffic.count  # a semi is two actors (tractor and trailer)
        if self.scenario is None:
            v = self.config.vru
            return n + v.pedestrians + v.cyclists + v.crowd_size
        return n + sum(getattr(a.behaviour, "count", 2) for a in self.scenario.actors)  # a crowd is many, a semi 2

    def export_scenario(self, name: str = "exported", description: str = ""):
        """The current state as a Scenario: this world (by seed), the ego on its route, and every traffic
        vehicle as an IDM actor with its own driver style (pedestrians and cyclists are left out). Save it
        with sim.scenario.io.save_scenario."""
        if self.state is None:
            raise RuntimeError("roadloop/Drive-v0: call reset() before export_scenario()")
        return export_scenario(self.state, self.scene, self.config, name, description)

    def render(self):
        if self.render_mode != "rgb_array" or self.state is None:
            return None
        return render_topdown(self._frame(), self.config.render_size, self.config.render_m_per_px)

    def _contact_world(self, scene):
        """The scene's contact world, kept (with the tiles already built) for the last few scenes."""
        key = id(scene)
        if key in self._contacts:
            self._contacts.move_to_end(key)
        else:
            self._contacts[key] = (scene, contact_world(scene.world))
            while len(self._contacts) > self._max_contacts:
                self._contacts.popitem(last=False)[1][1].close()
        return self._contacts[key][1]

    def _close_contacts(self):
        for _, contacts in self._contacts.values():
            contacts.close()
        self._contacts.clear()
        self.contacts = None

    def close(self):
        self._close_contacts()
        if hasattr(self.obs_type, "close"):
            self.obs_type.close()
        super().close()

    def __getstate__(self):
        state = self.__dict__.copy()
        state["contacts"] = None
        state["_contacts"] = OrderedDict()
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self.scene is not None:
            self.contacts = self._contact_world(self.scene)
