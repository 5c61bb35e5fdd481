"""Policy networks of the training scripts: an actor-critic with a Gaussian policy (PPO) and a Q-network (DQN),
each behind a running observation normaliser; an MLP for ``vector`` observations, a small CNN for ``bev``."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.distributions import Normal

from agents.rl.common import RunningNorm


def _layer(layer: nn.Module, std: float = np.sqrt(2)) -> nn.Module:
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, 0.0)
    return layer


def encoder(obs_mode: str, obs_shape, width: int = 256) -> tuple[nn.Module, int]:
    """(trunk, feature size): a two-layer tanh MLP on flat observations; a 3-layer CNN on (H, W, C) rasters
    (channels last, as the ``bev`` mode gives them, optionally frame-stacked on a leading axis)."""
    if obs_mode == "vector":
        size = int(np.prod(obs_shape))
        return nn.Sequential(nn.Flatten(), _layer(nn.Linear(size, width)), nn.Tanh(),
                             _layer(nn.Linear(width, width)), nn.Tanh()), width
    if obs_mode == "bev":
        *stack, h, w, c = obs_shape
        channels = c * int(np.prod(stack or [1]))
        cnn = nn.Sequential(_ChannelsFirst(channels), _layer(nn.Conv2d(channels, 32, 5, stride=2)), nn.ReLU(),
                            _layer(nn.Conv2d(32, 64, 3, stride=2)), nn.ReLU(),
                            _layer(nn.Conv2d(64, 64, 3, stride=2)), nn.ReLU(), nn.Flatten())
        with torch.no_grad():
            size = cnn(torch.zeros(1, *obs_shape)).shape[1]
        return nn.Sequential(cnn, _layer(nn.Linear(size, width)), nn.ReLU()), width
    raise ValueError(f"networks: obs_mode must be 'vector' or 'bev', got {obs_mode!r}")


class _ChannelsFirst(nn.Module):
    """(B, [K,] H, W, C) -> (B, K*C, H, W)."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels

    def forward(self, x):
        h, w = x.shape[-3], x.shape[-2]
        x = x.movedim(-1, -3)
        return x.reshape(x.shape[0], self.channels, h, w)


class ActorCritic(nn.Module):
    """Gaussian policy (state-independent log std) and value, on separate trunks; ``act`` and ``value`` take
    observations through ``normalise`` first (training stores normalised ones, so updates see what the
    rollout saw)."""

    def __init__(self, obs_mode: str, obs_shape, action_size: int):
        super().__init__()
        self.norm = RunningNorm(int(np.prod(obs_shape)))
        self.obs_shape = tuple(obs_shape)
        actor, width = encoder(obs_mode, obs_shape)
        critic, _ = encoder(obs_mode, obs_shape)
        self.actor = nn.Sequential(actor, _layer(nn.Linear(width, action_size), 0.01))
        self.critic = nn.Sequential(critic, _layer(nn.Linear(width, 1), 1.0))
        self.log_std = nn.Parameter(torch.full((action_size,), -0.5))

    def normalise(self, x) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float32)
        b = x.shape[0]
        return self.norm(x.reshape(b, -1)).reshape(b, *self.obs_shape)

    def value(self, z: torch.Tensor) -> torch.Tensor:
        return self.critic(z).squeeze(-1)

    def act(self, z: torch.Tensor, action: torch.Tensor | None = None, deterministic: bool = False):
        """(action, log prob, entropy, value) at normalised observations ``z``; samples unless ``action`` is
        given or ``deterministic``."""
        mean = self.actor(z)
        dist = Normal(mean, self.log_std.exp().expand_as(mean))
        if action is None:
            action = mean if deterministic else dist.sample()
        return action, dist.log_prob(action).sum(-1), dist.entropy().sum(-1), self.critic(z).squeeze(-1)


class QNetwork(nn.Module):
    """Q-values of ``actions`` discrete actions."""

    def __init__(self, obs_mode: str, obs_shape, actions: int):
        super().__init__()
        self.norm = RunningNorm(int(np.prod(obs_shape)))
        self.obs_shape = tuple(obs_shape)
        trunk, width = encoder(obs_mode, obs_shape)
        self.q = nn.Sequential(trunk, _layer(nn.Linear(width, actions), 1.0))

    def normalise(self, x) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float32)
        b = x.shape[0]
        return self.norm(x.reshape(b, -1)).reshape(b, *self.obs_shape)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Q-values at normalised observations ``z``."""
        return self.q(z)
