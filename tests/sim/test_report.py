"""HTML report and MP4 writer: self-contained output, escaping, ranking, browser-playable video."""
import copy
import re

import numpy as np
import pytest

from sim.eval.report import write_report
from sim.eval.view import worst_episodes
from sim.video import write_mp4

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")

METRICS = ("score", "route_completion", "collision", "min_ttc_s", "max_abs_jerk", "max_abs_lat_accel",
           "speed_limit_compliance")


def _stat(mean, half=0.1, n=3):
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "n": n}


def _episode(case, seed, score, rc, *, failures=(), ttc=2.0, collision=False):
    return {
        "case": case, "seed": seed, "log": f"logs/{case}_{seed}.npz",
        "metrics": {"score": score, "route_completion": rc, "collision": collision,
                    "collision_type": "rear" if collision else None, "at_fault_collision": collision,
                    "off_road": False, "min_ttc_s": ttc, "max_abs_jerk": 2.0 + seed, "max_abs_lat_accel": 1.5 + seed / 2,
                    "min_accel": -3.0, "max_accel": 1.8, "speed_limit_compliance": 0.97, "progress_m": 120.0 * rc,
                    "seconds": 20.0, "passed": score > 0.5},
        "failures": [dict(f) for f in failures], "video": None, "camera_video": None,
        "trajectory": [[0.0, 0.0], [10.0, 0.5 * seed], [20.0, float(seed)]],
    }


def make_summary(agent="idm-autopilot"):
    fail = {"detector": "collision", "step": 41, "road_type": "four_way", "actors": [3],
            "detail": "hit <script>alert(1)</script> & ran"}
    episodes = [
        _episode("merge", 0, 0.9, 1.0),
        _episode("merge", 1, 0.2, 0.4, failures=[fail], collision=True, ttc=None),   # worst-but-one (tie, failure)
        _episode("merge", 2, 0.8, 1.0),
        _episode("four_way", 0, 0.2, 0.3),                                           # tie on score, no failure
        _episode("four_way", 1, 0.05, 0.1, failures=[dict(fail, detector="off_road")]),  # worst
        _episode("four_way", 2, 0.7, 0.9),
    ]
    agg = {m: _stat(float(np.mean([e["metrics"][m] or 0 for e in episodes])), n=6) for m in METRICS}
    return {
        "name": "nightly-eval", "agent": agent, "suite": "smoke", "created": "2025-01-01T00:00:00Z",
        "code_version": "abc1234", "workers": 4, "backend": "local", "wall_s": 93.5, "episodes_per_min": 3.85,
        "aggregate": agg,
        "by_case": {"merge": {"score": _stat(0.63), "passed": _stat(0.67)},
                    "four_way": {"score": _stat(0.32), "passed": _stat(0.33)}},
        "counts": {"collision_type": {"rear": 1}, "failures": {"collision": 1, "off_road": 1}},
        "metric_info": {"score": {"unit": "", "description": "episode score", "higher_is_better": True},
                        "max_abs_jerk": {"unit": "m/s^3", "description": "max |jerk|", "higher_is_better": False},
                        "min_ttc_s": {"unit": "s", "description": "min TTC", "higher_is_better": True}},
        "episodes": episodes,
        "mining": {"campaign": "c1", "strategy": "cma-es", "agent": agent, "budget": 50, "episodes": 40,
                   "failures": 7, "distinct_failures": 3,
                   "clusters": [{"cluster_key": "collision/four_way", "count": 5, "distinct": 2}],
                   "mined_scenarios": ["scenarios/mined/c1_000.yaml", "scenarios/mined/c1_001.yaml"],
                   "curve": [[0, 0], [10, 1], [25, 2], [40, 3]]},
    }


def _frames(n=10, size=16):
    return [np.full((size, size, 3), (i * 25) % 256, np.uint8) for i in range(n)]


def test_worst_episodes_ranks_score_then_failures_then_route_completion():
    s = make_summary()
    assert worst_episodes(s, 3) == [4, 1, 3]
    assert worst_episodes(s, 1) == [4]
    assert worst_episodes({"episodes": []}) == []
    assert worst_episodes({}) == []
    s["episodes"][5]["metrics"]["score"] = None     # a missing score ranks worst
    assert worst_episodes(s, 1) == [5]


def test_write_mp4_is_h264_and_decodes_back(tmp_path):
    p = write_mp4(_frames(10), tmp_path / "v" / "a.mp4", fps=10)
    assert p.exists() and b"ftyp" in p.read_bytes()[:32]
    gen = imageio_ffmpeg.read_frames(str(p))
    meta = next(gen)
    assert meta["codec"].startswith("h264") and meta["pix_fmt"].startswith("yuv420p")
    assert meta["size"] == (16, 16)
    assert sum(1 for _ in gen) == 10
    assert [f.name for f in p.parent.iterdir()] == ["a.mp4"]          # no temp file left behind


def test_write_mp4_pads_odd_sizes_and_rejects_bad_input(tmp_path):
    p = write_mp4([np.zeros((15, 17, 3), np.uint8)] * 3, tmp_path / "odd.mp4", fps=5)
    meta = next(imageio_ffmpeg.read_frames(str(p)))
    assert meta["size"] == (18, 16)
    with pytest.raises(ValueError):
        write_mp4([], tmp_path / "e.mp4", fps=5)
    with pytest.raises(ValueError):
        write_mp4([np.zeros((16, 16), np.uint8)], tmp_path / "g.mp4", fps=5)
    with pytest.raises(ValueError):
        write_mp4([np.zeros((16, 16, 3), np.uint8), np.zeros((8, 8, 3), np.uint8)], tmp_path / "m.mp4", fps=5)
    assert [f.name for f in tmp_path.iterdir()] == ["odd.mp4"]         # failed writes leave nothing


def test_report_is_self_contained_and_complete(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_mp4(_frames(10), run_dir / "videos" / "worst.mp4", fps=10)
    s = make_summary()
    s["episodes"][4]["video"] = "videos/worst.mp4"                        # relative to run_dir
    s["episodes"][4]["camera_video"] = str(tmp_path / "missing_camera.mp4")
    compare = make_summary(agent="baseline-agent")
    compare["name"] = "last-week"
    compare["aggregate"]["score"] = _stat(0.1, half=0.05)                  # this run clearly better
    compare["mining"] = None
    s["baselines"] = {"constant_velocity": {"episodes": 6, "errors": 0, "aggregate": {"score": _stat(0.123)}}}

    out = write_report(run_dir, s, compare=compare, compare_label="last week")
    assert out == run_dir / "report.html" and out.is_file()
    assert sorted(f.name for f in run_dir.iterdir()) == ["report.html", "videos"]   # no temp file left
    text = out.read_text(encoding="utf-8")

    # self-contained: every src/href is a data: URI
    assert 'src="http' not in text and "href=" not in text
    srcs = re.findall(r'src="([^"]*)"', text)
    assert srcs and all(x.startswith("data:") for x in srcs)
    assert text.count("data:image/png;base64,") >= 5                     # hist, cases, comfort, ttc, paths, mining
    # content
    for word in ("idm-autopilot", "nightly-eval", "abc1234", "smoke", *METRICS, "merge", "four_way",
                 "Comparison with last week", "this run better", "cma-es", "collision/four_way",
                 "scenarios/mined/c1_001.yaml", "Worst episodes", "Baselines", "constant_velocity", "0.123"):
        assert word in text, word
    # video: embedded, and the missing one noted
    assert text.count("<video controls") == 1 and "data:video/mp4;base64," in text
    assert "camera video not found" in text and "missing_camera.mp4" in text
    # escaping of episode details
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; ran" in text


def test_report_tolerates_missing_and_null_keys(tmp_path):
    s = make_summary()
    s2 = copy.deepcopy(s)
    for k in ("by_case", "counts", "metric_info", "mining", "wall_s", "episodes_per_min", "code_version"):
        s2[k] = None
    for ep in s2["episodes"]:
        ep.pop("trajectory")
        ep["metrics"]["min_ttc_s"] = None
    s2["aggregate"]["min_ttc_s"] = {"mean": None, "ci_low": None, "ci_high": None, "n": 0}
    text = write_report(tmp_path / "a", s2).read_text(encoding="utf-8")
    assert "–" in text and "Failure mining" not in text

    text = write_report(tmp_path / "b", {"name": "<b>empty</b>"}).read_text(encoding="utf-8")
    assert "&lt;b&gt;empty&lt;/b&gt;" in text and "<b>empty</b>" not in text


def test_write_mp4_takes_an_iterator_and_names_the_missing_encoder(tmp_path, monkeypatch):
    p = write_mp4((f for f in _frames(5)), tmp_path / "gen.mp4", fps=25)
    assert imageio_ffmpeg.count_frames_and_secs(str(p))[0] == 5
    monkeypatch.setitem(__import__("sys").modules, "imageio_ffmpeg", None)   # import now fails
    with pytest.raises(RuntimeError, match="pip install imageio-ffmpeg"):
        write_mp4(_frames(2), tmp_path / "x.mp4", fps=5)
