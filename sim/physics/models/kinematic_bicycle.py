"""Kinematic bicycle: no tyre slip; the rear axle moves along its heading."""

from __future__ import annotations

import numpy as np

from sim.physics.dynamics import DynamicsModel, advance_speed, half_inverse, register_model
from sim.physics.state import VehicleParams


@register_model
class KinematicBicycle(DynamicsModel):
    """Kinematic bicycle referenced at the CoG.

    With the front wheel angle ``steer`` held, the rear axle follows a circle of curvature
    ``tan(steer) / wheelbase`` and the yaw rate is ``speed * tan(steer) / wheelbase``; the CoG
    has lateral speed ``speed * lr * tan(steer) / wheelbase``. The step is integrated exactly
    along that arc (the path's shape does not depend on the speed profile), so any ``dt`` gives
    the same answer as many small steps.
    """

    name = "kinematic"
    exact_for_constant_inputs = True

    def prepare(self, params: VehicleParams, steer: np.ndarray, accel: np.ndarray):
        curvature = np.tan(steer) / params.wheelbase
        # slip: tan of the CoG slip angle.
        return dict(steer=steer, accel=accel, half_inv_accel=half_inverse(accel),
                    max_speed=params.max_speed, curvature=curvature, slip=params.lr * curvature)

    def advance(self, arrays, prepared, dt):
        x, y, heading, speed = arrays[:4]
        curvature, slip = prepared["curvature"], prepared["slip"]
        speed, distance, actual_accel = advance_speed(
            speed, prepared["accel"], prepared["half_inv_accel"], prepared["max_speed"], dt)
        half_turn = distance * curvature * 0.5
        # Chord of the arc over its length: sin(a)/a, written to give 1 at a == 0.
        at_zero = half_turn == 0.0
        chord = distance * ((np.sin(half_turn) + at_zero) / (half_turn + at_zero))
        mid = heading + half_turn
        cos_mid, sin_mid = np.cos(mid), np.sin(mid)
        return (x + chord * (cos_mid - slip * sin_mid), y + chord * (sin_mid + slip * cos_mid),
                mid + half_turn, speed, speed * slip, speed * curvature, prepared["steer"], actual_accel)
