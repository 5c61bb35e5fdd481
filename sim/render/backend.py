"""Headless OpenGL platform for pyrender: EGL first, then OSMesa.

PyOpenGL picks its platform once, when ``OpenGL`` is first imported, from the environment
variable ``PYOPENGL_PLATFORM``. ``select_platform()`` therefore must run before anything imports
OpenGL or pyrender; ``sim.render`` calls it on import. Rules:

1. ``PYOPENGL_PLATFORM`` already set: kept as is (for "egl"/"osmesa", RuntimeError naming the Debian
   packages when its library does not load).
2. ``OpenGL`` already imported: whatever it chose is kept.
3. ``libEGL`` loads and gives an initialised EGL display (Mesa gives a surfaceless one): "egl".
4. ``libOSMesa`` loads and PyOpenGL >= 3.1.7: "osmesa", with PyOpenGL's context-key fix below.
5. neither: RuntimeError naming the Debian packages to install.

It also sets ``np.infty = np.inf`` (pyrender 0.1.45 uses it; NumPy 2 removed it).

PyOpenGL version: pyrender 0.1.45 pins PyOpenGL 3.1.0, whose OSMesa binding is broken (pyrender's
OSMesa platform needs ``OSMesaCreateContextAttribs``, added in later PyOpenGL releases); OSMesa works
from 3.1.7. scripts/setup.sh therefore installs PyOpenGL 3.1.10 in a separate pip step after pyrender
(pip rejects the pair in one resolve); pyrender's EGL path works unchanged with it.

``release(offscreen_renderer)`` frees one context; use it instead of ``OffscreenRenderer.delete()``,
which under EGL calls ``eglTerminate`` and so breaks every other live context in the process.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

import numpy as np

INSTALL_HINT = ("headless OpenGL for pyrender needs EGL (Debian: apt-get install libegl1 libegl-mesa0 "
                "libgl1-mesa-dri) or OSMesa (apt-get install libosmesa6 libgl1-mesa-dri, then "
                "pip install 'pyopengl>=3.1.7' after pyrender); scripts/setup.sh installs both")
_EGL_LIBS = ["libEGL.so.1", "libEGL.so"]
_OSMESA_LIBS = ["libOSMesa.so.8", "libOSMesa.so.6", "libOSMesa.so"]

_platform: str | None = None


def _numpy_shim():
    if not hasattr(np, "infty"):
        np.infty = np.inf


def _load(names):
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    found = ctypes.util.find_library(names[0].split(".")[0][3:])
    if found:
        try:
            return ctypes.CDLL(found)
        except OSError:
            return None
    return None


def _egl_works() -> bool:
    """An EGL display can be initialised the way pyrender gets one (first EGL device), or the
    default display."""
    lib = _load(_EGL_LIBS)
    if lib is None:
        return False
    try:
        vp = ctypes.c_void_p
        lib.eglGetProcAddress.restype = vp
        lib.eglGetProcAddress.argtypes = [ctypes.c_char_p]
        lib.eglGetDisplay.restype = vp
        lib.eglGetDisplay.argtypes = [vp]
        lib.eglInitialize.argtypes = [vp, vp, vp]
        lib.eglTerminate.argtypes = [vp]
        displays = []
        query = lib.eglGetProcAddress(b"eglQueryDevicesEXT")
        get_platform_display = lib.eglGetProcAddress(b"eglGetPlatformDisplayEXT")
        if query and get_platform_display:
            query_fn = ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_int, ctypes.POINTER(vp),
                                        ctypes.POINTER(ctypes.c_int))(query)
            display_fn = ctypes.CFUNCTYPE(vp, ctypes.c_uint, vp, vp)(get_platform_display)
            devices, n = (vp * 8)(), ctypes.c_int()
            if query_fn(8, devices, ctypes.byref(n)) and n.value > 0:
                displays.append(display_fn(0x313F, devices[0], None))  # EGL_PLATFORM_DEVICE_EXT
        displays.append(lib.eglGetDisplay(None))
        for dpy in displays:
            major, minor = ctypes.c_int(), ctypes.c_int()
            if dpy and lib.eglInitialize(dpy, ctypes.byref(major), ctypes.byref(minor)):
                lib.eglTerminate(dpy)
                return True
        return False
    except (AttributeError, OSError):
        return False


def _pyopengl_version() -> tuple[int, ...]:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return tuple(int(p) for p in version("PyOpenGL").split(".")[:3] if p.isdigit())
    except PackageNotFoundError:
        return ()


def _osmesa_works() -> bool:
    return _load(_OSMESA_LIBS) is not None and _pyopengl_version() >= (3, 1, 7)


def _fix_osmesa_context_key():
    """PyOpenGL's contextdata.getContext() returns a new ctypes pointer per call under OSMesa, so
    pyrender's per-context shader cache always misses (recompiles shaders every frame, leaks memory).
    Key contexts by the pointer's integer address instead."""
    from OpenGL import contextdata, platform

    def get_context(context=None):
        if context is None:
            context = platform.PLATFORM.GetCurrentContext()
            if context is None or not context:
                from OpenGL import error
                raise error.Error("Attempt to retrieve context when no valid context")
        if isinstance(context, int):
            return context
        return ctypes.cast(context, ctypes.c_void_p).value
    contextdata.getContext = get_context


def select_platform() -> str:
    """Choose and record the headless platform ("egl" or "osmesa"); idempotent."""
    global _platform
    _numpy_shim()
    if _platform is not None:
        return _platform
    chosen = os.environ.get("PYOPENGL_PLATFORM")
    if not chosen and "OpenGL" in sys.modules:
        import OpenGL.platform
        chosen = type(OpenGL.platform.PLATFORM).__module__.rsplit(".", 1)[-1]
    if not chosen:
        if _egl_works():
            chosen = "egl"
        elif _osmesa_works():
            chosen = "osmesa"
        else:
            raise RuntimeError(f"sim.render: no headless GL platform works; {INSTALL_HINT}")
        os.environ["PYOPENGL_PLATFORM"] = chosen
    elif chosen in ("egl", "osmesa") and _load(_EGL_LIBS if chosen == "egl" else _OSMESA_LIBS) is None:
        raise RuntimeError(f"sim.render: PYOPENGL_PLATFORM={chosen} but lib{'EGL' if chosen == 'egl' else 'OSMesa'} "
                           f"does not load; {INSTALL_HINT}")
    if chosen == "osmesa":
        if _pyopengl_version() < (3, 1, 7):
            raise RuntimeError(f"sim.render: PYOPENGL_PLATFORM=osmesa needs PyOpenGL >= 3.1.7, "
                               f"found {_pyopengl_version()}; {INSTALL_HINT}")
        _fix_osmesa_context_key()
    _platform = chosen
    return chosen


def offscreen_renderer(width: int, height: int):
    """A pyrender.OffscreenRenderer on the selected platform; RuntimeError with install hints when
    the GL context cannot be created."""
    platform = select_platform()
    import pyrender
    try:
        return pyrender.OffscreenRenderer(int(width), int(height))
    except Exception as exc:  # noqa: BLE001 - any GL/ctypes failure means no usable context
        raise RuntimeError(f"sim.render: cannot create an OpenGL context with PYOPENGL_PLATFORM={platform} "
                           f"({type(exc).__name__}: {exc}); {INSTALL_HINT}") from exc


def release(renderer) -> None:
    """Free a pyrender.OffscreenRenderer's GL objects and context; idempotent.

    Under EGL this destroys only its own context: ``OffscreenRenderer.delete()`` would also call
    ``eglTerminate`` on the display, which every EGL context in the process shares, so every other
    live renderer would fail on its next frame. Other platforms (OSMesa) use the normal delete."""
    platform = getattr(renderer, "_platform", None)
    if platform is None:
        return
    if type(platform).__name__ != "EGLPlatform":
        renderer.delete()
        return
    from OpenGL.EGL import EGL_NO_CONTEXT, EGL_NO_SURFACE, eglDestroyContext, eglMakeCurrent

    display, context = platform._egl_display, platform._egl_context
    try:
        if display is not None and context is not None:
            platform.make_current()
            gl_renderer = getattr(renderer, "_renderer", None)
            if gl_renderer is not None:
                gl_renderer.delete()
    finally:
        if display is not None:
            # unbind first: EGL defers destroying a context that is current until it is released
            eglMakeCurrent(display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT)
            if context is not None:
                eglDestroyContext(display, context)
        platform._egl_context = None
        platform._egl_display = None  # so pyrender's delete()/__del__ never reaches eglTerminate
        renderer._renderer = None
        renderer._platform = None
