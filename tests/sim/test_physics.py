"""Vehicle dynamics against hand-computed answers."""

import math

import numpy as np
import pytest

from sim.physics import DynamicsModel, VehicleParams, VehicleState, get_model, register_model
from sim.physics.state import GRAVITY

DT = 0.1


def drive(model, state, params, steer, accel, steps, substeps=5, dt=DT):
    steer = np.broadcast_to(np.asarray(steer, dtype=float), (state.n,)).copy()
    accel = np.broadcast_to(np.asarray(accel, dtype=float), (state.n,)).copy()
    for _ in range(steps):
        state = model.forward(state, params, steer, accel, dt, substeps)
    return state


@pytest.mark.parametrize("name", ["kinematic", "dynamic"])
def test_straight_line_constant_accel(name):
    model, params = get_model(name), VehicleParams.car(1)
    v0, a, t = 5.0, 2.0, 3.0
    s = drive(model, VehicleState.from_pose([0.0], [0.0], [0.0], [v0]), params, 0.0, a, steps=30)
    assert s.speed[0] == pytest.approx(v0 + a * t)
    assert s.x[0] == pytest.approx(v0 * t + 0.5 * a * t * t)
    assert s.y[0] == pytest.approx(0.0, abs=1e-12)
    assert s.accel[0] == pytest.approx(a)


def test_straight_line_along_heading():
    s = drive(get_model("kinematic"), VehicleState.from_pose([1.0], [2.0], [math.pi / 3], [4.0]),
              VehicleParams.car(1), 0.0, 0.0, steps=10)
    assert (s.x[0], s.y[0]) == pytest.approx((1.0 + 4.0 * 0.5, 2.0 + 4.0 * math.sqrt(3) / 2))


def test_kinematic_circle_radius_and_yaw_rate():
    params = VehicleParams.car(1, max_steer_rate=100.0)
    model = get_model("kinematic")
    steer, v = 0.2, 8.0
    radius = params.wheelbase[0] / math.tan(steer)  # of the rear axle's circle
    s = drive(model, VehicleState.from_pose([0.0], [0.0], [0.0], [v]), params, steer, 0.0, steps=1)
    assert s.yaw_rate[0] == pytest.approx(v * math.tan(steer) / params.wheelbase[0])
    # One full revolution: time 2 pi R / v; the rear axle is on the circle throughout.
    rear = []
    s = VehicleState.from_pose([0.0], [0.0], [0.0], [v])
    period = 2 * math.pi * radius / v
    steps = 200
    for _ in range(steps):
        s = model.forward(s, params, np.array([steer]), np.array([0.0]), period / steps, 3)
        rear.append((s.x[0] - params.lr[0] * math.cos(s.heading[0]), s.y[0] - params.lr[0] * math.sin(s.heading[0])))
    rear = np.array(rear)
    centre = np.array([-params.lr[0], radius])  # left of the starting rear axle
    np.testing.assert_allclose(np.hypot(*(rear - centre).T), radius, rtol=1e-9)
    assert s.heading[0] == pytest.approx(2 * math.pi)
    assert (s.x[0], s.y[0]) == pytest.approx((0.0, 0.0), abs=1e-9)


def test_kinematic_substeps_do_not_change_result():
    params, model = VehicleParams.car(1), get_model("kinematic")
    start = VehicleState.from_pose([0.0], [0.0], [0.3], [6.0]).replace(steer=np.array([0.1]))
    a = model.forward(start, params, np.array([0.1]), np.array([-8.0]), 1.0, substeps=1)
    b = start
    for _ in range(50):
        b = model.compute_update(b, params, np.array([0.1]), np.array([-8.0]), 0.02)
    np.testing.assert_allclose([a.x, a.y, a.heading, a.speed], [b.x, b.y, b.heading, b.speed], atol=1e-9)


@pytest.mark.parametrize("name", ["kinematic", "dynamic"])
def test_steering_rate_limit(name):
    params, model = VehicleParams.car(1), get_model(name)
    s = VehicleState.from_pose([0.0], [0.0], [0.0], [10.0])
    step = params.max_steer_rate[0] * DT
    for k in range(1, 4):
        s = model.forward(s, params, np.array([0.5]), np.array([0.0]), DT, 5)
        assert s.steer[0] == pytest.approx(k * step)
    # A target beyond max_steer ends at max_steer; going back is limited too.
    s = drive(model, s, params, 10.0, 0.0, steps=20)
    assert s.steer[0] == pytest.approx(params.max_steer[0])
    s = model.forward(s, params, np.array([-10.0]), np.array([0.0]), DT, 5)
    assert s.steer[0] == pytest.approx(params.max_steer[0] - step)


@pytest.mark.parametrize("name", ["kinematic", "dynamic"])
def test_accel_clipped_to_limits(name):
    params, model = VehicleParams.car(2), get_model(name)
    s = VehicleState.from_pose([0.0, 0.0], [0.0, 10.0], [0.0, 0.0], [10.0, 10.0])
    s = model.forward(s, params, np.zeros(2), np.array([100.0, -100.0]), DT, 5)
    np.testing.assert_allclose(s.speed, [10.0 + 3.0 * DT, 10.0 - 8.0 * DT])
    np.testing.assert_allclose(s.accel, [3.0, -8.0])


@pytest.mark.parametrize("name", ["kinematic", "dynamic"])
def test_braking_stops_without_reversing(name):
    params, model = VehicleParams.car(1), get_model(name)
    v0 = 3.0
    s = VehicleState.from_pose([0.0], [0.0], [0.0], [v0])
    for _ in range(20):
        s = model.forward(s, params, np.array([0.0]), np.array([-8.0]), DT, 5)
        assert s.speed[0] >= 0.0
    assert s.speed[0] == 0.0
    assert s.accel[0] == 0.0
    # Stopping distance v0^2 / (2 b), exact even though the stop falls inside a substep.
    assert s.x[0] == pytest.approx(v0 * v0 / (2 * 8.0))


def test_speed_capped_at_max_speed():
    params = VehicleParams.car(1, max_speed=10.0)
    s = drive(get_model("kinematic"), VehicleState.from_pose([0.0], [0.0], [0.0], [9.0]), params, 0.0, 3.0, 10)
    assert s.speed[0] == 10.0
    # 1/3 s to reach 10 m/s (9.5 m/s average), then 2/3 s at 10 m/s.
    assert s.x[0] == pytest.approx(9.5 / 3 + 10 * 2 / 3)


def test_dynamic_matches_linear_understeer_at_low_lateral_accel():
    params, model = VehicleParams.car(1, max_steer_rate=100.0), get_model("dynamic")
    (lf,), (lr,), (L,), (m,) = params.lf, params.lr, params.wheelbase, params.mass
    (cf,), (cr,) = params.cornering_front, params.cornering_rear
    steer = 0.01
    for v in (6.0, 15.0):
        s = drive(model, VehicleState.from_pose([0.0], [0.0], [0.0], [v]), params, steer, 0.0, steps=50)
        kinematic = v * math.tan(steer) / L
        # Steady-state yaw rate of the linear bicycle with understeer gradient K (rad s^2/m).
        k = m / L * (lr / cf - lf / cr)
        assert s.yaw_rate[0] == pytest.approx(v * steer / (L + k * v * v), rel=0.01)
        assert s.yaw_rate[0] < kinematic
    s = drive(model, VehicleState.from_pose([0.0], [0.0], [0.0], [6.0]), params, steer, 0.0, steps=50)
    assert s.yaw_rate[0] == pytest.approx(6.0 * math.tan(steer) / L, rel=0.03)


def test_dynamic_understeers_and_bounds_lateral_accel():
    params = VehicleParams.car(1, max_steer_rate=100.0)
    v, steer = 20.0, 0.15
    s = drive(get_model("dynamic"), VehicleState.from_pose([0.0], [0.0], [0.0], [v]), params, steer, 0.0, steps=60)
    kinematic_radius = params.wheelbase[0] / math.tan(steer)
    assert v * v / kinematic_radius > 2 * params.mu[0] * GRAVITY  # far beyond the tyres' grip
    lateral_accel = v * s.yaw_rate[0]  # steady state: vy' = 0
    assert lateral_accel <= params.mu[0] * GRAVITY * 1.001
    assert lateral_accel > 0.9 * params.mu[0] * GRAVITY
    assert v / s.yaw_rate[0] > 2 * kinematic_radius
    assert abs(s.lateral_speed[0]) < 2.0  # sliding wide, not spinning


def test_dynamic_low_speed_is_kinematic():
    params = VehicleParams.car(1, max_steer_rate=100.0)
    start = VehicleState.from_pose([0.0], [0.0], [0.0], [1.5])
    a = drive(get_model("dynamic"), start, params, 0.4, 0.0, steps=5)
    b = drive(get_model("kinematic"), start, params, 0.4, 0.0, steps=5)
    assert a.yaw_rate[0] == pytest.approx(b.yaw_rate[0])
    assert a.lateral_speed[0] == pytest.approx(b.lateral_speed[0])
    # Only the first step differs: the dynamic model starts from zero yaw rate, not jumps to it.
    assert (a.x[0], a.y[0]) == pytest.approx((b.x[0], b.y[0]), abs=1e-2)


@pytest.mark.parametrize("name", ["kinematic", "dynamic"])
def test_vectorised_actors_are_independent(name):
    model = get_model(name)
    params = VehicleParams.for_sizes([4.7, 12.0, 3.5], [1.85, 2.5, 1.6])
    start = VehicleState.from_pose([0.0, 5.0, -3.0], [0.0, 1.0, 2.0], [0.0, 1.0, -2.0], [5.0, 12.0, 20.0])
    steer, accel = np.array([0.1, -0.05, 0.02]), np.array([1.0, -2.0, 0.5])
    together = model.forward(start, params, steer, accel, DT, 5)
    for i in range(3):
        alone = model.forward(start.take([i]), params.take([i]), steer[[i]], accel[[i]], DT, 5)
        np.testing.assert_allclose(together.take([i]).x, alone.x)
        np.testing.assert_allclose(together.take([i]).yaw_rate, alone.yaw_rate)


@pytest.mark.parametrize("bad, value, message", [
    ("steer", np.array([np.nan]), "steer_target must be finite"),
    ("accel", np.array([np.inf]), "accel_target must be finite"),
    ("steer", np.array([0.0, 0.0]), r"steer_target must have shape \(1,\)"),
    ("accel", np.zeros((1, 1)), r"accel_target must have shape \(1,\)"),
])
def test_forward_rejects_bad_inputs(bad, value, message):
    model, params, s = get_model("dynamic"), VehicleParams.car(1), VehicleState.zeros(1)
    steer = value if bad == "steer" else np.zeros(1)
    accel = value if bad == "accel" else np.zeros(1)
    with pytest.raises(ValueError, match=message):
        model.forward(s, params, steer, accel, DT)


def test_forward_rejects_bad_dt_substeps_and_sizes():
    model, s, z = get_model("kinematic"), VehicleState.zeros(1), np.zeros(1)
    with pytest.raises(ValueError, match="dt"):
        model.forward(s, VehicleParams.car(1), z, z, 0.0)
    with pytest.raises(ValueError, match="dt"):
        model.forward(s, VehicleParams.car(1), z, z, float("nan"))
    with pytest.raises(ValueError, match="substeps"):
        model.forward(s, VehicleParams.car(1), z, z, DT, substeps=0)
    with pytest.raises(ValueError, match="params describe 2 actors"):
        model.forward(s, VehicleParams.car(2), z, z, DT)


def test_params_and_state_validation():
    with pytest.raises(ValueError, match="VehicleParams.mass must be > 0"):
        VehicleParams.car(2, mass=[1500.0, -1.0])
    with pytest.raises(ValueError, match="VehicleParams.mu must be finite"):
        VehicleParams.car(1, mu=np.nan)
    with pytest.raises(ValueError, match="wheelbase"):
        VehicleParams.car(1, wheelbase=3.0)
    with pytest.raises(ValueError, match="unknown fields"):
        VehicleParams.car(1, colour=1.0)
    with pytest.raises(ValueError, match="VehicleState.y"):
        VehicleState.zeros(2).replace(y=np.zeros(3))


def test_state_helpers():
    s = VehicleState.from_pose([0.0, 1.0, 2.0], 0.0, 0.0, 5.0)
    both = VehicleState.concat([s.take([2]), s.take(np.array([True, False, False]))])
    np.testing.assert_array_equal(both.x, [2.0, 0.0])
    assert both.n == 2 and VehicleState.zeros(4).n == 4


def test_registry_refuses_duplicates_and_lists_known_names():
    class Again(DynamicsModel):
        name = "kinematic"

    with pytest.raises(ValueError, match="already registered"):
        register_model(Again)
    with pytest.raises(KeyError, match="known: \\['dynamic', 'kinematic'\\]"):
        get_model("unicycle")
