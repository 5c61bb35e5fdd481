"""sim.render: headless pyrender scene of a generated world (EGL here; a machine with no GL
platform fails these tests with the backend's install message, nothing is skipped)."""
import time

import numpy as np
import pytest

from sim.traffic.vehicle_classes import CLASS_NAMES
from sim.world import WorldSpec, generate_world

W, H = 160, 120
CAM_S, CAM_HEIGHT = 5.0, 1.5


@pytest.fixture(scope="module")
def render():
    import sim.render  # raises RuntimeError naming the packages when no GL platform works
    return sim.render


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldSpec(), np.random.default_rng(0))


@pytest.fixture(scope="module")
def setup(render, world):
    ws = render.WorldScene(world)
    r = render.Renderer(ws)
    p, h = world.lanes.cartesian([0], [CAM_S], [0.0])
    pose = render.camera_pose([p[0, 0], p[0, 1], CAM_HEIGHT], float(h[0]))
    K = render.Intrinsics.from_fov(W, H, 90.0)
    yield ws, r, pose, K
    r.close()


def _vehicle(world, s, kind, length=4.5, width=1.8, height=1.5):
    xy, h = world.lanes.cartesian([0], [s], [0.0])
    return np.array([[xy[0, 0]], [xy[0, 1]], [h[0]], [0.0], [length], [width], [height]]), np.array([kind]), np.array([True])


def test_road_in_lower_half_and_ground_depth(render, setup):
    ws, r, pose, K = setup
    ws.update(np.zeros((7, 0)), np.zeros(0, int), np.zeros(0, bool))
    out = r.render(pose, K, ("colour", "depth", "semantic"))
    assert out["colour"].shape == (H, W, 3) and out["colour"].dtype == np.uint8
    assert out["colour"].std() > 5.0  # not a blank image
    road = out["semantic"] == render.SEMANTIC_ID["road"]
    rows = np.nonzero(road)[0]
    assert road.sum() > 0.1 * W * H and rows.min() >= H // 2  # road only below the horizon
    assert np.all(out["semantic"][: H // 2 - 2] != render.SEMANTIC_ID["road"])
    v = H - 1
    expected = CAM_HEIGHT * K.fy / (v + 0.5 - K.cy)  # height / tan(angle below horizon)
    assert out["depth"][v, W // 2] == pytest.approx(expected, rel=0.05)
    assert out["semantic"][v, W // 2] == render.SEMANTIC_ID["road"]


def test_vehicle_class_depth_and_update_moves_it(render, world, setup):
    ws, r, pose, K = setup
    kind = CLASS_NAMES.index("van")
    table, k, valid = _vehicle(world, CAM_S + 10.0, kind, length=5.5, width=2.0, height=2.2)
    ws.update(table, k, valid)
    node = ws.actor_nodes[0]
    out = r.render(pose, K, ("depth", "semantic", "instance"))
    mask = out["instance"] == 0
    assert mask.sum() > 50
    assert np.all(out["semantic"][mask] == render.SEMANTIC_ID["van"])
    rel = table[:2, 0] - pose[:2, 3]
    expected = float(rel @ pose[:2, 2]) - 0.5 * table[4, 0] * abs(np.cos(table[2, 0] - np.arctan2(pose[1, 2], pose[0, 2])))
    assert float(out["depth"][mask].min()) == pytest.approx(expected, abs=0.3)
    cols_before = np.nonzero(mask)[1].mean()
    size_before = mask.sum()

    # move it 10 m further and 1.5 m to the left: smaller, further left, same node objects
    table2, _, _ = _vehicle(world, CAM_S + 20.0, kind, length=5.5, width=2.0, height=2.2)
    xy, h = world.lanes.cartesian([0], [CAM_S + 20.0], [1.5])
    table2[0, 0], table2[1, 0] = xy[0]
    static_before = dict(ws.static_nodes)
    ws.update(table2, k, valid)
    assert ws.actor_nodes[0] is node
    assert ws.static_nodes == static_before
    out2 = r.render(pose, K, ("depth", "instance"))
    mask2 = out2["instance"] == 0
    assert 0 < mask2.sum() < size_before
    assert np.nonzero(mask2)[1].mean() < cols_before
    assert float(out2["depth"][mask2].min()) > float(out["depth"][mask].min()) + 5.0

    # invalid -> gone from the image; valid again -> the same node comes back
    ws.update(table2, k, np.array([False]))
    assert not np.any(r.render(pose, K, ("instance",))["instance"] == 0)
    ws.update(table2, k, valid)
    assert ws.actor_nodes[0] is node


def test_render_twice_bit_identical(render, world, setup):
    ws, r, pose, K = setup
    ws.update(*_vehicle(world, CAM_S + 12.0, 0))
    a = r.render(pose, K, render.ALL_PASSES)
    b = r.render(pose, K, render.ALL_PASSES)
    for name in render.ALL_PASSES:
        assert np.array_equal(a[name], b[name]), name


def test_camera_convention_opencv(render):
    pose = render.camera_pose([1.0, 2.0, 3.0], np.pi / 2, 0.0)
    assert np.allclose(pose[:3, 2], [0, 1, 0], atol=1e-12)  # z forward along the yaw
    assert np.allclose(pose[:3, 1], [0, 0, -1], atol=1e-12)  # y down
    assert np.allclose(pose[:3, 0], [1, 0, 0], atol=1e-12)  # x right


def test_scene_build_time_for_default_world(render, world):
    t0 = time.perf_counter()
    ws = render.WorldScene(world)
    elapsed = time.perf_counter() - t0
    print(f"WorldScene build for a {world.spec.road_length_m:.0f} m world: {elapsed:.2f} s")
    assert {"ground", "road", "lane_marking"} <= set(ws.static_nodes)


def test_static_chunks_culled_behind_and_beyond_range(render, world, setup):
    ws, r, pose, K = setup
    ws.update(np.zeros((7, 0)), np.zeros(0, int), np.zeros(0, bool))
    out = r.render(pose, K, ("depth", "semantic"))
    drawn = set(ws.visible_chunk_nodes())
    assert 0 < len(drawn) < len(ws.chunk_nodes)
    assert all(n in ws.seg_scene.mesh_nodes for n in drawn)
    assert not any(n in ws.seg_scene.mesh_nodes for n in set(ws.chunk_nodes) - drawn)
    # the colour scene holds one merged node per chunk (all static classes), culled the same way
    assert len(ws.colour_chunk_nodes) < len(ws.chunk_nodes)
    cam, fwd = pose[:3, 3], pose[:3, 2]
    for node, (lo, hi) in zip(ws.chunk_nodes, ws._chunk_boxes):
        centre = 0.5 * (lo + hi)
        half = 0.5 * np.linalg.norm(hi - lo)
        along = float((centre - cam) @ fwd)
        dist = float(np.linalg.norm(centre[:2] - cam[:2]))
        if along + half < 0 or dist - half > ws.max_range:  # wholly behind the camera or out of range
            assert node not in drawn
    # the road chunk under the camera's view is drawn, and the render still shows road
    ahead = cam + 10.0 * fwd
    road = [n for n, (lo, hi) in zip(ws.chunk_nodes, ws._chunk_boxes) if n.name.startswith("road")
            and np.all(lo[:2] <= ahead[:2]) and np.all(ahead[:2] <= hi[:2])]
    assert road and any(n in drawn for n in road)
    assert np.any(out["semantic"] == render.SEMANTIC_ID["road"])
    # the same picture with culling off: culling only drops what cannot be seen
    r.cull = False
    try:
        full = r.render(pose, K, ("depth", "semantic"))
        assert len(ws.visible_chunk_nodes()) == len(ws.chunk_nodes)
    finally:
        r.cull = True
    near = np.isfinite(full["depth"]) & (full["depth"] < 0.9 * ws.max_range)
    assert np.array_equal(out["semantic"][near], full["semantic"][near])
    assert np.allclose(out["depth"][near], full["depth"][near])


def test_msaa_on_renders_same_geometry(render, world, setup):
    # one GL context per process here: closing a second EGL renderer terminates the shared display,
    # so switch the fixture's renderer (pyrender rebuilds its framebuffers on a size change)
    ws, r, pose, K = setup
    ws.update(np.zeros((7, 0)), np.zeros(0, int), np.zeros(0, bool))
    K2 = render.Intrinsics.from_fov(W + 2, H, 90.0)
    assert r.msaa is False  # the default
    r.msaa = True
    try:
        out = r.render(pose, K2, ("colour", "depth"))
    finally:
        r.msaa = False
    v = H - 1
    expected = CAM_HEIGHT * K2.fy / (v + 0.5 - K2.cy)
    assert out["depth"][v, (W + 2) // 2] == pytest.approx(expected, rel=0.05)
    assert out["colour"].shape == (H, W + 2, 3) and out["colour"].std() > 5.0
    assert r.render(pose, K, ("colour",))["colour"].shape == (H, W, 3)
