"""Native batched ``roadloop/Drive-v0`` (``gym.make_vec(..., vectorization_mode="vector_entry_point")``)."""
from sim.env.batched.env import BatchedDriveEnv

__all__ = ["BatchedDriveEnv"]
