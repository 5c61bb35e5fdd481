"""Headless OpenGL platform for pyrender: EGL first, then OSMesa.

PyOpenGL picks its platform once, when ``OpenGL`` is first imported, from the environment
variable ``PYOPENGL_PLATFORM``. ``select_platform()`` therefore must run before anything imports
OpenGL or pyrender; ``sim.render`` calls it on import. Rules:

1. ``PYOPENGL_PLATFORM`` already set: kept as is.
2. ``OpenGL`` already imported: whatever it chose is kept.
3. ``libEGL`` loads and gives an initialised EGL display (Mesa gives a surfaceless one): "egl".
4. ``libOSMesa`` loads and PyOpenGL >= 3.1.7: "osmesa", with PyOpenGL's context-key fix below.
5. neither: RuntimeError naming the Debian packages to install.

It also sets ``np.infty = np.inf`` (pyrender 0.1.45 uses it; NumPy 2 removed it).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

import numpy as np

INSTALL_HINT = ("headless OpenGL for pyrender needs EGL (Debian: apt-get install libegl1 libegl-mesa0 "
                "libgl1-mesa-dri) or OSMesa (apt-get install libosmesa6, then "
                "pip install 'pyopengl>=3.1.7' after pyrender)")

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
    lib = _load(["libEGL.so.1", "libEGL.so"])
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
    return _load(["libOSMesa.so.8", "libOSMesa.so.6", "libOSMesa.so"]) is not None and _pyopengl_version() >= (3, 1, 7)


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
