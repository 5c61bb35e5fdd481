"""Junction control: traffic lights with fixed-time phases, all-way stops, stop or yield signs on the minor
approach of a T junction, and the state of every incoming lane at a time t.

Which control a junction gets, its phase lengths and its cycle offset are drawn from a generator seeded with
the junction's id and position only, so they are a function of the world (the same world seed gives the same
controls, bit for bit) and world generation itself draws nothing for them:

- four_way: lights where an approach has two or more lanes or a speed limit of LIGHTS_SPEED_MPS or more;
  otherwise lights with probability LIGHTS_SHARE, else an all-way stop;
- t_junction: the two approaches with a straight movement form the major road (no sign), the other one gets
  a stop sign with probability STOP_SHARE, else a yield sign;
- merge and cul_de_sac: uncontrolled.

Lights: the approaches split into phases by axis (approaches parallel or anti-parallel to each other share a
phase); each phase has its green, then AMBER, then ALL_RED_S with every approach red. A left turn on green is
permitted but not protected (it yields to oncoming traffic).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from numba import njit

NONE, GREEN, AMBER, RED, STOP, YIELD = 0, 1, 2, 3, 4, 5
STATE_NAMES = ("none", "green", "amber", "red", "stop", "yield")
"""Lane states, indexed by the codes above; "none" is an uncontrolled lane or the major road of a T junction."""
CONTROL_KINDS = ("uncontrolled", "lights", "all_way_stop", "minor_stop", "minor_yield")
SALT = 0x5167
"""Mixed into every junction's seed (the seeds of control draws differ from any other use of the position)."""
LIGHTS_SHARE = 0.5
"""Share of four-way junctions of small roads (one lane per approach, slow) that get lights, else all-way stop."""
LIGHTS_SPEED_MPS = 19.0
"""A four-way junction with an approach this fast or faster gets lights, m/s."""
STOP_SHARE = 0.5
"""Share of T junctions whose minor approach gets a stop sign, else a yield sign."""
GREEN_S = (12.0, 24.0)
"""Range of green times of one phase, s."""
ALL_RED_S = 2.0
"""All-red clearance after each amber, s."""
AMBER_DECEL = 2.8
"""A driver stops on amber when it can stop at this deceleration or less, m/s^2 (traffic.kernels)."""
AMBER_S = (3.0, 6.0)
"""Amber time range: 1 s reaction plus the time to stop from the approach's speed limit at AMBER_DECEL, s."""


@dataclass(frozen=True, eq=False)
class Signals:
    """Controls of one world. ``kind`` (J,) one of CONTROL_KINDS per junction. Controlled incoming lanes (C,):
    ``lane``, ``junction``, ``sign`` (STOP, YIELD, or NONE for a light or the major road), ``light`` bool and,
    for lights, the lane's phase window in the junction's cycle: ``start``, ``green``, ``amber``, ``cycle``,
    ``offset`` (s). ``n_lanes`` is the number of lanes of the world."""

    kind: tuple[str, ...]
    lane: np.ndarray
    junction: np.ndarray
    sign: np.ndarray
    light: np.ndarray
    start: np.ndarray
    green: np.ndarray
    amber: np.ndarray
    cycle: np.ndarray
    offset: np.ndarray
    n_lanes: int

    def states(self, t: float) -> np.ndarray:
        """(L,) int8 state of every lane at time ``t`` s (NONE for lanes that enter no controlled junction)."""
        return _states(float(t), self.n_lanes, self.lane, self.sign, self.light, self.start, self.green, self.amber,
                       self.cycle, self.offset)


def signal_states(signals: Signals, t: float) -> dict[int, str]:
    """{incoming lane id: state name} of every controlled incoming lane at time ``t`` s (an episode's t is
    ``step_index * dt``), for observations and planners; major-road lanes of a T junction read "none"."""
    st = signals.states(t)
    return {int(ln): STATE_NAMES[st[ln]] for ln in signals.lane}


@njit(cache=True)
def _states(t, n_lanes, lane, sign, light, start, green, amber, cycle, offset):
    out = np.zeros(n_lanes, np.int8)
    for c in range(lane.shape[0]):
        if not light[c]:
            out[lane[c]] = sign[c]
            continue
        tau = (t + offset[c]) % cycle[c] - start[c]
        if tau < 0.0:
            tau += cycle[c]
        out[lane[c]] = GREEN if tau < green[c] else (AMBER if tau < green[c] + amber[c] else RED)
    return out


def _approaches(world, junction):
    """Incoming lanes grouped by road (one group per approach), in order of first appearance."""
    roads = world.lanes.lane_road
    groups: dict[int, list[int]] = {}
    for ln in junction.incoming_lanes:
        groups.setdefault(int(roads[ln]), []).append(int(ln))
    return list(groups.values())


def _has_straight(world, lanes) -> bool:
    lg = world.lanes
    for ln in lanes:
        for c in lg.succ[ln]:
            if c >= 0 and lg.lane_junction[c] >= 0:
                turn = (lg.lanes[c].heading[-1] - lg.lanes[c].heading[0] + np.pi) % (2 * np.pi) - np.pi
                if abs(turn) < 0.25 * np.pi:
                    return True
    return False


def _kind(world, junction, approaches, rng) -> str:
    if junction.kind == "four_way":
        lg = world.lanes
        big = any(len(a) >= 2 or lg.speed_limit[a[0]] >= LIGHTS_SPEED_MPS for a in approaches)
        return "lights" if big or rng.random() < LIGHTS_SHARE else "all_way_stop"
    if junction.kind == "t_junction":
        return "minor_stop" if rng.random() < STOP_SHARE else "minor_yield"
    return "uncontrolled"


def plan_signals(world, kinds: dict[int, str] | None = None) -> Signals:
    """The controls of ``world``'s junctions; ``kinds`` {junction id: kind} overrides the drawn kind (tests,
    scenarios). Raises ValueError for an unknown kind or a kind that does not fit the junction."""
    kinds = dict(kinds or {})
    for j, k in kinds.items():
        if k not in CONTROL_KINDS:
            raise ValueError(f"plan_signals: junction {j}: kind {k!r} not in {CONTROL_KINDS}")
    lg = world.lanes
    names, rows = [], []
    for junction in world.junctions:
        seed = zlib.crc32(np.ascontiguousarray(junction.center, dtype=np.float64).tobytes())
        rng = np.random.default_rng([SALT, junction.id, seed])
        approaches = _approaches(world, junction)
        drawn = _kind(world, junction, approaches, rng)
        kind = kinds.pop(junction.id, drawn)
        if kind != "uncontrolled" and (not junction.connector_lanes or junction.kind == "cul_de_sac"):
            raise ValueError(f"plan_signals: junction {junction.id} ({junction.kind}) cannot have {kind!r}")
        names.append(kind)
        if kind in ("minor_stop", "minor_yield"):
            major = [_has_straight(world, a) for a in approaches]
            if all(major) or not any(major):  # no single minor road: the least straight-connected approach
                major = [i != len(approaches) - 1 for i in range(len(approaches))]
            sign = STOP if kind == "minor_stop" else YIELD
            rows += [(ln, junction.id, NONE if mj else sign, False, 0.0, 0.0, 0.0, 1.0, 0.0)
                     for a, mj in zip(approaches, major) for ln in a]
        elif kind == "all_way_stop":
            rows += [(ln, junction.id, STOP, False, 0.0, 0.0, 0.0, 1.0, 0.0) for a in approaches for ln in a]
        elif kind == "lights":
            rows += _light_rows(lg, junction.id, approaches, rng)
    if kinds:
        raise ValueError(f"plan_signals: no junction {sorted(kinds)} in this world")
    cols = list(zip(*rows)) if rows else [()] * 9
    return Signals(tuple(names), np.array(cols[0], np.int64), np.array(cols[1], np.int64), np.array(cols[2], np.int8),
                   np.array(cols[3], np.bool_), *(np.array(c, np.float64) for c in cols[4:]), n_lanes=len(lg.lanes))


def _light_rows(lg, junction_id, approaches, rng):
    """Rows (lane, junction, sign, light, start, green, amber, cycle, offset) of a light-controlled junction."""
    heading = [float(lg.lanes[a[0]].heading[-1]) for a in approaches]
    phase = [0 if abs(np.sin(h - heading[0])) < np.sin(0.25 * np.pi) else 1 for h in heading]
    n_phases = max(phase) + 1
    green = [float(rng.uniform(*GREEN_S)) for _ in range(n_phases)]
    fastest = max(float(lg.speed_limit[a[0]]) for a in approaches)
    amber = float(np.clip(1.0 + fastest / (2.0 * AMBER_DECEL), *AMBER_S))
    starts = np.concatenate([[0.0], np.cumsum([g + amber + ALL_RED_S for g in green])])
    cycle = float(starts[-1])
    offset = float(rng.uniform(0.0, cycle))
    return [(ln, junction_id, NONE, True, float(starts[p]), green[p], amber, cycle, offset)
            for a, p in zip(approaches, phase) for ln in a]
