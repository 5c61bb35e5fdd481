"""Photon-transfer sensor model: irradiance -> electrons -> 12-bit DN -> 8-bit display values.

Per pixel and channel (float32, vectorised over the frame):

    mean_e = irradiance * sensitivity * exposure_s / f_number^2 * vignetting * (1 + PRNU)
             + dark_current_e_per_s * exposure_s + DSNU                         [electrons]
    e      = shot noise (Poisson(mean_e), or its Gaussian approximation) + read noise N(0, read_noise_e^2)
    e      = min(e, full_well_e)                                               [well saturation]
    DN     = clip(round(black_level + e * conversion_gain), 0, 2^bits - 1)    [ADC]
    out    = round(255 * clip((DN - black_level) / (2^bits - 1 - black_level), 0, 1)^(1/gamma))

``conversion_gain = gain * (2^bits - 1 - black_level) / full_well_e`` DN/e-, so at gain 1 the full
well meets ADC full scale. PRNU (fraction) and DSNU (electrons) are a fixed pattern of the physical
sensor, drawn once from ``spec.serial`` (its own ``Generator``, not the episode's); all temporal
noise comes from the ``np.random.Generator`` passed in (directly, or through one key of a compiled
counter-based stream: :data:`BACKENDS`). Irradiance is the renderer's linear RGB in
arbitrary radiometric units (``spec.sensitivity`` says how many electrons per second one unit makes
at f/1).
"""
from __future__ import annotations

import functools

import numpy as np

from sim.sensors.camera import CameraSpec, K, pixel_rays
from sim.sensors.noise import photon_transfer

BACKENDS = ("numba", "numpy")
"""how :func:`expose` draws the temporal noise (see there)"""


@functools.lru_cache(maxsize=64)
def _fixed_pattern(serial: int, height: int, width: int, channels: int, prnu: float, dsnu_e: float):
    rng = np.random.default_rng(np.random.SeedSequence([int(serial), 0x5E7507]))
    shape = (height, width, channels)
    gain = (1.0 + prnu * rng.standard_normal(shape, dtype=np.float32)).clip(0.0, None)
    offset = (dsnu_e * rng.standard_normal(shape, dtype=np.float32))
    gain.flags.writeable = False
    offset.flags.writeable = False
    return gain, offset


def fixed_pattern(spec: CameraSpec, channels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """``(prnu_gain, dsnu_e)``, each (height, width, channels) float32: per-pixel response factor
    (mean 1, std ``spec.prnu``) and dark offset (electrons, std ``spec.dsnu_e``). Depends only on the
    serial number, size and the two spreads; cached and read-only."""
    return _fixed_pattern(spec.serial, spec.height, spec.width, channels, spec.prnu, spec.dsnu_e)


@functools.lru_cache(maxsize=64)
def _vignetting(spec: CameraSpec) -> np.ndarray:
    if spec.vignetting == "none":
        v = np.ones((spec.height, spec.width))
    elif spec.vignetting == "cos4":
        v = pixel_rays(spec)[..., 2].clip(0.0, None) ** 4  # rays are unit: z = cos(angle to axis)
    else:
        k = K(spec)
        vv, uu = np.mgrid[0:spec.height, 0:spec.width].astype(np.float64)
        half_diag = np.hypot(spec.width, spec.height) / 2
        r2 = ((uu - k[0, 2]) ** 2 + (vv - k[1, 2]) ** 2) / half_diag ** 2
        v = np.ones_like(r2)
        for i, a in enumerate(spec.vignetting_coeffs, start=1):
            v += a * r2 ** i
        v = v.clip(0.0, None)
    out = v.astype(np.float32)[..., None]
    out.flags.writeable = False
    return out


def vignetting(spec: CameraSpec) -> np.ndarray:
    """Relative illumination (height, width, 1) float32, 1 on axis (cached, read-only)."""
    return _vignetting(spec)


@functools.lru_cache(maxsize=64)
def _electron_maps(spec: CameraSpec, channels: int):
    prnu_gain, dsnu = fixed_pattern(spec, channels)
    scale = (spec.sensitivity * spec.exposure_s / spec.f_number ** 2) * vignetting(spec) * prnu_gain
    offset = (spec.dark_current_e_per_s * spec.exposure_s + dsnu).clip(0.0, None)
    scale, offset = scale.astype(np.float32), offset.astype(np.float32)
    scale.flags.writeable = False
    offset.flags.writeable = False
    return scale, offset


def _irradiance(spec: CameraSpec, irradiance: np.ndarray) -> np.ndarray:
    irr = np.asarray(irradiance, dtype=np.float32)
    if irr.ndim == 2:
        irr = irr[..., None]
    if irr.shape[:2] != (spec.height, spec.width):
        raise ValueError(f"irradiance is {irr.shape[:2]}, the camera is {(spec.height, spec.width)} (H, W)")
    return irr


def mean_electrons(spec: CameraSpec, irradiance: np.ndarray) -> np.ndarray:
    """Noise-free expected electrons (H, W, C) float32 for linear irradiance (H, W) or (H, W, C)."""
    irr = _irradiance(spec, irradiance)
    scale, offset = _electron_maps(spec, irr.shape[2])
    mean = irr * scale
    mean += offset
    return mean


def _expose_numpy(spec: CameraSpec, irradiance: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    mean = mean_electrons(spec, irradiance)
    np.maximum(mean, 0.0, out=mean)
    if spec.shot_noise == "poisson":
        e = rng.poisson(mean).astype(np.float32)
        noise = rng.standard_normal(mean.shape, dtype=np.float32)
        noise *= np.float32(spec.read_noise_e)
        e += noise
    else:
        sigma = mean + np.float32(spec.read_noise_e ** 2)
        np.sqrt(sigma, out=sigma)
        e = rng.standard_normal(mean.shape, dtype=np.float32)
        e *= sigma
        e += mean
    np.minimum(e, np.float32(spec.full_well_e), out=e)
    e *= np.float32(spec.conversion_gain)
    e += np.float32(spec.black_level)
    np.rint(e, out=e)
    np.clip(e, 0.0, float(spec.max_dn), out=e)
    return e.astype(np.uint16)


def _expose_numba(spec: CameraSpec, irradiance: np.ndarray, rng: np.random.Generator, lut: np.ndarray | None):
    irr = _irradiance(spec, irradiance)
    scale, offset = _electron_maps(spec, irr.shape[2])
    adc = {"read_noise_e": spec.read_noise_e, "full_well_e": spec.full_well_e, "conversion_gain": spec.conversion_gain,
           "black_level": spec.black_level, "max_dn": spec.max_dn, "lut": lut}
    key = rng.integers(2 ** 64, dtype=np.uint64)
    if spec.shot_noise == "poisson":
        electrons = rng.poisson(np.maximum(mean_electrons(spec, irr), 0.0)).astype(np.float32)
        return photon_transfer(electrons, 1.0, 0.0, key, shot=0.0, **adc)
    return photon_transfer(irr, scale, offset, key, shot=1.0, **adc)


def _expose(spec, irradiance, rng, backend, lut):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if backend == "numba":
        return _expose_numba(spec, irradiance, rng, lut)
    if backend == "numpy":
        raw = _expose_numpy(spec, irradiance, rng)
        return raw, (None if lut is None else np.take(lut, raw))
    raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")


def expose(spec: CameraSpec, irradiance: np.ndarray, rng: np.random.Generator, backend: str = "numba") -> np.ndarray:
    """Raw ADC output, uint16 DN, shape (H, W, C) (C = 1 for a 2-D input), from linear irradiance.

    All temporal noise is drawn from ``rng``; the same generator state gives bit-identical output.
    ``backend`` (:data:`BACKENDS`): ``"numba"`` (default, ~5x faster) draws one 64-bit key from ``rng``
    and the Gaussian noise from that key's counter-based stream (:mod:`sim.sensors.noise`; Poisson
    electrons still come from ``rng.poisson``); ``"numpy"`` draws every value from ``rng``
    (``standard_normal``/``poisson``: the reference). Same distributions, different pixels."""
    return _expose(spec, irradiance, rng, backend, None)[0]


def expose_and_develop(spec: CameraSpec, irradiance: np.ndarray, rng: np.random.Generator,
                       backend: str = "numba") -> tuple[np.ndarray, np.ndarray]:
    """``(raw, image)``: :func:`expose` and :func:`develop` of one frame in one compiled call."""
    return _expose(spec, irradiance, rng, backend, _lut(spec.black_level, spec.max_dn, spec.gamma))


@functools.lru_cache(maxsize=64)
def _lut(black_level: int, max_dn: int, gamma: float) -> np.ndarray:
    dn = np.arange(max_dn + 1, dtype=np.float64)
    lin = ((dn - black_level) / (max_dn - black_level)).clip(0.0, 1.0)
    lut = np.rint(255.0 * lin ** (1.0 / gamma)).astype(np.uint8)
    lut.flags.writeable = False
    return lut


def develop(spec: CameraSpec, raw: np.ndarray) -> np.ndarray:
    """Raw DN (uint16) -> display uint8 via black-level subtraction, normalisation and gamma (a
    cached ``2^bits``-entry lookup table); same shape."""
    return np.take(_lut(spec.black_level, spec.max_dn, spec.gamma), raw)


def dn_to_electrons(spec: CameraSpec, raw: np.ndarray) -> np.ndarray:
    """Invert the ADC: raw DN -> electrons above black level (float64)."""
    return (np.asarray(raw, dtype=np.float64) - spec.black_level) / spec.conversion_gain
