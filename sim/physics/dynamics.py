"""Dynamics as a template: a validating :meth:`DynamicsModel.forward` around one model's
:meth:`DynamicsModel.compute_update` (one model per file in ``sim.physics.models``), and the
registry of models by name.
"""

from __future__ import annotations

import math

import numpy as np

from sim.physics.state import VehicleParams, VehicleState
from sim.registry import Registry


class DynamicsModel:
    """Base of vehicle models; subclasses set ``name`` and implement ``prepare`` and ``advance``,
    which together make ``compute_update`` (``forward`` prepares once for all its substeps)."""

    name: str = ""
    exact_for_constant_inputs: bool = False
    """True when one ``compute_update`` over the whole ``dt`` gives the same result as any number
    of substeps (for steer and acceleration held constant); ``forward`` then makes one call."""

    def prepare(self, params: VehicleParams, steer: np.ndarray, accel: np.ndarray):
        """Quantities that stay fixed while ``steer`` (rad) and ``accel`` (m/s^2), both (N,) and
        within the actuator limits, are held; passed to every :meth:`advance`."""
        raise NotImplementedError

    def advance(self, arrays: tuple[np.ndarray, ...], prepared, dt: float) -> tuple[np.ndarray, ...]:
        """One step of ``dt`` (s) on the state's field arrays, in ``VehicleState`` field order."""
        raise NotImplementedError

    def compute_update(self, state: VehicleState, params: VehicleParams, steer: np.ndarray,
                       accel: np.ndarray, dt: float) -> VehicleState:
        """One step of length ``dt`` (s) holding ``steer`` (rad) and ``accel`` (m/s^2), both (N,)
        and already within the actuator limits. No validation."""
        return VehicleState(*self.advance(_fields(state), self.prepare(params, steer, accel), dt))

    def forward(self, state: VehicleState, params: VehicleParams, steer_target, accel_target,
                dt: float, substeps: int = 1) -> VehicleState:
        """Advance N actors by one control step of ``dt`` seconds.

        ``steer_target`` (rad) and ``accel_target`` (m/s^2) are (N,) arrays. The steer moves toward
        its target by at most ``max_steer_rate * dt`` and stays within ``+-max_steer``; the
        acceleration is clipped to ``[-max_brake, max_accel]``. Both are then held while
        ``compute_update`` runs ``substeps`` times with ``dt / substeps`` (once with ``dt`` when
        the model is exact for constant inputs). Speed stays in ``[0, max_speed]``: braking stops
        the actor, it never reverses. Bad inputs raise ValueError naming the input.
        """
        n = state.x.shape[0]
        if len(params) != n:
            raise ValueError(f"params describe {len(params)} actors but state has {n}")
        steer_target = np.asarray(steer_target, dtype=np.float64)
        accel_target = np.asarray(accel_target, dtype=np.float64)
        if steer_target.shape != (n,):
            raise ValueError(f"steer_target must have shape ({n},), got {steer_target.shape}")
        if accel_target.shape != (n,):
            raise ValueError(f"accel_target must have shape ({n},), got {accel_target.shape}")
        if not np.isfinite(steer_target + accel_target).all():
            bad = "steer_target" if not np.isfinite(steer_target).all() else "accel_target"
            raise ValueError(f"{bad} must be finite, got {steer_target if bad == 'steer_target' else accel_target}")
        if not (dt > 0 and math.isfinite(dt)):
            raise ValueError(f"dt must be a finite number > 0 s, got {dt}")
        if not (isinstance(substeps, (int, np.integer)) and substeps >= 1):
            raise ValueError(f"substeps must be an integer >= 1, got {substeps!r}")

        max_delta = params.max_steer_rate * dt
        steer = state.steer + np.minimum(np.maximum(steer_target - state.steer, -max_delta), max_delta)
        steer = np.minimum(np.maximum(steer, -params.max_steer), params.max_steer)
        accel = np.minimum(np.maximum(accel_target, -params.max_brake), params.max_accel)

        # compute_update unrolled: prepare once, advance on raw arrays, build the state once.
        prepared = self.prepare(params, steer, accel)
        arrays = _fields(state)
        if self.exact_for_constant_inputs:
            return VehicleState(*self.advance(arrays, prepared, dt))
        h = dt / substeps
        for _ in range(substeps):
            arrays = self.advance(arrays, prepared, h)
        return VehicleState(*arrays)


def _fields(state: VehicleState) -> tuple[np.ndarray, ...]:
    return (state.x, state.y, state.heading, state.speed, state.lateral_speed, state.yaw_rate,
            state.steer, state.accel)


def half_inverse(accel: np.ndarray) -> np.ndarray:
    """``0.5 / accel``, 0 where ``accel`` is 0: the ``half_inv_accel`` of :func:`advance_speed`."""
    return np.divide(0.5, accel, out=np.zeros_like(accel), where=accel != 0.0)


def advance_speed(speed: np.ndarray, accel: np.ndarray, half_inv_accel: np.ndarray,
                  max_speed: np.ndarray, dt: float):
    """Longitudinal speed after ``dt`` at constant ``accel``, held in ``[0, max_speed]``.

    Returns ``(new_speed, distance, actual_accel)``: the distance (m) is exact, also when a speed
    bound is reached part-way through the step; ``actual_accel = (new_speed - speed) / dt``.
    """
    new_speed = np.minimum(np.maximum(speed + accel * dt, 0.0), max_speed)
    change = new_speed - speed
    # Time spent accelerating is change / accel; the rest of the step is at new_speed.
    distance = new_speed * dt - change * change * half_inv_accel
    return new_speed, distance, change * (1.0 / dt)


MODELS: Registry[type[DynamicsModel]] = Registry("dynamics model")


register_model = MODELS.decorator("name")
"""Class decorator adding a model under ``cls.name``; a name already taken raises ValueError."""


def get_model(name: str) -> DynamicsModel:
    """A new instance of the model registered as ``name``; unknown names raise KeyError."""
    return MODELS.get(name)()


def model_names() -> list[str]:
    """Names of all registered models, sorted."""
    return MODELS.names()
