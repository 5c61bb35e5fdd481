"""sim.render: headless rendering of a generated world (EGL here; a machine with no GL platform fails
these tests with the backend's install message, nothing is skipped)."""
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
    out = r.render(pose, K, ("depth", "semantic", "instance"))
    uploaded = r._uploads[id(ws)]
    static_buffer = uploaded.static
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
    ws.update(table2, k, valid)
    out2 = r.render(pose, K, ("depth", "instance"))
    assert r._uploads[id(ws)] is uploaded and uploaded.static is static_buffer  # moved, not rebuilt
    mask2 = out2["instance"] == 0
    assert 0 < mask2.sum() < size_before
    assert np.nonzero(mask2)[1].mean() < cols_before
    assert float(out2["depth"][mask2].min()) > float(out["depth"][mask].min()) + 5.0

    # invalid -> gone from the image; valid again -> back, from the same class mesh buffer
    mesh_buffer = uploaded.meshes["van"]
    ws.update(table2, k, np.array([False]))
    assert not np.any(r.render(pose, K, ("instance",))["instance"] == 0)
    ws.update(table2, k, valid)
    assert np.any(r.render(pose, K, ("instance",))["instance"] == 0)
    assert uploaded.meshes["van"] is mesh_buffer


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
    ids = set(np.unique(ws.static.vertices[:, 11]).astype(int))
    assert {render.SEMANTIC_ID[c] for c in ("ground", "road", "lane_marking", "curb")} <= ids


def test_static_chunks_culled_behind_and_beyond_range(render, world, setup):
    ws, r, pose, K = setup
    ws.update(np.zeros((7, 0)), np.zeros(0, int), np.zeros(0, bool))
    out = r.render(pose, K, ("depth", "semantic"))
    drawn = ws.chunks_in_view(pose, K.fx, K.fy, K.cx, K.cy, W, H, r.znear)
    assert 0 < drawn.sum() < 0.2 * len(drawn)
    cam, fwd = pose[:3, 3], pose[:3, 2]
    for inside, (lo, hi) in zip(drawn, ws._boxes):
        centre = 0.5 * (lo + hi)
        half = 0.5 * np.linalg.norm(hi - lo)
        along = float((centre - cam) @ fwd)
        dist = float(np.linalg.norm(centre[:2] - cam[:2]))
        if along + half < 0 or dist - half > ws.max_range:  # wholly behind the camera or out of range
            assert not inside
    # the chunk under the road ahead is drawn, and the render shows road
    ahead = cam + 10.0 * fwd
    under = [i for i, (lo, hi) in enumerate(ws._boxes) if np.all(lo[:2] <= ahead[:2]) and np.all(ahead[:2] <= hi[:2])]
    assert under and any(drawn[i] for i in under)
    assert np.any(out["semantic"] == render.SEMANTIC_ID["road"])
    # the same picture with culling off: culling only drops what cannot be seen
    r.cull = False
    try:
        full = r.render(pose, K, ("depth", "semantic"))
    finally:
        r.cull = True
    near = np.isfinite(full["depth"]) & (full["depth"] < 0.9 * ws.max_range)
    assert np.array_equal(out["semantic"][near], full["semantic"][near])
    assert np.allclose(out["depth"][near], full["depth"][near])


def test_msaa_on_renders_same_geometry(render, world, setup):
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


def test_views_side_by_side_equal_single_renders(render, world, setup):
    """render_views draws several cameras into one framebuffer: each view is exactly its own render."""
    ws, r, pose, K = setup
    ws.update(*_vehicle(world, CAM_S + 12.0, 1))
    x, y, z = pose[:3, 3]
    yaw = float(np.arctan2(pose[1, 2], pose[0, 2]))
    views = [(render.camera_pose([x, y, z], yaw + np.radians(a)), k)
             for a, k in ((0, K), (90, render.Intrinsics.from_fov(100, 80, 70.0)), (180, K))]
    together = r.render_views(views, render.ALL_PASSES)
    for (p, k), got in zip(views, together):
        alone = r.render(p, k, render.ALL_PASSES)
        for name in render.ALL_PASSES:
            assert got[name].shape[:2] == (k.height, k.width)
            if name in ("depth", "normal"):  # interpolated floats: the window position moves the last bit
                assert np.allclose(got[name], alone[name], rtol=1e-5, atol=1e-6), name
            elif name == "colour":  # ... which can round an 8-bit value the other way
                diff = np.abs(got[name].astype(int) - alone[name])
                assert diff.max() <= 1 and (diff > 0).mean() < 0.01, name
            else:
                assert np.array_equal(got[name], alone[name]), name


def test_normals_face_the_camera_and_match_the_ground(render, setup):
    ws, r, pose, K = setup
    ws.update(np.zeros((7, 0)), np.zeros(0, int), np.zeros(0, bool))
    out = r.render(pose, K, ("normal", "semantic", "depth"))
    n = out["normal"]
    road = out["semantic"] == render.SEMANTIC_ID["road"]
    up_in_camera = pose[:3, :3].T @ np.array([0.0, 0.0, 1.0])
    assert np.allclose(n[road], up_in_camera, atol=1e-2)
    sky = out["semantic"] == 0
    assert sky.any() and np.all(n[sky] == 0)
    drawn = ~sky
    assert np.allclose(np.linalg.norm(n[drawn], axis=-1), 1.0, atol=1e-2)
    # facing the camera: the normal points against the viewing ray
    v, u = np.nonzero(drawn)
    rays = np.stack([(u + 0.5 - K.cx) / K.fx, (v + 0.5 - K.cy) / K.fy, np.ones(len(u))], axis=1)
    assert np.all(np.einsum("ij,ij->i", rays, n[drawn]) <= 1e-3)


def test_msaa_approaches_a_4x_supersampled_reference_on_lane_lines(render, world, setup):
    """Anti-aliasing: along lane-marking edges the MSAA image is close to a 4x4 supersampled render
    (box-filtered in linear light); without MSAA the error there is much larger (jaggies)."""
    ws, r, pose, K = setup
    ws.update(np.zeros((7, 0)), np.zeros(0, int), np.zeros(0, bool))
    s = 4
    Ks = render.Intrinsics(K.fx * s, K.fy * s, K.cx * s, K.cy * s, W * s, H * s)
    big = r.render(pose, Ks, ("colour", "semantic"), linear=True)
    reference = big["colour"].reshape(H, s, W, s, 3).mean(axis=(1, 3))
    marking = (big["semantic"] == render.SEMANTIC_ID["lane_marking"]).reshape(H, s, W, s).mean(axis=(1, 3))
    edge = (marking > 0.05) & (marking < 0.95)  # pixels a marking edge passes through
    assert edge.sum() > 30
    r.msaa = True
    try:
        aa = r.render(pose, K, ("colour",), linear=True)["colour"]
    finally:
        r.msaa = False
    plain = r.render(pose, K, ("colour",), linear=True)["colour"]
    err_aa = float(np.abs(aa - reference)[edge].mean())
    err_plain = float(np.abs(plain - reference)[edge].mean())
    print(f"mean abs error on {edge.sum()} marking-edge pixels: msaa {err_aa:.4f}, none {err_plain:.4f}")
    assert err_aa < 0.5 * err_plain
    assert float(np.abs(aa - reference)[~edge].mean()) < 0.02
