"""Agents that drive with a checkpoint of the training scripts, and the registry entries of the shipped ones."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from agents.base import register_agent
from agents.rl.common import load_checkpoint
from agents.rl.networks import ActorCritic

WEIGHTS = Path(__file__).resolve().parent / "weights"
SHIPPED = {"ppo-vector": "ppo_vector.pt"}
"""Registered agent name -> checkpoint file in WEIGHTS (registered only where the file is there)."""


class PolicyAgent:
    """Drives with the deterministic (mean) action of a PPO checkpoint, on the observation mode it was
    trained on."""

    def __init__(self, checkpoint: str | Path):
        config, state = load_checkpoint(checkpoint)
        if config.get("algo") != "ppo":
            raise ValueError(f"{checkpoint}: PolicyAgent drives PPO checkpoints, this one is {config.get('algo')!r}")
        self.obs_mode = config["obs_mode"]
        action_size = state["log_std"].shape[0]
        self.model = ActorCritic(self.obs_mode, config["obs_shape"], action_size)
        self.model.load_state_dict(state)
        self.model.eval()

    def reset(self, obs, info: dict) -> None:
        pass

    def act(self, obs, info: dict | None = None) -> np.ndarray:
        with torch.no_grad():
            action, *_ = self.model.act(self.model.normalise(np.asarray(obs)[None]), deterministic=True)
        return np.clip(action[0].numpy(), -1.0, 1.0).astype(np.float32)


def _factory(path: Path, obs_mode: str):
    def make(**kwargs) -> PolicyAgent:
        return PolicyAgent(kwargs.pop("checkpoint", path), **kwargs)

    make.obs_mode = obs_mode
    return make


for _name, _file in SHIPPED.items():
    if (WEIGHTS / _file).exists():
        register_agent(_name, _factory(WEIGHTS / _file, load_checkpoint(WEIGHTS / _file)[0]["obs_mode"]))
