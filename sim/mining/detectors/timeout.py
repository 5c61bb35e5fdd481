"""Timeout: the episode ran out of time without completing enough of its route."""
from __future__ import annotations

from sim.eval.metrics import ROUTE_DONE
from sim.mining.detectors import DETECTORS, Failure, failure

ROUTE_REASON = "route completion"
"""Start of the scenario's failure reason for too little route completion (sim.env.scenario_export)."""


@DETECTORS.decorator("name")
class TimeoutDetector:
    """Fires at the last state of a truncated episode (it ran to max_seconds) whose route completion is below
    what it needed: the scenario's min_route_completion (its outcome fails with a "route completion" reason),
    or without a scenario, completion below ROUTE_DONE (the whole route)."""

    name = "timeout"

    def detect(self, trace, metrics: dict) -> Failure | None:
        if not trace.truncated:
            return None
        completion = metrics["route_completion"]
        if trace.scenario is not None:
            reasons = [r for r in trace.scenario.get("failed", ()) if str(r).startswith(ROUTE_REASON)]
            if trace.scenario.get("success", False) or not reasons:
                return None
            need = f"scenario: {reasons[0]}"
        elif completion < ROUTE_DONE:
            need = "needs the whole route"
        else:
            return None
        detail = (f"ran out of time at t={trace.steps * trace.dt:.1f} s with route completion {completion:.2f} "
                  f"({need}), speed {trace.column('speed')[-1]:.1f} m/s")
        return failure(trace, self.name, trace.steps, (), detail)
