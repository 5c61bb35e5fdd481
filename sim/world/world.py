"""The generated world: roads, junctions, lane graph, props, surface, curbs; route and spawn sampling."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .lanes import LaneGraph
from .spec import WorldSpec

PROP_KINDS = ("tree", "pole", "cone", "parked_car", "barrier")
JUNCTION_KINDS = ("four_way", "t_junction", "merge", "cul_de_sac")
ROAD_KINDS = ("road", "ramp")


@dataclass(frozen=True, eq=False)
class Road:
    """A road piece between junctions.

    reference: (N,2) m, forward lanes on its right travel along it, backward lanes on its left
    against it; left_edge/right_edge: (N,2) m outer edges (where curbs go); speed_limit m/s."""

    id: int
    reference: np.ndarray
    forward_lanes: tuple[int, ...]
    backward_lanes: tuple[int, ...]
    speed_limit: float
    left_edge: np.ndarray
    right_edge: np.ndarray
    kind: str = "road"


@dataclass(frozen=True, eq=False)
class Junction:
    """A junction area: center (2,) m, polygon (K,2) m counter-clockwise convex outline.

    kind: "four_way" | "t_junction" | "merge" | "cul_de_sac" (U-turn loop at a dead end)."""

    id: int
    kind: str
    center: np.ndarray
    polygon: np.ndarray
    connector_lanes: tuple[int, ...]
    incoming_lanes: tuple[int, ...]
    outgoing_lanes: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Props:
    """Static props as arrays: kind (P,) int8 index into PROP_KINDS; xy (P,2) m; heading (P,) rad;
    size (P,3) length, width, height m; on_lane (P,) bool (an obstacle placed on a lane)."""

    kind: np.ndarray
    xy: np.ndarray
    heading: np.ndarray
    size: np.ndarray
    on_lane: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)

    def corners(self) -> np.ndarray:
        """(P,4,2) footprint corners, m."""
        c, s = np.cos(self.heading), np.sin(self.heading)
        hl, hw = 0.5 * self.size[:, 0], 0.5 * self.size[:, 1]
        signs = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]], float)
        lx = signs[None, :, 0] * hl[:, None]
        ly = signs[None, :, 1] * hw[:, None]
        return np.stack([self.xy[:, None, 0] + c[:, None] * lx - s[:, None] * ly,
                         self.xy[:, None, 1] + s[:, None] * lx + c[:, None] * ly], axis=-1)


@dataclass(frozen=True)
class SurfaceParams:
    """Road-surface parameters for a renderer: densities in [0,1]; seed for texture noise."""

    crack_density: float
    tar_seam_density: float
    patch_density: float
    seed: int


@dataclass(frozen=True, eq=False)
class World:
    """A generated world. bounds: (xmin, ymin, xmax, ymax) m of lanes, edges and props;
    seed_info: {"bit_generator_state": state of the generator before generation}."""

    spec: WorldSpec
    lanes: LaneGraph
    roads: list[Road]
    junctions: list[Junction]
    props: Props
    surface: SurfaceParams
    curbs: list[np.ndarray]
    bounds: tuple[float, float, float, float]
    seed_info: dict = field(default_factory=dict)

    def sample_route(self, rng: np.random.Generator, min_length_m: float, start_lane: int | None = None,
                     attempts: int = 50) -> list[int]:
        """Random walk over successors, never revisiting a lane, at least min_length_m long
        (lengths of all lanes in it). Starts on start_lane, else on a random non-junction lane."""
        graph = self.lanes
        starts = np.flatnonzero(graph.lane_junction < 0)
        for _ in range(attempts):
            lane = int(rng.choice(starts)) if start_lane is None else int(start_lane)
            route, total = [lane], graph.lane_length[lane]
            while total < min_length_m:
                nxt = [int(j) for j in graph.succ[route[-1]] if j >= 0 and j not in route]
                if not nxt:
                    break
                route.append(nxt[int(rng.integers(len(nxt)))])
                total += graph.lane_length[route[-1]]
            if total >= min_length_m:
                return route
        raise ValueError(f"sample_route: no route of {min_length_m} m found in {attempts} attempts")

    def spawn_points(self, rng: np.random.Generator, n: int, min_gap_m: float, lanes=None):
        """n spots (lane_ids (n,), s (n,) m) on non-junction lanes (or the given lanes), at least
        min_gap_m apart along a lane and from spots on other lanes closer than a lane width."""
        graph = self.lanes
        pool = np.flatnonzero(graph.lane_junction < 0) if lanes is None else np.asarray(lanes, int)
        capacity = int(np.sum(np.floor(graph.lane_length[pool] / max(min_gap_m, 1e-9)) + 1))
        if n > capacity:
            raise ValueError(f"spawn_points: {n} spots with gap {min_gap_m} m exceed the {capacity} that fit")
        weights = graph.lane_length[pool] / graph.lane_length[pool].sum()
        k = max(20 * n, 200)
        cand_lane = pool[rng.choice(len(pool), size=k, p=weights)]
        cand_s = rng.uniform(0.0, 1.0, k) * graph.lane_length[cand_lane]
        xy, _ = graph.cartesian(cand_lane, cand_s, np.zeros(k))
        chosen: list[int] = []
        for i in range(k):
            if len(chosen) == n:
                break
            if chosen:
                c = np.array(chosen)
                dist = np.hypot(*(xy[c] - xy[i]).T)
                same = cand_lane[c] == cand_lane[i]
                if np.any(same & (np.abs(cand_s[c] - cand_s[i]) < min_gap_m)) or np.any(
                        ~same & (dist < min(min_gap_m, 0.9 * graph.lane_width[cand_lane[i]]))):
                    continue
            chosen.append(i)
        if len(chosen) < n:
            raise ValueError(f"spawn_points: only {len(chosen)} of {n} spots fit with gap {min_gap_m} m")
        c = np.array(chosen, int)
        return cand_lane[c], cand_s[c]
