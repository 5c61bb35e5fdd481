"""Headless rendering of a World: WorldScene (static chunks + actor instances kept in sync) and Renderer
(colour, depth, semantic, instance and normal passes from OpenCV-convention pinhole cameras; our own
OpenGL forward pass in a context pyrender creates).

Importing this package selects the GL platform (EGL, then OSMesa) before OpenGL is imported; see
sim.render.backend."""
from .backend import INSTALL_HINT, offscreen_renderer, select_platform

select_platform()
from .passes import ALL_PASSES, Intrinsics, Renderer, camera_pose  # noqa: E402
from .scene import SEMANTIC_CLASSES, SEMANTIC_ID, WorldScene, vehicle_colour  # noqa: E402

__all__ = ["ALL_PASSES", "INSTALL_HINT", "Intrinsics", "Renderer", "SEMANTIC_CLASSES", "SEMANTIC_ID", "WorldScene",
           "camera_pose", "offscreen_renderer", "select_platform", "vehicle_colour"]
