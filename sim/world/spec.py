"""WorldSpec: the parameters a procedural world is sampled from."""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass

CURVE_MARGIN_M = 5.0
"""Smallest allowed gap between the radius of the tightest arc and the widest road's half width, m."""


@dataclass(frozen=True)
class WorldSpec:
    """Parameters of a procedural road world. Ranges are inclusive (low, high) tuples."""

    road_length_m: float = 1500.0
    """Total length of road reference lines to generate, m (approximate, +-20%)."""
    lanes_per_direction: tuple[int, int] = (1, 3)
    """Range of lanes per travel direction of a road, each within 1..4."""
    lane_width_m: tuple[float, float] = (3.0, 3.75)
    """Range of lane widths, m, within 2.5..5."""
    curvature_max: float = 1.0 / 50.0
    """Largest |curvature| of any non-junction lane, 1/m."""
    segment_length_m: tuple[float, float] = (40.0, 200.0)
    """Range of lengths of straights and arcs, m."""
    clothoid_length_m: tuple[float, float] = (10.0, 40.0)
    """Range of lengths of clothoid transitions into and out of arcs, m."""
    junctions_per_km: float = 2.0
    """Junctions (four-way, T or merge) per km of road length, 1/km."""
    junction_mix: tuple[float, float, float] = (0.4, 0.4, 0.2)
    """Relative weights of four_way, t_junction, merge (non-negative, not all zero)."""
    speed_limits_mps: tuple[float, ...] = (8.33, 13.89, 19.44, 25.0)
    """Speed limits a road picks from, m/s."""
    trees_per_km: float = 30.0
    """Trees beside the road, 1/km."""
    poles_per_km: float = 10.0
    """Poles beside the road, 1/km."""
    cones_per_km: float = 2.0
    """Cones beside the road, 1/km."""
    parked_cars_per_km: float = 4.0
    """Cars parked beside the road, 1/km."""
    obstacles_on_lanes_per_km: float = 0.0
    """Cones and parked cars placed on lanes as obstacles, 1/km."""
    crack_density: tuple[float, float] = (0.0, 0.5)
    """Range of road-surface crack density, within 0..1."""
    tar_seam_density: tuple[float, float] = (0.0, 0.5)
    """Range of tar-seam density, within 0..1."""
    patch_density: tuple[float, float] = (0.0, 0.3)
    """Range of repair-patch density, within 0..1."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                object.__setattr__(self, f.name, tuple(value))
        _positive(self, "road_length_m")
        _range(self, "lanes_per_direction", 1, 4, integer=True)
        _range(self, "lane_width_m", 2.5, 5.0)
        _positive(self, "curvature_max")
        half_width = self.lanes_per_direction[1] * self.lane_width_m[1]
        if 1.0 / self.curvature_max <= half_width + CURVE_MARGIN_M:
            _fail("curvature_max", f"radius {1.0 / self.curvature_max:.1f} m must exceed the widest road's "
                  f"half width {half_width:.1f} m + {CURVE_MARGIN_M} m")
        _range(self, "segment_length_m", 1.0, math.inf)
        _range(self, "clothoid_length_m", 0.0, math.inf)
        _non_negative(self, "junctions_per_km")
        mix = self.junction_mix
        if len(mix) != 3 or any(not _finite(w) or w < 0 for w in mix) or sum(mix) <= 0:
            _fail("junction_mix", f"need three non-negative weights, not all zero, got {mix!r}")
        if len(self.speed_limits_mps) == 0 or any(not _finite(v) or v <= 0 for v in self.speed_limits_mps):
            _fail("speed_limits_mps", f"need one or more positive speeds, got {self.speed_limits_mps!r}")
        for name in ("trees_per_km", "poles_per_km", "cones_per_km", "parked_cars_per_km",
                     "obstacles_on_lanes_per_km"):
            _non_negative(self, name)
        for name in ("crack_density", "tar_seam_density", "patch_density"):
            _range(self, name, 0.0, 1.0)

    @classmethod
    def from_dict(cls, d: dict) -> "WorldSpec":
        """Build from a plain dict (lists become tuples); an unknown key raises ValueError."""
        names = {f.name for f in dataclasses.fields(cls)}
        for key in d:
            if key not in names:
                raise ValueError(f"WorldSpec.{key}: unknown field")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    def to_dict(self) -> dict:
        """Plain dict of all fields, tuples as lists."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


def _fail(name: str, message: str):
    raise ValueError(f"WorldSpec.{name}: {message}")


def _finite(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _positive(spec, name):
    v = getattr(spec, name)
    if not _finite(v) or v <= 0:
        _fail(name, f"must be a positive number, got {v!r}")


def _non_negative(spec, name):
    v = getattr(spec, name)
    if not _finite(v) or v < 0:
        _fail(name, f"must be a non-negative number, got {v!r}")


def _range(spec, name, lo, hi, integer=False):
    v = getattr(spec, name)
    ok = isinstance(v, tuple) and len(v) == 2 and all(
        (isinstance(x, numbers.Integral) and not isinstance(x, bool)) if integer else _finite(x) for x in v)
    if not ok:
        _fail(name, f"must be a (low, high) pair of {'integers' if integer else 'numbers'}, got {v!r}")
    if not lo <= v[0] <= v[1] <= hi:
        _fail(name, f"need {lo} <= low <= high <= {hi}, got {v!r}")
