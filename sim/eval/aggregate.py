"""Aggregation of per-episode metric rows (``sim.eval.metrics.episode_metrics``) with 95% intervals.

Bools are rates with a Wilson score interval; numbers are means with a percentile bootstrap interval
(deterministic: its own ``np.random.default_rng(BOOTSTRAP_SEED)`` per metric, so a metric's interval does not
depend on which other metrics are in the rows). None, NaN and inf are skipped and not counted; strings and
other values are left out (use ``counts`` for them)."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

CONFIDENCE = 0.95
"""Coverage of every interval."""
Z = 1.959963984540054
"""Standard normal quantile for CONFIDENCE (two-sided)."""
BOOTSTRAP_RESAMPLES = 2000
"""Resamples of the bootstrap interval of a mean."""
BOOTSTRAP_SEED = 0
"""Seed of the bootstrap's generator (one fresh generator per metric)."""
_CHUNK = 4_000_000
"""Most resampled values drawn at once (bounds the bootstrap's memory)."""


def wilson(successes: int, n: int, z: float = Z) -> tuple[float, float]:
    """Wilson score interval of a proportion ``successes``/``n`` (n >= 1)."""
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_mean(x: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
                   ) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``x`` (n >= 1; n == 1 gives (x, x)), vectorised."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if n == 1 or np.all(x == x[0]):
        return float(x[0]), float(x[0])
    rng = np.random.default_rng(seed)
    per = max(1, _CHUNK // n)
    means = np.concatenate([x[rng.integers(0, n, size=(min(per, resamples - k), n))].mean(axis=1)
                            for k in range(0, resamples, per)])
    alpha = 100.0 * (1.0 - CONFIDENCE) / 2.0
    lo, hi = np.percentile(means, [alpha, 100.0 - alpha])
    return float(lo), float(hi)


def _kind(values: list) -> str | None:
    """"rate" when every value is a bool, "value" when every value is a number, else None."""
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return "rate"
    if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
           for v in values):
        return "value"
    return None


def aggregate(rows: list[dict]) -> dict[str, dict]:
    """``{metric: {"mean", "ci_low", "ci_high", "n"}}`` over the bool and numeric metrics of ``rows``, in the
    order the keys first appear. ``n`` counts the rows with a finite value; a metric with n == 0 (None in
    every row) has mean and interval None. Bools: the rate with its Wilson interval (n == 1 included);
    numbers: the mean with its bootstrap interval (n == 1: the value itself)."""
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    out: dict[str, dict] = {}
    for key in keys:
        present = [row[key] for row in rows if key in row]
        values = [v for v in present if v is not None]
        kind = _kind(values)
        if kind is None:
            continue
        if kind == "rate":
            n, k = len(values), sum(bool(v) for v in values)
            if n == 0:
                out[key] = {"mean": None, "ci_low": None, "ci_high": None, "n": 0}
                continue
            lo, hi = wilson(k, n)
            out[key] = {"mean": k / n, "ci_low": lo, "ci_high": hi, "n": n}
        else:
            x = np.asarray(values, dtype=np.float64)
            x = x[np.isfinite(x)]
            if x.size == 0:
                out[key] = {"mean": None, "ci_low": None, "ci_high": None, "n": 0}
                continue
            lo, hi = bootstrap_mean(x)
            out[key] = {"mean": float(x.mean()), "ci_low": lo, "ci_high": hi, "n": int(x.size)}
    return out


def aggregate_by(rows: list[dict], key: str) -> dict:
    """``{group: aggregate(rows of that group)}`` by the value of ``key`` (rows without it: group None),
    groups sorted by their str."""
    groups: dict = {}
    for row in rows:
        groups.setdefault(row.get(key), []).append(row)
    return {g: aggregate(groups[g]) for g in sorted(groups, key=str)}


def counts(rows: list[dict], key: str) -> dict:
    """``{value: count}`` of ``key`` over the rows that have it, most frequent first (ties by str)."""
    c = Counter(row[key] for row in rows if key in row)
    return dict(sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0]))))
