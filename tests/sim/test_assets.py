"""sim.assets: road-surface texture, static world geometry (road uv, sidewalks), meshes."""
import time
from functools import lru_cache

import numpy as np
import pytest

from sim.assets import meshes, textures
from sim.assets.road import CURB_HEIGHT_M, SIDEWALK_WIDTH_M, STATIC_CLASSES, static_geometry
from sim.assets.textures import ASPHALT_RGB, TEXTURE_TILE_M, asphalt_texture
from sim.world import PROP_KINDS, SurfaceParams, WorldSpec, generate_world


@lru_cache(maxsize=None)
def world(seed: int):
    return generate_world(WorldSpec(), np.random.default_rng(seed))


@lru_cache(maxsize=None)
def geometry(seed: int):
    return static_geometry(world(seed))


def _luma(img):
    return img.astype(float) @ np.array([0.299, 0.587, 0.114])


# ------------------------------------------------------------------------- texture
def test_texture_deterministic_read_only_and_seed_dependent():
    sp = SurfaceParams(0.4, 0.3, 0.3, 11)
    textures._asphalt.cache_clear()
    t0 = time.perf_counter()
    a = asphalt_texture(sp)
    print(f"asphalt_texture 512x512 built in {1000 * (time.perf_counter() - t0):.0f} ms")
    textures._asphalt.cache_clear()
    b = asphalt_texture(SurfaceParams(0.4, 0.3, 0.3, 11))
    assert a.shape == (512, 512, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    with pytest.raises(ValueError):
        a[0, 0, 0] = 0
    c = asphalt_texture(SurfaceParams(0.4, 0.3, 0.3, 12))
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 3.0


def _seam_jump(img, axis):
    """Median |step| across the wrap (last row/column into the first) over the larger of the median
    steps just inside either edge: about 1 where the texture continues across its edge."""
    step = lambda a, b: np.median(np.abs(np.take(img, a, axis=axis) - np.take(img, b, axis=axis)))  # noqa: E731
    return step(-1, 0) / max(step(0, 1), step(-2, -1))


@pytest.mark.parametrize("seed", [3, 6])
@pytest.mark.parametrize("size", [512, 128])
def test_texture_tiles_seamlessly(size, seed):
    img = _luma(asphalt_texture(SurfaceParams(0.5, 0.5, 0.5, seed), size))
    for axis in (0, 1):
        assert _seam_jump(img, axis) < 1.5


def test_seam_check_sees_a_non_tiling_edge():
    img = _luma(asphalt_texture(SurfaceParams(0.5, 0.5, 0.5, 3)))
    cut = img[:-73, :-73]  # not a tile: its opposite edges do not meet
    assert min(_seam_jump(cut, 0), _seam_jump(cut, 1)) > 1.5


def test_texture_mean_near_the_flat_road_colour():
    for densities in [(0.0, 0.0, 0.0), (0.3, 0.2, 0.1), (1.0, 1.0, 1.0)]:
        mean = asphalt_texture(SurfaceParams(*densities, 5)).reshape(-1, 3).mean(axis=0)
        assert np.all(np.abs(mean - ASPHALT_RGB) < 3.0)


def test_cracks_seams_and_patches_follow_their_densities():
    def dark(crack, seam, patch):
        y = _luma(asphalt_texture(SurfaceParams(crack, seam, patch, 8)))
        return (y < 0.6 * y.mean()).mean()

    def blotchy(patch):  # spread of 32x32-pixel block means: patches change large areas' shade
        y = _luma(asphalt_texture(SurfaceParams(0.0, 0.0, patch, 8)))
        return y.reshape(16, 32, 16, 32).mean(axis=(1, 3)).std()

    assert dark(0.0, 0.0, 0.0) < 0.002
    assert dark(1.0, 0.0, 0.0) > dark(0.3, 0.0, 0.0) + 0.01 > 0.02
    assert dark(0.0, 1.0, 0.0) > 0.01
    assert blotchy(1.0) > 2.0 * blotchy(0.0)


# ------------------------------------------------------------------------- static geometry
def test_static_geometry_builds_with_road_uv_and_sidewalk_class():
    w = world(0)
    t0 = time.perf_counter()
    g = static_geometry(w)
    print(f"static_geometry of a {WorldSpec().road_length_m:.0f} m world: {time.perf_counter() - t0:.2f} s, "
          f"{sum(len(x.tris) for x in g.values())} triangles")
    assert STATIC_CLASSES[STATIC_CLASSES.index("curb") + 1] == "sidewalk"
    assert STATIC_CLASSES[-len(PROP_KINDS):] == PROP_KINDS
    assert set(g) <= set(STATIC_CLASSES)
    road = g["road"]
    assert road.uv.shape == (len(road.tris), 3, 2)
    np.testing.assert_allclose(road.uv, road.tris[..., :2] / TEXTURE_TILE_M)
    assert all(x.uv is None for name, x in g.items() if name != "road")


def _sidewalk_tops(seed):
    t = geometry(seed)["sidewalk"].tris
    return t[np.all(np.isclose(t[:, :, 2], CURB_HEIGHT_M), axis=1)]


def _sample(tris, k, rng):
    u = rng.random((len(tris), k, 2))
    flip = u.sum(axis=2) > 1
    u[flip] = 1 - u[flip]
    a = tris[:, None, 0, :2]
    return (a + u[..., :1] * (tris[:, None, 1, :2] - a) + u[..., 1:] * (tris[:, None, 2, :2] - a)).reshape(-1, 2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sidewalks_beside_curbs_never_on_lanes(seed):
    w, tops = world(seed), _sidewalk_tops(seed)
    pts = _sample(tops, 30, np.random.default_rng(seed))
    assert not (w.lanes.lanes_within(pts, 0.0) | w.lanes.in_areas(pts)).any()
    curb_len = sum(np.hypot(*np.diff(c, axis=0).T).sum() for c in w.curbs)
    area = 0.5 * np.linalg.norm(np.cross(tops[:, 1] - tops[:, 0], tops[:, 2] - tops[:, 0]), axis=1).sum()
    assert area > 0.7 * SIDEWALK_WIDTH_M * curb_len
    from scipy.spatial import cKDTree
    curb_pts = np.concatenate(w.curbs)
    near_curb = cKDTree(curb_pts).query(pts)[0]
    assert near_curb.max() < SIDEWALK_WIDTH_M + 0.5


def test_sidewalks_leave_room_for_parked_cars():
    w, tops = world(0), _sidewalk_tops(0)
    parked = (w.props.kind == PROP_KINDS.index("parked_car")) & ~w.props.on_lane
    assert parked.any()
    pts = _sample(tops, 30, np.random.default_rng(0))
    for c in w.props.corners()[parked]:
        e, r = np.roll(c, -1, axis=0) - c, pts[:, None] - c
        cross = e[:, 0] * r[..., 1] - e[:, 1] * r[..., 0]
        assert not (np.all(cross >= 0, axis=1) | np.all(cross <= 0, axis=1)).any()


# ------------------------------------------------------------------------- meshes
def test_pedestrians_small_upright_and_varied():
    colours = set()
    for v in range(meshes.PEDESTRIAN_VARIANTS):
        m = meshes.pedestrian_mesh(v)
        assert len(m.faces) < 300 and m.is_watertight
        lo, hi = m.bounds
        assert lo[2] == pytest.approx(0.0) and hi[2] == pytest.approx(meshes.PEDESTRIAN_HEIGHT_M)
        assert np.allclose(lo[:2], -hi[:2]) and hi[0] < 0.25 and 0.2 < hi[1] < 0.4
        colours.add(tuple(map(tuple, np.unique(m.visual.face_colors, axis=0))))
    assert len(colours) == meshes.PEDESTRIAN_VARIANTS
    assert meshes.pedestrian_mesh(meshes.PEDESTRIAN_VARIANTS + 2) is meshes.pedestrian_mesh(2)


def test_cyclist_has_two_wheels_and_a_rider():
    m = meshes.cyclist_mesh()
    lo, hi = m.bounds
    assert 1.5 < hi[0] - lo[0] < 2.0 and hi[1] - lo[1] < 0.8 and 1.5 < hi[2] < 1.9 and lo[2] == pytest.approx(0.0)
    tyre = np.all(m.visual.face_colors == meshes.PART_COLOURS["tyre"], axis=1)
    wheel_x = m.triangles_center[tyre, 0]
    assert wheel_x.min() < lo[0] + 0.1 and wheel_x.max() > hi[0] - 0.1  # wheels at both ends
    assert np.any(np.all(m.visual.face_colors == meshes.PART_COLOURS["paint"], axis=1))


def test_tractor_and_trailer_couple_at_the_hitch():
    tractor, trailer = meshes.tractor_mesh(), meshes.trailer_mesh()
    np.testing.assert_allclose(tractor.extents, meshes.TRACTOR_SIZE, atol=1e-9)
    np.testing.assert_allclose(trailer.extents, meshes.TRAILER_SIZE, atol=1e-9)
    np.testing.assert_allclose(tractor.bounds.mean(axis=0)[:2], 0.0, atol=1e-9)
    np.testing.assert_allclose(trailer.bounds.mean(axis=0)[:2], 0.0, atol=1e-9)
    hitch, kingpin = np.array(meshes.TRACTOR_HITCH), np.array(meshes.TRAILER_KINGPIN)
    # The fifth wheel's top is the tractor's highest point around the hitch; the trailer bed sits on it.
    near = np.hypot(*(tractor.vertices[:, :2] - hitch[:2]).T) < 0.6
    assert tractor.vertices[near, 2].max() == pytest.approx(hitch[2])
    bed = (np.hypot(*(trailer.vertices[:, :2] - kingpin[:2]).T) < 1.0) & (trailer.vertices[:, 2] >= kingpin[2] - 1e-9)
    assert trailer.vertices[bed, 2].min() == pytest.approx(kingpin[2])
    # Coupled straight, the trailer's front stays behind the cab and above the tractor's chassis.
    coupled = trailer.vertices + (hitch - kingpin)
    cab = tractor.vertices[tractor.vertices[:, 2] > kingpin[2] + 0.1]
    assert coupled[:, 0].max() < cab[:, 0].min()
    over = coupled[:, 0] > tractor.bounds[0, 0]
    assert coupled[over & (coupled[:, 2] > 1.0), 2].min() >= hitch[2] - 0.1 - 1e-9


def test_every_prop_kind_has_a_mesh_barrier_shaped_like_a_jersey_barrier():
    for kind in PROP_KINDS:
        mesh, built = meshes.prop_mesh(kind)
        assert len(mesh.faces) > 0
        np.testing.assert_allclose(mesh.extents, built, rtol=0.05)
    barrier = meshes.barrier_mesh()
    v = barrier.vertices
    assert np.ptp(v[v[:, 2] < 0.05, 1]) == pytest.approx(1.0) and np.ptp(v[v[:, 2] > 0.95, 1]) < 0.3
