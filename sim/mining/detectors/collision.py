"""Collision: the ego hit a vehicle, a prop or a curb."""
from __future__ import annotations

from sim.mining.detectors import DETECTORS, Failure, failure


@DETECTORS.decorator("name")
class CollisionDetector:
    """Fires on any collision, at its first step; the detail names the nuPlan collision type, fault, the
    other actor's class and the relative speed (``sim.eval.metrics.first_collision``)."""

    name = "collision"

    def detect(self, trace, metrics: dict) -> Failure | None:
        if not metrics["collision"]:
            return None
        step = int(metrics["collision_step"])
        other = metrics["collision_actor_class"] or metrics["collision_kind"]
        fault = "at fault" if metrics["at_fault_collision"] else "not at fault"
        detail = (f"{metrics['collision_kind']} collision with {other or 'unknown'} ({metrics['collision_type']}, "
                  f"{fault}) at t={step * trace.dt:.1f} s, relative speed "
                  f"{metrics['collision_rel_speed_mps']:.1f} m/s, ego speed {trace.column('speed')[step]:.1f} m/s")
        return failure(trace, self.name, step, (other,), detail)
