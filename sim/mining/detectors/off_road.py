"""Off road: the ego left the drivable area."""
from __future__ import annotations

import numpy as np

from sim.mining.detectors import DETECTORS, Failure, failure


@DETECTORS.decorator("name")
class OffRoadDetector:
    """Fires at the first state where the trace marks the ego off the drivable area."""

    name = "off_road"

    def detect(self, trace, metrics: dict) -> Failure | None:
        off = np.flatnonzero(np.asarray(trace.off_road, dtype=bool))
        if off.size == 0:
            return None
        step = int(off[0])
        detail = (f"left the drivable area at t={step * trace.dt:.1f} s, {trace.progress_m[step]:.1f} m along the "
                  f"route, {trace.route_offset_m[step]:+.1f} m off it, speed {trace.column('speed')[step]:.1f} m/s")
        return failure(trace, self.name, step, (), detail)
