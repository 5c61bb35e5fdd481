"""Oriented-box collision between actors (separating axis test), numpy only, vectorised.

A box is ``(x, y, heading, length, width)``: centre (m), heading of its length axis (rad) and
full side lengths (m). Touching boxes (zero gap) count as overlapping.
"""

from __future__ import annotations

import numpy as np

_BOX_FIELDS = ("x", "y", "heading", "length", "width")


def _boxes(name: str, box) -> list[np.ndarray]:
    """The five arrays of a box tuple as float64 (N,) arrays; ValueError naming ``name``."""
    if len(box) != 5:
        raise ValueError(f"{name} must be (x, y, heading, length, width), got {len(box)} arrays")
    arrays = [np.asarray(v, dtype=np.float64) for v in box]
    shape = arrays[0].shape
    for field, arr in zip(_BOX_FIELDS, arrays):
        if arr.ndim != 1 or arr.shape != shape:
            raise ValueError(f"{name}.{field} must have shape (N,) like {name}.x {shape}, got {arr.shape}")
    if not np.isfinite(sum(arrays)).all():
        bad = next(f for f, a in zip(_BOX_FIELDS, arrays) if not np.isfinite(a).all())
        raise ValueError(f"{name}.{bad} must be finite")
    return arrays


def box_corners(x, y, heading, length, width) -> np.ndarray:
    """Corners of N boxes, shape (N, 4, 2), counter-clockwise from front-left."""
    x, y, heading, length, width = _boxes("box", (x, y, heading, length, width))
    c, s = np.cos(heading), np.sin(heading)
    local = np.array([[0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]])
    lx = local[None, :, 0] * length[:, None]
    ly = local[None, :, 1] * width[:, None]
    return np.stack([x[:, None] + c[:, None] * lx - s[:, None] * ly,
                     y[:, None] + s[:, None] * lx + c[:, None] * ly], axis=-1)


def _sat(ax, ay, ah, al, aw, bx, by, bh, bl, bw) -> np.ndarray:
    """Separating axis test on broadcastable arrays; True where the boxes overlap or touch."""
    ca, sa, cb, sb = np.cos(ah), np.sin(ah), np.cos(bh), np.sin(bh)
    dx, dy = bx - ax, by - ay
    # |cos| and |sin| of the relative heading give the other box's half extent on each axis.
    cos_rel = np.abs(ca * cb + sa * sb)
    sin_rel = np.abs(ca * sb - sa * cb)
    hal, haw, hbl, hbw = 0.5 * al, 0.5 * aw, 0.5 * bl, 0.5 * bw
    return ((np.abs(dx * ca + dy * sa) <= hal + hbl * cos_rel + hbw * sin_rel)
            & (np.abs(dy * ca - dx * sa) <= haw + hbl * sin_rel + hbw * cos_rel)
            & (np.abs(dx * cb + dy * sb) <= hbl + hal * cos_rel + haw * sin_rel)
            & (np.abs(dy * cb - dx * sb) <= hbw + hal * sin_rel + haw * cos_rel))


def boxes_overlap(a, b) -> np.ndarray:
    """(N, M) bool: box ``a[i]`` overlaps box ``b[j]``; ``a`` and ``b`` are (x, y, heading, length,
    width) tuples of (N,) and (M,) arrays."""
    a = _boxes("a", a)
    b = _boxes("b", b)
    return _sat(*(v[:, None] for v in a), *(v[None, :] for v in b))


def pairwise_overlap(x, y, heading, length, width, valid) -> np.ndarray:
    """(N, N) bool overlap between N boxes: symmetric, False on the diagonal and on every row
    and column of an actor whose ``valid`` (N,) bool is False.

    Pairs whose bounding circles are apart are skipped before the separating axis test.
    """
    box = _boxes("box", (x, y, heading, length, width))
    valid = np.asarray(valid)
    n = box[0].shape[0]
    if valid.shape != (n,) or valid.dtype != np.bool_:
        raise ValueError(f"valid must be a bool array of shape ({n},), got {valid.dtype} {valid.shape}")
    x, y, heading, length, width = box
    radius = 0.5 * np.hypot(length, width)
    i, j = np.triu_indices(n, k=1)
    near = (valid[i] & valid[j]) & ((x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2 <= (radius[i] + radius[j]) ** 2)
    i, j = i[near], j[near]
    hit = _sat(x[i], y[i], heading[i], length[i], width[i], x[j], y[j], heading[j], length[j], width[j])
    out = np.zeros((n, n), dtype=bool)
    out[i[hit], j[hit]] = True
    out[j[hit], i[hit]] = True
    return out
