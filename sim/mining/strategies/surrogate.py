"""Surrogate-model search: a small MLP ensemble learns failure probability and danger from the
parameters, and each batch takes the candidates with the highest upper confidence bound.

Model. ``members`` MLPs (dim -> hidden -> hidden -> 2, SiLU), trained together as batched matrix
products: output 0 is a failure logit (binary cross-entropy on ``failed``), output 1 a danger logit
(squared error of its sigmoid against ``danger``). Each tell continues training the same weights
(warm start, ``steps`` Adam steps, each member on its own Poisson bootstrap of all told points), so
the fit depends only on the told history. Weights are drawn from a ``torch.Generator`` seeded with
the strategy's seed; no global RNG or torch setting is touched.

Ask. Candidates: ``n_candidates`` uniform points plus ``n_local`` Gaussian perturbations
(``local_sigma``) of the best told points (failures first, then by danger). Score per member:
``p_fail + danger_weight * danger`` (``danger_weight_found`` instead once ``min_failures`` failures are
known: danger is a proxy that leads to the first failures, then failures teach best); a candidate's value is ``mean + kappa * std`` over members.
The top candidates are taken greedily at least ``min_spacing`` apart (halved while too few remain),
and an ``explore`` fraction of the batch stays uniform. Batches are uniform until ``n_init`` points
have been told.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch

from sim.mining.strategies import far_from, mix_with_uniform, reflect, register_strategy, Strategy


@dataclass(frozen=True)
class SurrogateParams:
    members: int = 4
    """Ensemble size."""
    hidden: int = 32
    """Units per hidden layer (two hidden layers)."""
    steps: int = 150
    """Adam steps after each tell (all told points, full batch)."""
    lr: float = 0.01
    """Adam learning rate."""
    kappa: float = 1.0
    """Weight of the ensemble standard deviation in the upper confidence bound."""
    danger_weight: float = 0.5
    """Weight of predicted danger next to predicted failure probability in the score."""
    danger_weight_found: float = 0.05
    """The same once ``min_failures`` failures are known."""
    min_failures: int = 3
    """Failures known from which ``danger_weight_found`` applies, >= 1."""
    novelty_radius: float = 0.05
    """Candidates this close to a known failure in every coordinate are dropped (0: never) [unit-cube units]."""
    n_candidates: int = 2000
    """Uniform candidates scored per ask."""
    n_local: int = 1000
    """Candidates per ask drawn around the best told points."""
    n_best: int = 32
    """How many best told points the local candidates are drawn around."""
    local_sigma: float = 0.05
    """Standard deviation of the local candidates [unit-cube units]."""
    min_spacing: float = 0.05
    """Minimum Euclidean distance between points of one batch [unit-cube units] (halved if needed)."""
    explore: float = 0.15
    """Fraction of every batch drawn uniformly, in [0, 1]."""
    n_init: int | None = None
    """Points told before the model is used (uniform until then); None: 2 * dim."""

    def __post_init__(self):
        for key in ("members", "hidden", "steps", "n_candidates", "n_best"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.n_local < 0:
            raise ValueError(f"n_local must be >= 0, got {self.n_local}")
        for key in ("lr", "local_sigma"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{key} must be positive, got {getattr(self, key)}")
        if self.min_failures < 1:
            raise ValueError(f"min_failures must be >= 1, got {self.min_failures}")
        for key in ("kappa", "danger_weight", "danger_weight_found", "min_spacing"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must be >= 0, got {getattr(self, key)}")
        if not 0.0 <= self.explore <= 1.0:
            raise ValueError(f"explore must lie in [0, 1], got {self.explore}")
        if self.n_init is not None and self.n_init < 1:
            raise ValueError(f"n_init must be >= 1 or None, got {self.n_init}")


class _Ensemble:
    """``members`` MLPs dim -> hidden -> hidden -> 2 as stacked weights; ``__call__`` maps (N, dim)
    points in [0, 1] to (members, N, 2) logits (failure, danger)."""

    def __init__(self, members: int, dim: int, hidden: int, seed: int, lr: float):
        g = torch.Generator().manual_seed(seed)
        sizes = [dim, hidden, hidden, 2]
        self.params = []
        for fan_in, fan_out in itertools.pairwise(sizes):
            bound = 1.0 / math.sqrt(fan_in)
            w = (torch.rand(members, fan_in, fan_out, generator=g, dtype=torch.float32) * 2 - 1) * bound
            b = (torch.rand(members, 1, fan_out, generator=g, dtype=torch.float32) * 2 - 1) * bound
            self.params += [w.requires_grad_(), b.requires_grad_()]
        self.members = members
        self.opt = torch.optim.Adam(self.params, lr=lr)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        h = (2.0 * x - 1.0).expand(self.members, -1, -1)
        n_layers = len(self.params) // 2
        for i in range(n_layers):
            h = torch.baddbmm(self.params[2 * i + 1], h, self.params[2 * i])
            if i < n_layers - 1:
                h = torch.nn.functional.silu(h)
        return h

    def fit(self, x: np.ndarray, danger: np.ndarray, failed: np.ndarray, weights: np.ndarray, steps: int):
        """``steps`` Adam steps on bootstrap ``weights`` (members, N)."""
        xt = torch.from_numpy(x.astype(np.float32))
        dt = torch.from_numpy(danger.astype(np.float32)).expand(self.members, -1)
        ft = torch.from_numpy(failed.astype(np.float32)).expand(self.members, -1)
        wt = torch.from_numpy(weights.astype(np.float32))
        wt = wt / wt.sum(dim=1, keepdim=True).clamp_min(1.0)
        with torch.enable_grad():
            for _ in range(steps):
                out = self(xt)
                bce = torch.nn.functional.binary_cross_entropy_with_logits(out[..., 0], ft, reduction="none")
                mse = (torch.sigmoid(out[..., 1]) - dt) ** 2
                loss = ((bce + mse) * wt).sum()
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                self.opt.step()

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Failure probability and danger per member, each (members, N)."""
        with torch.inference_mode():
            out = torch.sigmoid(self(torch.from_numpy(x.astype(np.float32))))
        out = out.numpy().astype(np.float64)
        return out[..., 0], out[..., 1]


def spaced_top(x: np.ndarray, score: np.ndarray, n: int, spacing: float) -> np.ndarray:
    """Indices of ``n`` rows of ``x`` (N, dim) taken greedily by descending ``score``, each at least
    ``spacing`` from those already taken; the spacing halves while fewer than ``n`` qualify."""
    order = np.argsort(-score, kind="stable")
    taken: list[int] = []
    while len(taken) < min(n, len(x)):
        is_taken = np.zeros(len(x), dtype=bool)
        is_taken[taken] = True
        for i in order:
            if len(taken) == n:
                break
            if is_taken[i]:
                continue
            if taken and spacing > 0 and np.min(((x[taken] - x[i]) ** 2).sum(-1)) < spacing ** 2:
                continue
            taken.append(int(i))
            is_taken[i] = True
        spacing *= 0.5
        if spacing < 1e-9:
            spacing = 0.0
    return np.array(taken, dtype=np.int64)


@register_strategy
class SurrogateStrategy(Strategy):
    """UCB search on an MLP ensemble fitted to every told point (see the module docstring)."""

    name = "surrogate"
    Params = SurrogateParams

    def __init__(self, dim: int, seed: int, **params):
        super().__init__(dim, seed, **params)
        p = self.params
        self.n_init = p.n_init or 2 * self.dim
        self.model = _Ensemble(p.members, self.dim, p.hidden, self.seed, p.lr)
        self.fitted = False

    def _learn(self, x, danger, failed) -> None:
        n = len(self.x)
        if n < self.n_init:
            return
        p = self.params
        rng = np.random.default_rng([self.seed, n, 1])
        weights = rng.poisson(1.0, size=(p.members, n)).astype(np.float64)
        self.model.fit(self.x, self.danger, self.failed, weights, p.steps)
        self.fitted = True

    def _propose(self, rng, n):
        if not self.fitted:
            return rng.random((n, self.dim))
        p = self.params

        def best(rng, m):
            if m == 0:
                return np.zeros((0, self.dim))
            rank = np.lexsort((-self.danger, ~self.failed))[:p.n_best]
            centres = self.x[rank[rng.integers(len(rank), size=p.n_local)]]
            local = reflect(centres + p.local_sigma * rng.standard_normal(centres.shape))
            cand = np.concatenate([rng.random((p.n_candidates, self.dim)), local])
            fresh = far_from(cand, self.x[self.failed], p.novelty_radius)
            cand = cand[fresh] if fresh.sum() >= m else cand
            p_fail, danger = self.model.predict(cand)
            weight = p.danger_weight if self.failed.sum() < p.min_failures else p.danger_weight_found
            s = p_fail + weight * danger
            score = s.mean(axis=0) + p.kappa * s.std(axis=0)
            return cand[spaced_top(cand, score, m, p.min_spacing)]

        return mix_with_uniform(rng, n, self.dim, p.explore, best)
