"""Gymnasium environments of roadloop."""
from sim.env.config import BevConfig, DriveConfig, RewardConfig, VectorObsConfig
from sim.env.registration import ENV_IDS, register_envs

__all__ = ["BevConfig", "DriveConfig", "RewardConfig", "VectorObsConfig", "ENV_IDS", "register_envs"]
