"""Harsh braking: the ego braked harder than HARSH_DECEL for HARSH_STEPS consecutive states."""
from __future__ import annotations

from sim.mining.detectors import DETECTORS, Failure, failure, first_run

HARSH_DECEL = -5.0
"""Longitudinal acceleration below which braking is harsh, m/s^2. Deliberately beyond nuPlan's comfort bound
(-4.05 m/s^2, which the ``comfortable`` metric checks): this marks emergency braking, not discomfort."""
HARSH_STEPS = 2
"""Consecutive states (of the trace's raw acceleration) it must last, 1."""


@DETECTORS.decorator("name")
class HarshBrakingDetector:
    """Fires at the first run of HARSH_STEPS states with the trace's acceleration below HARSH_DECEL, in an
    episode without a collision (a collision is its own failure)."""

    name = "harsh_braking"

    def detect(self, trace, metrics: dict) -> Failure | None:
        if metrics["collision"]:
            return None
        accel = trace.column("accel")
        run = first_run(accel < HARSH_DECEL, HARSH_STEPS)
        if run is None:
            return None
        start, length = run
        worst = float(accel[start:start + length].min())
        detail = (f"braked at {worst:.1f} m/s^2 (below {HARSH_DECEL:g}) for {length * trace.dt:.1f} s from "
                  f"t={start * trace.dt:.1f} s at {trace.column('speed')[start]:.1f} m/s")
        return failure(trace, self.name, start, (), detail)
