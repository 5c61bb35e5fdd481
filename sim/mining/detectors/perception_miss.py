"""Perception miss: a nearby actor the agent's perception did not report for several states."""
from __future__ import annotations

import numpy as np

from sim.eval.metrics import actor_class
from sim.mining.detectors import DETECTORS, Failure, failure, first_run

MISS_RANGE_M = 30.0
"""Actors whose centre is within this distance of the ego's must be perceived, m."""
MATCH_RADIUS_M = 2.0
"""A predicted position within this distance of an actor's centre perceives it, m."""
MISS_STEPS = 5
"""Consecutive states an actor must be missed for, 1 (0.5 s at dt = 0.1 s)."""


@DETECTORS.decorator("name")
class PerceptionMissDetector:
    """Only for traces with ``predicted`` (else None): fires at the first state from which a valid other actor
    within MISS_RANGE_M of the ego has no predicted xy within MATCH_RADIUS_M for MISS_STEPS consecutive states;
    ``actors`` are the classes of the actors missed from that state."""

    name = "perception_miss"

    def detect(self, trace, metrics: dict) -> Failure | None:
        pred = trace.predicted
        if pred is None or trace.actors.shape[2] < 2:
            return None
        E = min(pred.shape[0], trace.steps + 1)
        a = trace.actors[:E]
        ox, oy = a[:, 0, 1:], a[:, 1, 1:]
        rng = np.hypot(ox - trace.column("x")[:E, None], oy - trace.column("y")[:E, None])
        if pred.shape[1]:
            d = np.hypot(ox[:, :, None] - pred[:E, None, :, 0], oy[:, :, None] - pred[:E, None, :, 1])
            seen = (np.nan_to_num(d, nan=np.inf) <= MATCH_RADIUS_M).any(axis=2)
        else:
            seen = np.zeros_like(rng, dtype=bool)
        missed = np.asarray(trace.valid[:E, 1:], dtype=bool) & (rng <= MISS_RANGE_M) & ~seen
        runs = {j: first_run(missed[:, j], MISS_STEPS) for j in np.flatnonzero(missed.any(axis=0))}
        runs = {j: r for j, r in runs.items() if r is not None}
        if not runs:
            return None
        step = min(r[0] for r in runs.values())
        who = [int(j) for j, r in runs.items() if r[0] == step]
        j = who[0]
        n = runs[j][1]
        detail = (f"missed a {actor_class(trace, j + 1)} {rng[step, j]:.1f} m away for {n * trace.dt:.1f} s from "
                  f"t={step * trace.dt:.1f} s (no prediction within {MATCH_RADIUS_M:g} m)"
                  + (f", and {len(who) - 1} more actor(s)" if len(who) > 1 else ""))
        return failure(trace, self.name, step, tuple(actor_class(trace, k + 1) for k in who), detail)
