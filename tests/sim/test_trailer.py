"""sim.traffic.trailer: straight driving, steady-turn off-tracking against the closed form, the pose-history
update against the yaw-rate ODE, a junction turn whose trailer cuts over the curb, reversing and jackknifing,
vectorisation and determinism."""
import math

import numpy as np
import pytest

from sim.assets.meshes import TRACTOR_SIZE, TRAILER_KINGPIN
from sim.traffic import trailer as T


def params(hitch_offsets) -> T.TrailerParams:
    """Standard trucks whose hitch sits ``hitch_offsets`` m ahead of the tractor's rear axle."""
    p = T.TrailerParams.standard(len(hitch_offsets))
    return T.TrailerParams(p.axle_x + np.asarray(hitch_offsets, float), p.axle_x, p.kingpin_axle, p.kingpin_centre,
                           p.length, p.width, p.height)


def arc_step(ax, ay, psi, v, omega, dt):
    """Rear-axle position and heading after driving the arc of constant (v, omega) for dt."""
    half = 0.5 * omega * dt
    chord = v * dt * np.where(half != 0.0, np.sin(half) / np.where(half != 0.0, half, 1.0), 1.0)
    return ax + chord * np.cos(psi + half), ay + chord * np.sin(psi + half), psi + 2.0 * half


def centre(ax, ay, psi, p):
    """Tractor box centre from its rear-axle position."""
    return ax - p.axle_x * np.cos(psi), ay - p.axle_x * np.sin(psi)


def drive_poses(theta, ax, ay, psi, p):
    """Trailer headings along a rear-axle trajectory (T, N) arrays, through the pose-history API."""
    out = [theta]
    hitch = T.hitch_points(*centre(ax[0], ay[0], psi[0], p), psi[0], p)
    for k in range(1, len(ax)):
        nxt = T.hitch_points(*centre(ax[k], ay[k], psi[k], p), psi[k], p)
        out.append(T.step_trailers_from_poses(out[-1], hitch, nxt, psi[k], p))
        hitch = nxt
    return np.array(out)


def test_straight_driving_keeps_the_trailer_aligned_directly_behind_at_the_tractor_speed():
    p = T.TrailerParams.standard(4)
    psi = np.array([0.0, 0.7, -2.0, math.pi - 1e-3])
    x, y, v, zero = np.array([0.0, 5.0, -3.0, 100.0]), np.array([1.0, -2.0, 40.0, 0.0]), np.full(4, 12.0), np.zeros(4)
    theta = T.init_trailers(psi)
    for _ in range(50):
        theta = T.step_trailers(theta, x, y, psi, v, zero, p, 0.1)
        nx, ny = x + 1.2 * np.cos(psi), y + 1.2 * np.sin(psi)
        theta2 = T.step_trailers_from_poses(theta, T.hitch_points(x, y, psi, p), T.hitch_points(nx, ny, psi, p), psi, p)
        np.testing.assert_allclose(T.articulation(theta2, psi), 0.0, atol=1e-12)
        np.testing.assert_allclose(T.articulation(theta, psi), 0.0, atol=1e-12)
        x, y = nx, ny
    b = T.trailer_boxes(theta, x, y, psi, v, zero, p)
    hx, hy = T.hitch_points(x, y, psi, p)
    back = p.kingpin_centre
    np.testing.assert_allclose(b[0], hx - back * np.cos(psi), atol=1e-9)
    np.testing.assert_allclose(b[1], hy - back * np.sin(psi), atol=1e-9)
    np.testing.assert_allclose(b[3], v)
    np.testing.assert_allclose(b[4:], [p.length, p.width, p.height])


def test_box_centre_follows_the_mesh_coupling_formula_at_any_articulation():
    p = T.TrailerParams.standard(3)
    x, y, psi = np.array([1.0, -4.0, 7.0]), np.array([2.0, 0.5, -9.0]), np.array([0.3, -1.0, 2.5])
    theta = psi - np.array([0.5, -1.2, 0.0])
    b = T.trailer_boxes(theta, x, y, psi, np.zeros(3), np.zeros(3), p)
    hitch = T.hitch_points(x, y, psi, p)
    kx, ky = TRAILER_KINGPIN[:2]
    np.testing.assert_allclose(b[0], hitch[0] - (np.cos(theta) * kx - np.sin(theta) * ky), atol=1e-12)
    np.testing.assert_allclose(b[1], hitch[1] - (np.sin(theta) * kx + np.cos(theta) * ky), atol=1e-12)


@pytest.mark.parametrize("radius", [15.0, 30.0])
def test_steady_turn_converges_to_the_closed_form_off_tracking(radius):
    p = params([0.0, 0.5, -1.5])
    n, v, dt = 3, 6.0, 0.1
    omega = v / radius
    # Rear axle on a circle about the origin, turning left from (0, -R) heading east.
    ax, ay, psi = np.zeros(n), np.full(n, -radius), np.zeros(n)
    theta = T.init_trailers(psi)
    for _ in range(int(6 * 2 * math.pi / omega / dt)):  # six laps
        theta = T.step_trailers(theta, *centre(ax, ay, psi, p), psi, np.full(n, v), np.full(n, omega), p, dt)
        ax, ay, psi = arc_step(ax, ay, psi, v, omega, dt)
    hx, hy = T.hitch_points(*centre(ax, ay, psi, p), psi, p)
    axle_r = np.hypot(hx - p.kingpin_axle * np.cos(theta), hy - p.kingpin_axle * np.sin(theta))
    off = T.off_tracking(radius, p)
    assert np.all(off > 0.0)
    np.testing.assert_allclose(radius - axle_r, off, rtol=2e-3)
    # Steady state: the whole trailer turns rigidly about the centre with the tractor's yaw rate.
    b = T.trailer_boxes(theta, *centre(ax, ay, psi, p), psi, np.full(n, v), np.full(n, omega), p)
    np.testing.assert_allclose(b[3], omega * np.hypot(b[0], b[1]), rtol=1e-3)
    assert np.all(T.articulation(theta, psi) > 0.0)  # a left turn: the trailer lags, inside the tractor


def test_off_tracking_grows_as_the_turn_tightens_and_has_no_steady_state_below_the_trailer_length():
    p = T.TrailerParams.standard(1)
    off = [T.off_tracking(r, p)[0] for r in (50.0, 25.0, 12.0)]
    assert 0.0 < off[0] < off[1] < off[2]
    assert np.isnan(T.off_tracking(0.9 * p.kingpin_axle[0], p)[0])


def test_pose_history_update_agrees_with_the_yaw_rate_ode_on_a_smooth_turn():
    p = params([0.0, 0.4, -0.6])
    n, v, dt, fine = 3, 8.0, 0.1, 5
    ts = np.arange(0.0, 20.0, dt)
    omega = 0.35 * np.sin(math.pi * ts / 20.0)[:, None] ** 2 * np.array([1.0, -1.0, 1.0])  # (T, N), per step
    ax, ay, psi = [np.zeros(n)], [np.zeros(n)], [np.array([0.0, 1.0, -2.0])]
    for k in range(len(ts) * fine):
        a, b, c = arc_step(ax[-1], ay[-1], psi[-1], v, omega[k // fine], dt / fine)
        ax.append(a), ay.append(b), psi.append(c)
    ax, ay, psi = np.array(ax), np.array(ay), np.array(psi)
    from_poses = drive_poses(T.init_trailers(psi[0]), ax, ay, psi, p)[::fine]  # hitch moves 0.16 m a step
    ode, ref = [from_poses[0]], [from_poses[0]]
    for k in range(len(ts)):
        args = (*centre(ax[k * fine], ay[k * fine], psi[k * fine], p), psi[k * fine], np.full(n, v), omega[k], p, dt)
        ode.append(T.step_trailers(ode[-1], *args, substeps=4))
        ref.append(T.step_trailers(ref[-1], *args, substeps=400))
    ref = np.array(ref)
    assert np.abs(T.articulation(ref, psi[::fine])).max() > 0.3  # a real turn
    np.testing.assert_allclose(T.articulation(from_poses, ref), 0.0, atol=1e-3)
    np.testing.assert_allclose(T.articulation(np.array(ode), ref), 0.0, atol=1e-3)


def junction_turn(radius=12.0, ds=0.25, run=40.0):
    """Rear-axle path (T,) x, y, heading of a left turn: east along y = -R, a quarter circle about the
    origin, north along x = R."""
    s = np.arange(0.0, 2 * run + 0.5 * math.pi * radius, ds)
    phase = np.clip((s - run) / radius, 0.0, 0.5 * math.pi)
    x = np.where(s < run, s - run, radius * np.sin(phase))
    y = np.where(s - run > 0.5 * math.pi * radius, s - run - 0.5 * math.pi * radius, -radius * np.cos(phase))
    return x, y, phase


def test_junction_turn_trailer_cuts_inside_the_tractor_and_over_the_curb():
    radius, lane_width = 12.0, 3.5
    p = T.TrailerParams.standard(1)
    ax, ay, psi = (a[:, None] for a in junction_turn(radius))
    theta = drive_poses(T.init_trailers(psi[0]), ax, ay, psi, p)[:, 0]
    (cx, cy), psi, zero = centre(ax[:, 0], ay[:, 0], psi[:, 0], p), psi[:, 0], np.zeros(len(theta))
    trailer = T.trailer_boxes(theta, cx, cy, psi, zero, zero, T.TrailerParams.standard(len(theta)))  # over time
    tractor = np.stack([cx, cy, psi, zero, *(np.full(len(psi), s) for s in TRACTOR_SIZE)])
    t_corners, c_corners = T.box_corners(trailer), T.box_corners(tractor)  # (4, 2, T)
    inner_rear = t_corners[3].T  # rear-left: the inside of a left turn
    tractor_inner = np.hypot(c_corners[:, 0], c_corners[:, 1]).min()  # closest a tractor corner gets to the centre
    assert tractor_inner - np.hypot(*inner_rear.T).min() > 2.0  # off-tracking: metres inside the tractor's path
    # The curb along the inner lane edge: the tractor stays on the road, the trailer's corner rides over it.
    ex, ey, _ = junction_turn(radius - 0.5 * lane_width)
    curb = np.stack([ex, ey], axis=1)
    assert T.crosses(inner_rear, curb)
    assert not any(T.crosses(c.T, curb) for c in c_corners)
    # Out of the turn the trailer straightens behind the tractor again.
    assert abs(T.articulation(theta[-1], psi[-1])) < 0.02


def test_reversing_retraces_exactly_and_a_jackknife_is_clamped_then_recovers():
    p = params([0.0, 0.5, -0.7])
    ax, ay, psi = (np.repeat(a[:, None], 3, axis=1) for a in junction_turn(15.0, run=10.0))
    forward = drive_poses(T.init_trailers(psi[0]), ax, ay, psi, p)
    back = drive_poses(forward[-1], ax[::-1], ay[::-1], psi[::-1], p)
    assert np.abs(T.articulation(forward, psi)).max() > 0.3
    np.testing.assert_allclose(T.articulation(back[-1], psi[0]), 0.0, atol=1e-9)  # the tractrix is reversible
    # Reversing straight from a small articulation: it grows (unstable) until the guard holds it.
    n, dt, zero = 3, 0.1, np.zeros(3)
    theta = T.init_trailers(zero) - 0.02
    x = zero.copy()
    for _ in range(200):
        theta = T.step_trailers(theta, x, zero, zero, np.full(n, -3.0), zero, p, dt)
        x -= 3.0 * dt
        art = T.articulation(theta, zero)
        assert np.all(np.isfinite(theta)) and np.all(np.abs(art) <= T.MAX_ARTICULATION_RAD + 1e-12)
    np.testing.assert_allclose(art, T.MAX_ARTICULATION_RAD)
    # Reversing while turning hard (yaw rate on the trailer side) also stays finite and within the guard.
    theta = T.step_trailers(theta, x, zero, zero, np.full(n, -3.0), np.full(n, 0.5), p, 5.0, 100)
    assert np.all(np.abs(T.articulation(theta, np.full(n, 2.5))) <= T.MAX_ARTICULATION_RAD + 1e-12)
    # Pulling forward straightens the trailer.
    theta = T.step_trailers(T.init_trailers(zero) - T.MAX_ARTICULATION_RAD, x, zero, zero, np.full(n, 5.0), zero,
                            p, 12.0, 200)
    assert np.all(np.abs(T.articulation(theta, zero)) < 0.01)


def test_vectorised_matches_one_truck_at_a_time_and_is_deterministic():
    rng = np.random.default_rng(7)
    n = 6
    base = T.TrailerParams.standard(n)
    p = T.TrailerParams(base.hitch_x + rng.uniform(-0.5, 0.5, n), base.axle_x, rng.uniform(7.0, 12.0, n),
                        rng.uniform(4.0, 7.0, n), base.length, base.width, base.height)
    x, y, psi = rng.normal(0, 50, n), rng.normal(0, 50, n), rng.uniform(-3, 3, n)
    v, omega = rng.uniform(-3, 15, (100, n)), rng.uniform(-0.4, 0.4, (100, n))

    def run(idx):
        q = T.TrailerParams(*(getattr(p, f)[idx] for f in p.__dataclass_fields__))
        theta, cx, cy, h = T.init_trailers(psi[idx]) + 0.1, x[idx], y[idx], psi[idx]
        out = []
        for k in range(100):
            theta = T.step_trailers(theta, cx, cy, h, v[k, idx], omega[k, idx], q, 0.1)
            nx, ny, nh = cx + 0.3 * np.cos(h + 0.05), cy + 0.3 * np.sin(h + 0.05), h + 0.02
            theta = T.step_trailers_from_poses(theta, T.hitch_points(cx, cy, h, q), T.hitch_points(nx, ny, nh, q), nh, q)
            cx, cy, h = nx, ny, nh
            out.append(T.trailer_boxes(theta, cx, cy, h, v[k, idx], omega[k, idx], q))
        return np.array(out)

    together = run(np.arange(n))
    alone = np.concatenate([run(np.array([i])) for i in range(n)], axis=2)
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_array_equal(together, run(np.arange(n)))
