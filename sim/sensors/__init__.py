"""Camera model and rig: intrinsics, extrinsics, Brown-Conrady and Kannala-Brandt distortion,
rectification to virtual pinhole cameras, multi-face renders of wide lenses, photon-transfer sensor
noise (compiled), 12-bit ADC, motion blur from the camera's and the actors' motion, rolling shutter,
vignetting, and a default 8-camera rig. numpy + OpenCV + numba; independent of the renderer."""

from sim.sensors.blur import (
    ActorMotion, blur_samples, ego_flow, ego_velocity_field, image_velocity, motion_blur, scene_flow,
    scene_velocity_field,
)
from sim.sensors.camera import CameraSpec, K, pixel_rays, project, unproject
from sim.sensors.distortion import distort, distort_rays, undistort, undistort_to_rays
from sim.sensors.exposure import (
    develop, dn_to_electrons, expose, expose_and_develop, fixed_pattern, mean_electrons, vignetting,
)
from sim.sensors.multiview import Face, atlas_depth_scale, atlas_maps, atlas_shape, render_faces
from sim.sensors.pipeline import capture
from sim.sensors.rectify import apply_maps, rectification_maps, warp_maps
from sim.sensors.rig import RIGS, Rig, RigCamera, default_rig, mount
from sim.sensors.rolling import rolling_shutter, rolling_shutter_maps, row_delays

__all__ = [
    "RIGS", "ActorMotion", "CameraSpec", "Face", "K", "Rig", "RigCamera", "apply_maps", "atlas_depth_scale",
    "atlas_maps", "atlas_shape", "blur_samples", "capture", "default_rig", "develop", "distort", "distort_rays",
    "dn_to_electrons", "ego_flow", "ego_velocity_field", "expose", "expose_and_develop", "fixed_pattern",
    "image_velocity", "mean_electrons", "motion_blur", "mount", "pixel_rays", "project", "rectification_maps",
    "render_faces", "rolling_shutter", "rolling_shutter_maps", "row_delays", "scene_flow", "scene_velocity_field",
    "undistort", "undistort_to_rays", "unproject", "vignetting", "warp_maps",
]
