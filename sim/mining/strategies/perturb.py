"""Local perturbation around found failures.

Parents are the told failures plus optional ``seeds`` (e.g. a recorded failure's parameters). Each
ask picks parents at random, weighted towards the ones whose children fail (a failure reproduces
there, rather than by chance) and the less perturbed ones: weight (1 + failed children) /
(2 + children) / sqrt(1 + children); it adds Gaussian noise of standard deviation ``sigma``, reflected into [0, 1]; an ``explore``
fraction stays uniform, and with no parent yet the whole batch is uniform. On tell, each point
within ``3 * sigma * sqrt(dim)`` of a parent counts as that parent's child, and ``sigma`` grows when
more than ``target_rate`` of the children failed, shrinks when fewer did (kept within
[``min_sigma``, ``max_sigma``]), so the search spreads along a failure region and tightens around
a narrow one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.mining.strategies import mix_with_uniform, novel, reflect, register_strategy, Strategy


@dataclass(frozen=True, eq=False)
class PerturbParams:
    sigma: float = 0.05
    """Initial perturbation standard deviation per coordinate [unit-cube units]."""
    seeds: np.ndarray | None = None
    """Failure points to start from, (k, dim) in [0, 1]; None: none."""
    explore: float = 0.1
    """Fraction of every batch drawn uniformly once there is a parent, in [0, 1]."""
    adapt: bool = True
    """Adapt sigma to the children's failure rate."""
    target_rate: float = 0.5
    """Children failure rate at which sigma stays put, in (0, 1)."""
    novelty_radius: float = 0.05
    """Perturbations this close to a known failure in every coordinate are redrawn (0: never) [unit-cube
    units]."""
    min_sigma: float = 0.005
    """Lower bound on sigma [unit-cube units]."""
    max_sigma: float = 0.25
    """Upper bound on sigma [unit-cube units]."""

    def __post_init__(self):
        if not 0.0 < self.min_sigma <= self.sigma <= self.max_sigma:
            raise ValueError(f"need 0 < min_sigma <= sigma <= max_sigma, got {self.min_sigma}, {self.sigma}, "
                             f"{self.max_sigma}")
        if not 0.0 <= self.explore <= 1.0:
            raise ValueError(f"explore must lie in [0, 1], got {self.explore}")
        if not 0.0 < self.target_rate < 1.0:
            raise ValueError(f"target_rate must lie in (0, 1), got {self.target_rate}")
        if self.seeds is not None:
            seeds = np.array(self.seeds, dtype=np.float64)
            if seeds.ndim != 2 or not np.all((seeds >= 0.0) & (seeds <= 1.0)):
                raise ValueError(f"seeds must be a (k, dim) array in [0, 1], got shape {seeds.shape}")
            seeds.setflags(write=False)
            object.__setattr__(self, "seeds", seeds)


@register_strategy
class PerturbStrategy(Strategy):
    """Gaussian perturbation of failures; ``parents`` (k, dim), ``children`` (k,) counts, ``sigma``."""

    name = "perturb"
    Params = PerturbParams

    def __init__(self, dim: int, seed: int, **params):
        super().__init__(dim, seed, **params)
        seeds = self.params.seeds
        if seeds is not None and seeds.shape[1] != self.dim:
            raise ValueError(f"seeds have {seeds.shape[1]} columns, the space has dim {self.dim}")
        self.parents = np.zeros((0, self.dim)) if seeds is None else seeds.copy()
        self.children = np.zeros(len(self.parents))
        self.child_failures = np.zeros(len(self.parents))
        self.sigma = self.params.sigma

    def _learn(self, x, danger, failed) -> None:
        p = self.params
        if len(self.parents):
            d2 = ((x[:, None, :] - self.parents[None, :, :]) ** 2).sum(-1)
            nearest = d2.argmin(axis=1)
            child = d2[np.arange(len(x)), nearest] <= (3.0 * self.sigma) ** 2 * self.dim
            np.add.at(self.children, nearest[child], 1.0)
            np.add.at(self.child_failures, nearest[child], failed[child].astype(float))
            if p.adapt and child.any():
                rate = failed[child].mean()
                self.sigma = float(np.clip(self.sigma * np.exp(0.5 * (rate - p.target_rate)), p.min_sigma,
                                           p.max_sigma))
        if failed.any():
            self.parents = np.concatenate([self.parents, x[failed]])
            self.children = np.concatenate([self.children, np.zeros(int(failed.sum()))])
            self.child_failures = np.concatenate([self.child_failures, np.zeros(int(failed.sum()))])

    def _propose(self, rng, n):
        if not len(self.parents):
            return rng.random((n, self.dim))
        weights = (1.0 + self.child_failures) / (2.0 + self.children) / np.sqrt(1.0 + self.children)
        weights /= weights.sum()

        def draw(rng, m):
            idx = rng.choice(len(self.parents), size=m, p=weights)
            return reflect(self.parents[idx] + self.sigma * rng.standard_normal((m, self.dim)))

        def around(rng, m):
            return novel(rng, m, draw, self.parents, self.params.novelty_radius)

        return mix_with_uniform(rng, n, self.dim, self.params.explore, around)
