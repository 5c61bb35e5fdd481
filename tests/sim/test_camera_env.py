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
    assert img.shape[0] == 2 * 34 and img.shape[1] == 4 * 50
