"""Search strategies over the unit cube [0, 1]^dim, with an ask/tell interface.

Contract. A strategy is built as ``make_strategy(name, dim, seed, **params)`` (``params`` go into the
strategy's frozen ``Params`` dataclass, unknown keys refused) and then:

- ``ask(batch, n) -> np.ndarray``: ``n`` points, shape (n, dim), float64 in [0, 1]. The answer depends
  only on ``(seed, batch, everything told so far)``: random draws come from
  ``np.random.default_rng([seed, batch])`` made inside ``ask`` (never a global RNG), and asking changes
  no state, so asking twice gives the same points.
- ``tell(x, danger, failed) -> None``: results of evaluated points, shapes (n, dim), (n,) in [0, 1] and
  (n,) bool. Points that could not be evaluated are not told. Learning (fits, adaptation) happens here.

So a resumed campaign rebuilds its strategy by re-telling the stored results batch by batch, in the
order they were first told, and then asks the next batch.

Adding a strategy is adding one file that subclasses ``Strategy``, sets ``name`` and registers it with
``@register_strategy``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from sim.registry import Registry


@dataclass(frozen=True)
class NoParams:
    """A strategy without parameters."""


class Strategy:
    """Base of search strategies; see the module docstring for the ask/tell contract."""

    name: str = ""
    Params: type = NoParams

    def __init__(self, dim: int, seed: int, **params):
        if int(dim) != dim or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        if int(seed) != seed or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        fields = {f.name for f in dataclasses.fields(self.Params)}
        unknown = sorted(set(params) - fields)
        if unknown:
            raise ValueError(f"{self.name} strategy: unknown params {unknown}; known: {sorted(fields)}")
        self.dim = int(dim)
        self.seed = int(seed)
        self.params = self.Params(**params)
        self.x = np.zeros((0, self.dim))
        """Every told point, (N, dim)."""
        self.danger = np.zeros(0)
        """Danger of every told point, (N,) in [0, 1]."""
        self.failed = np.zeros(0, dtype=bool)
        """Whether each told point failed, (N,)."""

    def rng(self, batch: int) -> np.random.Generator:
        """The generator for batch ``batch``: ``default_rng([seed, batch])``."""
        if int(batch) != batch or batch < 0:
            raise ValueError(f"batch must be a non-negative integer, got {batch!r}")
        return np.random.default_rng([self.seed, int(batch)])

    def ask(self, batch: int, n: int) -> np.ndarray:
        """``n`` points to evaluate in batch ``batch``, (n, dim) float64 in [0, 1]."""
        rng = self.rng(batch)
        if int(n) != n or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        x = np.asarray(self._propose(rng, int(n)), dtype=np.float64)
        if x.shape != (n, self.dim) or not np.all((x >= 0.0) & (x <= 1.0)):
            raise RuntimeError(f"{self.name} strategy proposed points outside [0, 1]^{self.dim} or of shape "
                               f"{x.shape} (expected {(n, self.dim)})")
        return x

    def tell(self, x, danger, failed) -> None:
        """Record evaluated points: ``x`` (n, dim) in [0, 1], ``danger`` (n,) in [0, 1], ``failed`` (n,) bool."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.dim) if np.size(x) else np.zeros((0, self.dim))
        danger = np.asarray(danger, dtype=np.float64).reshape(-1)
        failed = np.asarray(failed).reshape(-1)
        n = len(x)
        if danger.shape != (n,) or failed.shape != (n,):
            raise ValueError(f"tell: x has {n} rows but danger {danger.shape} and failed {failed.shape}")
        if not np.all((x >= 0.0) & (x <= 1.0)):
            raise ValueError("tell: points must lie in [0, 1]")
        if not np.all(np.isfinite(danger) & (danger >= 0.0) & (danger <= 1.0)):
            raise ValueError("tell: danger must be finite and in [0, 1]")
        failed = failed.astype(bool)
        if n == 0:
            return
        self.x = np.concatenate([self.x, x])
        self.danger = np.concatenate([self.danger, danger])
        self.failed = np.concatenate([self.failed, failed])
        self._learn(x, danger, failed)

    def _propose(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """The points of one ask, (n, dim) in [0, 1]; must not change state."""
        raise NotImplementedError

    def _learn(self, x: np.ndarray, danger: np.ndarray, failed: np.ndarray) -> None:
        """Update after ``tell`` appended the new points to ``self.x``, ``self.danger``, ``self.failed``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim}, seed={self.seed}, told={len(self.x)})"


def mix_with_uniform(rng: np.random.Generator, n: int, dim: int, explore: float, propose) -> np.ndarray:
    """``n`` points: ``round(explore * n)`` uniform ones and ``propose(rng, rest)`` ones, rows shuffled."""
    n_uniform = round(explore * n)
    parts = [propose(rng, n - n_uniform), rng.random((n_uniform, dim))]
    x = np.concatenate(parts)
    return x[rng.permutation(n)]


def far_from(x: np.ndarray, known: np.ndarray, radius: float) -> np.ndarray:
    """(n,) bool: rows of ``x`` at least ``radius`` away from every row of ``known`` in some coordinate
    (the campaign's duplicate test, sim.mining.campaign.DEDUP_RADIUS, in the same L-infinity sense)."""
    if radius <= 0.0 or len(known) == 0 or len(x) == 0:
        return np.ones(len(x), dtype=bool)
    return np.abs(x[:, None, :] - known[None, :, :]).max(axis=2).min(axis=1) >= radius


def novel(rng: np.random.Generator, m: int, sample, known: np.ndarray, radius: float,
          tries: int = 32) -> np.ndarray:
    """``m`` points from ``sample(rng, k)``, preferring ones ``far_from`` the ``known`` failures (a repeat of a
    known failure teaches little and counts as a duplicate): up to ``tries`` rounds of rejection, then the
    remainder is accepted as drawn."""
    parts, need = [], m
    for _ in range(tries):
        if need == 0:
            break
        x = sample(rng, 2 * need)
        keep = x[far_from(x, known, radius)][:need]
        parts.append(keep)
        need -= len(keep)
    if need:
        parts.append(sample(rng, need))
    return np.concatenate(parts) if parts else np.zeros((0, known.shape[1]))


def reflect(x: np.ndarray) -> np.ndarray:
    """Fold real values into [0, 1] by reflecting at the faces (1.2 -> 0.8, -0.1 -> 0.1)."""
    x = np.mod(x, 2.0)
    return np.clip(np.where(x > 1.0, 2.0 - x, x), 0.0, 1.0)


STRATEGIES: Registry[type[Strategy]] = Registry("search strategy")

register_strategy = STRATEGIES.decorator("name")
"""Class decorator adding a strategy by its ``name``; duplicates are refused."""


def strategy_names() -> list[str]:
    return STRATEGIES.names()


def make_strategy(name: str, dim: int, seed: int, **params) -> Strategy:
    """A new strategy ``name`` over [0, 1]^dim; an unknown name raises UnknownNameError listing the known ones."""
    return STRATEGIES.get(name)(dim, seed, **params)


from sim.mining.strategies import cross_entropy, perturb, surrogate, uniform  # noqa: F401  (registers them)

__all__ = ["STRATEGIES", "NoParams", "Strategy", "make_strategy", "mix_with_uniform", "reflect",
           "register_strategy", "strategy_names"]
