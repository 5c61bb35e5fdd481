"""The continuous optimisation of the hybrid planner: lateral (heading over arc length) and longitudinal."""
import numpy as np

from agents.planning.optimise import LAT_ACCEL_MAX, LAT_JERK_MAX, lateral, speed


def _lane_change(v=15.0, n=40, ds=1.5, width=3.5):
    d_ref = np.r_[0.0, np.full(n, width)]
    return lateral(ds, 0.0, 0.0, d_ref, np.full(n, v), np.full(n + 1, -2.0), np.full(n + 1, width + 2.0))


def test_lane_change_lateral_acceleration_is_trapezoidal():
    d, acc = _lane_change()
    v, ds = 15.0, 1.5
    assert abs(d[-1] - 3.5) < 0.05 and np.abs(acc).max() <= LAT_ACCEL_MAX + 1e-6
    jerk = np.diff(np.r_[0.0, acc]) * v / ds
    assert np.abs(jerk).max() <= LAT_JERK_MAX + 1e-6
    top = np.abs(acc) >= 0.98 * LAT_ACCEL_MAX
    # two plateaus at the bound, one pushing toward the new lane, one taking the push back ...
    runs = np.flatnonzero(np.diff(np.r_[0, top.astype(int), 0]) != 0).reshape(-1, 2)
    assert len(runs) == 2 and (runs[:, 1] - runs[:, 0] >= 4).all()
    assert acc[runs[0, 0]] > 0 > acc[runs[1, 0]]
    # ... joined by ramps at constant jerk (the bound): a trapezoid, not a sine (whose ramps steepen then flatten)
    up = jerk[: runs[0, 0]]
    between = jerk[runs[0, 1] : runs[1, 0]]
    assert np.allclose(up[1:], LAT_JERK_MAX, atol=0.05)
    assert np.allclose(between[1:-1], -LAT_JERK_MAX, atol=0.05)


def test_lateral_keeps_to_the_corridor():
    n, ds = 40, 1.0
    lo = np.full(n + 1, -1.0)
    lo[15:25] = 0.9  # a standing car on the right: the corridor narrows to the left of it
    d, _ = lateral(ds, 0.0, 0.0, np.zeros(n + 1), np.full(n, 6.0), lo, np.full(n + 1, 3.0))
    assert (d[15:25] >= 0.9).all() and abs(d[-1]) < 0.1


def test_speed_stays_under_the_ceiling_and_comfortable():
    n, ds = 40, 1.5
    s = ds * np.arange(n + 1)
    ceiling = np.minimum(np.sqrt(8.0 ** 2 + 2 * 1.5 * s), 14.0)
    v = speed(ds, 8.0, 0.0, ceiling)
    accel = np.diff(v ** 2) / (2 * ds)
    assert (v <= ceiling + 0.1).all() and v[0] == 8.0
    assert accel.max() <= 2.4 and accel.min() >= -4.05
    assert v[-1] > 12.0  # traversal time pulls the speed up to the ceiling
