"""Traffic configuration: how many vehicles, which classes, which driver styles."""
from __future__ import annotations

from dataclasses import dataclass

from sim.traffic.vehicle_classes import CLASS_NAMES


def _check_range(name: str, rng: tuple[float, float], lo: float, hi: float) -> None:
    if len(rng) != 2 or not (lo <= rng[0] <= rng[1] <= hi):
        raise ValueError(f"TrafficSpec.{name}: expected (min, max) with {lo} <= min <= max <= {hi}, got {rng!r}")


@dataclass(frozen=True)
class TrafficSpec:
    """Traffic population and driver-style distributions.

    Each style parameter is drawn from its (min, max) range at position ``c * a + (1 - c) * u`` where ``u`` is the
    driver's own uniform draw for that parameter, ``a`` one uniform "assertiveness" draw shared by all of a
    driver's parameters and ``c`` = ``style_correlation``: assertive drivers want more speed and acceleration
    and accept shorter headways, smaller gaps and less politeness (the range ends they move to are named in
    ``sim.traffic.traffic.ASSERTIVE_END``). Reaction time is drawn independently.
    """

    count: int = 20
    """Number of traffic vehicles kept around the ego."""
    class_weights: tuple[float, ...] = (0.54, 0.2, 0.12, 0.05, 0.06, 0.03)
    """Relative weights of car, suv, van, bus, truck, semi (tractor with a semi-trailer)."""
    desired_speed_factor: tuple[float, float] = (0.8, 1.15)
    """Desired speed as a fraction of the lane speed limit."""
    time_headway_s: tuple[float, float] = (1.0, 2.0)
    """IDM desired time gap, s."""
    min_gap_m: tuple[float, float] = (2.0, 3.5)
    """IDM standstill gap, m."""
    max_accel_mps2: tuple[float, float] = (1.2, 2.0)
    """IDM maximum acceleration of a car, m/s^2 (scaled down for heavy classes)."""
    comfort_decel_mps2: tuple[float, float] = (1.5, 2.5)
    """IDM comfortable deceleration, m/s^2."""
    politeness: tuple[float, float] = (0.1, 0.5)
    """MOBIL politeness factor."""
    reaction_time_s: tuple[float, float] = (0.2, 0.8)
    """Delay of a driver's perception of its leader's speed (it reacts to a brake this late), s; at most 1.5."""
    critical_gap_s: tuple[float, float] = (4.0, 7.0)
    """Smallest time gap in priority traffic a driver accepts to turn or cross in front of it, s."""
    style_correlation: float = 0.5
    """Weight of the shared assertiveness draw in each style parameter, 0 (independent) to 1."""
    spawn_radius_m: tuple[float, float] = (10.0, 160.0)
    """Vehicles spawn at these distances from the ego."""
    recycle_radius_m: float = 220.0
    """A vehicle farther than this from the ego is respawned near it, m."""

    def __post_init__(self):
        if not (isinstance(self.count, int) and 0 <= self.count <= 500):
            raise ValueError(f"TrafficSpec.count: expected an int in 0..500, got {self.count!r}")
        if len(self.class_weights) != len(CLASS_NAMES) or min(self.class_weights) < 0 or sum(self.class_weights) <= 0:
            raise ValueError(
                f"TrafficSpec.class_weights: expected {len(CLASS_NAMES)} non-negative weights for {CLASS_NAMES}, "
                f"got {self.class_weights!r}"
            )
        _check_range("desired_speed_factor", self.desired_speed_factor, 0.1, 2.0)
        _check_range("time_headway_s", self.time_headway_s, 0.1, 5.0)
        _check_range("min_gap_m", self.min_gap_m, 0.5, 20.0)
        _check_range("max_accel_mps2", self.max_accel_mps2, 0.1, 6.0)
        _check_range("comfort_decel_mps2", self.comfort_decel_mps2, 0.1, 8.0)
        _check_range("politeness", self.politeness, 0.0, 1.0)
        _check_range("reaction_time_s", self.reaction_time_s, 0.0, 1.5)
        _check_range("critical_gap_s", self.critical_gap_s, 1.0, 15.0)
        if not 0.0 <= self.style_correlation <= 1.0:
            raise ValueError(
                f"TrafficSpec.style_correlation: expected a number in [0, 1], got {self.style_correlation!r}")
        _check_range("spawn_radius_m", self.spawn_radius_m, 0.0, 1000.0)
        if not self.recycle_radius_m > self.spawn_radius_m[1]:
            raise ValueError(
                f"TrafficSpec.recycle_radius_m: must exceed spawn_radius_m max {self.spawn_radius_m[1]}, "
                f"got {self.recycle_radius_m!r}"
            )
