"""Driver styles: per-driver parameters drawn from a TrafficSpec's ranges, correlated through one shared
assertiveness draw."""
from __future__ import annotations

import numpy as np

from sim.traffic.spec import TrafficSpec
from sim.traffic.vehicle_classes import ACCEL_SCALE

ASSERTIVE_END = {
    "speed_factor": ("desired_speed_factor", 1),
    "time_headway": ("time_headway_s", 0),
    "min_gap": ("min_gap_m", 0),
    "max_accel": ("max_accel_mps2", 1),
    "comfort_decel": ("comfort_decel_mps2", 1),
    "politeness": ("politeness", 0),
    "crit_gap": ("critical_gap_s", 0),
}
"""Style field -> (TrafficSpec range, the end of it (0 low, 1 high) an assertive driver tends to), in draw order."""


def sample_styles(spec: TrafficSpec, rng: np.random.Generator, kind: np.ndarray) -> dict[str, np.ndarray]:
    """Style arrays (n,) of drivers of vehicle classes ``kind`` (n,): the ASSERTIVE_END fields and ``reaction``.
    Draws 1 + len(ASSERTIVE_END) + 1 uniform vectors from ``rng``; max_accel is scaled by the class."""
    n = kind.shape[0]
    c = spec.style_correlation
    assertive = rng.random(n)
    out = {}
    for name, (field, end) in ASSERTIVE_END.items():
        lo, hi = getattr(spec, field)
        q = c * assertive + (1.0 - c) * rng.random(n)
        out[name] = lo + (q if end else 1.0 - q) * (hi - lo)
    out["max_accel"] = out["max_accel"] * ACCEL_SCALE[kind]
    lo, hi = spec.reaction_time_s
    out["reaction"] = lo + rng.random(n) * (hi - lo)
    return out
