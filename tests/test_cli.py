"""The roadloop command."""
import json
import subprocess
import sys

import pytest

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


def test_parking_agent_on_road_cases_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(SystemExit, match="drives parking envs only.*road cases"):
        main(["eval", "--agent", "parking_astar", "--suite", "scenarios", "--runs-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match="roadloop run: agent 'parking_mcts' drives parking envs"):
        main(["run", "--agent", "parking_mcts", "--episodes", "1"])
    assert not any(tmp_path.iterdir())


def test_agent_env_kinds():
    from agents import EnvKindError, agent_env_kind, agents_for, check_env_kind

    assert agent_env_kind("parking_astar") == "parking" and agent_env_kind("random") == "any"
    assert "hybrid_planner" in agents_for("drive") and "hybrid_planner" not in agents_for("parking")
    assert "random" in agents_for("parking") and "random" in agents_for("drive")
    with pytest.raises(EnvKindError, match="'lane_keeping' drives drive envs"):
        check_env_kind("lane_keeping", "parking")
