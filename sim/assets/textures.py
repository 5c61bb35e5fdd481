"""Procedural road-surface texture: asphalt grain, cracks, tar seams and repair patches.

The texture is one tile of TEXTURE_TILE_M x TEXTURE_TILE_M m of road, repeated (GL_REPEAT): every layer
is periodic over the tile, so opposite edges continue each other. Perlin layers (``noise.pnoise2`` with
``repeatx``/``repeaty``) are evaluated on a coarse periodic grid and upsampled exactly periodically (FFT).
"""
from __future__ import annotations

from functools import lru_cache

import noise
import numpy as np

from sim.world import SurfaceParams

TEXTURE_TILE_M = 20.0
"""Metres of road one texture tile covers (road uv = world xy / TEXTURE_TILE_M)."""
ASPHALT_RGB = (75, 75, 78)
"""sRGB mean colour of the texture (the flat road colour)."""
MAX_PATCHES, MAX_SEAMS = 8, 6
"""Repair patches and tar seams per tile at density 1."""


def asphalt_texture(surface: SurfaceParams, size: int = 512) -> np.ndarray:
    """(size, size, 3) uint8 sRGB tileable asphalt for `surface` (same parameters: same texture);
    read-only and cached, rows are v and columns u of one tile."""
    return _asphalt(float(surface.crack_density), float(surface.tar_seam_density), float(surface.patch_density),
                    int(surface.seed), int(size))


@lru_cache(maxsize=16)
def _asphalt(crack: float, seam: float, patch: float, seed: int, size: int) -> np.ndarray:
    if size < 16:
        raise ValueError(f"asphalt_texture: size must be >= 16, got {size}")
    rng = np.random.default_rng(seed)
    base = int(rng.integers(256))
    lum = 1.0 + 0.35 * _perlin(rng, base, 3, 64, 4, size) + 0.12 * _perlin(rng, base, 32, 128, 2, size)
    grain = rng.random((size, size))
    lum += 0.06 * _blur(rng.standard_normal((size, size))) + 0.22 * (grain > 0.985) - 0.18 * (grain < 0.01)
    lum = _patches(lum, rng, base, patch, size)
    lum = _cracks(lum, rng, base, crack, size)
    lum = _seams(lum, rng, base, seam, size)
    tint = 1.0 + 0.02 * _perlin(rng, base, 8, 64, 2, size)[..., None] * np.array([1.0, 0.2, -1.0])
    rgb = lum[..., None] * tint
    rgb *= np.asarray(ASPHALT_RGB, float) / rgb.reshape(-1, 3).mean(axis=0)
    out = np.clip(np.round(rgb), 0, 255).astype(np.uint8)
    out.flags.writeable = False
    return out


def _perlin(rng, base: int, freq: int, n: int, octaves: int, size: int) -> np.ndarray:
    """(size, size) periodic Perlin noise with `freq` cells per tile, evaluated on an (n, n) grid."""
    n = min(n, size)
    ox, oy = rng.uniform(0.0, freq, 2)
    t = np.arange(n) * (freq / n)
    grid = np.array([[noise.pnoise2(x + ox, y + oy, octaves=octaves, repeatx=freq, repeaty=freq, base=base)
                      for x in t] for y in t])
    return _upsample(grid, size)


def _upsample(grid: np.ndarray, size: int) -> np.ndarray:
    """Band-limited periodic resampling of a square (n, n) grid to (size, size)."""
    n = len(grid)
    if n == size:
        return grid
    spec = np.fft.rfft2(grid)
    out = np.zeros((size, size // 2 + 1), complex)
    h = (n + 1) // 2
    out[:h, :h] = spec[:h, :h]
    out[size - (n - h):, :h] = spec[h:, :h]
    return np.fft.irfft2(out, s=(size, size)) * (size / n) ** 2


def _blur(a: np.ndarray) -> np.ndarray:
    """Periodic 3x3 box-ish blur."""
    return 0.5 * a + 0.125 * (np.roll(a, 1, 0) + np.roll(a, -1, 0) + np.roll(a, 1, 1) + np.roll(a, -1, 1))


def _wrap(d: np.ndarray) -> np.ndarray:
    """Periodic difference in tile units, in [-0.5, 0.5)."""
    return (d + 0.5) % 1.0 - 0.5


def _line(field: np.ndarray, half_px) -> np.ndarray:
    """Anti-aliased coverage (0..1) of the zero contour of a smooth field, `half_px` px half width."""
    gy = 0.5 * (np.roll(field, -1, 0) - np.roll(field, 1, 0))
    gx = 0.5 * (np.roll(field, -1, 1) - np.roll(field, 1, 1))
    dist = np.abs(field) / np.maximum(np.hypot(gx, gy), 1e-9)
    return np.clip(half_px + 0.5 - dist, 0.0, 1.0)


def _patches(lum, rng, base, density, size):
    """Rectangular repairs of another shade and finer grain, with crisp noisy edges and a dark seal."""
    count = int(round(MAX_PATCHES * density))
    if count == 0:
        return lum
    t = np.arange(size) / size
    edge = _perlin(rng, base + 1, 16, 128, 2, size)
    for _ in range(count):
        cx, cy = rng.random(2)
        hx, hy = rng.uniform(0.05, 0.18, 2)
        metric = np.maximum(np.abs(_wrap(t[None, :] - cx)) / hx, np.abs(_wrap(t[:, None] - cy)) / hy)
        px = (metric - 1.0 + 0.05 * edge) * size * min(hx, hy)  # signed distance to the edge, ~px
        inside = np.clip(0.5 - px, 0.0, 1.0)
        shade = rng.choice([0.78, 1.18]) * rng.uniform(0.95, 1.05)
        lum = lum * (1.0 - inside) + shade * (1.0 + 0.5 * (lum - lum.mean())) * inside
        lum = lum * (1.0 - 0.3 * np.exp(-(px / 1.2) ** 2))
    return lum


def _cracks(lum, rng, base, density, size):
    """Thin dark branching cracks: zero contours of two warped Perlin fields (their crossings branch),
    inside regions that cover a `density` share of the tile, widening towards the regions' cores."""
    if density <= 0.0:
        return lum
    region = _perlin(rng, base + 2, 2, 64, 2, size)
    amount = np.clip((region - np.quantile(region, 1.0 - min(1.0, density))) / 0.06, 0.0, 1.0)
    warp = _perlin(rng, base + 3, 40, 192, 1, size)
    lines = np.zeros_like(lum)
    for freq, width in ((4, 1.0), (9, 0.6)):
        field = _perlin(rng, base + 4 + freq, freq, 128, 2, size) + 0.05 * warp
        lines = np.maximum(lines, _line(field, width * amount * size / 512))
    return lum * (1.0 - 0.6 * lines * (amount > 0))


def _seams(lum, rng, base, density, size):
    """Long sealed strips along u or v: dark, smooth (no grain) with a faint glossy centre line."""
    count = int(round(MAX_SEAMS * density))
    t = np.arange(size) / size
    for _ in range(count):
        across, o1, o2 = rng.random(3) * [1.0, 8.0, 4.0]
        path = across + 0.01 * np.array([noise.pnoise1(x * 8 + o1, octaves=3, repeat=8, base=base) for x in t])
        shown = np.clip(8.0 * np.array([noise.pnoise1(x * 4 + o2, repeat=4, base=base + 1) for x in t]) + 1.0, 0, 1)
        half = rng.uniform(1.5, 3.0) * size / 512
        dist = np.abs(_wrap(t[:, None] - path[None, :])) * size  # rows across, columns along
        cover = np.clip(half + 0.5 - dist, 0.0, 1.0) * shown[None, :]
        seal = 0.5 + 0.12 * np.exp(-(dist / (0.4 * half)) ** 2)
        if rng.random() < 0.5:
            cover, seal = cover.T, seal.T
        lum = lum * (1.0 - cover) + seal * cover
    return lum
