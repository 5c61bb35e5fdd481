"""Render passes of a WorldScene from pinhole cameras: colour, depth, semantic and instance ids, normals.

Camera convention: ``pose`` is 4x4 world-from-camera with OpenCV axes (x right, y down, z forward);
world frame x, y ground (m), z up. Pixel (u, v) = (fx X/Z + cx, fy Y/Z + cy) with pixel i covering
[i, i+1), i.e. the centre of pixel (0, 0) is (0.5, 0.5).

Passes: "colour" (H,W,3) uint8 sRGB (or float32 linear with ``linear=True``), Lambert-shaded per vertex
under an ambient term and one sun, road surface textured; "depth" (H,W) float32 metric z along the
optical axis, m, ``inf`` where nothing is drawn; "semantic" (H,W) uint8 ids into
sim.render.scene.SEMANTIC_CLASSES (0 = sky); "instance" (H,W) int32 actor index (column of the actors
table), -1 for no actor; "normal" (H,W,3) float32 unit surface normal in the camera frame (OpenCV
axes), facing the camera, 0 where nothing is drawn.

How: pyrender's OffscreenRenderer only creates the headless context (EGL or OSMesa, sim.render.backend);
drawing is our own OpenGL 3.3 forward pass (sim.render.gl, shaders/forward.*): one program bound once,
static chunks uploaded once and frustum-culled per view, actors drawn instanced per class mesh from
one table per frame. Every pass comes from the same draw (multiple render targets). ``render_views``
draws several cameras side by side into one framebuffer (an atlas) with one readback per pass, which
is what a multi-camera rig uses. With ``msaa`` the colour pass is drawn into a 4x multisampled buffer
and resolved (label passes are never multisampled: ids must not be blended).
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from . import gl as G
from .backend import offscreen_renderer, release
from .scene import SKY, VERTEX_LAYOUT, WorldScene

gl = G.gl
ALL_PASSES = ("colour", "depth", "semantic", "instance", "normal")
ATTACHMENT = {"colour": 0, "depth": 1, "semantic": 2, "instance": 2, "normal": 3}
FORMATS = (gl.GL_SRGB8_ALPHA8, gl.GL_R32F, gl.GL_RGBA8, gl.GL_RGBA16F)
"""Colour (sRGB-encoded 8 bit, written and blended in linear light), depth, ids, normal."""
MSAA_SAMPLES = 4


SKY_LINEAR = tuple(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in SKY)
_SRGB_TO_LINEAR = np.array([c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
                            for c in np.arange(256) / 255.0], np.float32)




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


def clip_from_camera(k: Intrinsics, znear: float, zfar: float) -> np.ndarray:
    """4x4 projection from OpenCV camera coordinates to GL clip space, window row = image row v."""
    w, h = k.width, k.height
    return np.array([[2 * k.fx / w, 0.0, 2 * k.cx / w - 1, 0.0],
                     [0.0, 2 * k.fy / h, 2 * k.cy / h - 1, 0.0],
                     [0.0, 0.0, (zfar + znear) / (zfar - znear), -2 * zfar * znear / (zfar - znear)],
                     [0.0, 0.0, 1.0, 0.0]])


class _Uploaded:
    """GPU buffers of one WorldScene (deleted with the renderer or when the scene is gone)."""

    def __init__(self, ws: WorldScene):
        self.scene = weakref.ref(ws)
        self.static = G.MeshBuffer(ws.static.vertices, ws.static.indices, VERTEX_LAYOUT)
        self.meshes: dict[str, G.MeshBuffer] = {}
        self.version = -1
        self.texture = G.texture_srgb(ws.surface) if ws.surface is not None else 0

    def sync(self, ws: WorldScene) -> None:
        if self.version == ws.version:
            return
        for name, mesh in self.meshes.items():
            if name not in ws.instances:
                mesh.instances = 0
        for name, rows in ws.instances.items():
            if name not in self.meshes:
                m = ws.meshes[name]
                self.meshes[name] = G.MeshBuffer(m.vertices, m.indices, VERTEX_LAYOUT, instance_vec4s=3)
            self.meshes[name].set_instances(rows)
        self.version = ws.version

    def delete(self) -> None:
        for b in (self.static, *self.meshes.values()):
            b.delete()
        if self.texture:
            gl.glDeleteTextures(1, [self.texture])


class Renderer:
    """Offscreen renderer of a WorldScene (one GL context; ``world_scene`` may be switched between
    calls, each scene's buffers are uploaded once)."""

    def __init__(self, world_scene: WorldScene, znear: float = 0.1, zfar: float = 2000.0, msaa: bool = False,
                 cull: bool = True):
        self.world_scene = world_scene
        self.znear, self.zfar = float(znear), float(zfar)
        self.msaa = bool(msaa)
        self.cull = bool(cull)
        self._ctx = None
        self._programs: dict[tuple, tuple[int, dict]] = {}  # (labels?, instanced?) -> (program, uniform locations)
        self._uploads: dict[int, _Uploaded] = {}
        self._fbo: G.Framebuffer | None = None
        self._msaa_fbo: G.Framebuffer | None = None

    # ------------------------------------------------------------------ context and resources
    def _begin(self) -> _Uploaded:
        if self._ctx is None:
            self._ctx = offscreen_renderer(1, 1)
            self._ctx._platform.make_current()
            for labels in (False, True):
                for instanced in (False, True):
                    defines = ("LABELS",) * labels + ("INSTANCED",) * instanced
                    prog = G.program("forward.vert", "forward.frag", defines)
                    self._programs[labels, instanced] = prog, G.uniform_locations(
                        prog, ("VP", "V", "sun_dir", "sun", "ambient", "surface"))
        else:
            self._ctx._platform.make_current()
        for key in [k for k, u in self._uploads.items() if u.scene() is None]:
            self._uploads.pop(key).delete()
        ws = self.world_scene
        up = self._uploads.get(id(ws))
        if up is None or up.scene() is not ws:
            up = self._uploads[id(ws)] = _Uploaded(ws)
        up.sync(ws)
        return up

    def _framebuffers(self, width: int, height: int, msaa: bool):
        if self._fbo is None or (self._fbo.width, self._fbo.height) != (width, height):
            if self._fbo is not None:
                self._fbo.delete()
            self._fbo = G.Framebuffer(width, height, FORMATS)
        if msaa and (self._msaa_fbo is None or (self._msaa_fbo.width, self._msaa_fbo.height) != (width, height)):
            if self._msaa_fbo is not None:
                self._msaa_fbo.delete()
            self._msaa_fbo = G.Framebuffer(width, height, FORMATS[:1], samples=MSAA_SAMPLES)
        return self._fbo, self._msaa_fbo

    def close(self) -> None:
        if self._ctx is None:
            return
        self._ctx._platform.make_current()
        for up in self._uploads.values():
            up.delete()
        self._uploads.clear()
        for fbo in (self._fbo, self._msaa_fbo):
            if fbo is not None:
                fbo.delete()
        self._fbo = self._msaa_fbo = None
        for prog, _ in self._programs.values():
            gl.glDeleteProgram(prog)
        self._programs.clear()
        release(self._ctx)
        self._ctx = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    # ------------------------------------------------------------------ drawing
    def render(self, pose: np.ndarray, intrinsics: Intrinsics, passes=("colour", "depth"),
               linear: bool = False) -> dict[str, np.ndarray]:
        """Render `passes` (subset of ALL_PASSES) from world-from-camera `pose` (4,4, OpenCV axes)."""
        return self.render_views([(pose, intrinsics)], passes, linear)[0]

    def render_views(self, views, passes=("colour", "depth"), linear: bool = False) -> list[dict[str, np.ndarray]]:
        """Render `passes` for each (pose, Intrinsics) in `views` in one draw (views side by side in one
        framebuffer, one readback per pass); one dict per view, as ``render`` returns."""
        unknown = set(passes) - set(ALL_PASSES)
        if unknown:
            raise ValueError(f"Renderer.render: unknown passes {sorted(unknown)}, expected some of {ALL_PASSES}")
        views = [(np.asarray(p, float), k) for p, k in views]
        for pose, _ in views:
            if pose.shape != (4, 4):
                raise ValueError(f"Renderer.render: pose must be (4,4), got {pose.shape}")
        up = self._begin()
        offsets = np.concatenate([[0], np.cumsum([k.width for _, k in views])])
        width, height = int(offsets[-1]), max(k.height for _, k in views)
        msaa = self.msaa and "colour" in passes
        fbo, msaa_fbo = self._framebuffers(width, height, msaa)
        attachments = {ATTACHMENT[p] for p in passes}
        if msaa:
            self._draw(msaa_fbo, {0}, views, offsets, up)
            msaa_fbo.resolve_into(fbo, 0, width, height)
            attachments.discard(0)
        if attachments:
            self._draw(fbo, attachments, views, offsets, up)
        return self._read(fbo, passes, views, offsets, width, height, linear)

    def _use_program(self, labels: bool, instanced: bool, up: _Uploaded) -> dict:
        prog, loc = self._programs[labels, instanced]
        gl.glUseProgram(prog)
        ws = self.world_scene
        gl.glUniform3f(loc["sun_dir"], *ws.sun_direction)
        gl.glUniform3f(loc["sun"], *(np.full(3, ws.sun_intensity / np.pi)))
        gl.glUniform3f(loc["ambient"], ws.ambient, ws.ambient, ws.ambient)
        gl.glUniform1i(loc["surface"], 0)
        return loc

    def _draw(self, fbo: G.Framebuffer, attachments: set, views, offsets, up: _Uploaded) -> None:
        fbo.bind(attachments)
        gl.glViewport(0, 0, fbo.width, fbo.height)
        gl.glEnable(gl.GL_DEPTH_TEST)
        gl.glEnable(gl.GL_FRAMEBUFFER_SRGB)
        gl.glDisable(gl.GL_CULL_FACE)
        for a in attachments:
            fbo.clear(a, (*SKY_LINEAR, 1.0) if a == 0 else (0.0, 0.0, 0.0, 0.0))
        gl.glClearBufferfv(gl.GL_DEPTH, 0, np.ones(1, np.float32))
        gl.glActiveTexture(gl.GL_TEXTURE0)
        gl.glBindTexture(gl.GL_TEXTURE_2D, up.texture)
        ws = self.world_scene
        labels = attachments != {0}
        actors = [m for m in up.meshes.values() if m.instances]
        matrices = []
        for pose, k in views:
            view = np.linalg.inv(pose)
            matrices.append(((clip_from_camera(k, self.znear, self.zfar) @ view).astype(np.float32),
                             view.astype(np.float32)))
        for instanced in (False, True) if actors else (False,):
            loc = self._use_program(labels, instanced, up)
            for (pose, k), x, (vp, v) in zip(views, offsets, matrices):
                gl.glViewport(int(x), 0, k.width, k.height)
                gl.glUniformMatrix4fv(loc["VP"], 1, gl.GL_TRUE, vp)
                gl.glUniformMatrix4fv(loc["V"], 1, gl.GL_TRUE, v)
                if instanced:
                    for mesh in actors:
                        mesh.draw()
                else:
                    ranges = ws.chunk_ranges
                    if self.cull:
                        ranges = ranges[ws.chunks_in_view(pose, k.fx, k.fy, k.cx, k.cy, k.width, k.height, self.znear)]
                    up.static.draw_ranges(ranges)
        gl.glBindVertexArray(0)

    def _read(self, fbo: G.Framebuffer, passes, views, offsets, width: int, height: int, linear: bool):
        out = [dict() for _ in views]
        if "colour" in passes:
            rgba = fbo.read(0, width, height, gl.GL_RGBA, gl.GL_UNSIGNED_BYTE, np.uint8, 4)
            for o, (_, k), x in zip(out, views, offsets):
                c = rgba[:k.height, x:x + k.width, :3]
                o["colour"] = _SRGB_TO_LINEAR[c] if linear else c.copy()
        if "depth" in passes:
            d = fbo.read(1, width, height, gl.GL_RED, gl.GL_FLOAT, np.float32, 1)[..., 0]
            d[d <= 0] = np.inf
            for o, (_, k), x in zip(out, views, offsets):
                o["depth"] = d[:k.height, x:x + k.width].copy()
        if "semantic" in passes or "instance" in passes:
            ids = fbo.read(2, width, height, gl.GL_RGBA, gl.GL_UNSIGNED_BYTE, np.uint8, 4)
            for o, (_, k), x in zip(out, views, offsets):
                v = ids[:k.height, x:x + k.width]
                if "semantic" in passes:
                    o["semantic"] = v[..., 0].copy()
                if "instance" in passes:
                    o["instance"] = (v[..., 1].astype(np.int32) << 8 | v[..., 2]) - 1
        if "normal" in passes:
            n = fbo.read(3, width, height, gl.GL_RGBA, gl.GL_FLOAT, np.float32, 4)
            for o, (_, k), x in zip(out, views, offsets):
                o["normal"] = n[:k.height, x:x + k.width, :3].copy()
        return out


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
