"""Render passes of a WorldScene from a pinhole camera: colour, depth, semantic and instance ids.

Camera convention: ``pose`` is 4x4 world-from-camera with OpenCV axes (x right, y down, z
forward); world frame x, y ground (m), z up. pyrender (OpenGL) cameras look along -z with y up,
so internally pose_gl = pose @ diag(1, -1, -1, 1). Pixel (u, v) = (fx X/Z + cx, fy Y/Z + cy) with
pixel i covering [i, i+1), i.e. the centre of pixel (0, 0) is (0.5, 0.5).

Passes: "colour" (H,W,3) uint8 sRGB (or float32 linear with ``linear=True``), 4x MSAA;
"depth" (H,W) float32 metric z along the optical axis, m, ``inf`` where nothing is drawn;
"semantic" (H,W) uint8 ids into sim.render.scene.SEMANTIC_CLASSES (0 = sky);
"instance" (H,W) int32 actor index (column of the actors table), -1 for no actor.
Colour+depth cost one draw of the scene; semantic/instance one more (flat colours, no MSAA).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .backend import offscreen_renderer, select_platform
from .scene import WorldScene

select_platform()
import pyrender  # noqa: E402

CV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])

# pyrender's OffscreenRenderer always draws into a 4x multisampled framebuffer. Its renderer module
# calls glRenderbufferStorageMultisample (a module global) when it creates the framebuffers (first
# render, viewport change); Renderer sets _MS_SAMPLES before each render so that a Renderer made
# with msaa=False gets 0 samples (a plain framebuffer; the resolve blit becomes a copy).
_MS_SAMPLES = [4]
_gl_storage_ms = pyrender.renderer.glRenderbufferStorageMultisample


def _storage_ms(target, samples, internalformat, width, height):
    return _gl_storage_ms(target, _MS_SAMPLES[0], internalformat, width, height)


pyrender.renderer.glRenderbufferStorageMultisample = _storage_ms
ALL_PASSES = ("colour", "depth", "semantic", "instance")


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics: fx, fy, cx, cy in pixels; width, height in pixels."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self):
        if not (self.fx > 0 and self.fy > 0):
            raise ValueError(f"Intrinsics: fx, fy must be positive, got {self.fx}, {self.fy}")
        if int(self.width) != self.width or int(self.height) != self.height or self.width < 1 or self.height < 1:
            raise ValueError(f"Intrinsics: width, height must be positive integers, got {self.width}, {self.height}")

    @classmethod
    def from_fov(cls, width: int, height: int, hfov_deg: float) -> "Intrinsics":
        """Square pixels, principal point at the image centre, horizontal field of view in degrees."""
        fx = 0.5 * width / np.tan(0.5 * np.radians(hfov_deg))
        return cls(fx, fx, 0.5 * width, 0.5 * height, int(width), int(height))


class Renderer:
    """Offscreen renderer of one WorldScene (one GL context, reused for every size)."""

    def __init__(self, world_scene: WorldScene, znear: float = 0.1, zfar: float = 2000.0, msaa: bool = True,
                 cull: bool = True):
        self.world_scene = world_scene
        self.znear, self.zfar = float(znear), float(zfar)
        self.msaa = bool(msaa)
        self.cull = bool(cull)
        self._r = None

    def _renderer(self, width: int, height: int):
        _MS_SAMPLES[0] = 4 if self.msaa else 0  # read when pyrender (re)creates its framebuffers
        if self._r is None:
            self._r = offscreen_renderer(width, height)
        elif (self._r.viewport_width, self._r.viewport_height) != (width, height):
            self._r.viewport_width, self._r.viewport_height = width, height
        return self._r

    def close(self):
        if self._r is not None:
            self._r.delete()
            self._r = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def render(self, pose: np.ndarray, intrinsics: Intrinsics, passes=("colour", "depth"),
               linear: bool = False) -> dict[str, np.ndarray]:
        """Render `passes` (subset of ALL_PASSES) from world-from-camera `pose` (4,4, OpenCV axes)."""
        unknown = set(passes) - set(ALL_PASSES)
        if unknown:
            raise ValueError(f"Renderer.render: unknown passes {sorted(unknown)}, expected some of {ALL_PASSES}")
        pose = np.asarray(pose, float)
        if pose.shape != (4, 4):
            raise ValueError(f"Renderer.render: pose must be (4,4), got {pose.shape}")
        ws = self.world_scene
        cam = ws.camera
        cam.fx, cam.fy, cam.cx, cam.cy = (float(intrinsics.fx), float(intrinsics.fy), float(intrinsics.cx),
                                          float(intrinsics.cy))
        cam.znear, cam.zfar = self.znear, self.zfar
        ws.scene.set_pose(ws.camera_node, pose @ CV_TO_GL)
        if self.cull:
            ws.cull(pose, cam.fx, cam.fy, cam.cx, cam.cy, int(intrinsics.width), int(intrinsics.height), self.znear)
        elif not np.all(ws._chunk_in):
            ws.uncull()
        r = self._renderer(int(intrinsics.width), int(intrinsics.height))
        out = {}
        flags = pyrender.RenderFlags.SKIP_CULL_FACES
        if "colour" in passes:
            colour, depth = r.render(ws.scene, flags=flags)
            out["colour"] = (colour.astype(np.float32) / 255.0) ** 2.2 if linear else colour
            if "depth" in passes:
                out["depth"] = _depth(depth)
        if "semantic" in passes or "instance" in passes or ("depth" in passes and "depth" not in out):
            seg, depth = r.render(ws.scene, flags=flags | pyrender.RenderFlags.SEG, seg_node_map=ws.seg_node_map)
            if "depth" in passes and "depth" not in out:
                out["depth"] = _depth(depth)
            if "semantic" in passes:
                out["semantic"] = seg[..., 0].copy()
            if "instance" in passes:
                out["instance"] = (seg[..., 1].astype(np.int32) << 8 | seg[..., 2]) - 1
        return out


def _depth(depth: np.ndarray) -> np.ndarray:
    d = np.asarray(depth, np.float32).copy()
    d[d <= 0] = np.inf
    return d


def camera_pose(position, yaw: float, pitch: float = 0.0) -> np.ndarray:
    """World-from-camera (OpenCV axes) for a camera at `position` (3,) m looking along heading `yaw`
    (rad, from +x towards +y) and `pitch` (rad, positive looks down), no roll."""
    cy_, sy_ = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(pitch), np.sin(pitch)
    forward = np.array([cy_ * cp, sy_ * cp, -sp])
    right = np.array([sy_, -cy_, 0.0])
    down = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, down, forward, np.asarray(position, float)
    return pose
