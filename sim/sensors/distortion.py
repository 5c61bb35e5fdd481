"""Lens distortion models on normalised coordinates (numpy, vectorised over points).

Two models, both matching OpenCV's conventions so results agree with ``cv2.projectPoints`` and
``cv2.fisheye.projectPoints``:

- ``"brown_conrady"``: coefficients ``(k1, k2, p1, p2, k3)`` (OpenCV order; shorter tuples are
  zero-padded). Acts on pinhole-normalised coordinates ``(x, y) = (X/Z, Y/Z)``.
- ``"kannala_brandt"``: equidistant fisheye, coefficients ``(k1, k2, k3, k4)``;
  ``theta_d = theta (1 + k1 theta^2 + k2 theta^4 + k3 theta^6 + k4 theta^8)`` with ``theta`` the
  angle (rad) between the ray and the optical axis. Distorted normalised coordinates are
  ``theta_d * (X, Y) / sqrt(X^2 + Y^2)`` and can describe rays at 90 deg and beyond, so the
  ray-level functions (:func:`distort_rays`, :func:`undistort_to_rays`) are the primary API.
- ``"none"``: the identity.

Arrays: points are ``(N, 2)`` float64 normalised coordinates (dimensionless); rays are ``(N, 3)``
in the camera frame (x right, y down, z forward), any length.
"""
from __future__ import annotations

import numpy as np

MODELS = ("none", "brown_conrady", "kannala_brandt")
N_COEFFS = {"none": 0, "brown_conrady": 5, "kannala_brandt": 4}


def check_model(model: str, coeffs) -> tuple[float, ...]:
    """Validate ``model`` and return its coefficients zero-padded to the model's full length."""
    if model not in MODELS:
        raise ValueError(f"distortion must be one of {MODELS}, got {model!r}")
    coeffs = tuple(float(c) for c in coeffs)
    n = N_COEFFS[model]
    if len(coeffs) > n:
        raise ValueError(f"dist_coeffs: {model!r} takes at most {n} coefficients, got {len(coeffs)}")
    if not all(np.isfinite(coeffs)):
        raise ValueError(f"dist_coeffs must be finite, got {coeffs}")
    return coeffs + (0.0,) * (n - len(coeffs))


def _bc(coeffs):
    k1, k2, p1, p2, k3 = check_model("brown_conrady", coeffs)
    return k1, k2, p1, p2, k3


def _kb_theta_d(theta, k):
    t2 = theta * theta
    return theta * (1 + t2 * (k[0] + t2 * (k[1] + t2 * (k[2] + t2 * k[3]))))


def _kb_dtheta_d(theta, k):
    t2 = theta * theta
    return 1 + t2 * (3 * k[0] + t2 * (5 * k[1] + t2 * (7 * k[2] + t2 * 9 * k[3])))


def distort(model: str, coeffs, xy: np.ndarray) -> np.ndarray:
    """Undistorted pinhole-normalised ``xy`` (N, 2) -> distorted normalised coordinates (N, 2)."""
    xy = np.asarray(xy, dtype=np.float64)
    if model == "none":
        return xy.copy()
    if model == "brown_conrady":
        k1, k2, p1, p2, k3 = _bc(coeffs)
        x, y = xy[:, 0], xy[:, 1]
        r2 = x * x + y * y
        radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
        xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        return np.stack([xd, yd], axis=1)
    rays = np.concatenate([xy, np.ones((len(xy), 1))], axis=1)
    return distort_rays(model, coeffs, rays)


def distort_rays(model: str, coeffs, rays: np.ndarray) -> np.ndarray:
    """Rays (N, 3) in the camera frame -> distorted normalised coordinates (N, 2).

    For ``"none"``/``"brown_conrady"`` rays with ``z <= 0`` give NaN. For ``"kannala_brandt"`` every
    ray but the exact backward axis has an image (whether it lies in the lens's field is the
    caller's check)."""
    rays = np.asarray(rays, dtype=np.float64)
    if model == "kannala_brandt":
        k = check_model(model, coeffs)
        rxy = np.hypot(rays[:, 0], rays[:, 1])
        theta = np.arctan2(rxy, rays[:, 2])
        td = _kb_theta_d(theta, k)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(rxy > 1e-12, td / np.where(rxy > 1e-12, rxy, 1.0), 1.0 / np.maximum(rays[:, 2], 1e-300))
        return rays[:, :2] * scale[:, None]
    z = rays[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        xy = rays[:, :2] / np.where(z > 0, z, np.nan)[:, None]
    return distort(model, coeffs, xy)


def undistort(model: str, coeffs, xyd: np.ndarray, iters: int = 20) -> np.ndarray:
    """Distorted normalised ``xyd`` (N, 2) -> undistorted pinhole-normalised coordinates (N, 2).

    Brown-Conrady is inverted by Newton's method on the 2x2 Jacobian (vectorised); Kannala-Brandt by
    Newton on ``theta``. Converges to ~1e-12 inside the lens's monotonic field. Fisheye rays at or
    beyond 90 deg have no pinhole coordinates: use :func:`undistort_to_rays`."""
    xyd = np.asarray(xyd, dtype=np.float64)
    if model == "none":
        return xyd.copy()
    if model == "kannala_brandt":
        rays = undistort_to_rays(model, coeffs, xyd, iters)
        with np.errstate(invalid="ignore", divide="ignore"):
            return rays[:, :2] / np.where(rays[:, 2] > 0, rays[:, 2], np.nan)[:, None]
    k1, k2, p1, p2, k3 = _bc(coeffs)
    xy = xyd.copy()
    for _ in range(iters):
        x, y = xy[:, 0], xy[:, 1]
        r2 = x * x + y * y
        radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
        drad = k1 + r2 * (2 * k2 + 3 * k3 * r2)  # d radial / d r2
        fx = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x) - xyd[:, 0]
        fy = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y - xyd[:, 1]
        a = radial + 2 * x * x * drad + 2 * p1 * y + 6 * p2 * x  # dfx/dx
        b = 2 * x * y * drad + 2 * p1 * x + 2 * p2 * y  # dfx/dy
        c = 2 * x * y * drad + 2 * p1 * x + 2 * p2 * y  # dfy/dx
        d = radial + 2 * y * y * drad + 6 * p1 * y + 2 * p2 * x  # dfy/dy
        det = a * d - b * c
        xy = xy - np.stack([(d * fx - b * fy) / det, (a * fy - c * fx) / det], axis=1)
    return xy


def undistort_to_rays(model: str, coeffs, xyd: np.ndarray, iters: int = 20) -> np.ndarray:
    """Distorted normalised ``xyd`` (N, 2) -> unit rays (N, 3) in the camera frame."""
    xyd = np.asarray(xyd, dtype=np.float64)
    if model != "kannala_brandt":
        xy = undistort(model, coeffs, xyd, iters)
        rays = np.concatenate([xy, np.ones((len(xy), 1))], axis=1)
        return rays / np.linalg.norm(rays, axis=1, keepdims=True)
    k = check_model(model, coeffs)
    td = np.hypot(xyd[:, 0], xyd[:, 1])
    theta = td.copy()
    for _ in range(iters):
        theta = theta - (_kb_theta_d(theta, k) - td) / _kb_dtheta_d(theta, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        direction = np.where(td[:, None] > 1e-12, xyd / np.where(td > 1e-12, td, 1.0)[:, None], 0.0)
    s = np.sin(theta)
    return np.stack([direction[:, 0] * s, direction[:, 1] * s, np.cos(theta)], axis=1)


def max_field_angle(model: str, coeffs, limit_rad: float = np.pi) -> float:
    """Largest ray angle from the optical axis (rad) up to which the model's radial mapping is
    monotonic (so the inverse is unique); capped at ``limit_rad`` (pi/2 for pinhole models)."""
    theta = np.linspace(0.0, limit_rad, 20001)[1:]
    if model == "kannala_brandt":
        deriv = _kb_dtheta_d(theta, check_model(model, coeffs))
    else:
        theta = theta[theta < np.pi / 2 - 1e-6]
        if model == "none":
            return float(theta[-1])
        k1, k2, _, _, k3 = _bc(coeffs)
        r2 = np.tan(theta) ** 2
        deriv = 1 + 3 * k1 * r2 + 5 * k2 * r2 * r2 + 7 * k3 * r2 ** 3  # d(r*radial)/dr
    bad = np.nonzero(deriv <= 0)[0]
    return float(theta[bad[0] - 1]) if len(bad) else float(theta[-1])
