"""Camera model: projection against hand-computed and OpenCV answers, distortion inverses,
rectification, photon transfer (both noise backends), the counter-based normal stream, determinism,
fixed pattern, motion blur, image velocity from the camera and the actors, rolling shutter, multi-face
renders of wide lenses, clipping, rig."""
from dataclasses import replace

import cv2
import numpy as np
import pytest
from scipy import stats

from sim.sensors import (
    RIGS, ActorMotion, CameraSpec, K, atlas_depth_scale, atlas_maps, atlas_shape, capture, default_rig, develop,
    distort, dn_to_electrons, ego_flow, ego_velocity_field, expose, expose_and_develop, fixed_pattern,
    mean_electrons, motion_blur, project, render_faces, rolling_shutter, rolling_shutter_maps, scene_flow,
    undistort, unproject, warp_maps,
)
from sim.sensors.camera import pixel_rays
from sim.sensors.noise import standard_normal
from sim.sensors.rig import _R_FORWARD

BC = (-0.28, 0.07, 0.001, -0.0015, -0.01)  # k1, k2, p1, p2, k3
KB = (0.05, -0.01, 0.003, -0.0005)


def _points_in_view(spec, n, rng, depth=(2.0, 40.0)):
    uv = rng.uniform([0, 0], [spec.width - 1, spec.height - 1], size=(n, 2))
    return unproject(spec, uv) * rng.uniform(*depth, size=(n, 1))


def test_pinhole_projection_hand_computed():
    spec = CameraSpec(width=640, height=480, fx=500.0, fy=400.0)
    uv, valid = project(spec, np.array([[1.0, 0.5, 10.0], [0.0, 0.0, 5.0], [-2.0, 1.0, 4.0], [0.0, 0.0, -1.0]]))
    np.testing.assert_allclose(uv[:3], [[369.5, 259.5], [319.5, 239.5], [69.5, 339.5]])
    assert valid.tolist() == [True, True, True, False]
    assert np.isnan(uv[3]).all()
    # hfov 90 deg over 320 px: fx = 160
    np.testing.assert_allclose(K(CameraSpec(width=320, height=240, hfov_deg=90.0)),
                               [[160.0, 0.0, 159.5], [0.0, 160.0, 119.5], [0.0, 0.0, 1.0]])


def test_brown_conrady_matches_opencv():
    spec = CameraSpec(width=640, height=480, hfov_deg=80.0, distortion="brown_conrady", dist_coeffs=BC)
    pts = _points_in_view(spec, 500, np.random.default_rng(0))
    uv, valid = project(spec, pts)
    assert valid.all()
    ref = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), K(spec), np.array(BC))[0].reshape(-1, 2)
    assert np.abs(uv - ref).max() < 0.5


def test_fisheye_matches_opencv():
    spec = CameraSpec(width=640, height=480, hfov_deg=150.0, distortion="kannala_brandt", dist_coeffs=KB)
    pts = _points_in_view(spec, 500, np.random.default_rng(1))
    uv, valid = project(spec, pts)
    assert valid.all()
    ref = cv2.fisheye.projectPoints(pts.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K(spec),
                                    np.array(KB))[0].reshape(-1, 2)
    assert np.abs(uv - ref).max() < 0.5
    # the field really is 75 deg to each side along the horizon
    u_edge = project(spec, np.array([[np.sin(np.radians(75)), 0.0, np.cos(np.radians(75))]]))[0][0, 0]
    assert abs(u_edge - (640 - 0.5)) < 1e-6


@pytest.mark.parametrize("model,coeffs,hfov", [("brown_conrady", BC, 80.0), ("kannala_brandt", KB, 150.0)])
def test_distort_undistort_round_trip(model, coeffs, hfov):
    spec = CameraSpec(width=640, height=480, hfov_deg=hfov, distortion=model, dist_coeffs=coeffs)
    rays = pixel_rays(spec)[::4, ::4].reshape(-1, 3)  # the whole image field, corners included
    if model == "kannala_brandt":
        rays = rays[rays[:, 2] > 0.05]
    xy = rays[:, :2] / rays[:, 2:]
    back = undistort(model, coeffs, distort(model, coeffs, xy))
    assert np.abs(back - xy).max() < 1e-6
    # and pixels -> rays -> pixels
    uv = np.random.default_rng(2).uniform([0, 0], [639, 479], size=(300, 2))
    np.testing.assert_allclose(project(spec, unproject(spec, uv))[0], uv, atol=1e-6)


def test_rectification_round_trip_on_jittered_rig():
    rig = default_rig().jittered(np.random.default_rng(3))
    rng = np.random.default_rng(4)
    for cam in rig.cameras:
        # far points (50 m) seen by the nominal virtual camera; translation jitter leaves < 0.15 px parallax
        P_nom = _points_in_view(cam.virtual, 200, rng, depth=(50.0, 50.0))
        P_veh = P_nom @ cam.T_vehicle_from_nominal[:3, :3].T + cam.T_vehicle_from_nominal[:3, 3]
        T_cam_from_vehicle = np.linalg.inv(cam.T_vehicle_from_cam)
        P_real = P_veh @ T_cam_from_vehicle[:3, :3].T + T_cam_from_vehicle[:3, 3]
        uv_real, valid_real = project(cam.spec, P_real)
        uv_virtual, valid_virtual = project(cam.virtual, P_nom)
        ok = valid_real & valid_virtual
        assert ok.mean() > 0.9, cam.name
        map_u, map_v = cam.rectification_maps()
        assert map_u.dtype == np.float32 and map_u.shape == (cam.virtual.height, cam.virtual.width)
        at = uv_virtual[ok].astype(np.float32).reshape(1, -1, 2)
        sampled_u = cv2.remap(map_u, at[..., 0], at[..., 1], cv2.INTER_LINEAR)[0]
        sampled_v = cv2.remap(map_v, at[..., 0], at[..., 1], cv2.INTER_LINEAR)[0]
        # skip the few virtual pixels next to ones the real camera does not see (map value -1)
        covered = cv2.remap((map_u >= 0).astype(np.float32), at[..., 0], at[..., 1], cv2.INTER_LINEAR)[0] == 1.0
        assert covered.mean() > 0.9, cam.name
        err = np.hypot(sampled_u - uv_real[ok, 0], sampled_v - uv_real[ok, 1])[covered]
        assert err.max() < 0.5, (cam.name, err.max())


def test_rectification_moves_a_dot_to_the_nominal_pixel():
    cam = default_rig().jittered(np.random.default_rng(5), rot_std_deg=1.0).camera("main_forward")
    target = np.array([200.0, 90.0])
    ray = unproject(cam.virtual, target[None])[0]
    R_real_from_nominal = cam.T_vehicle_from_cam[:3, :3].T @ cam.T_vehicle_from_nominal[:3, :3]
    u, v = project(cam.spec, (R_real_from_nominal @ ray)[None])[0][0]
    vv, uu = np.mgrid[0:cam.spec.height, 0:cam.spec.width]
    img = np.exp(-((uu - u) ** 2 + (vv - v) ** 2) / (2 * 1.5 ** 2)).astype(np.float32)  # a small blob
    out = cv2.remap(img, *cam.rectification_maps(), cv2.INTER_LINEAR)
    vv, uu = np.nonzero(out > 0.01)
    w = out[vv, uu]
    centroid = np.array([(uu * w).sum(), (vv * w).sum()]) / w.sum()
    assert np.hypot(*(centroid - target)) < 0.5


def _flat_spec(**kw):
    base = dict(width=64, height=48, hfov_deg=60.0, vignetting="none", prnu=0.0, dsnu_e=0.0,
                dark_current_e_per_s=0.0, read_noise_e=5.0)
    base.update(kw)
    return CameraSpec(**base)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("shot_noise", ["gaussian", "poisson"])
def test_photon_transfer_curve(shot_noise, backend):
    spec = _flat_spec(shot_noise=shot_noise)
    rng = np.random.default_rng(6)
    unit_e = spec.sensitivity * spec.exposure_s / spec.f_number ** 2  # electrons per unit irradiance
    means, variances = [], []
    for target_e in (0.0, 500.0, 1500.0, 3000.0, 5000.0, 7000.0):
        irr = np.full((spec.height, spec.width), target_e / unit_e, np.float32)
        a, b = (expose(spec, irr, rng, backend).astype(np.float64) for _ in range(2))
        means.append((0.5 * (a + b)).mean() - spec.black_level)  # DN
        variances.append(((a - b) ** 2).mean() / 2)  # temporal variance, DN^2 (pair difference)
    means, variances = np.array(means), np.array(variances)
    cg = spec.conversion_gain
    slope = np.polyfit(means[1:], variances[1:], 1)[0]
    assert slope == pytest.approx(cg, rel=0.1)  # var_DN = cg * mean_DN + read floor
    read_floor_e = np.sqrt(variances[0]) / cg
    assert read_floor_e == pytest.approx(spec.read_noise_e, rel=0.1)
    assert abs(means[0]) < 0.5
    np.testing.assert_allclose(dn_to_electrons(spec, means + spec.black_level)[1:], [500, 1500, 3000, 5000, 7000],
                               rtol=0.01)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_same_seed_same_image_different_seed_different(backend):
    spec = CameraSpec(width=80, height=60, hfov_deg=60.0)
    irr = np.random.default_rng(7).random((60, 80, 3), dtype=np.float32)
    a = develop(spec, expose(spec, irr, np.random.default_rng(11), backend))
    b = develop(spec, expose(spec, irr, np.random.default_rng(11), backend))
    c = develop(spec, expose(spec, irr, np.random.default_rng(12), backend))
    assert a.dtype == np.uint8 and a.shape == (60, 80, 3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    raw, img = expose_and_develop(spec, irr, np.random.default_rng(11), backend)  # the fused pass: same frame
    assert np.array_equal(img, a) and np.array_equal(raw, expose(spec, irr, np.random.default_rng(11), backend))
    with pytest.raises(TypeError):
        expose(spec, irr, 11, backend)
    with pytest.raises(ValueError, match="backend"):
        expose(spec, irr, np.random.default_rng(11), "cupy")


def test_counter_based_normals():
    x = standard_normal(123, 2_000_000).astype(np.float64)
    assert abs(x.mean()) < 3e-3 and abs(x.std() - 1) < 2e-3
    assert abs(stats.skew(x)) < 1e-2 and abs(stats.kurtosis(x)) < 2e-2
    assert stats.kstest(x[:200_000], "norm").pvalue > 1e-3
    for k in (1.0, 2.0, 3.0, 3.7, 4.5):  # both sides of the ziggurat's tail start (3.654)
        expected = len(x) * 2 * stats.norm.sf(k)
        assert abs((np.abs(x) > k).sum() - expected) < 5 * np.sqrt(expected) + 1, k
    # a pure function of (key, index): prefixes agree, other keys differ and do not correlate
    assert np.array_equal(standard_normal(123, 1001), x[:1001].astype(np.float32))
    y = standard_normal(124, 200_000)
    assert abs(np.corrcoef(x[:200_000], y)[0, 1]) < 0.01
    assert abs(np.corrcoef(x[:-1], x[1:])[0, 1]) < 3e-3


def test_fixed_pattern_follows_the_serial():
    spec = CameraSpec(width=80, height=60, hfov_deg=60.0, serial=42, prnu=0.02, dsnu_e=3.0, vignetting="none")
    g1, o1 = fixed_pattern(spec)
    g2, o2 = fixed_pattern(replace(spec, exposure_s=0.02, gain=2.0))  # same sensor, other settings
    g3, o3 = fixed_pattern(replace(spec, serial=43))
    assert np.array_equal(g1, g2) and np.array_equal(o1, o2)
    assert not np.array_equal(g1, g3) and not np.array_equal(o1, o3)
    assert np.std(g1) == pytest.approx(0.02, rel=0.1) and np.std(o1) == pytest.approx(3.0, rel=0.1)
    # the pattern is the same in every frame: averaging many frames of a flat field recovers it
    irr = np.full((60, 80), 0.5, np.float32)
    rng = np.random.default_rng(8)
    frames = np.mean([dn_to_electrons(spec, expose(spec, irr, rng)) for _ in range(64)], axis=0)
    expected = mean_electrons(spec, irr)
    assert np.corrcoef(frames.ravel(), expected.ravel())[0, 1] > 0.8
    other = mean_electrons(replace(spec, serial=43), irr)
    assert abs(np.corrcoef(frames.ravel(), other.ravel())[0, 1]) < 0.2


def test_adc_clips_at_full_well():
    spec = _flat_spec()
    unit_e = spec.sensitivity * spec.exposure_s / spec.f_number ** 2
    raw = expose(spec, np.full((48, 64), 1.5 * spec.full_well_e / unit_e, np.float32), np.random.default_rng(9))
    assert raw.dtype == np.uint16 and (raw == 4095).all()
    near = expose(spec, np.full((48, 64), 0.9 * spec.full_well_e / unit_e, np.float32), np.random.default_rng(9))
    assert near.max() < 4095
    # with gain 2 the ADC saturates at half the full well
    g2 = replace(spec, gain=2.0)
    half = expose(g2, np.full((48, 64), 0.6 * spec.full_well_e / unit_e, np.float32), np.random.default_rng(9))
    assert (half == 4095).all()
    assert (develop(spec, raw) == 255).all()
    assert (develop(spec, np.full((2, 2), spec.black_level, np.uint16)) == 0).all()


@pytest.mark.parametrize("length,direction", [(10.0, (1.0, 0.0)), (7.0, (0.0, 1.0)), (12.0, (0.6, 0.8))])
def test_motion_blur_streak_length(length, direction):
    img = np.zeros((60, 80), np.float32)
    img[30, 40] = 1.0
    flow = np.zeros((60, 80, 2), np.float32)
    flow[..., 0], flow[..., 1] = length * direction[0], length * direction[1]
    out = motion_blur(img, flow)
    assert out.sum() == pytest.approx(1.0, rel=1e-3)  # energy kept
    vv, uu = np.nonzero(out > 0.25 * out.max())
    along = uu * direction[0] + vv * direction[1]
    assert abs((along.max() - along.min()) - length) <= 1.0
    centre = np.array([(uu * out[vv, uu]).sum(), (vv * out[vv, uu]).sum()]) / out[vv, uu].sum()
    np.testing.assert_allclose(centre, [40, 30], atol=0.5)  # centred on the mid-exposure position


def test_ego_flow_rotation_and_translation():
    spec = CameraSpec(width=160, height=120, hfov_deg=60.0, exposure_s=0.02)
    fx = K(spec)[0, 0]
    depth = np.full((120, 160), 10.0)
    yaw = ego_flow(spec, depth, v_cam=(0, 0, 0), w_cam=(0, 1.0, 0))  # turning right at 1 rad/s
    np.testing.assert_allclose(yaw[60, 80], [-fx * 0.02, 0.0], rtol=1e-3, atol=1e-3)
    fwd = ego_flow(spec, depth, v_cam=(0, 0, 20.0), w_cam=(0, 0, 0))  # 20 m/s forward
    assert np.abs(fwd[59:61, 79:81]).max() < 0.1  # focus of expansion at the centre
    assert fwd[60, 150, 0] > 0 and fwd[60, 10, 0] < 0  # expansion outwards
    # x at u=150: X/Z = (150 - cx) / fx ; flow ~ u * v * dt / Z
    x = (150 - K(spec)[0, 2]) / fx
    assert fwd[60, 150, 0] == pytest.approx(fx * x * 20.0 * 0.02 / 10.0, rel=0.01)


def test_rig_default_and_jitter():
    rig = default_rig()
    assert len(rig.cameras) == 8 and len(set(rig.names)) == 8
    assert RIGS.get("default8")().names == rig.names
    forward = rig.camera("main_forward").T_vehicle_from_cam
    np.testing.assert_allclose(forward[:3, 2], [np.cos(np.radians(2)), 0.0, -np.sin(np.radians(2))], atol=1e-12)
    rear_axis = rig.camera("rear").T_vehicle_from_cam[:3, 2]
    assert rear_axis[0] < -0.9
    for side, sign in (("left", 1), ("right", -1)):
        axis = rig.camera(f"{side}_repeater").T_vehicle_from_cam[:3, 2]
        assert axis[0] < 0 and np.sign(axis[1]) == sign  # backwards, on its own side
    a = rig.jittered(np.random.default_rng(10))
    b = rig.jittered(np.random.default_rng(10))
    c = rig.jittered(np.random.default_rng(11))
    for ca, cb, cc, cn in zip(a.cameras, b.cameras, c.cameras, rig.cameras):
        assert np.array_equal(ca.T_vehicle_from_cam, cb.T_vehicle_from_cam)
        assert not np.array_equal(ca.T_vehicle_from_cam, cc.T_vehicle_from_cam)
        delta = np.linalg.inv(cn.T_vehicle_from_cam) @ ca.T_vehicle_from_cam
        angle = np.degrees(np.arccos(np.clip((np.trace(delta[:3, :3]) - 1) / 2, -1, 1)))
        assert 0 < angle < 2.5 and np.linalg.norm(delta[:3, 3]) < 0.05
        assert np.array_equal(ca.T_vehicle_from_nominal, cn.T_vehicle_from_cam)


def test_validation_names_the_field():
    with pytest.raises(ValueError, match="width"):
        CameraSpec(width=0, height=10, hfov_deg=60.0)
    with pytest.raises(ValueError, match="hfov_deg"):
        CameraSpec(width=10, height=10, hfov_deg=190.0)
    with pytest.raises(ValueError, match="distortion"):
        CameraSpec(width=10, height=10, hfov_deg=60.0, distortion="mystery")
    with pytest.raises(ValueError, match="dist_coeffs"):
        CameraSpec(width=10, height=10, hfov_deg=60.0, distortion="kannala_brandt", dist_coeffs=(0, 0, 0, 0, 0))
    with pytest.raises(ValueError, match="exposure_s"):
        CameraSpec(width=10, height=10, hfov_deg=60.0, exposure_s=0.0)
    with pytest.raises(ValueError, match="black_level"):
        CameraSpec(width=10, height=10, hfov_deg=60.0, black_level=5000)
    with pytest.raises(ValueError, match="camera names"):
        rig = default_rig()
        type(rig)(rig.cameras + rig.cameras[:1])


def test_lens_warp_from_pinhole_render():
    render = CameraSpec(width=320, height=240, hfov_deg=70.0)
    real = default_rig().camera("main_forward").spec
    maps = warp_maps(render, real)
    assert maps is warp_maps(render, real)  # cached
    P = np.array([[1.0, -0.5, 8.0]])
    uv_real = project(real, P)[0][0]
    uv_render = project(render, P)[0][0]
    sampled = [cv2.remap(m, *[np.float32([[c]]) for c in uv_real], cv2.INTER_LINEAR)[0, 0] for m in maps]
    np.testing.assert_allclose(sampled, uv_render, atol=0.05)


def test_velocity_field_same_through_a_lens_as_analytic():
    pinhole = CameraSpec(width=120, height=90, hfov_deg=70.0)
    lens = replace(pinhole, distortion="brown_conrady")  # zero coefficients: same geometry, numeric path
    depth = np.random.default_rng(13).uniform(2.0, 30.0, (90, 120))
    depth[:5] = np.inf
    a = ego_velocity_field(pinhole, depth, (0.5, 0.1, 12.0), (0.02, 0.4, 0.05))
    b = ego_velocity_field(lens, depth, (0.5, 0.1, 12.0), (0.02, 0.4, 0.05))
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(ego_flow(pinhole, depth, (0.5, 0.1, 12.0), (0.02, 0.4, 0.05), exposure_s=0.03),
                               a * np.float32(0.03), rtol=1e-6)


def _camera_looking_along_world_x(position=(5.0, 2.0, 1.5)):
    T = np.eye(4)
    T[:3, :3] = _R_FORWARD  # camera x = world -y, camera y = world -z, camera z = world +x
    T[:3, 3] = position
    return T


def test_scene_flow_from_actor_and_camera_motion():
    spec = CameraSpec(width=160, height=120, hfov_deg=60.0, exposure_s=0.02)
    fx, Z, s = K(spec)[0, 0], 12.0, 3.0
    T = _camera_looking_along_world_x()
    depth = np.full((120, 160), Z)
    depth[:10] = np.inf  # sky
    instance = np.full((120, 160), -1, np.int32)
    instance[40:80, 60:100] = 0
    still = ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
    # an actor moving to the camera's right (world -y) at s m/s at depth Z: fx * s * T / Z px to the right
    lateral = ActorMotion(velocity=[[0.0, -s, 0.0]], yaw_rate=[0.0], centre=[[0.0, 0.0, 0.0]])
    flow = scene_flow(spec, depth, instance, T, still, lateral)
    np.testing.assert_allclose(flow[instance == 0], np.tile([fx * s * 0.02 / Z, 0.0], (1600, 1)), rtol=1e-5)
    assert (flow[instance == -1] == 0).all()  # static world, static camera
    # the camera moving the other way gives the static world the same motion
    everything = np.zeros((120, 160), np.int32)
    moving_cam = ((0.0, s, 0.0), (0.0, 0.0, 0.0))
    np.testing.assert_allclose(scene_flow(spec, depth, np.full_like(everything, -1), T, moving_cam, lateral),
                               scene_flow(spec, depth, everything, T, still, lateral), atol=1e-5)
    # and a turning camera in a static world agrees with ego_flow (angular velocity in the camera frame)
    w_world = np.array([0.0, 0.0, 0.7])  # yawing left
    turning = scene_flow(spec, depth, np.full_like(everything, -1), T, ((0.0, 0.0, 0.0), w_world), lateral)
    np.testing.assert_allclose(turning, ego_flow(spec, depth, (0, 0, 0), T[:3, :3].T @ w_world), atol=1e-4)
    # an actor spinning about the point seen at a pixel leaves that pixel still, its neighbours not
    P = unproject(spec, np.array([[80.0, 60.0]]))[0]
    P = P * Z / P[2]
    centre = T[:3, :3] @ P + T[:3, 3]
    spin = scene_flow(spec, depth, instance, T, still, ActorMotion([[0.0, 0.0, 0.0]], [1.5], [centre]))
    assert np.abs(spin[60, 80]).max() < 1e-5 and np.abs(spin[60, 95]).max() > 0.01
    with pytest.raises(ValueError, match="instance"):
        scene_flow(spec, depth, np.full_like(everything, 3), T, still, lateral)


def test_rolling_shutter_slants_a_moving_vertical_edge():
    H, W, v, readout = 100, 120, 400.0, 0.05  # 20 px of motion during the readout
    img = np.zeros((H, W), np.float32)
    img[:, :60] = 1.0  # edge at u = 59.5
    vel = np.zeros((H, W, 2), np.float32)
    vel[..., 0] = v
    out = rolling_shutter(img, vel, readout)
    edge = out.sum(axis=1) - 0.5  # a bilinear step's row sum is its edge position + 1/2
    assert edge[-1] - edge[0] == pytest.approx(v * readout * (H - 1) / H, abs=0.02)  # top row first
    np.testing.assert_allclose(np.diff(edge), v * readout / H, atol=1e-3)  # straight slant
    assert (edge[H // 2 - 1] + edge[H // 2]) / 2 == pytest.approx(59.5, abs=0.02)  # the middle row is the render
    # through maps, the delay follows the destination rows: a flipped map still has its top row first
    u, vv = np.mgrid[0:H, 0:W].astype(np.float32)[::-1]
    flipped = capture(replace(_flat_spec(width=W, height=H), rolling_shutter_s=readout), img, np.random.default_rng(0),
                      velocity=vel, lens_maps=(u, (H - 1) - vv), return_raw=True)[1][..., 0].astype(np.float64)
    edge_dn = (flipped > flipped.max() / 2).sum(axis=1)
    assert edge_dn[-1] - edge_dn[0] == pytest.approx(v * readout, abs=1.5)
    with pytest.raises(ValueError, match="rolling_shutter_s"):
        CameraSpec(width=10, height=10, hfov_deg=60.0, rolling_shutter_s=-0.01)


def test_ordinary_lens_is_one_face():
    spec = default_rig().camera("main_forward").spec
    faces = render_faces(spec)
    assert len(faces) == 1 and faces is render_faces(spec)
    face = faces[0]
    assert np.array_equal(face.R_cam_from_face, np.eye(3)) and face.offset == 0
    assert face.spec.fx == face.spec.fy == min(K(spec)[0, 0], K(spec)[1, 1])  # the lens's centre focal length
    assert face.spec.cx == (face.spec.width - 1) / 2 and face.spec.cy == (face.spec.height - 1) / 2
    uv = project(face.spec, pixel_rays(spec).reshape(-1, 3))[0]  # every pixel ray, 1.5 px inside its edges
    assert uv.min(axis=0).min() >= 1.0 - 1e-9 and (uv.max(axis=0) <= [face.spec.width - 2, face.spec.height - 2]).all()
    assert (uv.min(axis=0) < 2.0).all()  # and no bigger than that
    maps = atlas_maps(spec, faces)
    assert all(np.array_equal(a, b) for a, b in zip(maps, warp_maps(face.spec, spec)))


def test_fisheye_faces_cover_every_pixel():
    spec = default_rig().camera("wide_forward").spec  # 140 deg Kannala-Brandt: corners ~88 deg off axis
    faces = render_faces(spec)
    assert len(faces) == 3
    H, W = atlas_shape(faces)
    assert W == sum(f.spec.width for f in faces) and [f.offset for f in faces] == [0, faces[0].spec.width, W - faces[2].spec.width]
    assert sum(f.spec.width * f.spec.height for f in faces) <= 3 * spec.width * spec.height
    for f in faces:
        assert f.spec.fx == pytest.approx(K(spec)[0, 0]) and f.spec.fx == f.spec.fy
        assert (f.spec.width / 2 - 1.5) / f.spec.fx <= np.tan(np.radians(60)) + 1 / f.spec.fx  # <= 120 deg
    map_x, map_y = atlas_maps(spec, faces)
    assert (map_x >= 0).all() and (map_y >= 0).all()
    face_of = np.searchsorted([f.offset for f in faces], map_x, side="right") - 1
    for i, f in enumerate(faces):  # each sample lies inside its face, bilinear neighbours included
        sel = face_of == i
        assert sel.any()
        assert (map_x[sel] <= f.offset + f.spec.width - 1).all() and (map_y[sel] <= f.spec.height - 1).all()
    # a rolling shutter's displaced samples stay in their face too (no bleeding into the neighbour)
    fast = np.full((H, W, 2), 3000.0, np.float32)
    rs_x, rs_y = rolling_shutter_maps(fast, 0.03, (map_x, map_y), faces)
    assert np.abs(rs_x - map_x).max() > 40
    assert np.array_equal(np.searchsorted([f.offset for f in faces], rs_x, side="right") - 1, face_of)
    assert (rs_y <= np.array([f.spec.height - 1 for f in faces])[face_of]).all()


def _blob(shape, centre, sigma=1.0):
    vv, uu = np.mgrid[0:shape[0], 0:shape[1]]
    return np.exp(-((uu - centre[0]) ** 2 + (vv - centre[1]) ** 2) / (2 * sigma ** 2)).astype(np.float32)


@pytest.mark.parametrize("azimuth,elevation", [(62.0, 10.0), (-66.0, -35.0), (20.0, 45.0), (-5.0, -2.0)])
def test_atlas_puts_a_point_where_the_lens_sees_it(azimuth, elevation):
    spec = default_rig().camera("wide_forward").spec
    faces = render_faces(spec)
    a, e = np.radians(azimuth), np.radians(elevation)
    P = 12.0 * np.array([[np.sin(a) * np.cos(e), -np.sin(e), np.cos(a) * np.cos(e)]])  # y is down
    target, seen = project(spec, P)
    assert seen[0]
    atlas = np.zeros(atlas_shape(faces), np.float32)
    for f in faces:  # "render" the point into every face that sees it
        uv, ok = project(f.spec, P @ f.R_cam_from_face)
        if ok[0]:
            cols = slice(f.offset, f.offset + f.spec.width)
            atlas[:f.spec.height, cols] = np.maximum(atlas[:f.spec.height, cols], _blob((f.spec.height, f.spec.width), uv[0]))
    maps = atlas_maps(spec, faces)
    out = cv2.remap(atlas, *maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    vv, uu = np.nonzero(out > 0.01 * out.max())
    w = out[vv, uu]
    centroid = np.array([(uu * w).sum(), (vv * w).sum()]) / w.sum()
    assert np.hypot(*(centroid - target[0])) < 0.5
    side = maps[0][round(target[0, 1]), round(target[0, 0])] >= faces[0].spec.width
    assert side == (abs(azimuth) > 40)  # the side points really come from a side face


def test_atlas_depth_scale_gives_camera_z():
    spec = default_rig().camera("wide_forward").spec
    faces = render_faces(spec)
    scales = atlas_depth_scale(faces)
    rng = np.random.default_rng(14)
    for f, scale in zip(faces, scales):
        assert scale.shape == (f.spec.height, f.spec.width) and scale.dtype == np.float32
        k = K(f.spec)
        for _ in range(5):
            i, j, z_face = rng.integers(f.spec.height), rng.integers(f.spec.width), rng.uniform(1.0, 50.0)
            P_face = z_face * np.array([(j - k[0, 2]) / k[0, 0], (i - k[1, 2]) / k[1, 1], 1.0])
            assert z_face * scale[i, j] == pytest.approx((f.R_cam_from_face @ P_face)[2], rel=1e-5)
