"""The roadloop command."""
import json
import subprocess
import sys

from sim.cli import main


def test_help_lists_subcommands():
    out = subprocess.run([sys.executable, "-m", "sim.cli", "--help"], capture_output=True, text=True, check=True)
    for sub in ("run", "world", "envs"):
        assert sub in out.stdout


def test_run_prints_episode_metrics(capsys):
    assert main(["run", "--episodes", "2", "--traffic", "3", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["seed"] for r in rows] == [0, 1]
    for r in rows:
        assert r["steps"] > 0 and 0.0 <= r["route_completion"] <= 1.0


def test_world_writes_a_map(tmp_path, capsys):
    out = tmp_path / "map.png"
    assert main(["world", "--seed", "2", "--length", "600", "--out", str(out)]) == 0
    assert out.stat().st_size > 1000 and "lanes" in capsys.readouterr().out
