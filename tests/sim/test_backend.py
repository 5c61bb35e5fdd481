"""sim.render.backend: OSMesa renders what EGL renders; a machine with neither fails with the Debian
packages to install; release() frees one EGL context without breaking the others.

OSMesa is not optional here: scripts/setup.sh installs libosmesa6 and PyOpenGL 3.1.10, so a machine
where the OSMesa render cannot run fails these tests (nothing is skipped)."""
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("libegl1", "libegl-mesa0", "libgl1-mesa-dri", "libosmesa6")

# One frame of a generated world with a vehicle ahead, through the public sim.render API only.
RENDER_SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    from sim.world import WorldSpec, generate_world
    from sim.render import Intrinsics, Renderer, WorldScene, backend, camera_pose

    world = generate_world(WorldSpec(), np.random.default_rng(0))
    ws = WorldScene(world)
    xy, h = world.lanes.cartesian([0], [15.0], [0.0])
    ws.update(np.array([[xy[0, 0]], [xy[0, 1]], [h[0]], [0.0], [4.5], [1.8], [1.5]]), np.array([0]), np.array([True]))
    p, h = world.lanes.cartesian([0], [5.0], [0.0])
    pose = camera_pose([p[0, 0], p[0, 1], 1.5], float(h[0]))
    K = Intrinsics.from_fov(320, 240, 90.0)
    r = Renderer(ws)
    out = r.render(pose, K, ("colour", "depth"))
    n, t = 10, time.perf_counter()
    for _ in range(n):
        r.render(pose, K, ("colour", "depth"))
    fps = n / (time.perf_counter() - t)
    r.close()
    np.savez(sys.argv[1], colour=out["colour"], depth=out["depth"], platform=backend.select_platform(), fps=fps)
""")


def _env(platform: str) -> dict:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return dict(os.environ, PYOPENGL_PLATFORM=platform, PYTHONPATH=path)


def _start_render(platform: str, out: Path) -> subprocess.Popen:
    env = _env(platform)
    return subprocess.Popen([sys.executable, "-c", RENDER_SCRIPT, str(out)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_osmesa_matches_egl(tmp_path):
    # the two renders run side by side (each is mostly start-up: imports, world generation)
    procs = {p: _start_render(p, tmp_path / f"{p}.npz") for p in ("egl", "osmesa")}
    frames = {}
    for platform, proc in procs.items():
        log, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, (
            f"rendering with PYOPENGL_PLATFORM={platform} failed; scripts/setup.sh installs "
            f"{' '.join(PACKAGES)} and PyOpenGL 3.1.10 (OSMesa needs >= 3.1.7):\n{log[-3000:]}")
        frames[platform] = np.load(tmp_path / f"{platform}.npz")
        assert str(frames[platform]["platform"]) == platform
    egl, osm = frames["egl"], frames["osmesa"]
    print(f"320x240 colour+depth: EGL {float(egl['fps']):.0f} fps, OSMesa {float(osm['fps']):.0f} fps")
    assert egl["colour"].shape == osm["colour"].shape == (240, 320, 3)
    assert egl["colour"].std() > 5.0  # not blank
    diff = np.abs(egl["colour"].astype(np.int16) - osm["colour"].astype(np.int16))
    assert diff.mean() < 2.0, f"mean colour difference {diff.mean():.2f} levels"
    d_egl, d_osm = egl["depth"], osm["depth"]
    both = np.isfinite(d_egl) & np.isfinite(d_osm) & (d_egl > 0) & (d_osm > 0)
    assert both.mean() > 0.3
    # same coverage, up to a few edge pixels
    assert np.mean(np.isfinite(d_egl) & (d_egl > 0)) == pytest.approx(np.mean(np.isfinite(d_osm) & (d_osm > 0)), abs=0.005)
    np.testing.assert_allclose(d_osm[both], d_egl[both], rtol=1e-3)


def _fresh_backend(monkeypatch):
    """A new copy of sim.render.backend (nothing selected yet) as if OpenGL were not yet imported."""
    import sim.render.backend as loaded
    spec = importlib.util.spec_from_file_location("_fresh_backend", loaded.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.delenv("PYOPENGL_PLATFORM", raising=False)
    monkeypatch.delitem(sys.modules, "OpenGL", raising=False)
    return module


def test_no_platform_names_the_packages(monkeypatch):
    backend = _fresh_backend(monkeypatch)
    monkeypatch.setattr(backend, "_load", lambda names: None)  # neither libEGL nor libOSMesa loads
    with pytest.raises(RuntimeError) as err:
        backend.select_platform()
    for package in PACKAGES:
        assert package in str(err.value)
    assert "PYOPENGL_PLATFORM" not in os.environ


def test_osmesa_needs_new_pyopengl(monkeypatch):
    backend = _fresh_backend(monkeypatch)
    monkeypatch.setattr(backend, "_egl_works", lambda: False)
    monkeypatch.setattr(backend, "_pyopengl_version", lambda: (3, 1, 0))
    with pytest.raises(RuntimeError, match="libosmesa6.*pyopengl"):
        backend.select_platform()


def test_explicit_platform_without_its_library(monkeypatch):
    backend = _fresh_backend(monkeypatch)
    monkeypatch.setenv("PYOPENGL_PLATFORM", "osmesa")
    monkeypatch.setattr(backend, "_load", lambda names: None)
    with pytest.raises(RuntimeError, match="libOSMesa does not load.*libosmesa6"):
        backend.select_platform()


RELEASE_SCRIPT = textwrap.dedent("""
    import numpy as np
    from sim.render import backend
    backend.select_platform()
    import pyrender, trimesh

    def make_scene():  # a pyrender mesh binds to one context: one scene per renderer
        scene = pyrender.Scene(ambient_light=[0.3, 0.3, 0.3])
        scene.add(pyrender.Mesh.from_trimesh(trimesh.creation.box([1.0, 1.0, 1.0])))
        cam = np.eye(4)
        cam[2, 3] = 3.0
        scene.add(pyrender.PerspectiveCamera(yfov=1.0), pose=cam)
        return scene

    scene = make_scene()
    a, b = backend.offscreen_renderer(64, 48), backend.offscreen_renderer(64, 48)
    before = b.render(scene)[1]
    a.render(make_scene())
    backend.release(a)
    backend.release(a)  # idempotent
    del a               # pyrender's __del__ must not reach eglTerminate either
    import gc; gc.collect()
    after = b.render(scene)[1]
    assert (after > 0).sum() > 100 and np.array_equal(before, after), "other context broken by release"
    backend.release(b)
    c = backend.offscreen_renderer(64, 48)  # a new context after both were released
    assert np.array_equal(c.render(make_scene())[1], before)
    backend.release(c)
    print("ok", backend.select_platform())
""")


@pytest.mark.parametrize("platform", ["egl", "osmesa"])
def test_release_keeps_other_contexts(platform):
    env = _env(platform)
    proc = subprocess.run([sys.executable, "-c", RELEASE_SCRIPT], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and f"ok {platform}" in proc.stdout, proc.stdout + proc.stderr[-3000:]
