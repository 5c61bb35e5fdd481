"""``roadloop/Parking-v0``: park the ego in a goal bay of a procedurally generated lot (goal-conditioned).

The ego is the project's kinematic bicycle (``sim.physics``) driven at parking speed in forward and reverse gear:
a step in reverse moves it back along the arc a forward step with the same steer and speed would drive
(``ego_step``). Observations follow the Gymnasium goal-env layout plus a local occupancy raster.

With ``scenario=`` (a parking scenario: a shipped name, a file or a sim.scenario.parking.ParkingScenario) it
plays that scenario: its lot, goal bay, ego start and actors (cars and pedestrians moving along paths, waiting
while the ego is in their way), with its success criteria as the goal tolerances and episode length.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import cv2
import gymnasium as gym
import numpy as np

from sim.env.topdown import ASPHALT, EGO, LINE, PROP_RGB
from sim.parking.lot import CAR, EGO_LENGTH_M, EGO_WIDTH_M, KIND_NAMES, Lot, LotSpec, generate_lot
from sim.physics import VehicleParams, VehicleState, box_corners, boxes_overlap, get_model
from sim.scenario.io import load_scenario, resolve
from sim.scenario.lot_plan import LotActors, make_lot
from sim.scenario.parking import VEHICLES, LotPath, LotSection, ParkingEgo, ParkingScenario, ParkingSuccess
from sim.scenario.poses import XYPose
from sim.scenario.values import ScenarioError

ENV_ID = "roadloop/Parking-v0"
OBS_FEATURES = ("x", "y", "vx", "vy", "cos_h", "sin_h", "steer")
"""Rows of ``obs["observation"]``: lot frame m, m/s (signed speed along the heading), rad."""
GOAL_FEATURES = ("x", "y", "cos_h", "sin_h")
"""Rows of ``obs["achieved_goal"]`` and ``obs["desired_goal"]``."""
OCCUPANCY_CHANNELS = ("obstacles", "goal")
"""Channels of ``obs["occupancy"]``: anything solid or outside the lot; the goal pose's ego footprint."""
OBS_BOUND = 1e4
"""Bound of the float observation entries (lot coordinates stay far inside it), m."""
EGO_HEIGHT_M = 1.5
"""Height of the ego's box (episode logs), m."""
KIND_RGB = {"car": PROP_RGB["parked_car"], "curb": (175, 172, 165), "island": (70, 110, 55), "cone": PROP_RGB["cone"]}
GOAL_RGB = (60, 200, 90)
ACTOR_RGB = {"pedestrian": (240, 200, 40)}
"""Colours of moving actors by class; vehicles get VEHICLE_RGB."""
VEHICLE_RGB = (235, 135, 40)
COLLISION_KINDS = ("", *KIND_NAMES, "boundary", *(c for c in VEHICLES if c not in KIND_NAMES), "pedestrian")
"""What ``info["collision"]`` may name: nothing, an obstacle kind, leaving the lot, or a moving actor's class."""


@dataclass(frozen=True)
class ParkingConfig:
    """Options of ``roadloop/Parking-v0`` (keywords of ``gym.make``; ``lot`` may be given as a dict)."""

    control_hz: float = 10.0
    """Control steps per second."""
    episode_seconds: float = 180.0
    """Truncation time, s."""
    max_speed_mps: float = 2.0
    """Speed limit in either gear, m/s."""
    max_accel_mps2: float = 2.0
    """Acceleration of a full action (also the braking of a full opposite action), m/s^2."""
    goal_position_tol_m: float = 0.5
    goal_heading_tol_rad: float = 0.2
    goal_speed_tol_mps: float = 0.1
    """Success: within both tolerances of the goal pose and at most this speed."""
    collision_reward: float = -5.0
    """Added to the step reward when the ego hits a car, curb, island or cone."""
    occupancy_size: int = 48
    """Height and width of ``obs["occupancy"]``, px."""
    occupancy_m_per_px: float = 0.5
    render_m_per_px: float = 0.1
    lot: LotSpec = field(default_factory=LotSpec)

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "lot":
                if not isinstance(v, LotSpec):
                    raise ValueError(f"ParkingConfig.lot must be a LotSpec or a dict, got {type(v).__name__}")
            elif f.name == "occupancy_size":
                if not (isinstance(v, int) and not isinstance(v, bool) and 8 <= v <= 512):
                    raise ValueError(f"ParkingConfig.occupancy_size: expected an int in 8..512, got {v!r}")
            elif f.name == "collision_reward":
                if not (isinstance(v, (int, float)) and math.isfinite(v)):
                    raise ValueError(f"ParkingConfig.collision_reward must be a finite number, got {v!r}")
            elif not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0):
                raise ValueError(f"ParkingConfig.{f.name} must be a finite number > 0, got {v!r}")

    def to_dict(self) -> dict:
        """Keyword options that rebuild this config with ``from_kwargs`` (the lot as a dict of lists)."""
        out = asdict(self)
        out["lot"] = {name: list(v) if isinstance(v, tuple) else v for name, v in out["lot"].items()}
        return out

    @classmethod
    def from_kwargs(cls, **kwargs) -> ParkingConfig:
        """A config from keyword options; unknown names raise ValueError listing the known ones."""
        known = {f.name for f in fields(cls)}
        unknown = set(kwargs) - known
        if unknown:
            raise ValueError(f"{ENV_ID}: unknown options {sorted(unknown)}; known: {sorted(known)}")
        if isinstance(kwargs.get("lot"), dict):
            kwargs["lot"] = LotSpec.from_dict(kwargs["lot"])
        return cls(**kwargs)


def ego_params(config: ParkingConfig) -> VehicleParams:
    """The ego's vehicle parameters (a mid-size sedan limited to parking speed)."""
    return VehicleParams.car(1, length=EGO_LENGTH_M, width=EGO_WIDTH_M, max_speed=config.max_speed_mps,
                             max_accel=config.max_accel_mps2, max_brake=config.max_accel_mps2)


def compose(pose: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """(..., 3) poses ``pose`` followed by body-frame motions ``delta`` (dx, dy, dheading)."""
    c, s = np.cos(pose[..., 2]), np.sin(pose[..., 2])
    return np.stack([pose[..., 0] + c * delta[..., 0] - s * delta[..., 1],
                     pose[..., 1] + s * delta[..., 0] + c * delta[..., 1], pose[..., 2] + delta[..., 2]], axis=-1)


def invert(delta: np.ndarray) -> np.ndarray:
    """(..., 3) inverse of body-frame motions: ``compose(compose(p, d), invert(d)) == p``."""
    c, s = np.cos(delta[..., 2]), np.sin(delta[..., 2])
    return np.stack([-(c * delta[..., 0] + s * delta[..., 1]), -(-s * delta[..., 0] + c * delta[..., 1]),
                     -delta[..., 2]], axis=-1)


@dataclass(frozen=True)
class Ego:
    """Ego state: ``pose`` (3,) x, y (m), heading (rad, continuous); signed ``speed`` (m/s, < 0 in reverse);
    front wheel angle ``steer`` (rad)."""

    pose: np.ndarray
    speed: float
    steer: float


MODEL = get_model("kinematic")


def ego_step(ego: Ego, steer_target: float, accel: float, params: VehicleParams, dt: float) -> Ego:
    """One control step: the model drives the body-frame motion of ``|speed|``; in reverse gear the pose moves by
    that motion's inverse. ``accel`` (m/s^2) acts along the body x axis: against the motion it brakes to a stop,
    from a stop its sign picks the gear."""
    gear = 1.0 if ego.speed > 0 or (ego.speed == 0 and accel >= 0) else -1.0
    body = VehicleState.from_pose([0.0], [0.0], [0.0], [abs(ego.speed)]).replace(steer=np.array([ego.steer]))
    new = MODEL.forward(body, params, np.array([steer_target]), np.array([gear * accel]), dt)
    delta = np.array([new.x[0], new.y[0], new.heading[0]])
    pose = compose(ego.pose, delta if gear > 0 else invert(delta))
    return Ego(pose, float(gear * new.speed[0]), float(new.steer[0]))


def wrap(angle):
    """Angle(s) wrapped to [-pi, pi)."""
    return (np.asarray(angle) + np.pi) % (2 * np.pi) - np.pi


class ParkingEnv(gym.Env):
    """Gymnasium env: reach ``lot.goal`` (pose and tolerances of :class:`ParkingConfig`) without touching anything.

    Action: Box(-1, 1, (2,)) = (steer, accel), normalised: steer target = a[0] * 0.6 rad (left positive),
    acceleration along the body x axis = a[1] * ``max_accel_mps2`` (negative: brake, then reverse).
    Observation: Dict(``observation`` (7,) OBS_FEATURES, ``achieved_goal`` (4,), ``desired_goal`` (4,) in
    GOAL_FEATURES, ``occupancy`` (2, S, S) uint8 ego-centred raster, forward up). Reward:
    :meth:`compute_reward` plus ``collision_reward`` on a collision. Terminates on success or collision,
    truncates at ``episode_seconds``. ``info["vector_space"]`` holds the lot for privileged planners, and the
    moving actors of a scenario (``actors`` (K, 5) boxes, ``actor_speed`` (K,) m/s signed, ``actor_kind`` (K,)
    sim.traffic.actor_classes codes); at a scenario episode's end ``info["scenario"]`` holds its verdict.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, render_mode: str | None = None, config: ParkingConfig | None = None, scenario=None,
                 **kwargs):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"{ENV_ID}: render_mode must be None or 'rgb_array', got {render_mode!r}")
        if config is not None and kwargs:
            raise ValueError(f"{ENV_ID}: pass either config= or keyword options, not both ({sorted(kwargs)})")
        self.scenario = load_parking_scenario(scenario) if scenario is not None else None
        if self.scenario is not None:
            s = self.scenario.success
            kwargs = {"episode_seconds": s.max_seconds, "goal_position_tol_m": s.position_tol_m,
                      "goal_heading_tol_rad": s.heading_tol_rad, "goal_speed_tol_mps": s.speed_tol_mps, **kwargs,
                      "lot": self.scenario.world.lot}
        self.config = config if config is not None else ParkingConfig.from_kwargs(**kwargs)
        try:
            self.scenario_lot = make_lot(self.scenario) if self.scenario is not None else None
        except ScenarioError as e:
            raise e.in_file(str(resolve(scenario))) if isinstance(scenario, (str, Path)) else e
        self.lot_actors = LotActors.of(self.scenario)
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "render_fps": self.config.control_hz}
        self.params = ego_params(self.config)
        s = self.config.occupancy_size
        vec = lambda n: gym.spaces.Box(-OBS_BOUND, OBS_BOUND, shape=(n,), dtype=np.float32)  # noqa: E731
        self.observation_space = gym.spaces.Dict({
            "observation": vec(len(OBS_FEATURES)), "achieved_goal": vec(len(GOAL_FEATURES)),
            "desired_goal": vec(len(GOAL_FEATURES)),
            "occupancy": gym.spaces.Box(0, 1, shape=(len(OCCUPANCY_CHANNELS), s, s), dtype=np.uint8)})
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.lot: Lot | None = None
        self.ego: Ego | None = None
        self.steps = 0
        self.collision = ""
        """What the ego touched at the last step (a COLLISION_KINDS name), "" for nothing."""
        self.lot_seed: int | None = None
        """Seed the current lot was drawn with (``reset(seed=...)`` without a scenario), else None."""
        self.actor_s = self.actor_speed = np.zeros(0)
        """(K,) arc length (m) each path actor has reached and its signed speed (m/s)."""

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        speed, steer, self.lot_seed = 0.0, 0.0, None
        if options:
            lot = options.get("lot") if set(options) == {"lot"} else None
            if not isinstance(lot, Lot) or self.scenario is not None:
                raise ValueError(f"{ENV_ID}: the only reset option is lot=<sim.parking.Lot> (none with a scenario), "
                                 f"got {sorted(options)}")
            self.lot = lot
        elif self.scenario is not None:
            self.lot, speed, steer = self.scenario_lot, self.scenario.ego.speed, self.scenario.ego.steer
        else:
            self.lot = generate_lot(self.config.lot, self.np_random)
            self.lot_seed = None if seed is None else int(seed)
        self.ego = Ego(self.lot.entry.copy(), float(speed), float(steer))
        self.actor_s = self.lot_actors.start_s.copy()
        self.actor_speed = np.zeros(self.lot_actors.n)
        self.steps = 0
        self.collision = ""
        info = self._info("")
        info["action_mapping"] = self.action_mapping()
        return self._observe(), info

    def action_mapping(self) -> dict:
        """Physical limits behind the normalised action (rad, rad/s, m/s^2, m, m/s) and the control period (s)."""
        p = self.params
        return {"max_steer": float(p.max_steer[0]), "max_steer_rate": float(p.max_steer_rate[0]),
                "max_accel": self.config.max_accel_mps2,
                "wheelbase": float(p.wheelbase[0]), "max_speed": self.config.max_speed_mps,
                "dt": 1.0 / self.config.control_hz}

    def step(self, action):
        if self.ego is None:
            raise RuntimeError(f"{ENV_ID}: call reset() before step()")
        action = np.asarray(action, dtype=np.float64).reshape(-1)
        if action.shape != (2,):
            raise ValueError(f"{ENV_ID}: action must have 2 values (steer, accel), got shape {action.shape}")
        if not np.isfinite(action).all():
            raise ValueError(f"{ENV_ID}: action must be finite, got {action.tolist()}")
        action = np.clip(action, -1.0, 1.0)
        dt = 1.0 / self.config.control_hz
        self.ego = ego_step(self.ego, float(action[0] * self.params.max_steer[0]),
                            float(action[1] * self.config.max_accel_mps2), self.params, dt)
        if self.lot_actors.n:
            self.actor_s, self.actor_speed = self.lot_actors.advance(self.actor_s, self.steps * dt, dt, self.ego.pose)
        self.steps += 1
        collision = self.collision = self._collision()
        info = self._info(collision)
        obs = self._observe()
        reward = float(self.compute_reward(obs["achieved_goal"], obs["desired_goal"], info))
        if collision:
            reward += self.config.collision_reward
        terminated = bool(collision) or info["is_success"]
        truncated = not terminated and self.steps >= round(self.config.episode_seconds * self.config.control_hz)
        if self.scenario is not None and (terminated or truncated):
            info["scenario"] = self._verdict(info)
        return obs, reward, terminated, truncated, info

    def _verdict(self, info: dict) -> dict:
        """Whether the episode met the scenario's success criteria, and which ones it missed."""
        failed = []
        if not info["is_success"]:
            failed.append(f"not parked within the tolerances by t={info['t']:g} s (distance {info['distance_m']:.2f} "
                          f"m, heading error {info['heading_error_rad']:.2f} rad)")
        if self.scenario.success.no_collision and info["collision"]:
            failed.append(f"collision ({info['collision']})")
        return {"name": self.scenario.name, "success": not failed, "failed": tuple(failed)}

    def actor_table(self) -> np.ndarray:
        """(K, 5) boxes (x, y, heading, length, width) of the moving actors now."""
        return self.lot_actors.table(self.actor_s)

    def compute_reward(self, achieved_goal, desired_goal, info) -> np.ndarray | float:
        """Goal-env reward: minus the weighted L1 distance of the goal vectors (m; heading terms x 2), over the
        last axis of arrays of shape (..., 4); ``info`` is unused."""
        diff = np.abs(np.asarray(achieved_goal, np.float64) - np.asarray(desired_goal, np.float64))
        return -(diff @ np.array([1.0, 1.0, 2.0, 2.0]))

    def _collision(self) -> str:
        """Kind name of the first obstacle the ego touches ("boundary" when it leaves the lot), else ""."""
        x, y, h = self.ego.pose
        hit = boxes_overlap(([x], [y], [h], [EGO_LENGTH_M], [EGO_WIDTH_M]), tuple(self.lot.obstacles.T))[0]
        if hit.any():
            return KIND_NAMES[int(self.lot.kind[np.argmax(hit)])]
        if self.lot.collides(x, y, h)[0]:
            return "boundary"
        if self.lot_actors.n:
            hit = boxes_overlap(([x], [y], [h], [EGO_LENGTH_M], [EGO_WIDTH_M]), tuple(self.actor_table().T))[0]
            if hit.any():
                return self.lot_actors.classes[int(np.argmax(hit))]
        return ""

    def _info(self, collision: str) -> dict:
        ego, goal, cfg = self.ego, self.lot.goal, self.config
        distance = float(math.hypot(ego.pose[0] - goal[0], ego.pose[1] - goal[1]))
        heading_error = float(abs(wrap(ego.pose[2] - goal[2])))
        success = (not collision and distance <= cfg.goal_position_tol_m and heading_error <= cfg.goal_heading_tol_rad
                   and abs(ego.speed) <= cfg.goal_speed_tol_mps)
        lot = self.lot
        return {"is_success": bool(success), "collision": collision, "distance_m": distance,
                "heading_error_rad": heading_error, "speed": ego.speed, "t": self.steps / cfg.control_hz,
                "vector_space": {"ego": np.array([*ego.pose, ego.speed, ego.steer]), "goal": lot.goal.copy(),
                                 "obstacles": lot.obstacles.copy(), "obstacle_kind": lot.kind.copy(),
                                 "lot_size": np.array(lot.size), "reverse_in": lot.reverse_in,
                                 "actors": self.actor_table(), "actor_speed": self.actor_speed.copy(),
                                 "actor_kind": self.lot_actors.code.copy()}}

    def _observe(self) -> dict:
        x, y, h = self.ego.pose
        v, goal = self.ego.speed, self.lot.goal
        return {"observation": np.array([x, y, v * math.cos(h), v * math.sin(h), math.cos(h), math.sin(h),
                                         self.ego.steer], np.float32),
                "achieved_goal": np.array([x, y, math.cos(h), math.sin(h)], np.float32),
                "desired_goal": np.array([goal[0], goal[1], math.cos(goal[2]), math.sin(goal[2])], np.float32),
                "occupancy": local_occupancy(self.lot, self.ego.pose, self.config.occupancy_size,
                                             self.config.occupancy_m_per_px, self.actor_table())}

    def render(self):
        if self.render_mode != "rgb_array" or self.ego is None:
            return None
        return render_lot(self.lot, self.ego.pose, self.config.render_m_per_px,
                          actors=(self.actor_table(), self.lot_actors.classes))

    def export_scenario(self, name: str = "exported", description: str = "") -> ParkingScenario:
        """The current state as a parking scenario: the lot (by seed: the episode must come from ``reset(seed=...)``
        or from a scenario), its goal, the ego's pose, signed speed and steer now, the scenario's static actors,
        and its path actors from where they are now (start times shifted by the time elapsed, ``start_s`` at the
        arc length reached). Save it with sim.scenario.io.save_scenario."""
        if self.ego is None:
            raise RuntimeError(f"{ENV_ID}: call reset() before export_scenario()")
        if self.scenario is None and self.lot_seed is None:
            raise RuntimeError(f"{ENV_ID}: export_scenario() needs a lot drawn by reset(seed=...) (this episode's "
                               "lot came from an unseeded reset or a lot= option, so no seed reproduces it)")
        base = self.scenario
        world = base.world if base is not None else LotSection("parking_lot", self.lot_seed, self.config.lot)
        x, y, h = (float(v) for v in self.ego.pose)
        t = self.steps / self.config.control_hz
        actors, k = [], 0
        for actor in base.actors if base is not None else ():
            if isinstance(actor.behaviour, LotPath):
                b = actor.behaviour
                actor = replace(actor, behaviour=replace(b, start_t=max(0.0, b.start_t - t),
                                                         start_s=float(self.actor_s[k])))
                k += 1
            actors.append(actor)
        cfg = self.config
        return ParkingScenario(
            name=name, description=description or f"Exported at t={t:.1f} s of a {ENV_ID} episode.", world=world,
            ego=ParkingEgo(start=XYPose(x, y, h if abs(h) <= 2 * math.pi else float(wrap(h))),
                           speed=float(self.ego.speed), steer=float(self.ego.steer), goal_bay=int(self.lot.goal_bay),
                           reverse_in=bool(self.lot.reverse_in)),
            actors=tuple(actors),
            success=ParkingSuccess(max_seconds=cfg.episode_seconds, position_tol_m=cfg.goal_position_tol_m,
                                   heading_tol_rad=cfg.goal_heading_tol_rad, speed_tol_mps=cfg.goal_speed_tol_mps,
                                   no_collision=base.success.no_collision if base is not None else True),
            seed=base.seed if base is not None else None)


def load_parking_scenario(scenario) -> ParkingScenario:
    """A ParkingScenario from itself, a file path or a shipped scenario's name; ValueError for a road scenario."""
    out = load_scenario(scenario) if isinstance(scenario, (str, Path)) else scenario
    if not isinstance(out, ParkingScenario):
        raise ValueError(f"{ENV_ID}: {getattr(out, 'name', out)!r} is not a parking scenario (its world is not a "
                         "parking_lot); play road scenarios in roadloop/Scenario-v0")
    return out


def _ego_frame_px(points: np.ndarray, pose, size: int, m_per_px: float) -> np.ndarray:
    """(..., 2) lot-frame points to (col, row) pixels of an ego-centred raster, forward up, as int32 << 4."""
    c, s = math.cos(pose[2]), math.sin(pose[2])
    dx, dy = points[..., 0] - pose[0], points[..., 1] - pose[1]
    fwd, left = c * dx + s * dy, -s * dx + c * dy
    px = np.stack([0.5 * size - left / m_per_px, 0.5 * size - fwd / m_per_px], axis=-1) - 0.5
    return np.round(px * 16).astype(np.int32)


def local_occupancy(lot: Lot, pose, size: int, m_per_px: float, actors: np.ndarray | None = None) -> np.ndarray:
    """(2, size, size) uint8 ego-centred raster (forward up, ego at the centre): obstacles, the (K, 5) boxes of
    moving ``actors`` and the outside of the lot in channel 0, the goal pose's ego footprint in channel 1."""
    out = np.zeros((2, size, size), np.uint8)
    w, h = lot.size
    inside = np.array([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]])
    out[0] = 1
    cv2.fillPoly(out[0], [_ego_frame_px(inside, pose, size, m_per_px)], 0, cv2.LINE_8, 4)
    corners = box_corners(*lot.obstacles.T)
    cv2.fillPoly(out[0], list(_ego_frame_px(corners, pose, size, m_per_px)), 1, cv2.LINE_8, 4)
    if actors is not None and len(actors):
        cv2.fillPoly(out[0], list(_ego_frame_px(box_corners(*actors.T), pose, size, m_per_px)), 1, cv2.LINE_8, 4)
    g = lot.goal
    goal = box_corners([g[0]], [g[1]], [g[2]], [EGO_LENGTH_M], [EGO_WIDTH_M])
    cv2.fillPoly(out[1], list(_ego_frame_px(goal, pose, size, m_per_px)), 1, cv2.LINE_8, 4)
    return out


def render_lot(lot: Lot, pose, m_per_px: float, path: np.ndarray | None = None, actors=None) -> np.ndarray:
    """(H, W, 3) uint8 top-down image of the whole lot, +y up: bays, obstacles by kind, the goal, the ego at
    ``pose``, if given a (K, >=2) path of lot-frame points, and ``actors``: ((K, 5) boxes, K class names)."""
    margin = 1.0
    w, h = lot.size
    width, height = int(math.ceil((w + 2 * margin) / m_per_px)), int(math.ceil((h + 2 * margin) / m_per_px))

    def px(points):
        p = np.asarray(points, np.float64)
        out = np.stack([(p[..., 0] + margin) / m_per_px, height - (p[..., 1] + margin) / m_per_px], axis=-1)
        return np.round(out * 4).astype(np.int32)

    img = np.full((height, width, 3), KIND_RGB["island"], np.uint8)
    cv2.fillPoly(img, [px([[0, 0], [w, 0], [w, h], [0, h]])], ASPHALT, cv2.LINE_AA, 2)
    thickness = max(1, int(round(0.12 / m_per_px)))
    for a, b in lot.lines:
        cv2.line(img, tuple(px(a)), tuple(px(b)), LINE, thickness, cv2.LINE_AA, 2)
    goal = box_corners(*(np.array([v]) for v in (*lot.goal, EGO_LENGTH_M, EGO_WIDTH_M)))[0]
    cv2.polylines(img, [px(goal)], True, GOAL_RGB, max(1, thickness * 2), cv2.LINE_AA, 2)
    for box, kind in zip(box_corners(*lot.obstacles.T), lot.kind):
        colour = KIND_RGB[KIND_NAMES[kind]]
        cv2.fillPoly(img, [px(box)], colour, cv2.LINE_AA, 2)
        if kind == CAR:
            cv2.polylines(img, [px(box)], True, (20, 20, 20), 1, cv2.LINE_AA, 2)
    if actors is not None:
        for box, name in zip(box_corners(*np.asarray(actors[0]).reshape(-1, 5).T), actors[1]):
            cv2.fillPoly(img, [px(box)], ACTOR_RGB.get(name, VEHICLE_RGB), cv2.LINE_AA, 2)
            cv2.polylines(img, [px(box)], True, (20, 20, 20), 1, cv2.LINE_AA, 2)
    if path is not None and len(path) > 1:
        cv2.polylines(img, [px(np.asarray(path)[:, :2])], False, (60, 140, 255), thickness, cv2.LINE_AA, 2)
    ego = box_corners(*(np.array([v]) for v in (*pose[:3], EGO_LENGTH_M, EGO_WIDTH_M)))[0]
    cv2.fillPoly(img, [px(ego)], EGO, cv2.LINE_AA, 2)
    nose = px(0.5 * (ego[0] + ego[3]))
    cv2.circle(img, tuple(nose), max(2, int(0.3 / m_per_px)) * 4, (255, 255, 255), -1, cv2.LINE_AA, 2)
    return img

