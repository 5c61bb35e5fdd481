"""Reading a run summary (the metrics.json dict) for display: values, formatting, metric info, ranking.

Every optional key may be missing or null; missing values show as "–"; text is escaped with ``html.escape``."""
from __future__ import annotations

import html
import math

from sim.eval.metrics import (MAX_ABS_LAT_ACCEL, MAX_ABS_LON_JERK, MAX_LON_ACCEL, METRICS, MIN_LON_ACCEL,
                              TTC_BOUND_S)

DASH = "–"

NUPLAN_BOUNDS: dict[str, tuple[str, float]] = {
    "max_abs_jerk": ("<=", MAX_ABS_LON_JERK),
    "max_abs_lat_accel": ("<=", MAX_ABS_LAT_ACCEL),
    "min_accel": (">=", MIN_LON_ACCEL),
    "max_accel": ("<=", MAX_LON_ACCEL),
    "min_ttc_s": (">=", TTC_BOUND_S),
}
"""Per-episode bounds from nuPlan's closed-loop metrics (comfort: jerk m/s^3, lateral and longitudinal
acceleration m/s^2; time to collision s). A mean outside its bound is shown red, inside green."""


def esc(x) -> str:
    """Escaped text of anything; None shows as a dash."""
    return DASH if x is None else html.escape(str(x), quote=True)


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def number(v) -> float | None:
    """A finite float, or None for missing / null / NaN / non-numbers (bools count as 0/1)."""
    if isinstance(v, bool):
        return float(v)
    return float(v) if is_number(v) else None


def fmt(v) -> str:
    """Short escaped text of a metric value."""
    if v is None:
        return DASH
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return DASH if math.isnan(v) else ("∞" if v > 0 else "-∞")
        a = abs(v)
        if a >= 1000:
            return f"{v:,.0f}"
        if a >= 10:
            return f"{v:.1f}"
        return f"{v:.3f}"
    if isinstance(v, (list, tuple)):
        return esc(", ".join(str(x) for x in v))
    return esc(v)


def stat(s) -> tuple[float | None, float | None, float | None, int | None]:
    """(mean, ci_low, ci_high, n) of an aggregate entry; None where missing."""
    if not isinstance(s, dict):
        return None, None, None, None
    n = s.get("n")
    return number(s.get("mean")), number(s.get("ci_low")), number(s.get("ci_high")), n if isinstance(n, int) else None


def fmt_ci(s) -> str:
    m, lo, hi, _ = stat(s)
    if m is None:
        return DASH
    if lo is None or hi is None:
        return fmt(m)
    return f"{fmt(m)} <span class=note>[{fmt(lo)}, {fmt(hi)}]</span>"


def metric_info(summary: dict, metric: str) -> dict:
    known = METRICS.get(metric)
    info = vars(known).copy() if known is not None else {}
    mi = (summary.get("metric_info") or {}).get(metric)
    if isinstance(mi, dict):
        info.update({k: v for k, v in mi.items() if v is not None or k == "higher_is_better"})
    return info


def within_bound(metric: str, v: float | None) -> bool | None:
    """Whether value v meets metric's nuPlan bound; None if no bound or no value."""
    b = NUPLAN_BOUNDS.get(metric)
    if b is None or v is None:
        return None
    op, bound = b
    return v <= bound if op == "<=" else v >= bound


def episodes(summary: dict) -> list[dict]:
    eps = summary.get("episodes") or []
    return [ep if isinstance(ep, dict) else {} for ep in eps]


def episode_metrics(ep: dict) -> dict:
    m = ep.get("metrics")
    return m if isinstance(m, dict) else {}


def episode_failures(ep: dict) -> list[dict]:
    f = ep.get("failures") or []
    return [x if isinstance(x, dict) else {"detail": x} for x in f]


def values_of(summary: dict, metric: str) -> list[float]:
    out = []
    for ep in episodes(summary):
        v = number(episode_metrics(ep).get(metric))
        if v is not None:
            out.append(v)
    return out


def worst_episodes(summary: dict, k: int = 3) -> list[int]:
    """Indices into ``summary["episodes"]`` of the k lowest-score episodes, worst first.

    Ties on score go to the episode with more failures, then to the lower route completion, then to the
    lower index. A missing / null / NaN score ranks as the worst (such an episode most likely broke)."""
    def key(i_ep):
        i, ep = i_ep
        m = episode_metrics(ep)
        score = number(m.get("score"))
        rc = number(m.get("route_completion"))
        return (-math.inf if score is None else score, -len(episode_failures(ep)),
                -math.inf if rc is None else rc, i)

    ranked = sorted(enumerate(episodes(summary)), key=key)
    return [i for i, _ in ranked[:max(0, int(k))]]
