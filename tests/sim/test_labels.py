"""Labels from vector space against hand-computed answers (sim/labels)."""
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from sim.labels import (
    LABELS,
    bev,
    boxes2d,
    camera_pose,
    cuboids,
    label,
    lane_polylines,
    state_cuboids,
)
from sim.sensors.camera import CameraSpec, project
from sim.sensors.rig import mount
from sim.world import WorldSpec, generate_world
from sim.world.lanes import BOUNDARY_KINDS


def _table(x, y, heading, length=4.0, width=2.0, height=1.5, speed=0.0):
    x, y, heading = (np.atleast_1d(np.asarray(v, float)) for v in (x, y, heading))
    n = len(x)
    return np.stack([x, y, heading, np.full(n, speed), np.full(n, length), np.full(n, width), np.full(n, height)])


# ---------------------------------------------------------------- cuboids
def test_constant_velocity_gives_velocity_zero_acceleration_and_yaw_rate():
    dt, v = 0.1, np.array([3.0, 4.0])
    h = np.arctan2(4.0, 3.0)
    tabs = [_table(1.0 + v[0] * k * dt, -2.0 + v[1] * k * dt, h) for k in (-1, 0, 1)]
    out = cuboids(*tabs, np.array([0]), np.array([True]), dt)
    np.testing.assert_allclose(out["velocity"][0], v, atol=1e-9)
    np.testing.assert_allclose(out["acceleration"][0], 0.0, atol=1e-9)
    assert out["yaw_rate"][0] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(out["centre"][0], (1.0, -2.0, 0.75))
    np.testing.assert_allclose(out["size"][0], (4.0, 2.0, 1.5))
    assert out["scheme"][0] == 3


def test_constant_turn_gives_yaw_rate_and_centripetal_acceleration_across_the_heading_wrap():
    dt, speed, radius = 0.1, 10.0, 20.0
    omega = speed / radius  # 0.5 rad/s, counter-clockwise around the origin
    theta = np.pi / 2 + np.array([-1, 0, 1]) * omega * dt  # heading theta + pi/2 crosses +-pi
    tabs = [_table(radius * np.cos(t), radius * np.sin(t), t + np.pi / 2) for t in theta]
    out = cuboids(*tabs, np.array([0]), np.array([True]), dt)
    assert out["yaw_rate"][0] == pytest.approx(omega, abs=1e-12)
    # at theta = pi/2 the car is at (0, 20) heading -x; centre of the turn straight to its left (-y)
    np.testing.assert_allclose(out["velocity"][0], (-speed, 0.0), atol=speed * (omega * dt) ** 2 / 6 + 1e-9)
    np.testing.assert_allclose(out["acceleration"][0], (0.0, -speed ** 2 / radius), atol=0.01)
    assert out["yaw"][0] == pytest.approx(-np.pi, abs=1e-9) or out["yaw"][0] == pytest.approx(np.pi, abs=1e-9)


def test_actors_appearing_and_vanishing_use_one_sided_differences():
    dt = 0.5
    tabs = [_table([0.0, 10.0, 20.0], [0.0, 0.0, 5.0], [0.0, 0.0, 0.0]) for _ in range(3)]
    for k, tab in zip((-1, 0, 1), tabs):
        tab[0] += 2.0 * k * dt  # every actor moves at 2 m/s along x
    prev_valid = np.array([True, False, True])   # actor 1 just appeared
    next_valid = np.array([False, True, True])   # actor 0 vanishes next step
    valid = np.array([True, True, False])        # actor 2 is not there now
    out = cuboids(*tabs, np.array([-1, 0, 1]), valid, dt, prev_valid=prev_valid, next_valid=next_valid)
    assert list(out["index"]) == [0, 1]
    assert list(out["scheme"]) == [1, 2]  # backward, forward
    np.testing.assert_allclose(out["velocity"], [[2.0, 0.0], [2.0, 0.0]])
    assert np.isnan(out["acceleration"]).all()
    online = cuboids(tabs[0], tabs[1], None, np.array([-1, 0, 1]), np.ones(3, bool), dt)
    assert (online["scheme"] == 1).all()
    first = cuboids(None, tabs[1], None, np.array([-1, 0, 1]), np.ones(3, bool), dt)
    assert (first["scheme"] == 0).all() and np.isnan(first["velocity"]).all()
    with pytest.raises(ValueError, match="dt must be positive"):
        cuboids(*tabs, np.zeros(3), valid, 0.0)


def test_state_cuboids_takes_dt_and_masks_from_sim_states():
    def state(t, x):
        return SimpleNamespace(t=t, actors=SimpleNamespace(table=_table(x, 0.0, 0.0), kind=np.array([-1], np.int8),
                                                           valid=np.array([True])))
    out = state_cuboids(state(0.0, 0.0), state(0.2, 1.0), state(0.4, 2.0))
    np.testing.assert_allclose(out["velocity"][0], (5.0, 0.0))


# ---------------------------------------------------------------- boxes2d
SPEC = CameraSpec(width=640, height=480, fx=500.0, cx=319.5, cy=239.5)
POSE = camera_pose(0.0, 0.0, 0.0, mount(0.0, 0.0, 1.5))  # ego at the origin, camera 1.5 m up looking +x
CAR = _table([0.0, 10.0], [0.0, 0.0], [0.0, 0.0])        # ego (column 0) and a 4x2x1.5 m car 10 m ahead
KIND = np.array([-1, 0], np.int8)


def _car_silhouette() -> np.ndarray:
    """The car's projected cuboid filled by hand: (480, 640) bool."""
    xs, ys, zs = np.meshgrid([8.0, 12.0], [-1.0, 1.0], [0.0, 1.5], indexing="ij")
    cam = np.stack([-ys.ravel(), 1.5 - zs.ravel(), xs.ravel()], axis=1)  # camera: x right, y down, z forward
    uv, ok = project(SPEC, cam)
    assert ok.all()
    img = np.zeros((480, 640), np.uint8)
    cv2.fillConvexPoly(img, np.round(cv2.convexHull(uv.astype(np.float32)).reshape(-1, 2) * 16).astype(np.int32),
                       1, cv2.LINE_8, 4)
    return img.astype(bool)


def test_car_ten_metres_ahead_projects_to_the_hand_computed_box():
    # nearest face at x = 8 m: u = 319.5 -+ 500 * 1 / 8 = 257, 382; top edge at camera height
    # (v = cy = 239.5), bottom v = 239.5 + 500 * 1.5 / 8 = 333.25
    out = boxes2d(np.full((480, 640), -1, np.int32), CAR, KIND, SPEC, POSE)
    assert list(out["index"]) == [1]  # the ego (camera inside it) is skipped
    np.testing.assert_allclose(out["box"][0], (257.0, 239.5, 382.0, 333.25), atol=1e-3)
    assert out["occlusion"][0] == 1.0 and out["visible_pixels"][0] == 0 and np.isnan(out["visible_box"][0]).all()
    assert out["truncation"][0] == pytest.approx(0.0)


def test_occlusion_is_zero_when_fully_visible_and_half_when_half_covered():
    sil = _car_silhouette()
    mask = np.where(sil, 1, -1).astype(np.int32)
    out = boxes2d(mask, CAR, KIND, SPEC, POSE)
    assert out["occlusion"][0] == pytest.approx(0.0, abs=0.01)
    np.testing.assert_allclose(out["visible_box"][0], out["box"][0], atol=1.0)
    mask[:, 320:] = 0  # something else (actor 0) covers the right half; the car is symmetric about u = 319.5
    half = boxes2d(mask, CAR, KIND, SPEC, POSE)
    assert half["occlusion"][0] == pytest.approx(0.5, abs=0.02)
    assert half["visible_box"][0][2] == pytest.approx(319.5)


def test_cuboids_behind_the_camera_are_dropped_and_straddling_ones_clipped():
    table = _table([-10.0, 1.0], [0.0, 0.0], [0.0, 0.0])  # one behind, one around the camera's near plane
    out = boxes2d(np.full((480, 640), -1, np.int32), table, np.array([0, 0]), SPEC, POSE)
    assert list(out["index"]) == [1]
    u0, _v0, u1, v1 = out["box"][0]
    assert (u0, u1, v1) == pytest.approx((-0.5, 639.5, 479.5)) and out["truncation"][0] > 0.5
    with pytest.raises(ValueError, match="instance_mask"):
        boxes2d(np.zeros((10, 10), np.int32), table, np.array([0, 0]), SPEC, POSE)


# ---------------------------------------------------------------- lanes and BEV
@pytest.fixture(scope="module")
def world():
    return generate_world(WorldSpec(), np.random.default_rng(0))


def test_lane_polylines_are_in_the_ego_frame(world):
    graph = world.lanes
    lane = next(la for la in graph.lanes if la.junction_id < 0 and la.length > 40.0)
    k = len(lane.s) // 2
    centre, heading = lane.centerline[k], lane.heading[k]
    out = lane_polylines(world, centre, 30.0, heading)
    i = list(out["lane_id"]).index(lane.id)
    line = out["centerline"][i]
    near = np.argmin(np.hypot(*line.T))
    assert np.hypot(*line[near]) < 1e-6
    step = line[min(near + 1, len(line) - 1)] - line[max(near - 1, 0)]
    assert step[0] > 0 and abs(step[1]) < 1e-3 * np.hypot(*step) + 1e-6  # travel direction is +x
    assert out["left"][i][near][1] == pytest.approx(0.5 * lane.width)
    assert out["right"][i][near][1] == pytest.approx(-0.5 * lane.width)
    assert out["speed_limit"][i] == lane.speed_limit and out["width"][i] == lane.width
    assert set(out["left_kind"] + out["right_kind"]) <= set(BOUNDARY_KINDS)
    for poly in out["centerline"]:
        assert np.hypot(*poly[[0, -1]].T).max() <= 30.0 + 1e-9  # runs end inside the radius
    assert len(out["lane_id"]) == len(out["centerline"]) == len(out["left_kind"])


def test_bev_label_wraps_the_world_raster(world):
    from sim.env.raster import WorldRaster

    lane = next(la for la in world.lanes.lanes if la.junction_id < 0)
    x, y = lane.centerline[len(lane.s) // 2]
    out = bev(WorldRaster(world), x, y, lane.heading[len(lane.s) // 2], size=100, m_per_px=0.5)
    assert out["drivable"].shape == (100, 100) and out["drivable"][50, 50]


# ---------------------------------------------------------------- registry
def test_registry_lists_labels_and_refuses_duplicates():
    assert {"cuboids", "lane_polylines", "boxes2d", "bev"} <= set(LABELS.names())
    assert LABELS.get("cuboids") is cuboids
    def dup(*args):
        return None

    dup.__name__ = "cuboids"
    with pytest.raises(ValueError, match="label 'cuboids' is already registered"):
        label(dup)
    with pytest.raises(ValueError, match="already registered"):
        LABELS.add("boxes2d", dup)
    assert LABELS.get("cuboids") is cuboids


def test_adding_a_label_is_one_decorated_function():
    try:
        @label
        def speed_histogram(table, valid, bins=3):
            """Histogram of valid actors' speeds over [0, 30] m/s: (bins,) int64."""
            return np.histogram(np.asarray(table)[3][valid], bins=bins, range=(0.0, 30.0))[0]

        table = _table([0.0, 1.0, 2.0], [0.0] * 3, [0.0] * 3)
        table[3] = (5.0, 15.0, 25.0)
        got = LABELS.get("speed_histogram")(table, np.array([True, True, False]))
        np.testing.assert_array_equal(got, [1, 1, 0])
    finally:
        LABELS._entries.pop("speed_histogram", None)  # keep the shared registry as it was
