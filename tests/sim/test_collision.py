"""Oriented-box overlap (separating axis test)."""

import math

import numpy as np
import pytest

from sim.physics import box_corners, boxes_overlap, pairwise_overlap


def box(x, y, heading, length=4.0, width=2.0):
    return (np.array([x], float), np.array([y], float), np.array([heading], float),
            np.array([length], float), np.array([width], float))


def overlap(a, b):
    return bool(boxes_overlap(a, b)[0, 0])


def test_box_corners():
    corners = box_corners(*box(1.0, 2.0, math.pi / 2))
    np.testing.assert_allclose(corners[0], [[0.0, 4.0], [0.0, 0.0], [2.0, 0.0], [2.0, 4.0]], atol=1e-12)


def test_overlapping_touching_and_separated():
    a = box(0.0, 0.0, 0.0)
    assert overlap(a, box(3.0, 0.5, 0.0))
    assert overlap(a, box(4.0, 0.0, 0.0))  # touching end to end counts
    assert overlap(a, box(0.0, 2.0, 0.0))  # touching side to side counts
    assert not overlap(a, box(4.001, 0.0, 0.0))
    assert not overlap(a, box(0.0, 2.001, 0.0))


def test_rotated_boxes():
    a = box(0.0, 0.0, 0.0)
    # A box turned 90 degrees: its half length 2 now lies along y.
    assert overlap(a, box(0.0, 2.9, math.pi / 2))
    assert not overlap(a, box(0.0, 3.1, math.pi / 2))
    # Corner of a 45-degree square pointing at the side of a: corner at x = 2 + 0.9 + 0.05 ... apart.
    half_diag = math.sqrt(2.0)
    assert not overlap(a, box(2.0 + half_diag + 0.05, 0.0, math.pi / 4, 2.0, 2.0))
    assert overlap(a, box(2.0 + half_diag - 0.05, 0.0, math.pi / 4, 2.0, 2.0))


def test_bounding_boxes_overlap_but_rotated_boxes_do_not():
    # Two long thin boxes at 45 degrees, side by side along their common normal: their
    # axis-aligned bounding boxes overlap widely but the boxes are 1 m apart.
    h = math.pi / 4
    normal = np.array([-math.sin(h), math.cos(h)])
    a = box(0.0, 0.0, h, 10.0, 1.0)
    b = box(*(2.0 * normal), h, 10.0, 1.0)
    ca, cb = box_corners(*a)[0], box_corners(*b)[0]
    assert (ca.min(0) < cb.max(0)).all() and (cb.min(0) < ca.max(0)).all()
    assert not overlap(a, b)
    assert overlap(a, box(*(0.9 * normal), h, 10.0, 1.0))


def test_boxes_overlap_shape_and_symmetry():
    rng = np.random.default_rng(0)
    n, m = 7, 5
    a = (rng.uniform(-5, 5, n), rng.uniform(-5, 5, n), rng.uniform(-3, 3, n), rng.uniform(1, 5, n), rng.uniform(1, 2, n))
    b = (rng.uniform(-5, 5, m), rng.uniform(-5, 5, m), rng.uniform(-3, 3, m), rng.uniform(1, 5, m), rng.uniform(1, 2, m))
    ab = boxes_overlap(a, b)
    assert ab.shape == (n, m) and ab.dtype == bool
    np.testing.assert_array_equal(ab, boxes_overlap(b, a).T)
    for i in range(n):
        for j in range(m):
            assert ab[i, j] == boxes_overlap(tuple(v[[i]] for v in a), tuple(v[[j]] for v in b))[0, 0]


def test_pairwise_overlap():
    rng = np.random.default_rng(1)
    n = 40
    x, y = rng.uniform(0, 30, n), rng.uniform(0, 30, n)
    heading, length, width = rng.uniform(-3, 3, n), rng.uniform(2, 8, n), rng.uniform(1, 2.5, n)
    valid = rng.random(n) > 0.2
    out = pairwise_overlap(x, y, heading, length, width, valid)
    dense = boxes_overlap((x, y, heading, length, width), (x, y, heading, length, width))
    expected = dense & valid[:, None] & valid[None, :] & ~np.eye(n, dtype=bool)
    assert expected.any()
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(out, out.T)
    assert not out.diagonal().any()
    assert not out[~valid].any() and not out[:, ~valid].any()


def test_bad_inputs_raise_naming_the_input():
    good = box(0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match=r"b\.heading must be finite"):
        boxes_overlap(good, box(0.0, 0.0, np.nan))
    with pytest.raises(ValueError, match=r"a\.width must have shape"):
        boxes_overlap(good[:4] + (np.ones(2),), good)
    with pytest.raises(ValueError, match="valid must be a bool array"):
        pairwise_overlap(*good, np.ones(1))
