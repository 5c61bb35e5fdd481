"""Contacts with props and curbs, and rays, through pybullet."""

import math

import numpy as np
import pytest

from sim.physics import ContactResult, ContactWorld

CAR = dict(length=4.0, width=2.0)


@pytest.fixture
def world():
    # Prop 0: 1 m cube at (10, 0); prop 1: 2 x 1 x 1 box at (10, 5) turned 90 deg; prop 2: round
    # post of diameter 0.4 at (-10, 0). Curb: along y = 20 from x = -50 to 50, and an L shape.
    w = ContactWorld(
        props_xy=[[10.0, 0.0], [10.0, 5.0], [-10.0, 0.0]],
        props_heading=[0.0, math.pi / 2, 0.0],
        props_size=[[1.0, 1.0, 1.0], [2.0, 1.0, 1.0], [0.4, 0.4, 1.2]],
        curbs=[np.array([[-50.0, 20.0], [50.0, 20.0]]), np.array([[100.0, 0.0], [100.0, 30.0], [130.0, 30.0]])],
        props_round=np.array([False, False, True]),
    )
    yield w
    w.close()


def test_box_overlapping_prop_reports_it(world):
    assert world.query_box(8.0, 0.0, 0.0, **CAR) == ContactResult((0,), False)
    assert world.query_box(7.5, 0.0, 0.0, **CAR) == ContactResult((0,), False)  # touching face
    # Prop 1 is 1 m along x after its turn: a car ending at x = 9.4 misses it, at 9.6 hits it.
    assert world.query_box(7.4, 5.0, 0.0, **CAR).prop_ids == ()
    assert world.query_box(7.6, 5.0, 0.0, **CAR).prop_ids == (1,)
    assert world.query_box(-10.0, 1.15, 0.0, **CAR).prop_ids == (2,)
    assert world.query_box(-10.0, 1.25, 0.0, **CAR).prop_ids == ()


def test_box_over_two_props_reports_both_sorted(world):
    assert world.query_box(10.0, 2.5, math.pi / 2, length=8.0, width=2.0).prop_ids == (0, 1)


def test_box_far_away_reports_nothing(world):
    assert world.query_box(500.0, 500.0, 0.3, **CAR) == ContactResult((), False)
    assert world.query_box(0.0, 10.0, 0.3, **CAR) == ContactResult((), False)


def test_box_straddling_curb(world):
    assert world.query_box(0.0, 20.0, 0.0, **CAR).curb
    assert world.query_box(0.0, 20.0, math.pi / 2, **CAR).curb
    assert not world.query_box(0.0, 18.5, 0.0, **CAR).curb  # box edge at 19.5, curb face at 19.85
    assert world.query_box(100.0, 15.0, 0.0, **CAR).curb  # second polyline, first segment
    assert world.query_box(120.0, 30.0, 0.5, **CAR).curb  # second segment


def test_raycast_fractions_and_kinds(world):
    origins = np.array([[0.0, 0.0, 0.5], [0.0, 0.0, 0.5], [0.0, 10.0, 0.1], [0.0, 0.0, 0.5]])
    ends = np.array([[20.0, 0.0, 0.5], [0.0, -20.0, 0.5], [0.0, 30.0, 0.1], [-20.0, 0.0, 0.5]])
    fraction, kind = world.raycast(origins, ends)
    # Prop 0 face at x = 9.5 -> 9.5 / 20; curb face at y = 19.85 -> 9.85 / 20; post at x = -9.8.
    np.testing.assert_allclose(fraction, [9.5 / 20, 1.0, 9.85 / 20, 9.8 / 20], atol=1e-3)
    np.testing.assert_array_equal(kind, [0, -1, 3, 2])
    assert kind.dtype == np.int64 and fraction.dtype == np.float64


def test_raycast_many_rays_over_batch_limit(world):
    m = 20000
    origins = np.tile([0.0, 0.0, 0.5], (m, 1))
    ends = np.tile([20.0, 0.0, 0.5], (m, 1))
    fraction, kind = world.raycast(origins, ends)
    assert (kind == 0).all()
    np.testing.assert_allclose(fraction, 9.5 / 20, atol=1e-3)


def test_close_twice_and_closed_use():
    w = ContactWorld(np.zeros((0, 2)), np.zeros(0), np.zeros((0, 3)), curbs=[])
    assert w.query_box(0.0, 0.0, 0.0, **CAR) == ContactResult((), False)
    w.close()
    w.close()
    with pytest.raises(RuntimeError, match="closed"):
        w.query_box(0.0, 0.0, 0.0, **CAR)
    with ContactWorld(np.zeros((0, 2)), np.zeros(0), np.zeros((0, 3)), curbs=[]) as w2:
        assert w2.raycast(np.zeros((1, 3)), np.ones((1, 3)))[1][0] == -1


def test_bad_inputs_raise_naming_the_input():
    with pytest.raises(ValueError, match="props_size must have shape"):
        ContactWorld([[0.0, 0.0]], [0.0], [[1.0, 1.0]], curbs=[])
    with pytest.raises(ValueError, match=r"curbs\[0\] needs at least 2 points"):
        ContactWorld(np.zeros((0, 2)), np.zeros(0), np.zeros((0, 3)), curbs=[np.zeros((1, 2))])
    with pytest.raises(ValueError, match="props_xy must be finite"):
        ContactWorld([[np.nan, 0.0]], [0.0], [[1.0, 1.0, 1.0]], curbs=[])


def _generated_world_args(seed=0):
    from sim.world import WorldSpec, generate_world
    w = generate_world(WorldSpec(road_length_m=800.0), np.random.default_rng(seed))
    return w, (w.props.xy, w.props.heading, w.props.size, w.curbs)


def test_lazy_tiles_give_the_same_answers_as_a_full_build():
    # Tiles are built on first use; a world with every tile built up front must answer alike.
    w, args = _generated_world_args()
    lo, hi = np.array(w.bounds[:2]), np.array(w.bounds[2:])
    with ContactWorld(*args) as lazy, ContactWorld(*args) as full:
        assert lazy._pending and not lazy._kind.size  # nothing built by the constructor
        full.query_box(*(0.5 * (lo + hi)), 0.0, *(hi - lo + 10.0))
        assert not full._pending
        rng = np.random.default_rng(1)
        curb_pts = np.concatenate(w.curbs)
        pts = np.concatenate([curb_pts[rng.integers(len(curb_pts), size=150)], w.props.xy])
        pts = pts + rng.normal(0.0, 1.5, pts.shape)
        for x, y in pts:
            h, length, width = rng.uniform(-3, 3), rng.uniform(1, 6), rng.uniform(1, 2.5)
            assert lazy.query_box(x, y, h, length, width) == full.query_box(x, y, h, length, width)
        assert lazy._pending  # far tiles stay unbuilt
        # Long rays from one spot reach tiles no box query has touched.
        origins = np.tile([*pts[0], 0.5], (200, 1))
        angle = np.linspace(0, 2 * np.pi, 200, endpoint=False)
        ends = origins + 300.0 * np.column_stack([np.cos(angle), np.sin(angle), np.zeros(200)])
        fl, kl = lazy.raycast(origins, ends)
        ff, kf = full.raycast(origins, ends)
        np.testing.assert_array_equal(kl, kf)
        np.testing.assert_allclose(fl, ff, atol=1e-9)


def test_ray_into_untouched_tile_hits_its_curb():
    # Regression: with lazy tiles a ray must build the far tiles it crosses before casting.
    with ContactWorld(np.zeros((0, 2)), np.zeros(0), np.zeros((0, 3)),
                      curbs=[np.array([[500.0, -50.0], [500.0, 50.0]])]) as w:
        fraction, kind = w.raycast(np.array([[0.0, 0.0, 0.1]]), np.array([[1000.0, 0.0, 0.1]]))
        assert kind[0] == 0
        np.testing.assert_allclose(fraction[0], 499.85 / 1000.0, atol=1e-6)


def test_closed_world_leaves_nothing_behind_for_the_next():
    # Clients are pooled and reused after close; the next world must start empty.
    with ContactWorld([[0.0, 0.0]], [0.0], [[2.0, 2.0, 1.0]], curbs=[np.array([[-9.0, 3.0], [9.0, 3.0]])]) as w:
        assert w.query_box(0.0, 0.0, 0.0, **CAR) == ContactResult((0,), False)
        assert w.query_box(0.0, 3.0, 0.0, **CAR).curb
    with ContactWorld(np.zeros((0, 2)), np.zeros(0), np.zeros((0, 3)), curbs=[]) as w2:
        assert w2.query_box(0.0, 0.0, 0.0, **CAR) == ContactResult((), False)
        assert w2.query_box(0.0, 3.0, 0.0, **CAR) == ContactResult((), False)
        assert w2.raycast(np.array([[-5.0, 0.0, 0.5]]), np.array([[5.0, 0.0, 0.5]]))[1][0] == -1


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS:"))


def test_rebuilding_worlds_does_not_leak_memory():
    """Regression: curbs as pybullet triangle meshes were never freed (~8 MB per world, soak +20%)."""
    from sim.world import WorldSpec, generate_world

    world = generate_world(WorldSpec(), np.random.default_rng(0))
    p = world.props

    def build_all():
        cw = ContactWorld(p.xy, p.heading, p.size, world.curbs)
        cw.raycast(np.array([[-1e4, -1e4, 0.05]]), np.array([[1e4, 1e4, 0.05]]))
        cw._ensure_box(-1e5, -1e5, 1e5, 1e5)
        cw.close()

    for _ in range(5):
        build_all()
    before = _rss_mb()
    for _ in range(30):
        build_all()
    assert _rss_mb() - before < 40.0
