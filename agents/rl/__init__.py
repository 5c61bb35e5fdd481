"""Reinforcement learning: one-file training scripts (``ppo``, ``dqn``), their networks, and agents that drive
with a trained checkpoint (``policy``)."""
