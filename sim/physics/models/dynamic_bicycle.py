"""Dynamic bicycle: lateral speed and yaw rate driven by tyre slip forces."""

from __future__ import annotations

import numpy as np

from sim.physics.dynamics import DynamicsModel, advance_speed, half_inverse, register_model
from sim.physics.state import GRAVITY, VehicleParams

KINEMATIC_BELOW = 2.0
"""Speed (m/s) under which the lateral states are those of the kinematic bicycle."""
DYNAMIC_ABOVE = 4.0
"""Speed (m/s) above which the lateral states are purely dynamic; linear blend in between."""
REAR_GRIP_RESERVE = 1.2
"""Rear axle friction limit over mu * static rear load. With equal limits both axles saturate at
once and a car at the limit spins; the reserve makes the front saturate first (understeer),
standing in for the load sensitivity of real tyres."""


@register_model
class DynamicBicycle(DynamicsModel):
    """Single-track model referenced at the CoG, with saturating linear tyres.

    Axle lateral force ``F = Fmax * tanh(C * alpha / Fmax)``: slope ``C`` (cornering stiffness) at
    small slip ``alpha``; ``Fmax = mu * static front load`` in front and ``REAR_GRIP_RESERVE``
    times that share at the rear, so steady cornering stays below ``mu * g`` and ends in
    understeer. Equations (body frame)::

        vx' = accel                      (the powertrain holds the commanded acceleration)
        vy' = (Ff cos(steer) + Fr) / m - vx * r
        r'  = (lf Ff cos(steer) - lr Fr) / Iz
        alpha_f = steer - (vy + lf r) / vx,   alpha_r = (lr r - vy) / vx

    ``vy`` and ``r`` use a linearly implicit Euler step on their own (diagonal) slip terms, which
    stays stable at any step length although those terms grow stiff as 1/vx. Below
    ``DYNAMIC_ABOVE`` the lateral states blend linearly into the kinematic bicycle's (fully
    kinematic below ``KINEMATIC_BELOW``), so the model never divides by a speed near 0.
    """

    name = "dynamic"

    def prepare(self, params: VehicleParams, steer: np.ndarray, accel: np.ndarray):
        load = params.mu * params.mass * (GRAVITY / params.wheelbase)
        max_front = load * params.lr
        max_rear = load * params.lf * REAR_GRIP_RESERVE
        cos_steer = np.cos(steer)
        curvature = np.tan(steer) / params.wheelbase
        lf, lr = params.lf, params.lr
        return dict(
            steer=steer, accel=accel, half_inv_accel=half_inverse(accel), max_speed=params.max_speed,
            lf=lf, lr=lr, mass=params.mass, inertia=params.yaw_inertia,
            gain_front=params.cornering_front / max_front, gain_rear=params.cornering_rear / max_rear,
            max_front=max_front * cos_steer, max_rear=max_rear,
            stiff_front=params.cornering_front * cos_steer, stiff_rear=params.cornering_rear,
            yaw_stiff_front=lf * lf * params.cornering_front * cos_steer,
            yaw_stiff_rear=lr * lr * params.cornering_rear,
            curvature=curvature, slip=lr * curvature,
        )

    def advance(self, arrays, p, dt):
        x, y, heading, vx, vy, r = arrays[:6]
        lf, lr = p["lf"], p["lr"]
        speed, distance, actual_accel = advance_speed(vx, p["accel"], p["half_inv_accel"], p["max_speed"], dt)

        inv_vx = 1.0 / np.maximum(vx, KINEMATIC_BELOW)
        tanh_f = np.tanh(p["gain_front"] * (p["steer"] - (vy + lf * r) * inv_vx))
        tanh_r = np.tanh(p["gain_rear"] * ((lr * r - vy) * inv_vx))
        force_f = p["max_front"] * tanh_f  # includes cos(steer): the front force's body-y part
        force_r = p["max_rear"] * tanh_r
        # Slopes of the saturated forces with respect to slip (N/rad) over the slip's 1/vx.
        sat_f = 1.0 - tanh_f * tanh_f
        sat_r = 1.0 - tanh_r * tanh_r
        h_inv_vx = dt * inv_vx
        vy_dyn = vy + dt * (force_f + force_r - p["mass"] * vx * r) / (
            p["mass"] + h_inv_vx * (p["stiff_front"] * sat_f + p["stiff_rear"] * sat_r))
        r_dyn = r + dt * (lf * force_f - lr * force_r) / (
            p["inertia"] + h_inv_vx * (p["yaw_stiff_front"] * sat_f + p["yaw_stiff_rear"] * sat_r))

        r_kin = speed * p["curvature"]
        vy_kin = speed * p["slip"]
        weight = np.minimum(np.maximum((speed - KINEMATIC_BELOW) * (1.0 / (DYNAMIC_ABOVE - KINEMATIC_BELOW)),
                                       0.0), 1.0)
        new_vy = vy_kin + weight * (vy_dyn - vy_kin)
        new_r = r_kin + weight * (r_dyn - r_kin)

        new_heading = heading + (0.5 * dt) * (r + new_r)
        mid = 0.5 * (heading + new_heading)
        cos_mid, sin_mid = np.cos(mid), np.sin(mid)
        lateral_distance = (0.5 * dt) * (vy + new_vy)
        return (x + distance * cos_mid - lateral_distance * sin_mid,
                y + distance * sin_mid + lateral_distance * cos_mid,
                new_heading, speed, new_vy, new_r, p["steer"], actual_accel)
