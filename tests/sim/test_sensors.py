"""Camera model: projection against hand-computed and OpenCV answers, distortion inverses,
rectification, photon transfer, determinism, fixed pattern, motion blur, clipping, rig."""
from dataclasses import replace

import cv2
import numpy as np
import pytest

from sim.sensors import (
    RIGS, CameraSpec, K, default_rig, develop, distort, dn_to_electrons, ego_flow, expose, fixed_pattern,
    mean_electrons, motion_blur, project, undistort, unproject, warp_maps,
)
from sim.sensors.camera import pixel_rays

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


@pytest.mark.parametrize("shot_noise", ["gaussian", "poisson"])
def test_photon_transfer_curve(shot_noise):
    spec = _flat_spec(shot_noise=shot_noise)
    rng = np.random.default_rng(6)
    unit_e = spec.sensitivity * spec.exposure_s / spec.f_number ** 2  # electrons per unit irradiance
    means, variances = [], []
    for target_e in (0.0, 500.0, 1500.0, 3000.0, 5000.0, 7000.0):
        irr = np.full((spec.height, spec.width), target_e / unit_e, np.float32)
        a, b = (expose(spec, irr, rng).astype(np.float64) for _ in range(2))
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


def test_same_seed_same_image_different_seed_different():
    spec = CameraSpec(width=80, height=60, hfov_deg=60.0)
    irr = np.random.default_rng(7).random((60, 80, 3), dtype=np.float32)
    a = develop(spec, expose(spec, irr, np.random.default_rng(11)))
    b = develop(spec, expose(spec, irr, np.random.default_rng(11)))
    c = develop(spec, expose(spec, irr, np.random.default_rng(12)))
    assert a.dtype == np.uint8 and a.shape == (60, 80, 3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    with pytest.raises(TypeError):
        expose(spec, irr, 11)


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
