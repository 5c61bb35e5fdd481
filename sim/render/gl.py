"""Thin OpenGL 3.3 core helpers for the renderer: programs, mesh buffers, framebuffers, readback.

Every function assumes the caller's context is current. Objects are plain GL names (ints) held by
small classes with an explicit ``delete``.
"""
from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from .backend import select_platform

select_platform()
from OpenGL import GL as gl  # noqa: E402  (after the platform is chosen)

SHADER_DIR = Path(__file__).parent / "shaders"
"""Shipped GLSL sources (package data)."""
F32 = 4


def _source(name: str, defines) -> str:
    version, rest = (SHADER_DIR / name).read_text().split("\n", 1)
    return "\n".join([version, *(f"#define {d}" for d in defines), rest])


def program(vertex: str, fragment: str, defines=()) -> int:
    """Compile and link the shader files `vertex`, `fragment` (names in SHADER_DIR; first line the
    #version) with the preprocessor symbols `defines`."""
    from OpenGL.GL import shaders

    stages = [shaders.compileShader(_source(name, defines), kind)
              for name, kind in ((vertex, gl.GL_VERTEX_SHADER), (fragment, gl.GL_FRAGMENT_SHADER))]
    prog = shaders.compileProgram(*stages, validate=False)
    for s in stages:
        gl.glDeleteShader(s)
    return int(prog)


def uniform_locations(prog: int, names) -> dict[str, int]:
    return {n: gl.glGetUniformLocation(prog, n) for n in names}


class MeshBuffer:
    """A VAO with an interleaved float32 vertex buffer (attribute i = column block i of `layout`),
    an index buffer and, optionally, an instance buffer (per-instance vec4 attributes after the
    vertex ones, divisor 1) rewritten with ``set_instances``."""

    def __init__(self, vertices: np.ndarray, indices: np.ndarray, layout: tuple[int, ...], instance_vec4s: int = 0):
        vertices = np.ascontiguousarray(vertices, np.float32)
        indices = np.ascontiguousarray(indices, np.uint32)
        self.count = len(indices)
        self.instances = 0
        self.vao = int(gl.glGenVertexArrays(1))
        gl.glBindVertexArray(self.vao)
        self.vbo = int(gl.glGenBuffers(1))
        gl.glBindBuffer(gl.GL_ARRAY_BUFFER, self.vbo)
        gl.glBufferData(gl.GL_ARRAY_BUFFER, vertices.nbytes, vertices, gl.GL_STATIC_DRAW)
        stride, offset = F32 * sum(layout), 0
        for loc, size in enumerate(layout):
            gl.glVertexAttribPointer(loc, size, gl.GL_FLOAT, gl.GL_FALSE, stride, ctypes.c_void_p(F32 * offset))
            gl.glEnableVertexAttribArray(loc)
            offset += size
        self.ibo = int(gl.glGenBuffers(1))
        gl.glBindBuffer(gl.GL_ELEMENT_ARRAY_BUFFER, self.ibo)
        gl.glBufferData(gl.GL_ELEMENT_ARRAY_BUFFER, indices.nbytes, indices, gl.GL_STATIC_DRAW)
        self.inst = None
        if instance_vec4s:
            self.inst = int(gl.glGenBuffers(1))
            gl.glBindBuffer(gl.GL_ARRAY_BUFFER, self.inst)
            for j in range(instance_vec4s):
                loc = len(layout) + j
                gl.glVertexAttribPointer(loc, 4, gl.GL_FLOAT, gl.GL_FALSE, F32 * 4 * instance_vec4s,
                                         ctypes.c_void_p(F32 * 4 * j))
                gl.glVertexAttribDivisor(loc, 1)
                gl.glEnableVertexAttribArray(loc)
        gl.glBindVertexArray(0)

    def set_instances(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, np.float32)
        gl.glBindBuffer(gl.GL_ARRAY_BUFFER, self.inst)
        gl.glBufferData(gl.GL_ARRAY_BUFFER, max(rows.nbytes, 16), rows if rows.size else None, gl.GL_DYNAMIC_DRAW)
        self.instances = len(rows)

    def draw(self) -> None:
        gl.glBindVertexArray(self.vao)
        if self.inst is None:
            gl.glDrawElements(gl.GL_TRIANGLES, self.count, gl.GL_UNSIGNED_INT, None)
        elif self.instances:
            gl.glDrawElementsInstanced(gl.GL_TRIANGLES, self.count, gl.GL_UNSIGNED_INT, None, self.instances)

    def draw_ranges(self, ranges: np.ndarray) -> None:
        """Draw index ranges (R, 2) (first index, count) in one call (adjacent ranges merged)."""
        if not len(ranges):
            return
        first, count = ranges[:, 0], ranges[:, 1]
        start = np.ones(len(ranges), bool)
        start[1:] = first[1:] != first[:-1] + count[:-1]
        group = np.cumsum(start) - 1
        counts = np.bincount(group, weights=count).astype(np.int32)
        offsets = (ctypes.c_void_p * len(counts))(*(int(v) * 4 for v in first[start]))
        gl.glBindVertexArray(self.vao)
        gl.glMultiDrawElements(gl.GL_TRIANGLES, counts, gl.GL_UNSIGNED_INT, offsets, len(counts))

    def delete(self) -> None:
        gl.glDeleteVertexArrays(1, [self.vao])
        gl.glDeleteBuffers(3 if self.inst else 2, [b for b in (self.vbo, self.ibo, self.inst) if b])


def texture_srgb(image: np.ndarray) -> int:
    """A repeating, mipmapped sRGB texture of an (H, W, 3) uint8 image (sampled as linear RGB)."""
    img = np.ascontiguousarray(image, np.uint8)
    tex = int(gl.glGenTextures(1))
    gl.glBindTexture(gl.GL_TEXTURE_2D, tex)
    gl.glPixelStorei(gl.GL_UNPACK_ALIGNMENT, 1)
    gl.glTexImage2D(gl.GL_TEXTURE_2D, 0, gl.GL_SRGB8, img.shape[1], img.shape[0], 0, gl.GL_RGB,
                    gl.GL_UNSIGNED_BYTE, img)
    gl.glGenerateMipmap(gl.GL_TEXTURE_2D)
    for key, value in ((gl.GL_TEXTURE_WRAP_S, gl.GL_REPEAT), (gl.GL_TEXTURE_WRAP_T, gl.GL_REPEAT),
                       (gl.GL_TEXTURE_MIN_FILTER, gl.GL_LINEAR_MIPMAP_LINEAR), (gl.GL_TEXTURE_MAG_FILTER, gl.GL_LINEAR)):
        gl.glTexParameteri(gl.GL_TEXTURE_2D, key, value)
    return tex


class Framebuffer:
    """An FBO of `width` x `height` with colour renderbuffers of the given internal `formats` (attachment
    i = formats[i]) and a 24-bit depth buffer; `samples` > 0 makes them multisampled."""

    def __init__(self, width: int, height: int, formats: tuple[int, ...], samples: int = 0):
        self.width, self.height, self.formats, self.samples = int(width), int(height), formats, int(samples)
        self.fbo = int(gl.glGenFramebuffers(1))
        gl.glBindFramebuffer(gl.GL_FRAMEBUFFER, self.fbo)
        self.rbos = [int(r) for r in np.atleast_1d(gl.glGenRenderbuffers(len(formats) + 1))]
        for i, (rbo, fmt) in enumerate(zip(self.rbos, (*formats, gl.GL_DEPTH_COMPONENT24))):
            gl.glBindRenderbuffer(gl.GL_RENDERBUFFER, rbo)
            if samples:
                gl.glRenderbufferStorageMultisample(gl.GL_RENDERBUFFER, samples, fmt, self.width, self.height)
            else:
                gl.glRenderbufferStorage(gl.GL_RENDERBUFFER, fmt, self.width, self.height)
            point = gl.GL_DEPTH_ATTACHMENT if i == len(formats) else gl.GL_COLOR_ATTACHMENT0 + i
            gl.glFramebufferRenderbuffer(gl.GL_FRAMEBUFFER, point, gl.GL_RENDERBUFFER, rbo)
        status = gl.glCheckFramebufferStatus(gl.GL_FRAMEBUFFER)
        if status != gl.GL_FRAMEBUFFER_COMPLETE:
            raise RuntimeError(f"sim.render: framebuffer incomplete (status 0x{int(status):x}) for {width}x{height}, "
                               f"samples {samples}")

    def fits(self, width: int, height: int) -> bool:
        return width <= self.width and height <= self.height

    def bind(self, attachments) -> None:
        """Bind for drawing into colour `attachments` (indices; others get GL_NONE)."""
        gl.glBindFramebuffer(gl.GL_FRAMEBUFFER, self.fbo)
        gl.glDrawBuffers(len(self.formats), [gl.GL_COLOR_ATTACHMENT0 + i if i in attachments else gl.GL_NONE
                                             for i in range(len(self.formats))])

    def clear(self, attachment: int, value) -> None:
        gl.glClearBufferfv(gl.GL_COLOR, attachment, np.asarray(value, np.float32))

    def read(self, attachment: int, width: int, height: int, fmt: int, gltype: int, dtype, channels: int) -> np.ndarray:
        """(height, width, channels) pixels of `attachment`; row 0 is window row 0."""
        gl.glBindFramebuffer(gl.GL_READ_FRAMEBUFFER, self.fbo)
        gl.glReadBuffer(gl.GL_COLOR_ATTACHMENT0 + attachment)
        gl.glPixelStorei(gl.GL_PACK_ALIGNMENT, 1)
        out = np.empty((height, width, channels), dtype)
        gl.glReadPixels(0, 0, width, height, fmt, gltype, out)
        return out

    def resolve_into(self, other: "Framebuffer", attachment: int, width: int, height: int) -> None:
        """Blit (MSAA resolve) colour `attachment` of this FBO into the same attachment of `other`."""
        gl.glBindFramebuffer(gl.GL_READ_FRAMEBUFFER, self.fbo)
        gl.glReadBuffer(gl.GL_COLOR_ATTACHMENT0 + attachment)
        gl.glBindFramebuffer(gl.GL_DRAW_FRAMEBUFFER, other.fbo)
        gl.glDrawBuffers(len(other.formats), [gl.GL_COLOR_ATTACHMENT0 + i if i == attachment else gl.GL_NONE
                                              for i in range(len(other.formats))])
        gl.glBlitFramebuffer(0, 0, width, height, 0, 0, width, height, gl.GL_COLOR_BUFFER_BIT, gl.GL_NEAREST)

    def delete(self) -> None:
        gl.glDeleteFramebuffers(1, [self.fbo])
        gl.glDeleteRenderbuffers(len(self.rbos), self.rbos)
