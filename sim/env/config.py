"""Configuration of the driving environment: frozen dataclasses validated on construction."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

from sim.traffic.spec import TrafficSpec
from sim.traffic.vru import VruSpec
from sim.world.spec import WorldSpec

OBS_MODES = ("vector", "bev", "camera")
DYNAMICS = ("kinematic", "dynamic")


def _require_int(cfg, name: str, lo: int, hi: int, unit: str = "") -> None:
    """ValueError naming ``cfg``'s field unless it is an int in [lo, hi]."""
    v = getattr(cfg, name)
    if not (isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi):
        raise ValueError(f"{type(cfg).__name__}.{name}: expected an int in {lo}..{hi}{unit}, got {v!r}")


def _require_number(cfg, name: str, lo: float, hi: float, unit: str = "") -> None:
    """ValueError naming ``cfg``'s field unless it is a finite number in [lo, hi]."""
    v = getattr(cfg, name)
    if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and lo <= v <= hi):
        raise ValueError(f"{type(cfg).__name__}.{name}: expected a number in [{lo}, {hi}]{unit}, got {v!r}")


@dataclass(frozen=True)
class RewardConfig:
    """Per-step reward = progress + terminal terms - comfort penalties."""

    progress_per_m: float = 0.1
    """Reward per metre of progress along the route."""
    collision: float = -10.0
    """Added once when the ego collides (vehicle, prop or curb)."""
    off_road: float = -10.0
    """Added once when the ego leaves the drivable surface."""
    route_complete: float = 10.0
    """Added once when the ego reaches the end of its route."""
    jerk_weight: float = 0.005
    """Penalty per m/s^3 of |longitudinal jerk| per step."""
    lat_accel_weight: float = 0.01
    """Penalty per m/s^2 of |lateral acceleration| per step."""

    def __post_init__(self):
        for f in fields(self):
            if not math.isfinite(getattr(self, f.name)):
                raise ValueError(f"RewardConfig.{f.name}: must be finite, got {getattr(self, f.name)!r}")
        for name in ("jerk_weight", "lat_accel_weight", "progress_per_m"):
            if getattr(self, name) < 0:
                raise ValueError(f"RewardConfig.{name}: must be >= 0, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class VectorObsConfig:
    """Layout of the ``vector`` observation."""

    num_actors: int = 8
    """Nearest actors (vehicles and on-lane obstacles) reported, nearest first."""
    route_points: int = 16
    """Route centreline points ahead of the ego."""
    route_spacing_m: float = 4.0
    """Spacing of the route points, m."""
    actor_range_m: float = 80.0
    """Actors farther than this are not reported, m."""

    def __post_init__(self):
        _require_int(self, "num_actors", 1, 256)
        _require_int(self, "route_points", 1, 256)
        _require_number(self, "route_spacing_m", 0.1, 1e3, " m")
        _require_number(self, "actor_range_m", 0.1, 1e4, " m")


@dataclass(frozen=True)
class BevConfig:
    """Ego-centred bird's-eye-view raster (forward is up)."""

    size: int = 128
    """Height and width in pixels."""
    m_per_px: float = 0.5
    """Ground resolution, m per pixel."""
    ego_row: float = 0.75
    """Ego position as a fraction of the height from the top (0.75: more view ahead)."""

    def __post_init__(self):
        _require_int(self, "size", 16, 2048, " px")
        _require_number(self, "m_per_px", 0.02, 10.0, " m/px")
        _require_number(self, "ego_row", 0.0, 1.0)


@dataclass(frozen=True)
class CameraConfig:
    """Multi-camera ``camera`` observation: one image per camera of a rig mounted on the ego.

    Each camera is rendered as a pinhole (HFOV capped at ``MAX_PINHOLE_HFOV_DEG``) and, with
    ``distortion``, warped through its lens model; label passes are warped the same way (nearest
    neighbour) so they stay aligned with the image. See ``sim.env.observations.camera``."""

    rig: str = "default8"
    """Name of a rig in ``sim.sensors.rig.RIGS``."""
    width: int = 160
    """Image width, px."""
    height: int = 120
    """Image height, px."""
    cameras: tuple[str, ...] | None = None
    """Names of the rig's cameras to use, in this order; None: all of them (rig order)."""
    raw12: bool = False
    """True: observations are the sensor's raw 12-bit DN (uint16) instead of developed uint8 sRGB."""
    labels: bool = False
    """True: ``info["labels"]`` holds per-camera depth/semantic/instance passes and vector labels."""
    msaa: bool = True
    """4x multisample anti-aliasing of the colour render."""
    distortion: bool = True
    """True: images are in each real camera's distorted geometry (a wider pinhole render warped through
    the lens model); False: every camera is an undistorted pinhole of its own (capped) HFOV."""
    jitter: bool = True
    """True: mounts are the nominal ones perturbed by a per-vehicle calibration (``Rig.jittered``) drawn
    from ``calibration_seed``; False: nominal mounts."""
    calibration_seed: int = 0
    """Seed of the mount jitter: fixed per vehicle (env instance), independent of the episode seed."""
    motion_blur: bool = False
    """True: blur each image over its exposure by the flow of the ego's own motion (speed, lateral speed,
    yaw rate) and of the other actors (their speed along their heading). Costs depth and instance passes and
    a few ms per frame."""
    rolling_shutter_s: float = 0.0
    """Rolling-shutter readout time, s (0: global shutter): rows are exposed one after another from the
    top, so moving things slant (``sim.sensors.rolling``)."""

    def __post_init__(self):
        if not isinstance(self.rig, str) or not self.rig:
            raise ValueError(f"CameraConfig.rig: expected a rig name, got {self.rig!r}")
        _require_int(self, "width", 8, 4096, " px")
        _require_int(self, "height", 8, 4096, " px")
        if not (isinstance(self.rolling_shutter_s, (int, float)) and 0.0 <= self.rolling_shutter_s <= 0.1):
            raise ValueError(f"CameraConfig.rolling_shutter_s: expected a readout time in [0, 0.1] s, got "
                             f"{self.rolling_shutter_s!r}")
        if self.cameras is not None:
            if isinstance(self.cameras, str) or not all(isinstance(c, str) and c for c in self.cameras):
                raise ValueError(f"CameraConfig.cameras: expected a tuple of camera names, got {self.cameras!r}")
            object.__setattr__(self, "cameras", tuple(self.cameras))
            if not self.cameras or len(set(self.cameras)) != len(self.cameras):
                raise ValueError(f"CameraConfig.cameras: expected distinct names, at least one, got {self.cameras!r}")
        _require_int(self, "calibration_seed", 0, 2 ** 63 - 1)
        for name in ("raw12", "labels", "msaa", "distortion", "jitter", "motion_blur"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"CameraConfig.{name}: expected a bool, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class DriveConfig:
    """Everything that defines a ``roadloop/Drive-v0`` episode distribution."""

    obs_mode: str = "vector"
    """Observation mode: one of OBS_MODES."""
    control_hz: float = 10.0
    """Agent decisions per simulated second."""
    physics_hz: float = 50.0
    """Vehicle-dynamics integration rate; an integer multiple of control_hz."""
    episode_seconds: float = 60.0
    """Episodes are truncated after this much simulated time, s."""
    route_length_m: float = 400.0
    """Length of the ego's route; reaching its end completes the episode, m."""
    dynamics: str = "kinematic"
    """Ego vehicle model: one of DYNAMICS."""
    world_seed: int | None = None
    """Seed of the fixed world (or first world of the pool, see num_worlds); None: a new world every reset."""
    num_worlds: int | None = None
    """When set, each reset picks one of this many worlds (seeds world_seed or 0 onwards), each generated
    once and cached: faster resets at the cost of world variety (at most 1000)."""
    world: WorldSpec = field(default_factory=WorldSpec)
    traffic: TrafficSpec = field(default_factory=TrafficSpec)
    vru: VruSpec = field(default_factory=VruSpec)
    """Pedestrians and cyclists around the ego (``sim.traffic.vru``); scenarios bring their own."""
    vector: VectorObsConfig = field(default_factory=VectorObsConfig)
    bev: BevConfig = field(default_factory=BevConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    render_size: int = 512
    """Side of the top-down ``rgb_array`` image, px."""
    render_m_per_px: float = 0.15
    """Resolution of the top-down image, m per pixel."""

    def __post_init__(self):
        if self.obs_mode not in OBS_MODES:
            raise ValueError(f"DriveConfig.obs_mode: expected one of {OBS_MODES}, got {self.obs_mode!r}")
        if self.dynamics not in DYNAMICS:
            raise ValueError(f"DriveConfig.dynamics: expected one of {DYNAMICS}, got {self.dynamics!r}")
        _require_number(self, "control_hz", 0.1, 1000.0, " Hz")
        _require_number(self, "physics_hz", 0.1, 10000.0, " Hz")
        _require_number(self, "episode_seconds", 0.1, 1e6, " s")
        _require_number(self, "route_length_m", 1.0, 1e5, " m")
        _require_number(self, "render_m_per_px", 0.01, 10.0, " m/px")
        ratio = self.physics_hz / self.control_hz
        if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
            raise ValueError(
                f"DriveConfig.physics_hz: must be an integer multiple of control_hz={self.control_hz}, "
                f"got {self.physics_hz!r}"
            )
        if self.world_seed is not None:
            _require_int(self, "world_seed", 0, 2**63 - 1)
        if self.num_worlds is not None:
            _require_int(self, "num_worlds", 1, 1000)
        _require_int(self, "render_size", 32, 4096, " px")
        for name, cls in _NESTED.items():
            if not isinstance(getattr(self, name), cls):
                raise ValueError(f"DriveConfig.{name}: expected a {cls.__name__}, got {type(getattr(self, name)).__name__}")

    @property
    def substeps(self) -> int:
        return int(round(self.physics_hz / self.control_hz))

    @property
    def dt(self) -> float:
        """Control period, s."""
        return 1.0 / self.control_hz

    def to_dict(self) -> dict:
        """JSON-friendly nested dict (tuples as lists); ``from_kwargs(**d)`` rebuilds an equal config."""
        def plain(v):
            if isinstance(v, tuple):
                return [plain(x) for x in v]
            if hasattr(v, "__dataclass_fields__"):
                return {f.name: plain(getattr(v, f.name)) for f in fields(v)}
            return v

        return plain(self)

    @classmethod
    def from_kwargs(cls, **kwargs) -> "DriveConfig":
        """Build from ``gym.make`` keyword arguments.

        Accepts every field (nested configs as dataclasses or dicts) and the shortcuts
        ``num_traffic`` (traffic.count), ``num_pedestrians`` (vru.pedestrians), ``num_cyclists`` (vru.cyclists)
        and ``bev_size`` (bev.size). Unknown names raise ValueError.
        """
        known = {f.name for f in fields(cls)}
        values: dict = {}
        nested: dict[str, dict] = {}
        for key, value in kwargs.items():
            if key in _SHORTCUTS:
                part, sub = _SHORTCUTS[key]
                nested.setdefault(part, {})[sub] = value
            elif key in _NESTED and isinstance(value, dict):
                nested.setdefault(key, {}).update(value)
            elif key in known:
                values[key] = value
            else:
                raise ValueError(
                    f"roadloop/Drive-v0: unknown option {key!r}; known: {sorted(known | set(_SHORTCUTS))}"
                )
        for part, changes in nested.items():
            base = values.get(part, _NESTED[part]())
            if part == "world":
                values[part] = WorldSpec.from_dict({**base.to_dict(), **changes})
                continue
            names = {f.name for f in fields(_NESTED[part])}
            for key in changes:
                if key not in names:
                    raise ValueError(f"DriveConfig.{part}: unknown field {key!r}; known: {sorted(names)}")
            values[part] = replace(base, **{k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()})
        return cls(**values)


_NESTED = {"world": WorldSpec, "traffic": TrafficSpec, "vru": VruSpec, "vector": VectorObsConfig, "bev": BevConfig,
           "camera": CameraConfig, "reward": RewardConfig}
_SHORTCUTS = {"num_traffic": ("traffic", "count"), "num_pedestrians": ("vru", "pedestrians"),
              "num_cyclists": ("vru", "cyclists"), "bev_size": ("bev", "size")}
