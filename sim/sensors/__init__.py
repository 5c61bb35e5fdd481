"""Camera model and rig: intrinsics, extrinsics, Brown-Conrady and Kannala-Brandt distortion,
rectification to virtual pinhole cameras, photon-transfer sensor noise, 12-bit ADC, motion blur,
vignetting, and a default 8-camera rig. Pure numpy + OpenCV; independent of the renderer."""

from sim.sensors.blur import blur_samples, ego_flow, motion_blur
from sim.sensors.camera import CameraSpec, K, pixel_rays, project, unproject
from sim.sensors.distortion import distort, distort_rays, undistort, undistort_to_rays
from sim.sensors.exposure import develop, dn_to_electrons, expose, fixed_pattern, mean_electrons, vignetting
from sim.sensors.pipeline import capture
from sim.sensors.rectify import apply_maps, rectification_maps, warp_maps
from sim.sensors.rig import RIGS, Rig, RigCamera, default_rig, mount

__all__ = [
    "RIGS", "CameraSpec", "K", "Rig", "RigCamera", "apply_maps", "blur_samples", "capture", "default_rig",
    "develop", "distort", "distort_rays", "dn_to_electrons", "ego_flow", "expose", "fixed_pattern",
    "mean_electrons", "motion_blur", "mount", "pixel_rays", "project", "rectification_maps", "undistort",
    "undistort_to_rays", "unproject", "vignetting", "warp_maps",
]
