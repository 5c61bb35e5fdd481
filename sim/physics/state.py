"""Vehicle state and per-actor vehicle parameters, as frozen dataclasses of (N,) float64 arrays.

Conventions: metres, seconds, radians. ``(x, y)`` is the centre of gravity (CoG); collision and
rendering treat it as the centre of the actor's box (the small CoG offset is ignored there).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

GRAVITY = 9.81
"""Gravitational acceleration, m/s^2."""


def _as_vector(name: str, value, n: int | None = None) -> np.ndarray:
    """``value`` as a 1-D float64 array (a scalar is broadcast to ``n``); ValueError naming ``name``."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0 and n is not None:
        arr = np.full(n, float(arr))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of shape (N,), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {arr}")
    return arr


@dataclass(frozen=True, slots=True)
class VehicleState:
    """State of N actors; every field is a float64 array of shape (N,)."""

    x: np.ndarray
    """CoG x position, m."""
    y: np.ndarray
    """CoG y position, m."""
    heading: np.ndarray
    """Yaw angle of the body x axis, rad, counter-clockwise from world x; continuous (not wrapped)."""
    speed: np.ndarray
    """Longitudinal velocity (body x), m/s, >= 0. Equal at every point of the rigid body."""
    lateral_speed: np.ndarray
    """Lateral velocity of the CoG (body y, left positive), m/s."""
    yaw_rate: np.ndarray
    """Yaw rate, rad/s, counter-clockwise positive."""
    steer: np.ndarray
    """Front wheel angle, rad, left positive."""
    accel: np.ndarray
    """Actual longitudinal acceleration over the last step, m/s^2."""

    def __post_init__(self):
        shape = self.x.shape
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, np.ndarray) or value.dtype != np.float64 or value.shape != shape:
                raise ValueError(
                    f"VehicleState.{f.name} must be a float64 array of shape {shape}, got "
                    f"{type(value).__name__} {getattr(value, 'dtype', '')} {getattr(value, 'shape', '')}"
                )
        if len(shape) != 1:
            raise ValueError(f"VehicleState arrays must be 1-D, got shape {shape}")

    @property
    def n(self) -> int:
        """Number of actors."""
        return self.x.shape[0]

    @classmethod
    def zeros(cls, n: int) -> VehicleState:
        """N actors at the origin, at rest, heading +x."""
        return cls(*(np.zeros(n) for _ in dataclasses.fields(cls)))

    @classmethod
    def from_pose(cls, x, y, heading, speed=0.0) -> VehicleState:
        """Actors at the given poses and longitudinal speeds (scalars broadcast), wheels straight."""
        x = _as_vector("x", x)
        n = x.shape[0]
        zeros = np.zeros(n)
        return cls(x, _as_vector("y", y, n), _as_vector("heading", heading, n),
                   _as_vector("speed", speed, n), zeros, zeros.copy(), zeros.copy(), zeros.copy())

    def replace(self, **changes) -> VehicleState:
        """A copy with the named fields replaced (arrays of shape (N,))."""
        return dataclasses.replace(self, **changes)

    def take(self, idx) -> VehicleState:
        """The actors selected by an index array or boolean mask."""
        return VehicleState(*(getattr(self, f.name)[idx] for f in dataclasses.fields(self)))

    @staticmethod
    def concat(states) -> VehicleState:
        """All actors of ``states`` (a sequence of VehicleState), in order."""
        states = list(states)
        if not states:
            raise ValueError("VehicleState.concat needs at least one state")
        return VehicleState(*(np.concatenate([getattr(s, f.name) for s in states])
                              for f in dataclasses.fields(VehicleState)))


@dataclass(frozen=True)
class VehicleParams:
    """Per-actor vehicle parameters; every field is a float64 array of shape (N,), finite and > 0.

    Build with :meth:`car` or :meth:`for_sizes`; scalars given to the constructor are not broadcast.
    """

    length: np.ndarray
    """Body length, m."""
    width: np.ndarray
    """Body width, m."""
    wheelbase: np.ndarray
    """Front to rear axle distance, m; must equal lf + lr."""
    lf: np.ndarray
    """CoG to front axle, m."""
    lr: np.ndarray
    """CoG to rear axle, m."""
    mass: np.ndarray
    """Mass, kg."""
    yaw_inertia: np.ndarray
    """Yaw moment of inertia about the CoG, kg m^2."""
    cornering_front: np.ndarray
    """Cornering stiffness of the front axle (both tyres), N/rad."""
    cornering_rear: np.ndarray
    """Cornering stiffness of the rear axle (both tyres), N/rad."""
    mu: np.ndarray
    """Tyre-road friction coefficient, dimensionless (0.9 dry asphalt)."""
    max_steer: np.ndarray
    """Largest front wheel angle magnitude, rad, < pi/2."""
    max_steer_rate: np.ndarray
    """Largest front wheel angular rate, rad/s."""
    max_accel: np.ndarray
    """Largest longitudinal acceleration, m/s^2."""
    max_brake: np.ndarray
    """Largest longitudinal deceleration (positive number), m/s^2."""
    max_speed: np.ndarray
    """Largest longitudinal speed, m/s."""

    def __post_init__(self):
        names = [f.name for f in dataclasses.fields(self)]
        n = None
        for name in names:
            arr = _as_vector(f"VehicleParams.{name}", getattr(self, name))
            if n is None:
                n = arr.shape[0]
            if arr.shape != (n,):
                raise ValueError(f"VehicleParams.{name} has shape {arr.shape}, expected ({n},) like length")
            if not (arr > 0).all():
                raise ValueError(f"VehicleParams.{name} must be > 0, got {arr}")
            object.__setattr__(self, name, arr)
        if not np.allclose(self.lf + self.lr, self.wheelbase, rtol=1e-9, atol=1e-9):
            raise ValueError(f"VehicleParams: lf + lr ({self.lf + self.lr}) must equal wheelbase ({self.wheelbase})")
        if not (self.max_steer < np.pi / 2).all():
            raise ValueError(f"VehicleParams.max_steer must be < pi/2, got {self.max_steer}")

    def __len__(self) -> int:
        return self.length.shape[0]

    @classmethod
    def car(cls, n: int = 1, **overrides) -> VehicleParams:
        """N mid-size sedans (4.7 m x 1.85 m, 1500 kg, 57 % of the load on the front axle).

        ``overrides`` replace any field, as scalars (broadcast) or (N,) arrays.
        """
        values = dict(
            length=4.7, width=1.85, wheelbase=2.8, lf=1.2, lr=1.6, mass=1500.0, yaw_inertia=2900.0,
            cornering_front=100e3, cornering_rear=100e3, mu=0.9, max_steer=0.6, max_steer_rate=0.8,
            max_accel=3.0, max_brake=8.0, max_speed=50.0,
        )
        unknown = set(overrides) - set(values)
        if unknown:
            raise ValueError(f"VehicleParams.car: unknown fields {sorted(unknown)}; known: {sorted(values)}")
        values.update(overrides)
        return cls(**{k: np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)).copy() for k, v in values.items()})

    @classmethod
    def for_sizes(cls, length, width, **overrides) -> VehicleParams:
        """Vehicles of the given body sizes (m, arrays (N,)), scaled from :meth:`car`.

        Wheelbase, lf, lr scale with length; mass with length * width; yaw inertia with
        mass * length^2; cornering stiffness with mass (it grows with the axle load).
        """
        length = _as_vector("length", length)
        width = _as_vector("width", width, length.shape[0])
        if width.shape != length.shape:
            raise ValueError(f"width has shape {width.shape}, length has {length.shape}")
        ref = cls.car(1)
        ls = length / ref.length[0]
        ms = ls * width / ref.width[0]
        values = dict(
            length=length, width=width, wheelbase=ref.wheelbase[0] * ls, lf=ref.lf[0] * ls,
            lr=ref.lr[0] * ls, mass=ref.mass[0] * ms, yaw_inertia=ref.yaw_inertia[0] * ms * ls**2,
            cornering_front=ref.cornering_front[0] * ms, cornering_rear=ref.cornering_rear[0] * ms,
        )
        values.update(overrides)
        return cls.car(length.shape[0], **values)

    def take(self, idx) -> VehicleParams:
        """The actors selected by an index array or boolean mask."""
        return VehicleParams(**{f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)})
