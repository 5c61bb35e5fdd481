"""Plots of evaluation runs as embeddable PNG ``<img>`` tags (matplotlib through ``Figure`` +
``FigureCanvasAgg``, so no global backend is set); each returns None when there is nothing to draw."""
from __future__ import annotations

import base64
import io

import numpy as np

from sim.eval.view import NUPLAN_BOUNDS, esc, episode_metrics, episodes, number, stat, values_of

THIS_COLOR, OTHER_COLOR = "#1f77b4", "#ff7f0e"


def figure(w: float = 5.6, h: float = 3.6):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise RuntimeError("the HTML report needs matplotlib: pip install matplotlib") from err
    fig = Figure(figsize=(w, h), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png(fig, alt: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def runs_of(summary: dict, compare: dict | None, compare_label: str) -> list[tuple[str, dict, str]]:
    runs = [("this run", summary, THIS_COLOR)]
    if compare is not None:
        runs.append((compare_label, compare, OTHER_COLOR))
    return runs


def _hist(ax, v, rng, color, label, outline: bool) -> None:
    """Histogram of one run: filled for this run, an outline on top for the compared run."""
    from matplotlib.ticker import MaxNLocator
    if outline:
        ax.hist(v, bins=20, range=rng, histtype="step", lw=2, color=color, label=label)
    else:
        ax.hist(v, bins=20, range=rng, color=color, alpha=0.85, edgecolor="white", label=label)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def score_histogram(runs) -> str | None:
    data = [(label, values_of(s, "score"), c) for label, s, c in runs]
    if not any(v for _, v, _ in data):
        return None
    fig = figure()
    ax = fig.add_subplot()
    allv = [x for _, v, _ in data for x in v]
    lo, hi = min(allv), max(allv)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    for j, (label, v, c) in enumerate(data):
        if v:
            _hist(ax, v, (lo, hi), c, f"{label} (n={len(v)})", outline=j > 0)
    ax.set_xlabel("score")
    ax.set_ylabel("episodes")
    ax.set_title("Score distribution")
    ax.legend(fontsize=8)
    return png(fig, "score distribution")


def case_scores(runs) -> str | None:
    cases: list[str] = []
    for _, s, _ in runs:
        for case in (s.get("by_case") or {}):
            if case not in cases:
                cases.append(case)
    if not cases:
        return None
    fig = figure(max(5.6, 0.5 * len(cases) * len(runs) + 2), 3.8)
    ax = fig.add_subplot()
    x = np.arange(len(cases))
    width = 0.8 / len(runs)
    drawn = False
    for j, (label, s, c) in enumerate(runs):
        means, err_lo, err_hi = [], [], []
        for case in cases:
            m, lo, hi, _ = stat(((s.get("by_case") or {}).get(case) or {}).get("score"))
            means.append(np.nan if m is None else m)
            err_lo.append(0.0 if m is None or lo is None else max(0.0, m - lo))
            err_hi.append(0.0 if m is None or hi is None else max(0.0, hi - m))
        if not np.all(np.isnan(means)):
            drawn = True
        ax.bar(x + (j - (len(runs) - 1) / 2) * width, means, width, yerr=[err_lo, err_hi], capsize=3,
               color=c, label=label, alpha=0.85)
    if not drawn:
        return None
    ax.set_xticks(x, cases, rotation=30 if len(cases) > 4 else 0, ha="right" if len(cases) > 4 else "center")
    ax.set_ylabel("mean score (95% CI)")
    ax.set_title("Score by case")
    if len(runs) > 1:
        ax.legend(fontsize=8)
    return png(fig, "mean score by case")


def comfort_scatter(runs) -> str | None:
    fig = figure()
    ax = fig.add_subplot()
    any_pt = False
    for label, s, c in runs:
        pts = [(number(episode_metrics(ep).get("max_abs_jerk")), number(episode_metrics(ep).get("max_abs_lat_accel")))
               for ep in episodes(s)]
        pts = [(a, b) for a, b in pts if a is not None and b is not None]
        if pts:
            any_pt = True
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=18, alpha=0.7, color=c,
                       marker="o" if c == THIS_COLOR else "^", label=f"{label} (n={len(pts)})")
    if not any_pt:
        return None
    ax.axvline(NUPLAN_BOUNDS["max_abs_jerk"][1], color="crimson", ls="--", lw=1, label="nuPlan bounds")
    ax.axhline(NUPLAN_BOUNDS["max_abs_lat_accel"][1], color="crimson", ls="--", lw=1)
    ax.set_xlabel("max |jerk| (m/s³)")
    ax.set_ylabel("max |lateral accel| (m/s²)")
    ax.set_title("Comfort")
    ax.set_xlim(0, max(ax.get_xlim()[1], 1.1 * NUPLAN_BOUNDS["max_abs_jerk"][1]))
    ax.set_ylim(0, max(ax.get_ylim()[1], 1.1 * NUPLAN_BOUNDS["max_abs_lat_accel"][1]))
    ax.legend(fontsize=8)
    return png(fig, "comfort scatter")


def ttc_histogram(runs) -> str | None:
    data = []
    for label, s, c in runs:
        eps = episodes(s)
        v = values_of(s, "min_ttc_s")
        data.append((label, v, c, len(eps) - len(v)))
    if not any(v for _, v, _, _ in data):
        return None
    fig = figure()
    ax = fig.add_subplot()
    allv = [x for _, v, _, _ in data for x in v]
    lo, hi = min(0.0, min(allv)), max(allv)
    if hi - lo < 1e-9:
        hi = lo + 1.0
    for j, (label, v, c, n_none) in enumerate(data):
        if v:
            _hist(ax, v, (lo, hi), c, f"{label} (n={len(v)}; {n_none} without a TTC)", outline=j > 0)
    ax.axvline(NUPLAN_BOUNDS["min_ttc_s"][1], color="crimson", ls="--", lw=1, label="nuPlan bound 0.95 s")
    ax.set_xlabel("min time to collision (s)")
    ax.set_ylabel("episodes")
    ax.set_title("Minimum TTC")
    ax.legend(fontsize=8)
    return png(fig, "minimum time to collision histogram")


def trajectories(summary: dict, idx: list[int]) -> str | None:
    eps = episodes(summary)
    fig = figure(5.6, 4.4)
    ax = fig.add_subplot()
    drawn = False
    for i in idx:
        ep = eps[i]
        traj = ep.get("trajectory")
        try:
            xy = np.asarray(traj, dtype=float)
        except (TypeError, ValueError):
            continue
        if xy.ndim != 2 or xy.shape[0] < 1 or xy.shape[1] < 2:
            continue
        line, = ax.plot(xy[:, 0], xy[:, 1], lw=1.5, label=f"#{i} {ep.get('case', '')} seed {ep.get('seed', '')}")
        ax.plot(xy[0, 0], xy[0, 1], "o", color=line.get_color(), ms=5)
        ax.plot(xy[-1, 0], xy[-1, 1], "x", color=line.get_color(), ms=7)
        drawn = True
    if not drawn:
        return None
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title("Ego paths of the worst episodes (o start, x end)")
    ax.legend(fontsize=7)
    return png(fig, "ego trajectories of the worst episodes")


def mining_curve(runs) -> str | None:
    fig = figure()
    ax = fig.add_subplot()
    drawn = False
    for label, s, c in runs:
        mining = s.get("mining")
        if not isinstance(mining, dict):
            continue
        curve = [p for p in (mining.get("curve") or []) if isinstance(p, (list, tuple)) and len(p) >= 2
                 and number(p[0]) is not None and number(p[1]) is not None]
        if not curve:
            continue
        ax.step([p[0] for p in curve], [p[1] for p in curve], where="post", color=c,
                label=f"{label}: {mining.get('strategy', '?')}")
        drawn = True
    if not drawn:
        return None
    ax.set_xlabel("episodes")
    ax.set_ylabel("distinct failures")
    ax.set_title("Failure discovery")
    ax.legend(fontsize=8)
    return png(fig, "distinct failures vs episodes")
