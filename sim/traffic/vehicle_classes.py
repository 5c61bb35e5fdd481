"""Vehicle classes of traffic: body sizes (m), acceleration scale and colours.

Size does not determine class. Each class is a mixture of body variants (a class-conditional distribution),
each variant a normal distribution around its mean (length, width, height) with the class's spread SPREAD,
truncated to the class envelope LENGTH/WIDTH/HEIGHT. Variants of neighbouring classes sit on top of each
other, as real bodies do: a large estate car is the size of a compact SUV, a tall SUV the size of a minivan,
a minivan the size of a small panel van, a large van nearly that of a box truck, and a midibus that of a
rigid truck. Measured over 40k draws with the default class weights (tests/sim/test_traffic.py): a
nearest-centroid classifier on standardised (length, width, height) is right 71% of the time (62% on raw
sizes), the Bayes-optimal size-only classifier, which knows these densities, 82%; predicting the commonest
class is right 55% of the time. The former disjoint per-class boxes gave 96% and 100% (heights alone told car,
suv and van apart).
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

CLASS_NAMES = ("car", "suv", "van", "bus", "truck", "semi")
"""A "semi" is a tractor with a semi-trailer: one body for traffic, a tractor and a trailer actor for everyone
else (sim.traffic.semis)."""
#: Envelope (min, max) of length, width, height (m) per class, same order as CLASS_NAMES.
LENGTH = np.array([[3.5, 5.1], [4.0, 5.3], [4.3, 7.0], [7.5, 13.0], [5.8, 11.0], [16.8, 17.1]])
WIDTH = np.array([[1.60, 1.95], [1.72, 2.05], [1.75, 2.25], [2.25, 2.55], [2.05, 2.55], [2.50, 2.55]])
HEIGHT = np.array([[1.35, 1.75], [1.50, 1.95], [1.60, 2.90], [2.80, 3.40], [2.50, 3.90], [3.95, 4.0]])
#: Body variants: (class index, weight within the class, mean length, width, height m).
VARIANTS = np.array([
    [0, 0.25, 3.85, 1.72, 1.50],   # car: city car
    [0, 0.45, 4.55, 1.81, 1.46],   # car: hatchback, sedan
    [0, 0.30, 4.45, 1.80, 1.60],   # car: estate, tall hatchback
    [1, 0.55, 4.35, 1.80, 1.58],   # suv: compact crossover
    [1, 0.45, 4.85, 1.92, 1.72],   # suv: full size
    [2, 0.45, 4.75, 1.86, 1.70],   # van: minivan
    [2, 0.35, 5.30, 1.95, 2.00],   # van: panel van
    [2, 0.20, 6.30, 2.05, 2.50],   # van: large van
    [3, 0.35, 8.50, 2.35, 3.05],   # bus: midibus
    [3, 0.65, 11.8, 2.50, 3.15],   # bus: city bus
    [4, 0.55, 7.50, 2.35, 3.10],   # truck: box truck
    [4, 0.45, 9.80, 2.50, 3.40],   # truck: rigid truck
    [5, 1.00, 16.95, 2.55, 4.00],  # semi: the standard tractor + trailer (sim.traffic.trailer)
])
#: Per-class spread: standard deviation of length, width, height (m) around a variant's mean.
SPREAD = np.array([[0.32, 0.07, 0.08], [0.32, 0.07, 0.09], [0.45, 0.08, 0.18], [0.90, 0.06, 0.12],
                   [0.90, 0.10, 0.25], [0.05, 0.01, 0.01]])
#: multiplier on sampled comfortable acceleration (heavy vehicles accelerate slower).
ACCEL_SCALE = np.array([1.0, 0.95, 0.8, 0.55, 0.5, 0.4])
PALETTE = np.array(
    [[200, 200, 200], [30, 30, 30], [240, 240, 240], [150, 20, 20], [20, 50, 140],
     [90, 90, 95], [20, 110, 60], [230, 190, 40], [130, 80, 40], [60, 130, 190]],
    dtype=np.uint8,
)


def sample_sizes(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    """(n, 3) length, width, height (m) of bodies of classes ``kind`` (n,): a variant of the class, then a
    truncated normal around it (inverse-CDF draws; 4 uniforms per vehicle)."""
    kind = np.asarray(kind, np.int64)
    u = rng.random((kind.size, 4))
    variant = np.empty(kind.size, np.int64)
    for k in range(len(CLASS_NAMES)):
        rows = np.flatnonzero(VARIANTS[:, 0] == k)
        cum = np.cumsum(VARIANTS[rows, 1]) / VARIANTS[rows, 1].sum()
        mine = kind == k
        variant[mine] = rows[np.minimum(np.searchsorted(cum, u[mine, 0], side="right"), rows.size - 1)]
    mean = VARIANTS[variant, 2:5]
    sd = SPREAD[kind]
    lo = np.stack([LENGTH[kind, 0], WIDTH[kind, 0], HEIGHT[kind, 0]], axis=1)
    hi = np.stack([LENGTH[kind, 1], WIDTH[kind, 1], HEIGHT[kind, 1]], axis=1)
    a, b = ndtr((lo - mean) / sd), ndtr((hi - mean) / sd)
    size = mean + sd * ndtri(a + u[:, 1:] * (b - a))
    return np.clip(size, lo, hi)


def sample_classes(rng: np.random.Generator, n: int, weights: tuple[float, ...]):
    """Draw ``n`` class ids and their sizes; returns (kind, length, width, height, colour (n,3) uint8)."""
    p = np.asarray(weights, dtype=float)
    kind = rng.choice(len(CLASS_NAMES), size=n, p=p / p.sum())
    size = sample_sizes(rng, kind)
    colour = PALETTE[rng.integers(0, len(PALETTE), size=n)]
    return kind.astype(np.int8), size[:, 0], size[:, 1], size[:, 2], colour
