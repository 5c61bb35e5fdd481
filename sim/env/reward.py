"""Reward, termination and per-step metrics of a transition."""
from __future__ import annotations

from sim.env.config import RewardConfig


def reward(cfg: RewardConfig, prev, state) -> float:
    """Progress along the route (m) x weight, terminal bonuses/penalties, minus comfort penalties."""
    r = cfg.progress_per_m * (state.progress_m - prev.progress_m)
    r -= cfg.jerk_weight * abs(state.jerk) + cfg.lat_accel_weight * abs(state.lat_accel)
    if state.collision:
        r += cfg.collision
    if state.off_road:
        r += cfg.off_road
    if route_complete(state):
        r += cfg.route_complete
    return float(r)


def route_complete(state) -> bool:
    return state.progress_m >= state.route.goal_s


def terminated(state) -> bool:
    """An episode ends on a collision, leaving the road or completing the route."""
    return bool(state.collision) or state.off_road or route_complete(state)


def metrics(state) -> dict:
    """Per-step metrics reported in ``info`` (SI units)."""
    goal = state.route.goal_s
    return {
        "t": state.t,
        "speed": float(state.ego.speed[0]),
        "accel": state.accel,
        "jerk": state.jerk,
        "lat_accel": state.lat_accel,
        "progress_m": state.progress_m,
        "route_completion": float(min(max(state.progress_m / goal, 0.0), 1.0)) if goal > 0 else 1.0,
        "route_offset_m": state.route_offset_m,
        "lane_id": state.lane,
        "collision": state.collision,
        "off_road": state.off_road,
        "route_complete": route_complete(state),
    }
