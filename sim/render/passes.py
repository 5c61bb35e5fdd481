"""Render passes of a WorldScene from a pinhole camera: colour, depth, semantic and instance ids.

Camera convention: ``pose`` is 4x4 world-from-camera with OpenCV axes (x right, y down, z
forward); world frame x, y ground (m), z up. pyrender (OpenGL) cameras look along -z with y up,
so internally pose_gl = pose @ diag(1, -1, -1, 1). Pixel (u, v) = (fx X/Z + cx, fy Y/Z + cy) with
pixel i covering [i, i+1), i.e. the centre of pixel (0, 0) is (0.5, 0.5).

Passes: "colour" (H,W,3) uint8 sRGB (or float32 linear with ``linear=True``), no MSAA unless msaa=True,
Lambert-shaded per vertex (shading="pbr": pyrender's metallic-roughness shader), drawn from
``WorldScene.scene`` (one merged node per static chunk);
"depth" (H,W) float32 metric z along the optical axis, m, ``inf`` where nothing is drawn;
"semantic" (H,W) uint8 ids into sim.render.scene.SEMANTIC_CLASSES (0 = sky);
"instance" (H,W) int32 actor index (column of the actors table), -1 for no actor.
Colour+depth cost one draw of the scene; semantic/instance one more, of ``WorldScene.seg_scene``
(per-class static chunks, per-actor nodes, flat ids). Static chunks and actors outside the
frustum/range are not visited (see _install_fast_paths).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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

    def __init__(self, world_scene: WorldScene, znear: float = 0.1, zfar: float = 2000.0, msaa: bool = False,
                 cull: bool = True, shading: str = "lambert"):
        self.world_scene = world_scene
        self.znear, self.zfar = float(znear), float(zfar)
        self.msaa = bool(msaa)
        self.cull = bool(cull)
        if shading not in ("lambert", "pbr"):
            raise ValueError(f"Renderer: shading must be 'lambert' or 'pbr', got {shading!r}")
        self.shading = shading
        self._r = None
        self._draw: list = []  # mesh nodes the next pyrender draw visits (set per pass)

    def _renderer(self, width: int, height: int):
        _MS_SAMPLES[0] = 4 if self.msaa else 0  # read when pyrender (re)creates its framebuffers
        if self._r is None:
            self._r = offscreen_renderer(width, height)
            _install_fast_paths(self._r._renderer, self)
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
        ws.camera_node._matrix = pose @ CV_TO_GL  # Scene.set_pose, for both scenes (root child)
        w, h = int(intrinsics.width), int(intrinsics.height)
        want_seg = "semantic" in passes or "instance" in passes or ("depth" in passes and "colour" not in passes)
        which = (("colour",) if "colour" in passes else ()) + (("seg",) if want_seg else ())
        if self.cull:
            ws.cull(pose, cam.fx, cam.fy, cam.cx, cam.cy, w, h, self.znear, which=which)
            actors = ws.actors_in_view(pose, cam.fx, cam.fy, cam.cx, cam.cy, w, h, self.znear)
        else:
            ws.uncull(which)
            actors = None
        r = self._renderer(w, h)
        out = {}
        flags = pyrender.RenderFlags.SKIP_CULL_FACES
        if "colour" in passes:
            self._draw = ws.draw_list("colour", actors)
            colour, depth = r.render(ws.scene, flags=flags)
            out["colour"] = (colour.astype(np.float32) / 255.0) ** 2.2 if linear else colour
            if "depth" in passes:
                out["depth"] = _depth(depth)
        if want_seg:
            self._draw = ws.draw_list("seg", actors)
            seg, depth = r.render(ws.seg_scene, flags=flags | pyrender.RenderFlags.SEG, seg_node_map=ws.seg_node_map)
            if "depth" in passes and "depth" not in out:
                out["depth"] = _depth(depth)
            if "semantic" in passes:
                out["semantic"] = seg[..., 0].copy()
            if "instance" in passes:
                out["instance"] = (seg[..., 1].astype(np.int32) << 8 | seg[..., 2]) - 1
        self._draw = []
        return out


def _install_fast_paths(gl_renderer, owner: "Renderer") -> None:
    """Per-instance overrides of pyrender.Renderer internals for our all-opaque, texture-free,
    shadow-free scenes:

    * ``_sorted_mesh_nodes``: the owner's precomputed draw list (culled static chunks and actors in
      view) instead of sorting every node in the scene by distance on every render (pyrender sorts
      only so that transparent meshes blend back to front; ours are opaque, depth-tested).
    * ``_update_context``: meshes are uploaded once and kept in the GL context until the renderer
      is deleted. pyrender's version deletes every mesh not in the scene being drawn, so culling
      (nodes leaving and re-entering the scene) and the colour/segmentation scene switch re-uploaded
      geometry on nearly every render.
    """
    import types

    def sorted_mesh_nodes(self, scene):
        return owner._draw

    def update_context(self, scene, flags):
        new = scene.meshes - self._meshes
        for mesh in new:
            for p in mesh.primitives:
                p._add_to_context()
        self._meshes |= new

    cache = gl_renderer._program_cache
    stock_get_program = cache.get_program

    def get_program(vertex_shader, fragment_shader, geometry_shader=None, defines=None):
        d = defines or {}
        if owner.shading == "lambert" and fragment_shader == "mesh.frag" and "NORMAL_LOC" in d and "COLOR_0_LOC" in d:
            vertex_shader, fragment_shader = _lambert_shader_files()
        return stock_get_program(vertex_shader, fragment_shader, geometry_shader, defines)

    cache.get_program = get_program
    gl_renderer._sorted_mesh_nodes = types.MethodType(sorted_mesh_nodes, gl_renderer)
    gl_renderer._update_context = types.MethodType(update_context, gl_renderer)


SHADER_DIR = Path(__file__).parent / "shaders"
"""Shipped GLSL sources (package data)."""


def _lambert_shader_files() -> tuple[str, str]:
    """Absolute paths of the Lambert shaders (pyrender's shader cache joins names to its own folder, which
    keeps absolute paths)."""
    return str(SHADER_DIR / "lambert.vert"), str(SHADER_DIR / "lambert.frag")


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
