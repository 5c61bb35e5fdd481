"""``bev`` observation: an ego-centred multi-channel raster, forward up."""
from __future__ import annotations

import cv2
import gymnasium as gym
import numpy as np

from sim.env.observations.base import Frame, ObservationType, register_observation
from sim.env.raster import SHIFT, View, boxes_px, polyline_px
from sim.traffic.signals import AMBER, RED, STOP

CHANNELS = ("drivable", "lane_lines", "vehicles", "ego", "route", "stop_lines")
STOP_STATES = (AMBER, RED, STOP)
"""Junction control states whose stop line is drawn in ``stop_lines`` (sim.traffic.signals codes)."""
ROUTE_BEHIND_M, ROUTE_AHEAD_M = 10.0, 120.0


@register_observation
class BevObservation(ObservationType):
    """uint8 (H, W, len(CHANNELS)) with values 0/255; resolution and size from ``DriveConfig.bev``.
    ``vehicles`` holds other vehicles and on-lane obstacles; ``stop_lines`` the stop line (across the lane where it
    enters its junction) of every lane whose light is red or amber or that has a stop sign, at the state's time."""

    name = "bev"

    def space(self) -> gym.Space:
        b = self.config.bev
        return gym.spaces.Box(0, 255, shape=(b.size, b.size, len(CHANNELS)), dtype=np.uint8)

    def observe(self, frame: Frame) -> np.ndarray:
        b = self.config.bev
        st, raster = frame.state, frame.scene.raster
        a = st.actors
        view = View(float(a.x[0]), float(a.y[0]), float(a.heading[0]), b.size, b.size, b.m_per_px, b.ego_row)
        m = view.affine()
        vehicles = np.zeros((b.size, b.size), np.uint8)
        others = np.flatnonzero(a.valid[1:]) + 1
        cv2.fillPoly(vehicles, boxes_px(m, a.x[others], a.y[others], a.heading[others], a.length[others],
                                        a.width[others]), 255, cv2.LINE_8, SHIFT)
        scene = frame.scene
        on = scene.prop_lane >= 0
        if on.any():
            p = scene.world.props
            cv2.fillPoly(vehicles, boxes_px(m, p.xy[on, 0], p.xy[on, 1], p.heading[on], p.size[on, 0],
                                            p.size[on, 1]), 255, cv2.LINE_8, SHIFT)
        ego = np.zeros((b.size, b.size), np.uint8)
        cv2.fillPoly(ego, boxes_px(m, a.x[:1], a.y[:1], a.heading[:1], a.length[:1], a.width[:1]), 255,
                     cv2.LINE_8, SHIFT)
        route = np.zeros((b.size, b.size), np.uint8)
        s = np.arange(st.progress_m - ROUTE_BEHIND_M, st.progress_m + ROUTE_AHEAD_M, 2.0)
        pts, _ = st.route.sample(s)
        cv2.polylines(route, [polyline_px(m, pts)], False, 255, max(1, int(round(1.0 / b.m_per_px))), cv2.LINE_8,
                      SHIFT)
        return np.stack([raster.drivable_mask(view, m), raster.lines_mask(view, m), vehicles, ego, route,
                         _stop_lines(frame, m, b.size, max(1, int(round(0.5 / b.m_per_px))))], axis=-1)


def _stop_lines(frame: Frame, m: np.ndarray, size: int, thickness: int) -> np.ndarray:
    """(size, size) uint8: 255 on the stop lines in force (STOP_STATES), ``thickness`` px wide."""
    out = np.zeros((size, size), np.uint8)
    sig, lanes = frame.scene.lane_map.signals, frame.scene.world.lanes
    lane = sig.lane[np.isin(sig.states(frame.state.t)[sig.lane], STOP_STATES)]
    if lane.size:
        end = lanes.lane_start[lane] + lanes.lane_npts[lane] - 1
        h = lanes.point_heading[end]
        across = 0.5 * lanes.lane_width[lane, None] * np.stack([-np.sin(h), np.cos(h)], axis=1)
        ends = np.stack([lanes.points[end] + across, lanes.points[end] - across], axis=1)
        cv2.polylines(out, [polyline_px(m, e) for e in ends], False, 255, thickness, cv2.LINE_8, SHIFT)
    return out
