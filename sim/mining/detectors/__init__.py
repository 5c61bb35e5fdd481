"""Failure detectors: pure functions of an ``EpisodeTrace`` and its ``episode_metrics``.

A detector is a class with a ``name`` and ``detect(self, trace, metrics) -> Failure | None``, registered in
DETECTORS by ``@DETECTORS.decorator("name")``; adding one is adding one file here and importing it at the end
of this module. Thresholds are module constants of each detector's file."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.eval.trace import ROAD_TYPES, EpisodeTrace
from sim.registry import Registry


@dataclass(frozen=True)
class Failure:
    """One failure found in one episode."""

    detector: str
    step: int
    """First step (row of the trace) at which it happened."""
    road_type: str
    """ROAD_TYPES name of the ego's road at that step."""
    actors: tuple[str, ...]
    """Sorted class names of the other actors involved ("prop"/"curb" for static ones), () if none."""
    detail: str
    """One human line, with numbers."""

    def cluster_key(self) -> str:
        return f"{self.detector}|{self.road_type}|{'+'.join(self.actors) or '-'}"

    def to_dict(self) -> dict:
        return {"detector": self.detector, "step": self.step, "road_type": self.road_type,
                "actors": list(self.actors), "detail": self.detail, "cluster_key": self.cluster_key()}


DETECTORS = Registry("failure detector")


def failure(trace: EpisodeTrace, detector: str, step: int, actors=(), detail: str = "") -> Failure:
    """A Failure at ``step`` with the road type read off the trace and the actors sorted."""
    step = int(min(max(step, 0), trace.steps))
    return Failure(detector, step, ROAD_TYPES[int(trace.road_type[step])], tuple(sorted(a for a in actors if a)),
                   detail)


def first_run(mask, min_len: int) -> tuple[int, int] | None:
    """(start, length) of the first run of at least ``min_len`` consecutive True values of the (T,) ``mask``
    (the whole run's length), or None."""
    m = np.asarray(mask, dtype=bool)
    if min_len < 1 or m.size == 0:
        return None
    edges = np.diff(np.concatenate(([0], m.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    long = np.flatnonzero(ends - starts >= min_len)
    if long.size == 0:
        return None
    k = int(long[0])
    return int(starts[k]), int(ends[k] - starts[k])


def longest_run(mask) -> int:
    """Length of the longest run of True values of the (T,) ``mask``."""
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return 0
    edges = np.diff(np.concatenate(([0], m.astype(np.int8), [0])))
    return int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max())


def steps_for(seconds: float, dt: float) -> int:
    """Consecutive states that span ``seconds`` of the trace (at least 1)."""
    return max(1, int(np.ceil(seconds / dt - 1e-9)))


def detect_failures(trace: EpisodeTrace, metrics: dict, names: list[str] | None = None) -> list[Failure]:
    """Failures of the named detectors (default: all registered), ordered by step, then detector name."""
    found = []
    for name in DETECTORS.names() if names is None else names:
        f = DETECTORS.get(name)().detect(trace, metrics)
        if f is not None:
            found.append(f)
    return sorted(found, key=lambda f: (f.step, f.detector))


DANGER_DRAC_MPS2 = 10.0
"""A deceleration rate to avoid a crash at or above this (beyond a car's braking) makes danger 1 for
collisions, m/s^2."""
DANGER_TTC_S = 3.0
"""A time to collision at or above this adds nothing to ``danger``, s."""
DANGER_OFFSET_M = 4.0
"""A distance from the route at or above this makes danger 1 for leaving the road or route, m."""
DANGER_NO_FAILURE_MAX = 0.99
"""``danger`` of an episode without a failure is at most this."""


def _closeness(trace: EpisodeTrace, metrics: dict) -> dict[str, float]:
    """Per detector, how close the episode came to it, each in [0, 1] and non-decreasing as it gets closer."""
    drac = metrics.get("max_drac_mps2")
    ttc = metrics.get("min_ttc_s")
    accel = trace.column("accel")
    k = harsh_braking.HARSH_STEPS
    braking = float(np.lib.stride_tricks.sliding_window_view(-accel, k).min(axis=1).max()) if accel.size >= k else 0.0
    still = longest_run(route_failure.unexplained_standstill(trace, metrics)) * trace.dt / route_failure.STANDSTILL_S
    offset = float(np.abs(trace.route_offset_m).max()) / DANGER_OFFSET_M
    return {
        "collision": 0.0 if drac is None else drac / DANGER_DRAC_MPS2,
        "near_miss": 0.0 if ttc is None else 1.0 - ttc / DANGER_TTC_S,
        "harsh_braking": braking / -harsh_braking.HARSH_DECEL,
        "off_road": offset,
        "route_failure": max(still, offset),
        "timeout": still,
        "perception_miss": 0.0,
        "traffic_control": 0.0,
    }


def danger(trace: EpisodeTrace, metrics: dict, names: list[str] | None = None) -> float:
    """How close the episode came to a failure of the named detectors (default: all), in [0, 1], for search:
    1.0 when one of them fires, else DANGER_NO_FAILURE_MAX x the largest of their closeness terms, clipped to
    [0, 1]:
      collision        max_drac_mps2 / DANGER_DRAC_MPS2 (deceleration needed to avoid a crash),
      near_miss        1 - min_ttc_s / DANGER_TTC_S,
      harsh_braking    strongest braking held for harsh_braking.HARSH_STEPS states / -HARSH_DECEL,
      off_road         largest |route offset| / DANGER_OFFSET_M,
      route_failure    the larger of that and the longest unexplained standstill / STANDSTILL_S,
      timeout          longest unexplained standstill / route_failure.STANDSTILL_S,
      perception_miss  0 (no graded measure),
      traffic_control  0 (no graded measure);
    detectors registered without a term add nothing. Only the mined detectors' terms count, so that e.g. the
    hard braking that avoids a crash does not look like a near crash."""
    if detect_failures(trace, metrics, names):
        return 1.0
    terms = _closeness(trace, metrics)
    wanted = DETECTORS.names() if names is None else names
    best = max([terms.get(n, 0.0) for n in wanted] + [0.0])
    return float(DANGER_NO_FAILURE_MAX * np.clip(best, 0.0, 1.0))


# Register the detectors (they import DETECTORS and Failure from above).
from sim.mining.detectors import (  # noqa: F401
    collision,
    harsh_braking,
    near_miss,
    off_road,
    perception_miss,
    route_failure,
    timeout,
    traffic_control,
)
