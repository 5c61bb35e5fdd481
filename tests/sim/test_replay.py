"""Episode logs: recording, bit-exact replay, re-driving, damaged files."""
import gymnasium as gym
import numpy as np
import pytest

import sim  # noqa: F401
from sim.cli import main
from sim.env.config import OBS_MODES
from sim.scenario.episode_log import EpisodeLog, LogError, load_log, save_log
from sim.scenario.recorder import RecordEpisodes
from sim.scenario.replay import replay

SHORT = dict(num_traffic=6, episode_seconds=2.0, world={"road_length_m": 600.0})
MODE_KWARGS = {"camera": dict(camera={"width": 48, "height": 32, "cameras": ("main_forward", "rear")})}
"""Camera mode with small images and two cameras, to keep 50 episodes fast."""


def _record(tmp_path, mode, episodes, seed=0, **kwargs):
    options = {**SHORT, **MODE_KWARGS.get(mode, {}), **kwargs}
    env = RecordEpisodes(gym.make("roadloop/Drive-v0", obs_mode=mode, **options), tmp_path / mode)
    rng = np.random.default_rng(seed)
    for ep in range(episodes):
        env.reset(seed=seed + ep if ep % 2 == 0 else None)  # odd episodes continue the generator
        done = False
        while not done:
            action = (np.array([0.0, 0.4]) + rng.normal(0.0, [0.1, 0.3])).astype(np.float32)
            *_, term, trunc, _ = env.step(action)
            done = term or trunc
    env.close()
    return env.paths


@pytest.mark.parametrize("mode", OBS_MODES)
def test_replay_is_bit_exact_over_50_random_episodes(tmp_path, mode):
    paths = _record(tmp_path, mode, 50)
    assert len(paths) == 50
    kinds = {("seed" in load_log(p).meta["reset"]) for p in paths}
    assert kinds == {True, False}
    for path in paths:
        result = replay(load_log(path))
        assert result.identical, (path, result.first_mismatch)


def test_a_changed_world_is_caught(tmp_path):
    log = load_log(_record(tmp_path, "vector", 1, seed=4)[0])
    actors = log.arrays["actors"].copy()
    actors[5, 0, 1] += 1e-9
    tampered = EpisodeLog(log.meta, {**log.arrays, "actors": actors})
    result = replay(tampered)
    assert not result.identical and result.first_mismatch == (5, "actors")


class Brake:
    def reset(self, obs, info):
        self.mapping = info["action_mapping"]

    def act(self, obs, info):
        return np.array([0.0, -1.0], np.float32)


def test_redrive_keeps_the_first_steps_and_changes_the_rest(tmp_path):
    log = load_log(_record(tmp_path, "vector", 1, seed=6, episode_seconds=4.0)[0])
    result = replay(log, agent=Brake(), agent_name="brake", from_step=10)
    new = result.log
    assert result.identical  # the first 10 steps match the log
    np.testing.assert_array_equal(new.arrays["actors"][:11], log.arrays["actors"][:11])
    assert new.arrays["ego"][-1, 3] < log.arrays["ego"][-1, 3]  # braking: slower at the end
    assert new.meta["agent"] == "brake" and new.meta["redrive_from_step"] == 10


def test_damaged_logs_are_detected(tmp_path):
    path = _record(tmp_path, "vector", 1)[0]
    data = path.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(LogError, match="not a complete roadloop episode log"):
        load_log(truncated)
    log = load_log(path)
    other = tmp_path / "altered.npz"
    save_log(log, other)
    with np.load(other) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["reward"] = arrays["reward"] + 1.0
    np.savez(other, **arrays)  # an edit that keeps the old checksum
    with pytest.raises(LogError, match="checksum mismatch"):
        load_log(other)
    with pytest.raises(LogError, match="no such episode log"):
        load_log(tmp_path / "missing.npz")


def test_saving_is_atomic(tmp_path, monkeypatch):
    log = load_log(_record(tmp_path, "vector", 1)[0])
    target = tmp_path / "out.npz"
    save_log(log, target)
    before = target.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", fail)
    with pytest.raises(OSError, match="disk full"):
        save_log(log, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_cli_replay_with_video(tmp_path, capsys):
    path = _record(tmp_path, "vector", 1, seed=2)[0]
    video = tmp_path / "ep.mp4"
    assert main(["replay", str(path), "--video", str(video)]) == 0
    assert "bit-identical" in capsys.readouterr().out
    import cv2

    frames = cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT)
    assert frames == load_log(path).steps + 1
