"""RLlib (the README's recipe) trains PPO on roadloop/Drive-v0: one training iteration samples and learns."""
from __future__ import annotations

import ray


def make_drive(config: dict):
    import gymnasium as gym

    import sim  # noqa: F401  (registers the environments)

    return gym.make("roadloop/Drive-v0", **config)


def test_rllib_ppo_trains_one_iteration():
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.tune.registry import register_env

    register_env("roadloop-drive", make_drive)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        config = (PPOConfig()
                  .environment("roadloop-drive", env_config=dict(obs_mode="vector", num_traffic=4, num_worlds=2,
                                                                  episode_seconds=10.0))
                  .env_runners(num_env_runners=0, rollout_fragment_length=200)
                  .training(train_batch_size_per_learner=400, minibatch_size=100, num_epochs=1)
                  .debugging(seed=0))
        algo = config.build_algo()
        result = algo.train()
        algo.stop()
    finally:
        ray.shutdown()
    assert result["env_runners"]["num_env_steps_sampled_lifetime"] >= 400
    assert "learners" in result and result["learners"]
