"""Poses in a scenario document: on a lane (``{lane, s, d}``) or in world coordinates (``{x, y, heading}``)."""
from __future__ import annotations

from dataclasses import dataclass

from .values import ANGLE_LIMIT, MAX_COORD_M, Record, ScenarioError, integer, number, settle, show


@dataclass(frozen=True)
class LanePose(Record):
    """A pose on a lane: heading is the lane's heading at s."""

    lane: int
    """Lane id (LaneGraph index)."""
    s: float
    """Arc length along the lane, m, >= 0 (at most the lane length, checked against the world)."""
    d: float = 0.0
    """Lateral offset from the centerline, m, left positive, |d| <= 20."""

    def __post_init__(self):
        settle(self, "lane", integer(self.lane, "lane"))
        settle(self, "s", number(self.s, "s", 0.0, 1e5, "m"))
        settle(self, "d", number(self.d, "d", -20.0, 20.0, "m"))


@dataclass(frozen=True)
class XYPose(Record):
    """A pose in world coordinates."""

    x: float
    """m"""
    y: float
    """m"""
    heading: float
    """rad, counter-clockwise from +x, within [-2 pi, 2 pi]."""

    def __post_init__(self):
        settle(self, "x", number(self.x, "x", -MAX_COORD_M, MAX_COORD_M, "m"))
        settle(self, "y", number(self.y, "y", -MAX_COORD_M, MAX_COORD_M, "m"))
        settle(self, "heading", number(self.heading, "heading", -ANGLE_LIMIT, ANGLE_LIMIT, "rad"))


Pose = LanePose | XYPose


def pose_from_dict(value, path: str) -> Pose:
    """``{lane, s[, d]}`` -> LanePose, ``{x, y, heading}`` -> XYPose."""
    if isinstance(value, dict) and "lane" in value:
        return LanePose.from_dict(value, path)
    if isinstance(value, dict) and "x" in value:
        return XYPose.from_dict(value, path)
    raise ScenarioError(f"expected a pose {{lane, s, d}} or {{x, y, heading}}, got {show(value)}", path)
