"""Per-camera 2D boxes and occlusion from an instance render pass + camera geometry.

Pixel convention of ``sim.sensors.camera.project``: pixel (i, j) has its centre at (u, v) = (j, i),
the image spans u in [-0.5, W - 0.5], v in [-0.5, H - 0.5]; boxes are (u_min, v_min, u_max, v_max)
px. (``sim.render.passes.Intrinsics.from_fov`` renders the same pixels as a CameraSpec with the
default principal point; for an explicit ``spec.cx`` give the renderer ``cx + 0.5``.)

Silhouette of an actor: its cuboid (``cuboid_corners``) clipped to the camera's near plane
z >= ``znear`` (corners behind it are replaced by the cuboid edges' crossings of the plane, so a
box straddling the camera is clipped, not skipped), projected, its convex hull clipped to the
image and filled with ``cv2.fillConvexPoly``. Exact for pinhole cameras; for distorted lenses the
hull of the distorted vertices approximates the (curved) silhouette.
"""
from __future__ import annotations

import cv2
import numpy as np

from sim.labels.cuboids import cuboid_corners
from sim.labels.registry import label
from sim.sensors.camera import CameraSpec, project

SHIFT = 4
"""Sub-pixel bits used for cv2.fillConvexPoly."""
_EDGES = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [4, 5], [5, 6], [6, 7], [7, 4],
                   [0, 4], [1, 5], [2, 6], [3, 7]])


def camera_pose(x: float, y: float, heading: float, T_vehicle_from_cam: np.ndarray) -> np.ndarray:
    """4x4 world-from-camera (OpenCV axes) of a rig camera (``RigCamera.T_vehicle_from_cam``) on a
    vehicle whose frame origin is at (x, y, 0) m facing ``heading`` rad."""
    c, s = np.cos(heading), np.sin(heading)
    T = np.eye(4)
    T[:2, :2] = [[c, -s], [s, c]]
    T[:2, 3] = x, y
    return T @ np.asarray(T_vehicle_from_cam, float)


def _clip_near(corners_cam: np.ndarray, znear: float) -> np.ndarray:
    """(K, 3) vertices of a cuboid (8, 3) clipped to z >= znear (K = 0 when all behind)."""
    z = corners_cam[:, 2]
    front = z >= znear
    a, b = corners_cam[_EDGES[:, 0]], corners_cam[_EDGES[:, 1]]
    za, zb = a[:, 2], b[:, 2]
    cross = (za >= znear) != (zb >= znear)
    t = (znear - za[cross]) / (zb[cross] - za[cross])
    return np.concatenate([corners_cam[front], a[cross] + t[:, None] * (b[cross] - a[cross])])


def _clip_rect(poly: np.ndarray, w: int, h: int) -> np.ndarray:
    """Sutherland-Hodgman clip of a convex polygon (K, 2) to the image rectangle."""
    for axis, bound, keep_less in ((0, -0.5, False), (0, w - 0.5, True), (1, -0.5, False), (1, h - 0.5, True)):
        if len(poly) == 0:
            break
        d = poly[:, axis] - bound
        inside = d <= 0 if keep_less else d >= 0
        out = []
        for i in range(len(poly)):
            j = (i + 1) % len(poly)
            if inside[i]:
                out.append(poly[i])
            if inside[i] != inside[j]:
                t = d[i] / (d[i] - d[j])
                out.append(poly[i] + t * (poly[j] - poly[i]))
        poly = np.asarray(out).reshape(-1, 2)
    return poly


def _area(poly: np.ndarray) -> float:
    if len(poly) < 3:
        return 0.0
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def silhouette(spec: CameraSpec, T_world_from_cam: np.ndarray, corners_world: np.ndarray,
               znear: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Projected convex silhouette of one cuboid (8, 3) world m: (full hull (K, 2) px, the hull
    clipped to the image (K', 2) px); both empty (0, 2) when nothing is in front of the camera."""
    T = np.linalg.inv(np.asarray(T_world_from_cam, float))
    cam = corners_world @ T[:3, :3].T + T[:3, 3]
    pts = _clip_near(cam, znear)
    empty = np.zeros((0, 2))
    if len(pts) == 0:
        return empty, empty
    uv, _ = project(spec, pts)
    uv = uv[np.isfinite(uv).all(axis=1)]
    if len(uv) < 3:
        return empty, empty
    hull = cv2.convexHull(uv.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    return hull, _clip_rect(hull, spec.width, spec.height)


def _may_be_in_image(spec: CameraSpec, T_world_from_cam: np.ndarray, corners_world: np.ndarray,
                     znear: float) -> np.ndarray:
    """(N,) bool: cuboid i (corners (N, 8, 3)) may project into the image. False only when every corner
    is behind the near plane, or all corners are in front and their projections' bounding box misses
    the image (then so does their convex hull)."""
    T = np.linalg.inv(np.asarray(T_world_from_cam, float))
    cam = corners_world @ T[:3, :3].T + T[:3, 3]
    front = cam[..., 2] >= znear
    out = ~front.any(axis=1)
    whole = front.all(axis=1)
    if whole.any():
        uv, _ = project(spec, cam[whole].reshape(-1, 3))
        uv = uv.reshape(-1, 8, 2)
        finite = np.isfinite(uv).all(axis=(1, 2))
        lo, hi = uv[finite].min(axis=1), uv[finite].max(axis=1)
        miss = (hi[:, 0] < -0.5) | (lo[:, 0] > spec.width - 0.5) | (hi[:, 1] < -0.5) | (lo[:, 1] > spec.height - 0.5)
        out[np.flatnonzero(whole)[finite][miss]] = True
    return ~out


def fill_silhouette(poly: np.ndarray, width: int, height: int) -> np.ndarray:
    """(height, width) bool mask of a convex polygon (K, 2) px filled with cv2.fillConvexPoly."""
    img = np.zeros((height, width), np.uint8)
    if len(poly) >= 3:
        cv2.fillConvexPoly(img, np.round(poly * (1 << SHIFT)).astype(np.int32), 1, cv2.LINE_8, SHIFT)
    return img.astype(bool)


@label
def boxes2d(instance_mask, table, kind, spec: CameraSpec, T_world_from_cam, valid=None, *,
            include_ego: bool = False, znear: float = 0.05) -> dict:
    """2D boxes and occlusion of the actors whose cuboid reaches into one camera's image.

    instance_mask (H, W) int32 actor column per pixel, -1 none (render pass "instance"); table (7, N)
    actor table; kind (N,) int (-1 ego, skipped unless ``include_ego``: the camera sits inside it);
    valid (N,) bool (default all); T_world_from_cam 4x4 (OpenCV axes; see :func:`camera_pose`).
    Returns, for M actors (``index`` (M,) int64 columns): kind (M,), box (M, 4) px from the projected
    cuboid clipped to the image, visible_box (M, 4) px bounding the actor's mask pixels (NaN when
    none), visible_pixels (M,) int64, silhouette_pixels (M,) int64 (in-image filled hull),
    occlusion (M,) in [0, 1] = 1 - visible / silhouette pixels (truncation by the image border is
    not occlusion), truncation (M,) in [0, 1] = 1 - in-image / full area of the projected hull.
    """
    mask = np.asarray(instance_mask)
    if mask.shape != (spec.height, spec.width):
        raise ValueError(f"boxes2d: instance_mask must be ({spec.height}, {spec.width}), got {mask.shape}")
    table = np.asarray(table, float)
    n = table.shape[1]
    kind = np.asarray(kind)
    keep = np.ones(n, bool) if valid is None else np.asarray(valid, bool).copy()
    if not include_ego:
        keep &= kind != -1
    corners = cuboid_corners(table)
    v, u = np.nonzero(mask >= 0)
    ids = mask[v, u]
    counts = np.bincount(ids, minlength=n)[:n]
    lo_u, lo_v = np.full(n, np.iinfo(np.int64).max), np.full(n, np.iinfo(np.int64).max)
    hi_u, hi_v = np.full(n, -1), np.full(n, -1)
    inside = ids < n
    for out, values, op in ((lo_u, u, np.minimum), (lo_v, v, np.minimum), (hi_u, u, np.maximum), (hi_v, v, np.maximum)):
        op.at(out, ids[inside], values[inside])
    keep &= _may_be_in_image(spec, T_world_from_cam, corners, znear)
    rows = []
    for i in np.flatnonzero(keep):
        hull, clipped = silhouette(spec, T_world_from_cam, corners[i], znear)
        area = _area(clipped)
        if area <= 0:
            continue
        sil = int(fill_silhouette(clipped, spec.width, spec.height).sum())
        vis = int(counts[i])
        vbox = (lo_u[i] - 0.5, lo_v[i] - 0.5, hi_u[i] + 0.5, hi_v[i] + 0.5) if vis else (np.nan,) * 4
        occ = float(np.clip(1.0 - vis / sil, 0.0, 1.0)) if sil else 1.0
        box = (*clipped.min(axis=0), *clipped.max(axis=0))
        rows.append((i, kind[i], box, vbox, vis, sil, occ, float(np.clip(1.0 - area / _area(hull), 0.0, 1.0))))
    cols = list(zip(*rows)) if rows else [()] * 8
    return {"index": np.asarray(cols[0], np.int64), "kind": np.asarray(cols[1], kind.dtype),
            "box": np.asarray(cols[2], float).reshape(-1, 4), "visible_box": np.asarray(cols[3], float).reshape(-1, 4),
            "visible_pixels": np.asarray(cols[4], np.int64), "silhouette_pixels": np.asarray(cols[5], np.int64),
            "occlusion": np.asarray(cols[6], float), "truncation": np.asarray(cols[7], float)}
