"""Vehicle classes of traffic: size ranges (m), acceleration scale and sampling weights."""
from __future__ import annotations

import numpy as np

CLASS_NAMES = ("car", "suv", "van", "bus", "truck")
#: length range, width range, height range (m) per class, same order as CLASS_NAMES.
LENGTH = np.array([[3.7, 4.9], [4.3, 5.2], [4.8, 6.2], [10.0, 12.5], [7.0, 9.5]])
WIDTH = np.array([[1.65, 1.90], [1.80, 2.05], [1.90, 2.15], [2.45, 2.55], [2.35, 2.55]])
HEIGHT = np.array([[1.35, 1.55], [1.60, 1.85], [1.90, 2.60], [2.90, 3.30], [3.00, 3.80]])
#: multiplier on sampled comfortable acceleration (heavy vehicles accelerate slower).
ACCEL_SCALE = np.array([1.0, 0.95, 0.8, 0.55, 0.5])
PALETTE = np.array(
    [[200, 200, 200], [30, 30, 30], [240, 240, 240], [150, 20, 20], [20, 50, 140],
     [90, 90, 95], [20, 110, 60], [230, 190, 40], [130, 80, 40], [60, 130, 190]],
    dtype=np.uint8,
)


def sample_classes(rng: np.random.Generator, n: int, weights: tuple[float, ...]):
    """Draw ``n`` class ids and their sizes; returns (kind, length, width, height, colour (n,3) uint8)."""
    p = np.asarray(weights, dtype=float)
    kind = rng.choice(len(CLASS_NAMES), size=n, p=p / p.sum())
    u = rng.random((n, 3))
    length = LENGTH[kind, 0] + u[:, 0] * (LENGTH[kind, 1] - LENGTH[kind, 0])
    width = WIDTH[kind, 0] + u[:, 1] * (WIDTH[kind, 1] - WIDTH[kind, 0])
    height = HEIGHT[kind, 0] + u[:, 2] * (HEIGHT[kind, 1] - HEIGHT[kind, 0])
    colour = PALETTE[rng.integers(0, len(PALETTE), size=n)]
    return kind.astype(np.int8), length, width, height, colour
