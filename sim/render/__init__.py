"""Headless pyrender rendering of a World: WorldScene (static geometry + actor nodes kept in sync)
and Renderer (colour, depth, semantic, instance passes from an OpenCV-convention pinhole camera).

Importing this package selects the GL platform (EGL, then OSMesa) before OpenGL is imported; see
sim.render.backend."""
from .backend import INSTALL_HINT, offscreen_renderer, select_platform

select_platform()
from .passes import ALL_PASSES, Intrinsics, Renderer, camera_pose  # noqa: E402
from .scene import SEMANTIC_CLASSES, SEMANTIC_ID, WorldScene, vehicle_colour  # noqa: E402

__all__ = ["ALL_PASSES", "INSTALL_HINT", "Intrinsics", "Renderer", "SEMANTIC_CLASSES", "SEMANTIC_ID", "WorldScene",
           "camera_pose", "offscreen_renderer", "select_platform", "vehicle_colour"]
