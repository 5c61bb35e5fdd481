"""Uniform random search in the unit cube: the baseline every other strategy is measured against."""
from __future__ import annotations

import numpy as np

from sim.mining.strategies import Strategy, register_strategy


@register_strategy
class UniformStrategy(Strategy):
    """Independent uniform points in [0, 1]^dim; telling results changes nothing."""

    name = "uniform"

    def _propose(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.random((n, self.dim))
