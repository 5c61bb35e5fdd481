"""roadloop/Drive-v0: Gymnasium contract, determinism, pickling, errors, rewards and terminations."""
import pickle
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import sim  # noqa: F401
from sim.env.config import OBS_MODES
from sim.env.observations.bev import CHANNELS
from sim.env.registration import ENV_IDS
from tests.conftest import assert_same

SMALL = dict(num_traffic=8, world={"road_length_m": 800.0})
MODE_KWARGS = {"camera": dict(camera={"width": 64, "height": 48, "cameras": ("main_forward", "rear")})}
"""Per observation mode options of the generic tests (camera: small images, two cameras, to keep them fast)."""


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("mode", OBS_MODES)
def test_check_env(env_id, mode):
    env = gym.make(env_id, obs_mode=mode, render_mode="rgb_array", **SMALL, **MODE_KWARGS.get(mode, {}))
    check_env(env.unwrapped)
    env.close()


def _rollout(env, seed, steps):
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    out = [(obs, info)]
    for _ in range(steps):
        action = rng.uniform(-0.3, 1.0, 2).astype(np.float32) * np.array([0.2, 1.0], np.float32)
        obs, r, term, trunc, info = env.step(action)
        out.append((obs, r, term, trunc, info))
        if term or trunc:
            obs, info = env.reset()
            out.append((obs, info))
    return out


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("mode", OBS_MODES)
def test_same_seed_same_episode(env_id, mode):
    """Two envs, same seed, seeded actions: identical observations, rewards, terminations, infos."""
    kw = {**SMALL, **MODE_KWARGS.get(mode, {})}
    a = gym.make(env_id, obs_mode=mode, **kw)
    b = gym.make(env_id, obs_mode=mode, **kw)
    ra, rb = _rollout(a, 7, 300), _rollout(b, 7, 300)
    assert len(ra) == len(rb)
    for i, (x, y) in enumerate(zip(ra, rb)):
        for u, v in zip(x, y):
            assert_same(u, v, f"step {i}")
    c = gym.make(env_id, obs_mode=mode, **kw)
    rc = _rollout(c, 8, 5)
    assert not all(_obs_equal(x[0], y[0]) for x, y in zip(ra[1:6], rc[1:6]))


def _obs_equal(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    return np.array_equal(a, b)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pickle_roundtrip_continues_identically(env_id):
    env = gym.make(env_id, **SMALL).unwrapped
    env.reset(seed=3)
    for _ in range(5):
        env.step(np.array([0.0, 0.5], np.float32))
    twin = pickle.loads(pickle.dumps(env))
    for _ in range(30):
        a = env.step(np.array([0.05, 0.3], np.float32))
        b = twin.step(np.array([0.05, 0.3], np.float32))
        for u, v in zip(a, b):
            assert_same(u, v)
    env.close()
    twin.close()


def test_make_without_prior_import():
    code = ("import gymnasium as gym; e = gym.make('sim:roadloop/Drive-v0', num_traffic=2); "
            "o, _ = e.reset(seed=0); print(o.shape)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith(str(e_shape()))


def e_shape():
    env = gym.make("roadloop/Drive-v0", num_traffic=2)
    return env.observation_space.shape


def test_async_vector_env():
    envs = gym.make_vec("roadloop/Drive-v0", num_envs=2, vectorization_mode="async", num_traffic=4,
                        world={"road_length_m": 600.0})
    obs, _ = envs.reset(seed=1)
    assert obs.shape == (2,) + envs.single_observation_space.shape
    assert not np.array_equal(obs[0], obs[1])
    for _ in range(5):
        obs, r, term, trunc, info = envs.step(np.tile([0.0, 0.4], (2, 1)).astype(np.float32))
    assert np.isfinite(r).all()
    envs.close()


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_action_raises(bad):
    env = gym.make("roadloop/Drive-v0", **SMALL)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([0.0, bad], np.float32))


@pytest.mark.parametrize("kwargs, field", [
    ({"obs_mode": "lidar"}, "obs_mode"),
    ({"colour": "red"}, "colour"),
    ({"control_hz": 10.0, "physics_hz": 25.0}, "physics_hz"),
    ({"world": {"lanes_per_direction": (0, 5)}}, "lanes_per_direction"),
    ({"traffic": {"count": -1}}, "count"),
    ({"bev": {"pixels": 3}}, "pixels"),
    ({"dynamics": "hovercraft"}, "dynamics"),
])
def test_bad_options_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        gym.make("roadloop/Drive-v0", **kwargs)


def test_action_mapping_to_physical_units():
    env = gym.make("roadloop/Drive-v0", **SMALL).unwrapped
    steer, accel = env.sim.controls(np.array([0.5, -0.5]))
    assert steer[0] == pytest.approx(0.5 * 0.6) and accel[0] == pytest.approx(-0.5 * 8.0)
    steer, accel = env.sim.controls(np.array([-1.0, 1.0]))
    assert steer[0] == pytest.approx(-0.6) and accel[0] == pytest.approx(3.0)


def test_progress_reward_and_truncation():
    env = gym.make("roadloop/Drive-v0", num_traffic=0, episode_seconds=2.0, world={"road_length_m": 800.0})
    env.reset(seed=2)
    rewards, steps = [], 0
    while True:
        _, r, term, trunc, info = env.step(np.array([0.0, 0.0], np.float32))
        rewards.append(r)
        steps += 1
        if term or trunc:
            break
    assert trunc and not term and steps == 20
    assert info["progress_m"] > 5.0 and sum(rewards) > 0.0


def test_leaving_the_road_terminates_with_penalty():
    env = gym.make("roadloop/Drive-v0", num_traffic=0, world={"road_length_m": 800.0, "trees_per_km": 0.0,
                                                              "poles_per_km": 0.0})
    env.reset(seed=4)
    for i in range(400):  # turn left about 90 degrees, then drive straight across the road
        _, r, term, trunc, info = env.step(np.array([1.0 if i < 12 else 0.0, 0.6], np.float32))
        if term or trunc:
            break
    assert term
    assert info["off_road"] or info["collision"] in ("curb", "prop")
    assert r < -5.0


def test_info_carries_vector_space():
    from sim.traffic.actor_classes import ACTOR_CODE

    env = gym.make("roadloop/Drive-v0", num_traffic=6, num_pedestrians=20, num_cyclists=4,
                   world={"road_length_m": 800.0})
    _, info = env.reset(seed=5)
    vs = info["vector_space"]
    n = 1 + 2 * 6 + 24  # padded to the most actors an episode can have (a semi is a tractor and a trailer)
    assert vs["actors"]["valid"].shape == (n,) and vs["actors"]["valid"][:2].all()
    assert vs["actors"]["kind"][0] == -1
    for key in ("y", "heading", "speed", "length", "width", "height", "lane"):
        assert vs["actors"][key].shape == (n,)
    valid, kind = vs["actors"]["valid"], vs["actors"]["kind"]
    vehicles = valid & ((kind < ACTOR_CODE["pedestrian"]) | (kind >= ACTOR_CODE["tractor"]))
    assert vehicles.sum() >= 7 and (vs["actors"]["length"][vehicles] > 3.0).all()
    assert (vs["actors"]["length"][~valid] == 0).all()
    walkers = valid & (kind == ACTOR_CODE["pedestrian"])
    assert walkers.sum() > 5 and (vs["actors"]["length"][walkers] < 1.0).all()
    for key in ("speed", "jerk", "lat_accel", "route_completion", "collision", "off_road"):
        assert key in info


def test_bev_channels_show_ego_and_road():
    env = gym.make("roadloop/Drive-v0", obs_mode="bev", bev_size=96, num_traffic=0, world={"road_length_m": 800.0})
    obs, _ = env.reset(seed=1)
    assert obs.shape == (96, 96, len(CHANNELS)) and obs.dtype == np.uint8
    ego = obs[:, :, CHANNELS.index("ego")]
    rows, cols = np.nonzero(ego)
    # ego at 3/4 height, centred; 4.7 m x 1.85 m at 0.5 m/px
    assert abs(rows.mean() - 0.75 * 96) < 2 and abs(cols.mean() - 48) < 2
    assert 6 <= rows.max() - rows.min() + 1 <= 12 and 2 <= cols.max() - cols.min() + 1 <= 6
    assert obs[rows, cols, CHANNELS.index("drivable")].mean() > 200
    assert obs[:, :, CHANNELS.index("route")][: int(0.75 * 96)].any()


def test_render_rgb_array():
    env = gym.make("roadloop/Drive-v0", render_mode="rgb_array", **SMALL)
    env.reset(seed=0)
    img = env.render()
    assert img.shape == (512, 512, 3) and img.dtype == np.uint8
    centre = img[int(0.65 * 512) - 3 : int(0.65 * 512) + 3, 253:259]
    assert (centre[..., 0] > 150).all() and (centre[..., 1] < 100).all()


def test_world_pool_reuses_worlds_deterministically():
    env = gym.make("roadloop/Drive-v0", num_worlds=2, num_traffic=2, world={"road_length_m": 600.0}).unwrapped
    scenes = set()
    for seed in range(6):
        env.reset(seed=seed)
        scenes.add(id(env.scene))
    assert len(scenes) == 2
    other = gym.make("roadloop/Drive-v0", num_worlds=2, num_traffic=2, world={"road_length_m": 600.0}).unwrapped
    a, _ = env.reset(seed=11)
    b, _ = other.reset(seed=11)
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="num_worlds"):
        gym.make("roadloop/Drive-v0", num_worlds=0)


def test_vector_observation_matches_ground_truth():
    """The actor rows of the vector observation, recomputed from info["vector_space"] by hand."""
    from sim.env.observations.vector import ACTOR_FEATURES, EGO_FEATURES

    env = gym.make("roadloop/Drive-v0", num_traffic=20, world={"road_length_m": 800.0})
    obs, info = env.reset(seed=9)
    for _ in range(20):
        obs, *_, info = env.step(np.array([0.0, 0.3], np.float32))
    a = info["vector_space"]["actors"]
    o = info["vector_space"]["obstacles"]
    x, y, h, v = a["x"][0], a["y"][0], a["heading"][0], a["speed"][0]
    others = [(a["x"][i], a["y"][i], a["heading"][i], a["speed"][i], a["length"][i], a["width"][i])
              for i in range(1, len(a["x"])) if a["valid"][i]]
    others += [(o["xy"][i, 0], o["xy"][i, 1], o["heading"][i], 0.0, o["size"][i, 0], o["size"][i, 1])
               for i in range(len(o["valid"])) if o["valid"][i]]
    others.sort(key=lambda r: np.hypot(r[0] - x, r[1] - y))
    rows = obs[len(EGO_FEATURES) + 32 :].reshape(8, len(ACTOR_FEATURES))
    c, s = np.cos(h), np.sin(h)
    assert len(others) >= 3
    for row, (ox, oy, oh, ov, ol, ow) in zip(rows, others[:8]):
        if np.hypot(ox - x, oy - y) > 80.0:
            assert not row.any()
            continue
        dvx, dvy = ov * np.cos(oh) - v * c, ov * np.sin(oh) - v * s
        expect = [1.0, c * (ox - x) + s * (oy - y), -s * (ox - x) + c * (oy - y), np.cos(oh - h), np.sin(oh - h),
                  c * dvx + s * dvy, -s * dvx + c * dvy, ol, ow]
        np.testing.assert_allclose(row, expect, rtol=1e-5, atol=1e-4)


def test_dynamic_bicycle_ego_drives_and_differs_from_kinematic():
    runs = {}
    for model in ("kinematic", "dynamic"):
        env = gym.make("roadloop/Drive-v0", dynamics=model, num_traffic=0, world={"road_length_m": 800.0})
        env.reset(seed=6)
        for _ in range(30):
            obs, *_ = env.step(np.array([0.15, 0.5], np.float32))
        runs[model] = env.unwrapped.state.ego
    kin, dyn = runs["kinematic"], runs["dynamic"]
    assert dyn.speed[0] > 5.0 and abs(dyn.lateral_speed[0]) > 0.0
    assert not np.allclose([kin.x[0], kin.y[0]], [dyn.x[0], dyn.y[0]], atol=1e-3)


def test_pedestrians_and_cyclists_are_actors_that_move_and_stay_around_the_ego():
    from sim.traffic.actor_classes import ACTOR_CODE

    env = gym.make("roadloop/Drive-v0", num_traffic=4, num_pedestrians=24, num_cyclists=4, route_length_m=1000.0,
                   episode_seconds=70.0)
    env.reset(seed=3)
    first = env.unwrapped.state.actors
    vru = np.isin(first.kind, [ACTOR_CODE["pedestrian"], ACTOR_CODE["cyclist"]])
    assert vru.sum() >= 20 and (first.kind[vru] == ACTOR_CODE["cyclist"]).sum() >= 1
    for _ in range(20):
        env.step(np.array([0.0, 0.0], np.float32))
    moved = env.unwrapped.state.actors
    assert np.hypot(*(moved.table[:2, vru] - first.table[:2, vru])).max() > 2.0  # they walk and ride
    # the ego has driven far away: groups beyond the recycling radius are replaced by new ones around it
    from sim.env.simulation import VRU_RADIUS_M, _recycle_vrus

    u = env.unwrapped
    vrus = u.state.vrus
    graph = u.scene.world.lanes
    far = int(np.argmax(np.hypot(graph.points[:, 0] - vrus.x.mean(), graph.points[:, 1] - vrus.y.mean())))
    ego_xy = graph.points[far]
    freed = _recycle_vrus(u.scene, u.config.vru, vrus, np.random.default_rng(0), ego_xy, np.zeros((0, 2)))
    assert freed.n == vrus.n and not freed.valid.any()  # rows kept, freed until the next recycling
    new = _recycle_vrus(u.scene, u.config.vru, freed, np.random.default_rng(0), ego_xy, np.zeros((0, 2)))
    dist = np.hypot(new.x - ego_xy[0], new.y - ego_xy[1])[new.valid]
    assert new.valid.sum() > 0.5 * vrus.n and np.all(dist <= VRU_RADIUS_M + 1.0)
    assert np.all(new.group[new.group] == new.group)  # each group's leader is its own leader
    env.close()


def test_semis_are_a_tractor_and_a_trailer_that_off_tracks_in_turns():
    """A semi in traffic is drawn as a tractor at the front of its body and a trailer hitched to it; on a
    bend the trailer's heading lags the tractor's."""
    from sim.traffic.actor_classes import ACTOR_CODE
    from sim.traffic.vehicle_classes import CLASS_NAMES

    weights = tuple(1.0 if c == "semi" else 0.0 for c in CLASS_NAMES)
    env = gym.make("roadloop/Drive-v0", num_traffic=6, num_pedestrians=0, num_cyclists=0,
                   traffic={"class_weights": weights}, world={"road_length_m": 1500.0})
    env.reset(seed=1)
    lag = []
    for _ in range(200):  # (semis take no tight turns: the first bend or wide turn comes later)
        env.step(np.array([0.0, 0.0], np.float32))
        a = env.unwrapped.state.actors
        tractor = np.flatnonzero(a.kind == ACTOR_CODE["tractor"])
        trailer = np.flatnonzero(a.kind == ACTOR_CODE["trailer"])
        assert tractor.size == trailer.size == env.unwrapped.state.traffic.n
        hitch = a.table[:2, tractor] - 1.45 * np.stack([np.cos(a.heading[tractor]), np.sin(a.heading[tractor])])
        kingpin = a.table[:2, trailer] + 5.6 * np.stack([np.cos(a.heading[trailer]), np.sin(a.heading[trailer])])
        assert np.allclose(hitch, kingpin, atol=1e-6)  # coupled at the fifth wheel
        lag.append(np.abs(np.angle(np.exp(1j * (a.heading[tractor] - a.heading[trailer])))).max())
    assert max(lag) > 0.05  # some semi turned: its trailer followed with a lag
    env.close()
