"""The failure store: round trip, refusals, and no loss or half-written episode when the writer is killed."""
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sim.mining.store import FailureStore, StoreError

REPO = Path(__file__).resolve().parents[2]
META = {"agent": "autopilot", "strategy": "uniform", "space": "cut_in", "seed": 0, "batch": 8, "budget": 64,
        "created": 1700000000.0, "code_version": "abc123"}


def _failure(detector="collision", key="collision/straight/car", distinct_of=None, **kw):
    return {"detector": detector, "cluster_key": key, "road_type": "straight", "actors": [3, 5],
            "detail": "hit car 3 at 4.2 m/s", "step": 17, "distinct_of": distinct_of,
            "scenario_path": "scenarios/mined/a.yaml", "log_path": "runs/a.npz", **kw}


def test_round_trip(tmp_path):
    path = tmp_path / "sub" / "campaign.sqlite"
    with FailureStore(path, META) as store:
        assert store.meta == META
        assert store.done() == set()
        e0 = store.add_episode(0, 0, [0.1, 0.9], 11, 0.2, False, {"ttc": 3.5}, "runs/e0.npz", "cut_in", [])
        e1 = store.add_episode(0, 1, np.array([0.5, 1.0]), np.int64(12), np.float32(0.95), np.bool_(True),
                               {"ttc": np.float32(0.25), "speeds": np.arange(3)}, "runs/e1.npz", "cut_in",
                               [_failure(), _failure("offroad", "offroad/arc")])
        f_first = store.failures()[0]["id"]
        store.add_episode(1, 0, [0.51, 1.0], 13, 1.0, True, {}, None, None,
                          [_failure(distinct_of=f_first)])
    with FailureStore(path) as store:
        assert store.meta == META
        assert store.done() == {(0, 0), (0, 1), (1, 0)}
        eps = store.episodes()
        assert [(e["batch"], e["idx"]) for e in eps] == [(0, 0), (0, 1), (1, 0)]
        assert eps[0]["id"] == e0 and eps[1]["id"] == e1
        assert eps[1]["params"] == [0.5, 1.0] and eps[1]["seed"] == 12 and eps[1]["failed"] is True
        assert eps[1]["danger"] == pytest.approx(0.95)
        assert eps[1]["metrics"] == {"ttc": 0.25, "speeds": [0, 1, 2]}
        assert eps[0]["log_path"] == "runs/e0.npz" and eps[0]["case"] == "cut_in" and eps[2]["case"] is None
        fails = store.failures()
        assert [f["detector"] for f in fails] == ["collision", "offroad", "collision"]
        assert fails[0]["actors"] == [3, 5] and fails[0]["step"] == 17 and fails[0]["detail"] == "hit car 3 at 4.2 m/s"
        assert fails[0]["batch"] == 0 and fails[0]["idx"] == 1 and fails[0]["params"] == [0.5, 1.0]
        assert fails[2]["distinct_of"] == fails[0]["id"]
        assert [f["id"] for f in store.failures(distinct_only=True)] == [fails[0]["id"], fails[1]["id"]]
        assert store.clusters() == [
            {"cluster_key": "collision/straight/car", "count": 2, "distinct": 1, "first_id": fails[0]["id"]},
            {"cluster_key": "offroad/arc", "count": 1, "distinct": 1, "first_id": fails[1]["id"]},
        ]
    # same campaign keys, other bookkeeping keys: accepted, the stored meta is kept
    with FailureStore(path, {**META, "created": 2.0, "budget": 128}) as store:
        assert store.meta == META


def test_duplicate_episode_refused_and_nothing_half_written(tmp_path):
    path = tmp_path / "c.sqlite"
    with FailureStore(path, META) as store:
        store.add_episode(0, 3, [0.5], 1, 0.1, False, {}, None, None, [])
        with pytest.raises(StoreError, match=r"batch 0, idx 3.*already stored"):
            store.add_episode(0, 3, [0.5], 1, 0.9, True, {}, None, None, [_failure()])
        # a failure pointing at a failure that does not exist: the whole episode is refused
        with pytest.raises(StoreError, match="distinct_of"):
            store.add_episode(0, 4, [0.5], 1, 0.9, True, {}, None, None, [_failure(), _failure(distinct_of=999)])
        assert store.done() == {(0, 3)} and store.failures() == []
        with pytest.raises(ValueError, match="unknown failure keys"):
            store.add_episode(0, 5, [0.5], 1, 0.9, True, {}, None, None, [_failure(severity=3)])
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            store.add_episode(0, 5, [1.5], 1, 0.9, True, {}, None, None, [])


def test_reopen_with_other_campaign_refused(tmp_path):
    path = tmp_path / "c.sqlite"
    FailureStore(path, META).close()
    with pytest.raises(StoreError) as err:
        FailureStore(path, {**META, "agent": "rl_ppo", "seed": 1})
    msg = str(err.value)
    assert str(path) in msg and "agent" in msg and "seed" in msg and "rl_ppo" in msg
    assert "strategy" not in msg and "budget" not in msg


def test_not_a_store_refused(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("hello, not a database at all" * 100)
    with pytest.raises(StoreError, match="not a roadloop failure store") as err:
        FailureStore(text, META)
    assert str(text) in str(err.value)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(StoreError, match="not a roadloop failure store"):
        FailureStore(other, META)
    with pytest.raises(StoreError, match="no failure store"):
        FailureStore(tmp_path / "missing.sqlite")
    assert not (tmp_path / "missing.sqlite").exists()


_WRITER = """
import sys
from sim.mining.store import FailureStore
store = FailureStore(sys.argv[1], {"agent": "a", "strategy": "uniform", "space": "s", "seed": 0, "batch": 10})
i = 0
while True:
    fails = [{"detector": "collision", "cluster_key": f"k{j}", "actors": [j], "detail": "x" * 200, "step": j,
              "distinct_of": None} for j in range(i % 3)]
    store.add_episode(i // 10, i % 10, [0.5] * 8, i, 0.5, bool(fails), {"i": i, "pad": "y" * 500}, None, None, fails)
    print(i // 10, i % 10, flush=True)
    i += 1
"""


def _count(path) -> int:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT count(*) FROM episodes").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def test_killed_writer_loses_nothing_committed(tmp_path):
    path = tmp_path / "killed.sqlite"
    child = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while _count(path) < 20:
            assert child.poll() is None, child.stderr.read()
            assert time.monotonic() < deadline, "writer too slow"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        out, _ = child.communicate()
    reported = {tuple(int(v) for v in line.split()) for line in out.splitlines() if len(line.split()) == 2}

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()
    meta = {"agent": "a", "strategy": "uniform", "space": "s", "seed": 0, "batch": 10}
    with FailureStore(path, meta) as store:
        done = store.done()
        assert len(done) >= 20
        assert reported <= done  # every episode the writer saw committed is there
        n = len(done)
        assert done == {(i // 10, i % 10) for i in range(n)}  # and nothing in between is missing
        per_episode = {}
        for f in store.failures():
            per_episode.setdefault((f["batch"], f["idx"]), []).append(f["step"])
        for e in store.episodes():
            i = e["metrics"]["i"]
            assert per_episode.get((e["batch"], e["idx"]), []) == list(range(i % 3))
        store.add_episode(n // 10, n % 10, [0.5] * 8, n, 0.5, True, {"i": n}, None, None,
                          [{"detector": "collision", "cluster_key": "after"}])
        assert (n // 10, n % 10) in store.done()
        assert json.loads(json.dumps(store.clusters()))[-1]["cluster_key"] == "after"
