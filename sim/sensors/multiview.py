"""Lenses wider than one pinhole render: several pinhole *faces* side by side in one atlas image.

A pinhole cannot see 90 deg off axis, and renders are capped at ``max_hfov_deg`` (120 deg). A lens
whose pixel rays all fit one capped pinhole gets one face (the lens's own optical axis); a wider lens
(the 140 deg fisheye) gets a front face plus faces turned left/right (about the camera's y axis)
and/or up/down (about its x axis) by the angles that need the fewest rendered pixels. Every face
shares the camera's optical centre. Each pixel ray of the lens belongs to the face whose axis is
closest to it; each face is the centred, square-pixel pinhole that covers its rays plus a 1.5 px margin
for bilinear sampling, at the lens's centre focal length (less where a face would exceed ``max_scale``
times the image on a side).

Atlas: the faces' images placed left to right (``Face.offset`` = first column), top-aligned at row
0; width = sum of face widths, height = the tallest face. ``cv2.remap(atlas, *atlas_maps(spec, faces),
INTER_LINEAR, BORDER_CONSTANT)`` is the lens image; :func:`atlas_depth_scale` turns each face's z-depth
into z along the real camera's axis so depth labels can be warped the same way.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from sim.sensors.camera import CameraSpec, K, pixel_rays, project

MARGIN_PX = 1.5
"""face pixels kept beyond the outermost ray a face serves (bilinear sampling reads 1 px around)"""


@dataclass(frozen=True, eq=False)
class Face:
    """One pinhole render of a camera (compared and hashed by value)."""

    R_cam_from_face: np.ndarray
    """3x3 float64 rotation taking vectors in the face's camera frame (OpenCV axes) to the real
    camera's frame; its last column is the face's optical axis (read-only copy)"""
    spec: CameraSpec
    """the face's pinhole: square pixels, centred principal point, no distortion"""
    offset: int
    """first column of this face in the atlas, px"""

    def __post_init__(self):
        R = np.array(self.R_cam_from_face, dtype=np.float64)
        if R.shape != (3, 3) or not np.allclose(R @ R.T, np.eye(3), atol=1e-9) or np.linalg.det(R) < 0:
            raise ValueError(f"R_cam_from_face must be a 3x3 rotation, got {R!r}")
        R.flags.writeable = False
        object.__setattr__(self, "R_cam_from_face", R)
        if self.spec.distortion != "none":
            raise ValueError("a face is a pinhole (distortion 'none')")
        if not isinstance(self.offset, (int, np.integer)) or self.offset < 0:
            raise ValueError(f"offset must be a non-negative int (px), got {self.offset!r}")

    def _key(self):
        return self.R_cam_from_face.tobytes(), self.spec, int(self.offset)

    def __eq__(self, other):
        return isinstance(other, Face) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())


def _yaw(deg: float) -> np.ndarray:
    """Face turned ``deg`` to the right (about the camera's y axis)."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _pitch(deg: float) -> np.ndarray:
    """Face turned ``deg`` up (about the camera's x axis; y points down)."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _pinhole(spec: CameraSpec, tx: float, ty: float, max_scale: float) -> CameraSpec:
    """Centred square-pixel pinhole seeing ``|x/z| <= tx``, ``|y/z| <= ty`` plus the margin."""
    k = K(spec)
    tx, ty = max(tx, 1e-9), max(ty, 1e-9)
    f = min(k[0, 0], k[1, 1], (max_scale * spec.width / 2 - MARGIN_PX) / tx, (max_scale * spec.height / 2 - MARGIN_PX) / ty)
    w, h = int(np.ceil(2 * (f * tx + MARGIN_PX))), int(np.ceil(2 * (f * ty + MARGIN_PX)))
    return CameraSpec(width=w, height=h, fx=f, fy=f, cx=(w - 1) / 2, cy=(h - 1) / 2, exposure_s=spec.exposure_s)


def _extents(rays: np.ndarray, rotations: list[np.ndarray], cap: float):
    """Per rotation, ``(tx, ty)`` of the rays closest to its axis (None: it serves none), or None if a
    face would need a half-angle tangent above ``cap`` or a ray at or behind its image plane."""
    owner = np.argmax(rays @ np.stack([R[:, 2] for R in rotations], axis=1), axis=1)
    out = []
    for i, R in enumerate(rotations):
        local = rays[owner == i] @ R  # rows: R^T ray
        if not len(local):
            out.append(None)
            continue
        z = local[:, 2]
        if z.min() <= 1e-6:
            return None
        tx, ty = float(np.abs(local[:, 0] / z).max()), float(np.abs(local[:, 1] / z).max())
        if tx > cap or ty > cap:
            return None
        out.append((tx, ty))
    return out


def _layout_pixels(spec, extents, max_scale) -> int:
    faces = [_pinhole(spec, *e, max_scale) for e in extents if e is not None]
    return sum(f.width * f.height for f in faces)


def _candidates():
    """Face rotations to try, fewest faces first: front + left/right, front + up/down, all five."""
    for yaw in range(5, 91):
        yield [np.eye(3), _yaw(-yaw), _yaw(yaw)]
    for pitch in range(5, 91):
        yield [np.eye(3), _pitch(pitch), _pitch(-pitch)]
    for yaw in range(10, 91, 4):
        for pitch in range(10, 91, 4):
            yield [np.eye(3), _yaw(-yaw), _yaw(yaw), _pitch(pitch), _pitch(-pitch)]


@functools.lru_cache(maxsize=64)
def render_faces(spec: CameraSpec, max_hfov_deg: float = 120.0, max_scale: float = 2.0) -> tuple[Face, ...]:
    """The fewest pinhole faces (then the fewest pixels) whose union sees every pixel ray of ``spec``
    with a bilinear margin, none wider than ``max_hfov_deg`` on either axis (before the margin).

    One face for a lens that fits one capped pinhole: the lens's own axis, focal length = the lens's
    centre focal length unless the render would exceed ``max_scale`` times the image on a side.
    Cached; raises ValueError if even five faces cannot see the whole field."""
    cap = math.tan(math.radians(max_hfov_deg) / 2)
    rays = pixel_rays(spec).reshape(-1, 3)
    if rays[:, 2].min() > 1e-9:
        tx, ty = float(np.abs(rays[:, 0] / rays[:, 2]).max()), float(np.abs(rays[:, 1] / rays[:, 2]).max())
        if tx <= cap and ty <= cap:
            return (Face(np.eye(3), _pinhole(spec, tx, ty, max_scale), 0),)
    step = max(1, int(math.sqrt(spec.width * spec.height / 4000)))
    grid = pixel_rays(spec)
    sample = np.concatenate([grid[::step, ::step].reshape(-1, 3), grid[[0, -1]].reshape(-1, 3),
                             grid[:, [0, -1]].reshape(-1, 3)])
    scored = []
    for rotations in _candidates():
        ext = _extents(sample, rotations, cap)
        if ext is not None:
            scored.append((sum(e is not None for e in ext), _layout_pixels(spec, ext, max_scale), len(scored), rotations))
    for _, _, _, rotations in sorted(scored, key=lambda c: c[:3]):
        ext = _extents(rays, rotations, cap)  # the sample may miss an extreme ray: check them all
        if ext is None:
            continue
        faces, offset = [], 0
        for R, e in zip(rotations, ext):
            if e is not None:
                face = _pinhole(spec, *e, max_scale)
                faces.append(Face(R, face, offset))
                offset += face.width
        return tuple(faces)
    raise ValueError(f"no layout of up to 5 pinhole faces of <= {max_hfov_deg} deg sees the field of {spec}")


def atlas_shape(faces: tuple[Face, ...]) -> tuple[int, int]:
    """``(height, width)`` px of the atlas holding ``faces``."""
    return max(f.spec.height for f in faces), max(f.offset + f.spec.width for f in faces)


@functools.lru_cache(maxsize=64)
def _atlas_maps(spec: CameraSpec, faces: tuple[Face, ...]):
    rays = pixel_rays(spec).reshape(-1, 3)
    best = np.full(len(rays), -np.inf)
    map_x = np.full(len(rays), -1.0)
    map_y = np.full(len(rays), -1.0)
    for face in faces:
        uv, valid = project(face.spec, rays @ face.R_cam_from_face)
        with np.errstate(invalid="ignore"):
            inside = valid & (uv[:, 0] >= 0) & (uv[:, 0] <= face.spec.width - 1) & (uv[:, 1] >= 0) & (
                uv[:, 1] <= face.spec.height - 1)
        closeness = rays @ face.R_cam_from_face[:, 2]
        take = inside & (closeness > best)
        best[take] = closeness[take]
        map_x[take] = uv[take, 0] + face.offset
        map_y[take] = uv[take, 1]
    maps = tuple(m.reshape(spec.height, spec.width).astype(np.float32) for m in (map_x, map_y))
    for m in maps:
        m.flags.writeable = False
    return maps


def atlas_maps(spec: CameraSpec, faces: tuple[Face, ...]) -> tuple[np.ndarray, np.ndarray]:
    """float32 ``(map_x, map_y)``, each (spec.height, spec.width): where each lens pixel samples the
    atlas. A pixel uses the face whose axis is closest to its ray among the faces that contain it with
    a bilinear margin (so it never reads a neighbouring face); pixels no face contains get -1 (the
    border value). For the single face of an ordinary lens this equals ``warp_maps(faces[0].spec, spec)``.
    Cached, read-only."""
    return _atlas_maps(spec, tuple(faces))


@functools.lru_cache(maxsize=64)
def _atlas_depth_scale(faces: tuple[Face, ...]):
    out = []
    for face in faces:
        k, R = K(face.spec), face.R_cam_from_face
        v, u = np.mgrid[0:face.spec.height, 0:face.spec.width].astype(np.float64)
        scale = (R[2, 0] * (u - k[0, 2]) / k[0, 0] + R[2, 1] * (v - k[1, 2]) / k[1, 1] + R[2, 2]).astype(np.float32)
        scale.flags.writeable = False
        out.append(scale)
    return tuple(out)


def atlas_depth_scale(faces: tuple[Face, ...]) -> tuple[np.ndarray, ...]:
    """Per face, (H_f, W_f) float32 factors turning the face's z-depth into z along the real camera's
    optical axis: ``z_cam = z_face * (R_cam_from_face[2] . (x_n, y_n, 1))`` with ``(x_n, y_n)`` the
    pixel centre's normalised coordinates. Negative where the face's ray points behind the camera's
    image plane (no lens pixel samples those). Cached, read-only."""
    return _atlas_depth_scale(tuple(faces))
