"""Camera specification (intrinsics, lens, sensor) and projection.

Frames and units:
- Camera frame: x right, y down, z forward (OpenCV), metres.
- Pixel coordinates ``(u, v)``: OpenCV convention, pixel ``(i, j)``'s centre is at ``u = j, v = i``;
  the image spans ``u in [-0.5, width - 0.5)``. ``cx, cy`` default to the image centre
  ``((width - 1) / 2, (height - 1) / 2)``.
- ``hfov_deg`` is the full horizontal field of view between the left and right image edges along
  the horizontal line through the principal point, *through the lens's own distortion* (so a fisheye
  with ``hfov_deg=140`` really sees 70 deg to each side).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from sim.sensors import distortion as dist

VIGNETTING = ("none", "cos4", "poly")
SHOT_NOISE = ("gaussian", "poisson")


@dataclass(frozen=True)
class CameraSpec:
    """One camera: geometry, lens, exposure and sensor noise. Validated on construction."""

    width: int
    """image width, px"""
    height: int
    """image height, px"""
    hfov_deg: float | None = None
    """horizontal field of view, deg (give either this or ``fx``)"""
    fx: float | None = None
    """focal length along u, px (overrides ``hfov_deg``)"""
    fy: float | None = None
    """focal length along v, px (default ``fx``: square pixels)"""
    cx: float | None = None
    """principal point u, px (default ``(width - 1) / 2``)"""
    cy: float | None = None
    """principal point v, px (default ``(height - 1) / 2``)"""
    distortion: str = "none"
    """lens model: ``"none"``, ``"brown_conrady"`` or ``"kannala_brandt"``"""
    dist_coeffs: tuple[float, ...] = ()
    """Brown-Conrady ``(k1, k2, p1, p2, k3)`` (OpenCV order) or Kannala-Brandt ``(k1, k2, k3, k4)``;
    dimensionless, zero-padded"""
    exposure_s: float = 0.01
    """exposure (integration) time, s"""
    gain: float = 1.0
    """analogue gain, ISO-like multiplier (1 = full well maps to ADC full scale)"""
    f_number: float = 2.0
    """aperture f-number N; collected light scales as 1 / N^2"""
    sensitivity: float = 2.0e6
    """electrons per second per unit input irradiance at f/1 on axis (folds in QE and pixel area)"""
    full_well_e: float = 10000.0
    """full-well capacity, electrons"""
    read_noise_e: float = 3.0
    """read noise (temporal, Gaussian), electrons RMS"""
    dark_current_e_per_s: float = 50.0
    """mean dark current, electrons per second"""
    prnu: float = 0.01
    """photo-response non-uniformity: per-pixel gain spread, fraction (std)"""
    dsnu_e: float = 2.0
    """dark-signal non-uniformity: per-pixel offset spread, electrons (std)"""
    black_level: int = 64
    """ADC black level (pedestal), DN"""
    bits: int = 12
    """ADC resolution, bits"""
    gamma: float = 2.2
    """display gamma for the 8-bit output (out = lin^(1/gamma))"""
    vignetting: str = "cos4"
    """``"none"``, ``"cos4"`` (natural cos^4 falloff of the ray angle) or ``"poly"``"""
    vignetting_coeffs: tuple[float, ...] = ()
    """for ``"poly"``: ``(a1, a2, ...)`` in ``1 + a1 r^2 + a2 r^4 + ...``, ``r`` = distance from the
    principal point over the half-diagonal (dimensionless)"""
    shot_noise: str = "gaussian"
    """``"poisson"`` (exact, ~4x slower) or ``"gaussian"`` (shot + read noise in one normal draw with
    variance ``mean_e + read_noise_e^2``; same photon-transfer curve above a few electrons)"""
    serial: int = 0
    """sensor serial number: seeds the fixed-pattern (PRNU/DSNU) noise of this physical sensor"""
    rolling_shutter_s: float = 0.0
    """rolling-shutter readout time of the whole frame, s (row ``r`` starts ``r * rolling_shutter_s /
    height`` after the top row, :mod:`sim.sensors.rolling`); 0 = global shutter"""

    def __post_init__(self):
        object.__setattr__(self, "dist_coeffs", tuple(float(c) for c in self.dist_coeffs))
        object.__setattr__(self, "vignetting_coeffs", tuple(float(c) for c in self.vignetting_coeffs))
        for name in ("width", "height"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"{name} must be a positive int (px), got {v!r}")
        if self.hfov_deg is None and self.fx is None:
            raise ValueError("give hfov_deg or fx")
        if self.hfov_deg is not None:
            limit = 360.0 if self.distortion == "kannala_brandt" else 180.0
            if not 0.0 < self.hfov_deg < limit:
                raise ValueError(f"hfov_deg must be in (0, {limit}) for {self.distortion!r}, got {self.hfov_deg}")
        for name in ("fx", "fy"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive focal length (px), got {v}")
        for name in ("cx", "cy"):
            v = getattr(self, name)
            if v is not None and not math.isfinite(v):
                raise ValueError(f"{name} must be finite (px), got {v}")
        dist.check_model(self.distortion, self.dist_coeffs)
        for name in ("exposure_s", "gain", "f_number", "sensitivity", "full_well_e", "gamma"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be positive and finite, got {v}")
        for name in ("read_noise_e", "dark_current_e_per_s", "prnu", "dsnu_e", "rolling_shutter_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be >= 0 and finite, got {v}")
        if not isinstance(self.bits, (int, np.integer)) or not 8 <= self.bits <= 16:
            raise ValueError(f"bits must be an int in [8, 16], got {self.bits!r}")
        if not isinstance(self.black_level, (int, np.integer)) or not 0 <= self.black_level < 2 ** self.bits - 1:
            raise ValueError(f"black_level must be an int DN in [0, 2^bits - 1), got {self.black_level!r}")
        if self.vignetting not in VIGNETTING:
            raise ValueError(f"vignetting must be one of {VIGNETTING}, got {self.vignetting!r}")
        if self.vignetting != "poly" and self.vignetting_coeffs:
            raise ValueError("vignetting_coeffs are only used with vignetting='poly'")
        if self.shot_noise not in SHOT_NOISE:
            raise ValueError(f"shot_noise must be one of {SHOT_NOISE}, got {self.shot_noise!r}")
        if not isinstance(self.serial, (int, np.integer)) or self.serial < 0:
            raise ValueError(f"serial must be a non-negative int, got {self.serial!r}")

    @property
    def max_dn(self) -> int:
        """ADC full scale, DN (``2^bits - 1``)."""
        return 2 ** self.bits - 1

    @property
    def conversion_gain(self) -> float:
        """DN per electron at the current ``gain`` (at gain 1 the full well reaches full scale)."""
        return self.gain * (self.max_dn - self.black_level) / self.full_well_e


@dataclass(frozen=True)
class _Intrinsics:
    fx: float
    fy: float
    cx: float
    cy: float
    max_theta: float = field(default=math.pi / 2)


@functools.lru_cache(maxsize=256)
def _intrinsics(spec: CameraSpec) -> _Intrinsics:
    if spec.fx is not None:
        fx = float(spec.fx)
    else:
        half = math.radians(spec.hfov_deg) / 2
        ray = np.array([[math.sin(half), 0.0, math.cos(half)]])
        xd = dist.distort_rays(spec.distortion, spec.dist_coeffs, ray)[0, 0]
        if not (math.isfinite(xd) and xd > 0):
            raise ValueError(f"hfov_deg={spec.hfov_deg} is outside the lens's field for {spec.dist_coeffs}")
        fx = (spec.width / 2) / xd
    fy = float(spec.fy) if spec.fy is not None else fx
    cx = float(spec.cx) if spec.cx is not None else (spec.width - 1) / 2
    cy = float(spec.cy) if spec.cy is not None else (spec.height - 1) / 2
    limit = math.pi if spec.distortion == "kannala_brandt" else math.pi / 2
    return _Intrinsics(fx, fy, cx, cy, dist.max_field_angle(spec.distortion, spec.dist_coeffs, limit))


def K(spec: CameraSpec) -> np.ndarray:
    """3x3 float64 intrinsic matrix ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` (px)."""
    i = _intrinsics(spec)
    return np.array([[i.fx, 0.0, i.cx], [0.0, i.fy, i.cy], [0.0, 0.0, 1.0]])


def project(spec: CameraSpec, points_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project camera-frame points (N, 3), m, through the lens to pixels.

    Returns ``uv`` (N, 2) float64 px and ``valid`` (N,) bool: in the lens's field (in front for
    pinhole models, inside the monotonic part of the distortion) and inside the image. ``uv`` is
    NaN where the point has no image."""
    pts = np.asarray(points_cam, dtype=np.float64).reshape(-1, 3)
    i = _intrinsics(spec)
    xyd = dist.distort_rays(spec.distortion, spec.dist_coeffs, pts)
    uv = np.stack([i.fx * xyd[:, 0] + i.cx, i.fy * xyd[:, 1] + i.cy], axis=1)
    theta = np.arctan2(np.hypot(pts[:, 0], pts[:, 1]), pts[:, 2])
    in_field = (theta <= i.max_theta) & np.isfinite(uv).all(axis=1)
    uv[~in_field] = np.nan
    with np.errstate(invalid="ignore"):
        inside = (uv[:, 0] >= -0.5) & (uv[:, 0] < spec.width - 0.5) & (uv[:, 1] >= -0.5) & (uv[:, 1] < spec.height - 0.5)
    return uv, in_field & inside


def unproject(spec: CameraSpec, uv: np.ndarray) -> np.ndarray:
    """Pixels (N, 2) -> unit rays (N, 3) in the camera frame (the inverse of :func:`project`)."""
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    i = _intrinsics(spec)
    xyd = np.stack([(uv[:, 0] - i.cx) / i.fx, (uv[:, 1] - i.cy) / i.fy], axis=1)
    return dist.undistort_to_rays(spec.distortion, spec.dist_coeffs, xyd)


@functools.lru_cache(maxsize=64)
def _pixel_rays(spec: CameraSpec) -> np.ndarray:
    v, u = np.mgrid[0:spec.height, 0:spec.width].astype(np.float64)
    rays = unproject(spec, np.stack([u.ravel(), v.ravel()], axis=1)).reshape(spec.height, spec.width, 3)
    rays.flags.writeable = False
    return rays


def pixel_rays(spec: CameraSpec) -> np.ndarray:
    """Unit ray of every pixel centre, (height, width, 3) float64, camera frame (cached, read-only)."""
    return _pixel_rays(spec)
