"""Cross-entropy method for rare events: adaptive importance sampling with one Gaussian.

After each tell, the elite set gives a mean and full covariance: every told failure plus the top ``rho``
fraction of the latest points by danger while fewer than ``min_failures`` failures are known (the
adaptive levels of rare-event CE, led by danger), then the failures alone (the failure level is
reached: danger, a proxy, no longer steers); the sampling Gaussian moves towards them with
smoothing ``alpha`` and its covariance keeps a floor (eigenvalues >= ``min_std``^2). Samples are
reflected into [0, 1]; an ``explore`` fraction of each batch stays uniform (``explore_before`` while
no failure is known), and batches are uniform until ``n_init`` points have been told.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.mining.strategies import Strategy, mix_with_uniform, novel, reflect, register_strategy


@dataclass(frozen=True)
class CrossEntropyParams:
    rho: float = 0.1
    """Elite fraction of all told points, by danger (failures are always elite), in (0, 1]."""
    alpha: float = 0.7
    """Smoothing: new = alpha * elite estimate + (1 - alpha) * old, in (0, 1]."""
    min_std: float = 0.05
    """Floor on the sampling Gaussian's standard deviation along any direction [unit-cube units]."""
    explore: float = 0.15
    """Fraction of every batch drawn uniformly, in [0, 1]."""
    explore_before: float = 0.5
    """The same while no failure is known (danger is only a proxy until then), in [0, 1]."""
    n_init: int | None = None
    """Points told before the Gaussian is fitted (uniform until then); None: 2 * dim."""
    min_failures: int = 1
    """Failures known from which the elite set is the failures alone, >= 1."""
    novelty_radius: float = 0.05
    """Samples this close to a known failure in every coordinate are redrawn (0: never) [unit-cube units]."""

    def __post_init__(self):
        if not 0.0 < self.rho <= 1.0:
            raise ValueError(f"rho must lie in (0, 1], got {self.rho}")
        if not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"alpha must lie in (0, 1], got {self.alpha}")
        if not self.min_std > 0.0:
            raise ValueError(f"min_std must be positive, got {self.min_std}")
        for key in ("explore", "explore_before"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ValueError(f"{key} must lie in [0, 1], got {getattr(self, key)}")
        if self.min_failures < 1:
            raise ValueError(f"min_failures must be >= 1, got {self.min_failures}")
        if self.n_init is not None and self.n_init < 1:
            raise ValueError(f"n_init must be >= 1 or None, got {self.n_init}")


@register_strategy
class CrossEntropyStrategy(Strategy):
    """Cross-entropy importance sampling; ``mean`` (dim,) and ``cov`` (dim, dim) are the current
    sampling Gaussian (uniform's mean and variance until fitted)."""

    name = "cross_entropy"
    Params = CrossEntropyParams

    def __init__(self, dim: int, seed: int, **params):
        super().__init__(dim, seed, **params)
        self.n_init = self.params.n_init or 2 * self.dim
        self.mean = np.full(self.dim, 0.5)
        self.cov = np.eye(self.dim) / 12.0
        self.fitted = False

    def _learn(self, x, danger, failed) -> None:
        n = len(self.x)
        if n < self.n_init:
            return
        p = self.params
        recent = max(len(x), self.n_init)
        n_top = max(2, math.ceil(p.rho * recent))
        elite = self.failed.copy()
        if elite.sum() < p.min_failures:
            elite[n - recent + np.argsort(-self.danger[n - recent:], kind="stable")[:n_top]] = True
        e = self.x[elite]
        mean = e.mean(axis=0)
        cov = np.cov(e.T, bias=True).reshape(self.dim, self.dim)
        a = p.alpha
        self.mean = a * mean + (1.0 - a) * self.mean
        self.cov = a * cov + (1.0 - a) * self.cov
        w, v = np.linalg.eigh(0.5 * (self.cov + self.cov.T))
        self.cov = (v * np.maximum(w, p.min_std ** 2)) @ v.T
        self.fitted = True

    def _propose(self, rng, n):
        if not self.fitted:
            return rng.random((n, self.dim))
        chol = np.linalg.cholesky(self.cov)

        def draw(rng, m):
            return reflect(self.mean + rng.standard_normal((m, self.dim)) @ chol.T)

        def gaussian(rng, m):
            return novel(rng, m, draw, self.x[self.failed], self.params.novelty_radius)

        explore = self.params.explore if self.failed.any() else self.params.explore_before
        return mix_with_uniform(rng, n, self.dim, explore, gaussian)
