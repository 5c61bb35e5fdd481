"""Near miss: a time to collision below NEAR_MISS_TTC_S without a collision."""
from __future__ import annotations

import numpy as np

from sim.eval.metrics import ttc_series
from sim.mining.detectors import DETECTORS, Failure, failure

NEAR_MISS_TTC_S = 1.0
"""A constant-velocity time to collision below this is a near miss, s (nuPlan's TTC bound is 0.95 s; must not
exceed sim.eval.metrics.TTC_HORIZON_S)."""


@DETECTORS.decorator("name")
class NearMissDetector:
    """Fires when ``min_ttc_s`` < NEAR_MISS_TTC_S in an episode without a collision, at the first state whose
    TTC is below it; ``actors`` is the class of the actor of the minimum TTC."""

    name = "near_miss"

    def detect(self, trace, metrics: dict) -> Failure | None:
        ttc = metrics["min_ttc_s"]
        if metrics["collision"] or ttc is None or ttc >= NEAR_MISS_TTC_S:
            return None
        series, _ = ttc_series(trace)
        step = int(np.flatnonzero(series < NEAR_MISS_TTC_S)[0])
        k = int(metrics["min_ttc_step"])
        other = metrics["min_ttc_actor_class"]
        detail = (f"time to collision {ttc:.1f} s with a {other} at t={k * trace.dt:.1f} s (below "
                  f"{NEAR_MISS_TTC_S:g} s from t={step * trace.dt:.1f} s), ego speed "
                  f"{trace.column('speed')[k]:.1f} m/s")
        return failure(trace, self.name, step, (other,), detail)

