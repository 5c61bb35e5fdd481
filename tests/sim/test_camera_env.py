"""roadloop/Drive-v0 in camera mode: observation layout, determinism, labels and ``roadloop render``."""
import gymnasium as gym
import numpy as np
import pytest

import sim  # noqa: F401
from sim.env.config import CameraConfig
from tests.conftest import assert_same

CAMS = ("main_forward", "rear")
KW = dict(obs_mode="camera", num_traffic=4, world={"road_length_m": 600.0})


def _env(**camera):
    return gym.make("roadloop/Drive-v0", **KW, camera={"width": 64, "height": 48, "cameras": CAMS, **camera})


def test_obs_dict_keys_dtype_shape():
    env = _env()
    obs, _ = env.reset(seed=0)
    assert tuple(obs) == CAMS and tuple(env.observation_space.spaces) == CAMS
    for name in CAMS:
        assert obs[name].shape == (48, 64, 3) and obs[name].dtype == np.uint8
        assert obs[name].std() > 5  # an image, not a constant
    assert env.observation_space.contains(obs)
    obs, *_ = env.step(np.zeros(2, np.float32))
    assert env.observation_space.contains(obs)
    env.close()


def test_raw12():
    env = _env(raw12=True, cameras=("main_forward",))
    obs, _ = env.reset(seed=0)
    raw = obs["main_forward"]
    assert raw.dtype == np.uint16 and raw.shape == (48, 64, 3) and raw.max() <= 4095 and raw.max() > 255
    env.close()


def test_same_seed_identical_images():
    runs = []
    for _ in range(2):
        env = _env()
        out = [env.reset(seed=5)[0]]
        for _ in range(4):
            out.append(env.step(np.array([0.0, 0.5], np.float32))[0])
        runs.append(out)
        env.close()
    for i, (a, b) in enumerate(zip(*runs)):
        assert_same(a, b, f"step {i}")
    # sensor noise: two steps of a nearly still scene differ
    assert not np.array_equal(runs[0][0]["rear"], runs[0][1]["rear"])


def test_labels_in_info():
    env = _env(labels=True)
    _, info = env.reset(seed=1)
    obs, *_, info = env.step(np.zeros(2, np.float32))
    labels = info["labels"]
    assert set(labels["cameras"]) == set(CAMS)
    main = labels["cameras"]["main_forward"]
    assert main["depth"].shape == (48, 64) and main["semantic"].dtype == np.uint8
    assert main["instance"].dtype == np.int32
    centre = main["depth"][24, 32]
    assert np.isfinite(centre) and centre > 0
    assert (main["semantic"] > 0).any() and (main["semantic"] == 0).any()  # ground/road and sky
    assert labels["cuboids"]["index"][0] == 0 and len(labels["lanes"]["lane_id"]) > 0
    env.close()


def test_bad_camera_config_names_the_field():
    with pytest.raises(ValueError, match="cameras"):
        gym.make("roadloop/Drive-v0", obs_mode="camera", camera={"cameras": ("nope",)})
    with pytest.raises(ValueError, match="width"):
        CameraConfig(width=0)


def test_roadloop_render_writes_png(tmp_path):
    from sim.cli import main

    out = tmp_path / "sheet.png"
    assert main(["render", "--seed", "2", "--out", str(out), "--width", "48", "--height", "32", "--steps", "2",
                 "--cameras", "main_forward,rear"]) == 0
    assert out.stat().st_size > 0
    import cv2

    img = cv2.imread(str(out))
    assert img.shape[0] == 2 * 34 and img.shape[1] == 5 * 50


def _step_obs(env, seed=3, steps=2, action=(0.3, 0.2)):
    out = [env.reset(seed=seed)]
    for _ in range(steps):
        obs, *_, info = env.step(np.array(action, np.float32))
        out.append((obs, info))
    return out


def test_distortion_changes_image_and_labels_stay_aligned():
    imgs = {}
    for dist in (False, True):
        env = _env(cameras=("main_forward",), distortion=dist, jitter=False, labels=True)
        obs, info = _step_obs(env, steps=1)[-1]
        imgs[dist] = obs["main_forward"]
        sem = info["labels"]["cameras"]["main_forward"]["semantic"]
        road = sem[24:] == 2  # sim.render.SEMANTIC_ID["road"]
        assert road.mean() > 0.5, road.mean()  # the road fills the lower half of the main camera
        assert (sem[:12] == 0).mean() > 0.5  # sky on top
        # label and image agree: road pixels are grey, sky pixels are bright blue
        img = obs["main_forward"].astype(int)
        assert img[..., 2][sem == 0].mean() > img[..., 2][sem == 2].mean() + 20
        if dist:
            lab = info["labels"]["cameras"]["main_forward"]
            assert lab["distortion"] == "brown_conrady" and lab["dist_coeffs"][0] < 0
        env.close()
    assert not np.array_equal(imgs[False], imgs[True])


def test_fisheye_sees_its_whole_field_and_its_depth_matches_the_road():
    """The 140 deg fisheye is rendered as several pinhole faces: pixels 60-70 deg off axis are lit, and
    the depth label of road pixels there matches the ray's intersection with the road plane."""
    from sim.render import SEMANTIC_ID
    from sim.sensors.camera import pixel_rays

    env = gym.make("roadloop/Drive-v0", **KW, camera={"width": 128, "height": 96, "cameras": ("wide_forward",),
                                                      "jitter": False, "labels": True})
    obs, _ = env.reset(seed=0)
    obs, *_, info = env.step(np.zeros(2, np.float32))
    setup = env.unwrapped.obs_type.cameras[0]
    assert len(setup.faces) > 1
    lab = info["labels"]["cameras"]["wide_forward"]
    rays = pixel_rays(setup.spec)
    off_axis = np.degrees(np.arccos(np.clip(rays[..., 2], -1, 1)))
    wide = off_axis > 60
    assert wide.sum() > 100 and obs["wide_forward"][wide].mean() > 40  # lit beyond a single pinhole's reach
    T = lab["T_world_from_cam"]
    world_rays = rays @ T[:3, :3].T
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -T[2, 3] / world_rays[..., 2]  # distance along the unit ray to the road plane z = 0
    road = (lab["semantic"] == SEMANTIC_ID["road"]) & wide & (t > 0) & (t < 30)
    assert road.sum() > 20
    expected = t[road] * rays[..., 2][road]  # z along the optical axis
    assert np.median(np.abs(lab["depth"][road] / expected - 1)) < 0.02
    env.close()


def test_jitter_deterministic_from_calibration_seed_and_rectify():
    def mount(**kw):
        env = _env(cameras=("main_forward",), **kw)
        cam = env.unwrapped.obs_type.cameras[0].cam
        return env, cam.T_vehicle_from_cam.copy(), cam.T_vehicle_from_nominal
    env0, T0, nominal = mount(jitter=True, calibration_seed=0)
    env0b, T0b, _ = mount(jitter=True, calibration_seed=0)
    env1, T1, _ = mount(jitter=True, calibration_seed=1)
    envn, Tn, _ = mount(jitter=False)
    assert np.array_equal(T0, T0b) and not np.array_equal(T0, T1) and np.array_equal(Tn, nominal)
    angle = np.degrees(np.arccos(np.clip((np.trace(nominal[:3, :3].T @ T0[:3, :3]) - 1) / 2, -1, 1)))
    assert 0 < angle < 3 and np.linalg.norm(T0[:3, 3] - nominal[:3, 3]) < 0.1
    # the calibration does not depend on the episode seed; images do
    obs_a, _ = env0.reset(seed=1)
    obs_b, _ = env0b.reset(seed=1)
    assert_same(obs_a, obs_b, "same seeds")
    obs_n, _ = envn.reset(seed=1)
    assert not np.array_equal(obs_a["main_forward"], obs_n["main_forward"])
    ot = env0.unwrapped.obs_type
    virtual = ot.cameras[0].cam.virtual
    rect = ot.rectify(obs_a["main_forward"], "main_forward")
    assert rect.shape == (virtual.height, virtual.width, 3) and rect.dtype == np.uint8 and rect.std() > 5
    mu, mv = ot.rectification_maps("main_forward")
    assert mu.shape == (virtual.height, virtual.width) and mu.dtype == np.float32
    with pytest.raises(KeyError):
        ot.rectification_maps("nope")
    for e in (env0, env0b, env1, envn):
        e.close()


@pytest.mark.parametrize("blur", [False, True])
def test_motion_blur_deterministic(blur):
    runs = []
    for _ in range(2):
        env = _env(cameras=("main_forward",), motion_blur=blur, labels=blur)
        runs.append(_step_obs(env, seed=4, steps=2, action=(1.0, 0.3)))
        env.close()
    for i, ((a, _), (b, _)) in enumerate(zip(*runs)):
        assert_same(a, b, f"step {i}")


def test_motion_blur_changes_image():
    imgs = []
    for blur in (False, True):
        env = _env(cameras=("main_forward",), motion_blur=blur)
        imgs.append(_step_obs(env, seed=4, steps=1, action=(1.0, 0.3))[-1][0]["main_forward"])
        env.close()
    assert not np.array_equal(*imgs)  # same noise draws: the difference is the blur


def test_labels_agree_with_the_image_for_a_lead_vehicle():
    """The instance pass, depth and the 2D box of the lead car tell the same story: its pixels lie in
    its projected cuboid and fill most of it, their depth is between the cuboid's nearest and farthest
    corner, their semantic class is the car's class and they are not sky-coloured."""
    from sim.labels.cuboids import cuboid_corners
    from sim.render import SEMANTIC_ID
    from sim.traffic.vehicle_classes import CLASS_NAMES

    env = gym.make("roadloop/Scenario-v0", scenario="lead_car_hard_brake", obs_mode="camera",
                   camera={"width": 320, "height": 240, "cameras": ("main_forward",), "distortion": False,
                           "jitter": False, "labels": True})
    env.reset(seed=0)
    obs, *_, info = env.step(np.zeros(2, np.float32))
    lab = info["labels"]["cameras"]["main_forward"]
    boxes = lab["boxes2d"]
    table, kind = env.unwrapped.state.actors.table, env.unwrapped.state.actors.kind
    # occlusion compares the mesh's pixels with its cuboid's silhouette, so an unoccluded car reads ~0.2
    clear = (boxes["occlusion"] < 0.35) & (boxes["truncation"] == 0) & (boxes["visible_pixels"] > 100)
    assert clear.any(), boxes
    T_cam_from_world = np.linalg.inv(lab["T_world_from_cam"])
    for j in np.flatnonzero(clear):
        i = boxes["index"][j]
        mask = lab["instance"] == i
        u0, v0, u1, v1 = boxes["box"][j]
        vu0, vv0, vu1, vv1 = boxes["visible_box"][j]
        assert u0 - 1 <= vu0 and v0 - 1 <= vv0 and vu1 <= u1 + 1 and vv1 <= v1 + 1  # mesh inside its cuboid
        assert (vu1 - vu0) * (vv1 - vv0) > 0.6 * (u1 - u0) * (v1 - v0)  # and fills most of it
        corners = cuboid_corners(table)[i] @ T_cam_from_world[:3, :3].T + T_cam_from_world[:3, 3]
        d = lab["depth"][mask]
        assert corners[:, 2].min() - 0.05 <= d.min() and d.max() <= corners[:, 2].max() + 0.05
        assert np.all(lab["semantic"][mask] == SEMANTIC_ID[CLASS_NAMES[kind[i]]])
    sky = lab["semantic"] == 0
    blue = obs["main_forward"][..., 2].astype(int) - obs["main_forward"][..., 0]
    assert blue[sky].mean() > blue[lab["instance"] >= 0].mean() + 10
    env.close()


def test_rolling_shutter_slants_the_moving_image_and_is_checked():
    imgs = []
    for readout in (0.0, 0.03):
        env = _env(cameras=("left_pillar",), rolling_shutter_s=readout)
        imgs.append(_step_obs(env, seed=4, steps=3, action=(1.0, 0.0))[-1][0]["left_pillar"])
        env.close()
    diff = np.abs(imgs[0].astype(int) - imgs[1].astype(int)).mean(axis=(1, 2))
    # same noise draws: the difference is the readout skew, none at the middle row (the reference time),
    # most at the bottom rows (the near ground streaming past)
    assert diff[-8:].mean() > 1.0 and diff[-8:].mean() > 3 * diff[22:26].mean()
    with pytest.raises(ValueError, match="rolling_shutter_s"):
        CameraConfig(rolling_shutter_s=-1.0)


def test_the_episode_is_the_same_in_camera_and_vector_mode():
    """Sensor noise has its own generator: the simulation, hence every actor's state, does not depend on
    the observation mode (a vector-mode log can be replayed with cameras)."""
    tables = []
    for mode in ("vector", "camera"):
        kw = dict(KW, obs_mode=mode)
        if mode == "camera":
            kw["camera"] = {"width": 32, "height": 24, "cameras": ("main_forward",)}
        env = gym.make("roadloop/Drive-v0", **kw)
        env.reset(seed=11)
        for _ in range(6):
            env.step(np.array([0.1, 0.4], np.float32))
        tables.append(env.unwrapped.state.actors.table.copy())
        env.close()
    assert np.array_equal(*tables)
