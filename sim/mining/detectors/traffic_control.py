"""Traffic control: the ego entered a junction against a red light, or through a stop sign without stopping."""
from __future__ import annotations

import numpy as np

from sim.eval.trace import ROAD_TYPES
from sim.mining.detectors import DETECTORS, Failure, failure, steps_for
from sim.traffic.signals import RED, STOP

STOP_SPEED = 0.5
"""At a stop sign the ego must get below this speed before entering the junction, m/s."""
STOP_LOOKBACK_S = 8.0
"""That stop must fall within this long before entering, on the stop-controlled lane, s."""


def entries(trace) -> np.ndarray:
    """Steps k at which the ego goes from a controlled incoming lane (signal at k-1 not "none") onto a junction
    lane, i.e. where it crosses a stop line (a lane change between two approach lanes is not one)."""
    lane, signal = np.asarray(trace.lane), np.asarray(trace.signal)
    junction = np.asarray(trace.road_type)[1:] >= ROAD_TYPES.index("four_way")
    return np.flatnonzero((lane[1:] != lane[:-1]) & (signal[:-1] != 0) & junction) + 1


@DETECTORS.decorator("name")
class TrafficControlDetector:
    """Fires at the first stop line crossed against a red light (red at the last state before the line), or
    from a stop-sign lane without a stop (speed < STOP_SPEED) on that lane within STOP_LOOKBACK_S before.
    Amber is not a violation (the dilemma zone). Silent on traces without ``lane``/``signal``."""

    name = "traffic_control"

    def detect(self, trace, metrics: dict) -> Failure | None:
        if trace.lane is None or trace.signal is None:
            return None
        speed = trace.column("speed")
        back = steps_for(STOP_LOOKBACK_S, trace.dt)
        for k in entries(trace):
            state, lane = int(trace.signal[k - 1]), int(trace.lane[k - 1])
            if state == RED:
                return failure(trace, self.name, k, (), f"ran a red light at t={k * trace.dt:.1f} s from lane {lane} "
                                                        f"at {speed[k]:.1f} m/s")
            if state == STOP:
                window = slice(max(0, k - back), k)
                on_lane = np.asarray(trace.lane[window]) == lane
                slowest = float(speed[window][on_lane].min(initial=np.inf))
                if slowest >= STOP_SPEED:
                    return failure(trace, self.name, k, (),
                                   f"ran a stop sign at t={k * trace.dt:.1f} s from lane {lane}: slowest "
                                   f"{slowest:.1f} m/s in the last {STOP_LOOKBACK_S:g} s (a stop is < "
                                   f"{STOP_SPEED:g} m/s)")
        return None
