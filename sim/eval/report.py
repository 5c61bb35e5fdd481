"""A self-contained HTML report of one evaluation run (and optionally its comparison with another).

``write_report(run_dir, summary)`` reads the run's ``metrics.json`` dict (written by the runner) and
writes ``run_dir/report.html``: one file with no external references; plots are base64 PNG data URIs
(matplotlib through ``Figure`` + ``FigureCanvasAgg``, so no global backend is set) and videos base64 MP4
data URIs. Every optional key may be missing or null; missing values show as "–". All text from the
summary is escaped with ``html.escape``.

``worst_episodes(summary, k)`` ranks episodes; the runner uses it to pick which ones get videos.
"""
from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

import numpy as np

from sim.atomic import atomic_open

DASH = "–"
THIS_COLOR, OTHER_COLOR = "#1f77b4", "#ff7f0e"
MAX_EMBED_BYTES = 48 * 2**20
"""Videos larger than this are not embedded (base64 grows them by a third), a note is shown instead."""

NUPLAN_BOUNDS: dict[str, tuple[str, float]] = {
    "max_abs_jerk": ("<=", 4.13),
    "max_abs_lat_accel": ("<=", 4.89),
    "min_accel": (">=", -4.05),
    "max_accel": ("<=", 2.40),
    "min_ttc_s": (">=", 0.95),
}
"""Per-episode bounds from nuPlan's closed-loop metrics (comfort: jerk m/s^3, lateral and longitudinal
acceleration m/s^2; time to collision s). A mean outside its bound is shown red, inside green."""

DEFAULT_INFO: dict[str, dict] = {
    "score": {"unit": "", "description": "episode score", "higher_is_better": True},
    "route_completion": {"unit": "", "description": "fraction of the route driven", "higher_is_better": True},
    "collision": {"unit": "", "description": "episode had a collision", "higher_is_better": False},
    "at_fault_collision": {"unit": "", "description": "ego at fault in a collision", "higher_is_better": False},
    "off_road": {"unit": "", "description": "ego left the drivable area", "higher_is_better": False},
    "min_ttc_s": {"unit": "s", "description": "minimum time to collision", "higher_is_better": True},
    "max_abs_jerk": {"unit": "m/s^3", "description": "max |longitudinal jerk|", "higher_is_better": False},
    "max_abs_lat_accel": {"unit": "m/s^2", "description": "max |lateral acceleration|", "higher_is_better": False},
    "min_accel": {"unit": "m/s^2", "description": "min longitudinal acceleration", "higher_is_better": None},
    "max_accel": {"unit": "m/s^2", "description": "max longitudinal acceleration", "higher_is_better": None},
    "speed_limit_compliance": {"unit": "", "description": "fraction of time within the speed limit",
                               "higher_is_better": True},
    "progress_m": {"unit": "m", "description": "progress along the route", "higher_is_better": True},
    "seconds": {"unit": "s", "description": "episode length", "higher_is_better": None},
    "passed": {"unit": "", "description": "episode passed", "higher_is_better": True},
}
"""Used for a metric that the summary's ``metric_info`` does not describe."""

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:1.5em auto;max-width:1150px;
 padding:0 1em;color:#222;line-height:1.4}
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.92em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.good{background:#e3f5e1}.bad{background:#fbe3e1}.note{color:#777;font-style:italic}
.meta td:first-child{font-weight:600}.plots img{max-width:100%;margin:.3em .5em .3em 0;border:1px solid #eee}
.plots,.videos{display:flex;flex-wrap:wrap}figure{margin:.3em 1em .3em 0;max-width:48%}
figcaption{color:#555;font-size:.85em}video{max-width:100%;border:1px solid #ccc}
.episode{border:1px solid #ddd;border-radius:4px;padding:.2em 1em;margin:.8em 0}
code{background:#f5f5f5;padding:0 .2em}
"""


# ---------------------------------------------------------------------------------------------- values
def _e(x) -> str:
    """Escaped text of anything; None shows as a dash."""
    return DASH if x is None else html.escape(str(x), quote=True)


def _isnum(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _num(v) -> float | None:
    """A finite float, or None for missing / null / NaN / non-numbers (bools count as 0/1)."""
    if isinstance(v, bool):
        return float(v)
    return float(v) if _isnum(v) else None


def _fmt(v) -> str:
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
        return _e(", ".join(str(x) for x in v))
    return _e(v)


def _stat(s) -> tuple[float | None, float | None, float | None, int | None]:
    """(mean, ci_low, ci_high, n) of an aggregate entry; None where missing."""
    if not isinstance(s, dict):
        return None, None, None, None
    n = s.get("n")
    return _num(s.get("mean")), _num(s.get("ci_low")), _num(s.get("ci_high")), n if isinstance(n, int) else None


def _fmt_ci(s) -> str:
    m, lo, hi, _ = _stat(s)
    if m is None:
        return DASH
    if lo is None or hi is None:
        return _fmt(m)
    return f"{_fmt(m)} <span class=note>[{_fmt(lo)}, {_fmt(hi)}]</span>"


def _info(summary: dict, metric: str) -> dict:
    info = dict(DEFAULT_INFO.get(metric, {}))
    mi = (summary.get("metric_info") or {}).get(metric)
    if isinstance(mi, dict):
        info.update({k: v for k, v in mi.items() if v is not None or k == "higher_is_better"})
    return info


def _within(metric: str, v: float | None) -> bool | None:
    """Whether value v meets metric's nuPlan bound; None if no bound or no value."""
    b = NUPLAN_BOUNDS.get(metric)
    if b is None or v is None:
        return None
    op, bound = b
    return v <= bound if op == "<=" else v >= bound


def _episodes(summary: dict) -> list[dict]:
    eps = summary.get("episodes") or []
    return [ep if isinstance(ep, dict) else {} for ep in eps]


def _metrics(ep: dict) -> dict:
    m = ep.get("metrics")
    return m if isinstance(m, dict) else {}


def _failures(ep: dict) -> list[dict]:
    f = ep.get("failures") or []
    return [x if isinstance(x, dict) else {"detail": x} for x in f]


def _ep_values(summary: dict, metric: str) -> list[float]:
    out = []
    for ep in _episodes(summary):
        v = _num(_metrics(ep).get(metric))
        if v is not None:
            out.append(v)
    return out


# --------------------------------------------------------------------------------------------- ranking
def worst_episodes(summary: dict, k: int = 3) -> list[int]:
    """Indices into ``summary["episodes"]`` of the k lowest-score episodes, worst first.

    Ties on score go to the episode with more failures, then to the lower route completion, then to the
    lower index. A missing / null / NaN score ranks as the worst (such an episode most likely broke)."""
    def key(i_ep):
        i, ep = i_ep
        m = _metrics(ep)
        score = _num(m.get("score"))
        rc = _num(m.get("route_completion"))
        return (-math.inf if score is None else score, -len(_failures(ep)),
                -math.inf if rc is None else rc, i)

    ranked = sorted(enumerate(_episodes(summary)), key=key)
    return [i for i, _ in ranked[:max(0, int(k))]]


# ----------------------------------------------------------------------------------------------- plots
def _figure(w: float = 5.6, h: float = 3.6):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - matplotlib is a dependency
        raise RuntimeError("the HTML report needs matplotlib: pip install matplotlib") from err
    fig = Figure(figsize=(w, h), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig, alt: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _runs(summary: dict, compare: dict | None, compare_label: str) -> list[tuple[str, dict, str]]:
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


def _plot_score_hist(runs) -> str | None:
    data = [(label, _ep_values(s, "score"), c) for label, s, c in runs]
    if not any(v for _, v, _ in data):
        return None
    fig = _figure()
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
    return _png(fig, "score distribution")


def _plot_case_scores(runs) -> str | None:
    cases: list[str] = []
    for _, s, _ in runs:
        for case in (s.get("by_case") or {}):
            if case not in cases:
                cases.append(case)
    if not cases:
        return None
    fig = _figure(max(5.6, 0.5 * len(cases) * len(runs) + 2), 3.8)
    ax = fig.add_subplot()
    x = np.arange(len(cases))
    width = 0.8 / len(runs)
    drawn = False
    for j, (label, s, c) in enumerate(runs):
        means, err_lo, err_hi = [], [], []
        for case in cases:
            m, lo, hi, _ = _stat(((s.get("by_case") or {}).get(case) or {}).get("score"))
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
    return _png(fig, "mean score by case")


def _plot_comfort(runs) -> str | None:
    fig = _figure()
    ax = fig.add_subplot()
    any_pt = False
    for label, s, c in runs:
        pts = [(_num(_metrics(ep).get("max_abs_jerk")), _num(_metrics(ep).get("max_abs_lat_accel")))
               for ep in _episodes(s)]
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
    return _png(fig, "comfort scatter")


def _plot_ttc(runs) -> str | None:
    data = []
    for label, s, c in runs:
        eps = _episodes(s)
        v = _ep_values(s, "min_ttc_s")
        data.append((label, v, c, len(eps) - len(v)))
    if not any(v for _, v, _, _ in data):
        return None
    fig = _figure()
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
    return _png(fig, "minimum time to collision histogram")


def _plot_trajectories(summary: dict, idx: list[int]) -> str | None:
    eps = _episodes(summary)
    fig = _figure(5.6, 4.4)
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
    return _png(fig, "ego trajectories of the worst episodes")


def _plot_mining(runs) -> str | None:
    fig = _figure()
    ax = fig.add_subplot()
    drawn = False
    for label, s, c in runs:
        mining = s.get("mining")
        if not isinstance(mining, dict):
            continue
        curve = [p for p in (mining.get("curve") or []) if isinstance(p, (list, tuple)) and len(p) >= 2
                 and _num(p[0]) is not None and _num(p[1]) is not None]
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
    return _png(fig, "distinct failures vs episodes")


# ------------------------------------------------------------------------------------------------ html
def _table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    """Rows hold already-escaped cell HTML; a cell may be a (html, css_class) pair."""
    out = [f"<table{f' class={cls}' if cls else ''}><thead><tr>"]
    out += [f"<th>{_e(h)}</th>" for h in headers]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        for cell in row:
            if isinstance(cell, tuple):
                out.append(f'<td class="{cell[1]}">{cell[0]}</td>')
            else:
                out.append(f"<td>{cell}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _n_episodes(summary: dict) -> int | None:
    eps = summary.get("episodes")
    if isinstance(eps, list):
        return len(eps)
    _, _, _, n = _stat((summary.get("aggregate") or {}).get("score"))
    return n


def _header(summary: dict) -> str:
    name = summary.get("name") or "evaluation"
    wall = _num(summary.get("wall_s"))
    rows = [
        ("agent", _e(summary.get("agent"))),
        ("suite", _e(summary.get("suite"))),
        ("created", _e(summary.get("created"))),
        ("code version", f"<code>{_e(summary.get('code_version'))}</code>"),
        ("episodes", _fmt(_n_episodes(summary))),
        ("backend / workers", f"{_e(summary.get('backend'))} / {_fmt(summary.get('workers'))}"),
        ("wall time", DASH if wall is None else f"{_fmt(wall)} s ({wall / 60:.1f} min)"),
        ("throughput", f"{_fmt(_num(summary.get('episodes_per_min')))} episodes/min"),
    ]
    body = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
    return f"<h1>{_e(name)}</h1><table class=meta>{body}</table>"


def _bound_text(metric: str) -> str:
    b = NUPLAN_BOUNDS.get(metric)
    return DASH if b is None else _e(f"{'≤' if b[0] == '<=' else '≥'} {b[1]}")


def _aggregate(summary: dict) -> str:
    agg = summary.get("aggregate") or {}
    if not agg:
        return "<h2>Metrics</h2><p class=note>No aggregate metrics.</p>"
    rows = []
    for metric, s in agg.items():
        info = _info(summary, metric)
        m, _, _, n = _stat(s)
        ok = _within(metric, m)
        mean_cell = (_fmt_ci(s), "" if ok is None else ("good" if ok else "bad"))
        frac = DASH
        if metric in NUPLAN_BOUNDS:
            v = _ep_values(summary, metric)
            if v:
                frac = f"{sum(bool(_within(metric, x)) for x in v) / len(v):.0%} of {len(v)}"
        hib = info.get("higher_is_better")
        rows.append([f"<b>{_e(metric)}</b>", _e(info.get("unit") or ""), mean_cell, _fmt(n), _bound_text(metric),
                     frac, DASH if hib is None else ("↑" if hib else "↓"), _e(info.get("description") or "")])
    return ("<h2>Metrics</h2><p class=note>Mean over episodes with its 95% confidence interval. Green/red: the "
            "mean is within/outside the nuPlan bound of that metric.</p>"
            + _table(["metric", "unit", "mean [95% CI]", "n", "nuPlan bound", "episodes within", "better",
                      "description"], rows))


def _case_stat(cs: dict, ceps: list[dict], metric: str) -> str:
    """A case's mean [CI] from by_case, else the plain mean over its episodes."""
    if _stat(cs.get(metric))[0] is not None:
        return _fmt_ci(cs.get(metric))
    v = [x for x in (_num(_metrics(ep).get(metric)) for ep in ceps) if x is not None]
    return _fmt(sum(v) / len(v)) if v else DASH


def _per_case(summary: dict) -> str:
    by_case = summary.get("by_case") or {}
    eps = _episodes(summary)
    cases = list(by_case)
    for ep in eps:
        c = ep.get("case")
        if c is not None and c not in cases:
            cases.append(c)
    if not cases:
        return ""
    rows = []
    for case in cases:
        cs = by_case.get(case) or {}
        ceps = [ep for ep in eps if ep.get("case") == case]
        _, _, _, n = _stat(cs.get("score"))
        n = len(ceps) if ceps else n
        passed = [_num(_metrics(ep).get("passed")) for ep in ceps]
        passed = [p for p in passed if p is not None]
        if passed:
            pass_rate = f"{sum(passed) / len(passed):.0%}"
        else:
            pm, _, _, _ = _stat(cs.get("passed"))
            pass_rate = DASH if pm is None else f"{pm:.0%}"
        coll = [_metrics(ep).get("collision") for ep in ceps]
        if ceps:
            n_coll = str(sum(bool(c) for c in coll if c is not None))
        else:
            cm, _, _, cn = _stat(cs.get("collision"))
            n_coll = DASH if cm is None or cn is None else str(round(cm * cn))
        n_fail = sum(len(_failures(ep)) for ep in ceps) if ceps else None
        rows.append([_e(case), _fmt(n), _case_stat(cs, ceps, "score"), pass_rate, n_coll, _fmt(n_fail),
                     _case_stat(cs, ceps, "route_completion")])
    return "<h2>Per case</h2>" + _table(
        ["case", "episodes", "score [95% CI]", "pass rate", "collisions", "failures", "route completion"], rows)


def _counts(summary: dict) -> str:
    counts = summary.get("counts") or {}
    parts = []
    for key, title in (("collision_type", "Collision types"), ("failures", "Failures by detector")):
        c = counts.get(key) or {}
        if not isinstance(c, dict) or not c:
            parts.append(f"<div><h3>{title}</h3><p class=note>none</p></div>")
            continue
        rows = [[_e(k), (_fmt(v), "num")] for k, v in sorted(c.items(), key=lambda kv: -(_num(kv[1]) or 0))]
        parts.append(f"<div><h3>{title}</h3>{_table(['kind', 'count'], rows)}</div>")
    return ("<h2>Failure counts</h2><div style='display:flex;gap:3em;flex-wrap:wrap'>" + "".join(parts)
            + "</div>")


def _comparison(summary: dict, compare: dict, label: str) -> str:
    a, b = summary.get("aggregate") or {}, compare.get("aggregate") or {}
    metrics = list(a) + [m for m in b if m not in a]
    rows = []
    for metric in metrics:
        ma, la, ha, _ = _stat(a.get(metric))
        mb, lb, hb, _ = _stat(b.get(metric))
        delta = None if ma is None or mb is None else ma - mb
        verdict, cls = DASH, ""
        if delta is not None:
            if None in (la, ha, lb, hb):
                verdict = "no CI"
            elif la <= hb and lb <= ha:
                verdict = "CIs overlap: no clear difference"
            else:
                hib = _info(summary, metric).get("higher_is_better")
                if hib is None:
                    verdict = "differs (no preferred direction)"
                else:
                    this_better = (delta > 0) == bool(hib)
                    verdict = "this run better" if this_better else f"{label} better"
                    cls = "good" if this_better else "bad"
        delta_txt = DASH if delta is None else ("+" if delta > 0 else "") + _fmt(delta)
        rows.append([f"<b>{_e(metric)}</b>", _e(_info(summary, metric).get("unit") or ""),
                     _fmt_ci(a.get(metric)), _fmt_ci(b.get(metric)), (delta_txt, "num"), (_e(verdict), cls)])
    who = " · ".join(_e(x) for x in (compare.get("name"), compare.get("agent"), compare.get("code_version")) if x)
    return (f"<h2>Comparison with {_e(label)}</h2><p>{_e(label)}: {who or DASH}, {_fmt(_n_episodes(compare))} "
            "episodes. Delta = this run − other; a difference is called only when the 95% CIs do not overlap.</p>"
            + _table(["metric", "unit", "this run", label, "delta", "verdict"], rows))


def _resolve(run_dir: Path, p) -> Path:
    q = Path(p)
    if q.is_absolute():
        return q
    return run_dir / q if (run_dir / q).exists() else q


def _video(run_dir: Path, p, title: str) -> str:
    if not p:
        return ""
    f = _resolve(run_dir, p)
    if not f.is_file():
        return f"<p class=note>{_e(title)} video not found: <code>{_e(p)}</code></p>"
    size = f.stat().st_size
    if size > MAX_EMBED_BYTES:
        return (f"<p class=note>{_e(title)} video too large to embed ({size / 2**20:.0f} MiB): "
                f"<code>{_e(p)}</code></p>")
    mime = {".webm": "video/webm", ".ogv": "video/ogg"}.get(f.suffix.lower(), "video/mp4")
    data = base64.b64encode(f.read_bytes()).decode("ascii")
    return (f'<figure><video controls loop muted playsinline title="{_e(title)}" '
            f'src="data:{mime};base64,{data}"></video><figcaption>{_e(title)}</figcaption></figure>')


def _episode_block(run_dir: Path, summary: dict, i: int, rank: int | None) -> str:
    ep = _episodes(summary)[i]
    m = _metrics(ep)
    head = f"#{rank + 1} worst: " if rank is not None else ""
    out = [f"<div class=episode><h3>{head}episode {i} · case {_e(ep.get('case'))} · seed {_e(ep.get('seed'))}"
           "</h3>"]
    if ep.get("log"):
        out.append(f"<p>log: <code>{_e(ep.get('log'))}</code></p>")
    if m:
        cells = []
        for k, v in m.items():
            ok = _within(k, _num(v))
            cls = "" if ok is None else ("good" if ok else "bad")
            cells.append(f'<td class="{cls}"><b>{_e(k)}</b><br>{_fmt(v)}</td>')
        rows = ["<tr>" + "".join(cells[j:j + 7]) + "</tr>" for j in range(0, len(cells), 7)]
        out.append("<table>" + "".join(rows) + "</table>")
    fails = _failures(ep)
    if fails:
        rows = [[_e(f.get("detector")), _fmt(f.get("step")), _e(f.get("road_type")), _fmt(f.get("actors")),
                 _e(f.get("detail"))] for f in fails]
        out.append(_table(["detector", "step", "road type", "actors", "detail"], rows))
    else:
        out.append("<p class=note>no failures detected</p>")
    vids = _video(run_dir, ep.get("video"), "top-down") + _video(run_dir, ep.get("camera_video"), "camera")
    if vids:
        out.append(f"<div class=videos>{vids}</div>")
    out.append("</div>")
    return "".join(out)


def _worst(run_dir: Path, summary: dict, worst: list[int]) -> str:
    eps = _episodes(summary)
    if not eps:
        return ""
    out = ["<h2>Worst episodes</h2>"]
    out += [_episode_block(run_dir, summary, i, r) for r, i in enumerate(worst)]
    extra = [i for i, ep in enumerate(eps) if i not in worst and (ep.get("video") or ep.get("camera_video"))]
    if extra:
        out.append("<h2>Other recorded episodes</h2>")
        out += [_episode_block(run_dir, summary, i, None) for i in extra]
    return "".join(out)


def _all_episodes(summary: dict) -> str:
    eps = _episodes(summary)
    if not eps:
        return ""
    rows = []
    for i, ep in enumerate(eps):
        m = _metrics(ep)
        rows.append([(str(i), "num"), _e(ep.get("case")), _e(ep.get("seed")), (_fmt(m.get("score")), "num"),
                     _fmt(m.get("passed")), (_fmt(m.get("route_completion")), "num"), _fmt(m.get("collision_type")),
                     (_fmt(m.get("min_ttc_s")), "num"),
                     _e(", ".join(sorted({str(f.get("detector")) for f in _failures(ep)})) or DASH)])
    return (f"<h2>All episodes</h2><details><summary>{len(eps)} episodes</summary>"
            + _table(["#", "case", "seed", "score", "passed", "route completion", "collision", "min TTC (s)",
                      "failures"], rows) + "</details>")


def _mining(summary: dict, runs) -> str:
    mining = summary.get("mining")
    if not isinstance(mining, dict):
        return ""
    keys = ("campaign", "strategy", "agent", "budget", "episodes", "failures", "distinct_failures")
    meta = "".join(f"<tr><td>{_e(k.replace('_', ' '))}</td><td>{_fmt(mining.get(k))}</td></tr>" for k in keys)
    out = [f"<h2>Failure mining</h2><table class=meta>{meta}</table>"]
    plot = _plot_mining(runs)
    if plot:
        out.append(f"<div class=plots>{plot}</div>")
    clusters = [c for c in (mining.get("clusters") or []) if isinstance(c, dict)]
    if clusters:
        rows = [[_e(c.get("cluster_key")), (_fmt(c.get("count")), "num"), (_fmt(c.get("distinct")), "num")]
                for c in clusters]
        out.append("<h3>Failure clusters</h3>" + _table(["cluster", "failures", "distinct"], rows))
    mined = mining.get("mined_scenarios") or []
    if mined:
        items = "".join(f"<li><code>{_e(p)}</code></li>" for p in mined)
        out.append(f"<h3>Mined scenarios</h3><details open><summary>{len(mined)} scenarios</summary>"
                   f"<ul>{items}</ul></details>")
    else:
        out.append("<p class=note>No scenarios were mined.</p>")
    return "".join(out)


def render_report(summary: dict, compare: dict | None = None, compare_label: str = "previous", *,
                  run_dir=".", worst_k: int = 3) -> str:
    """The report's HTML text; video paths that are relative are looked up under ``run_dir`` first."""
    run_dir = Path(run_dir)
    summary = summary or {}
    runs = _runs(summary, compare, compare_label)
    worst = worst_episodes(summary, worst_k)
    plots = [p for p in (_plot_score_hist(runs), _plot_case_scores(runs), _plot_comfort(runs), _plot_ttc(runs),
                         _plot_trajectories(summary, worst)) if p]
    parts = [_header(summary), _aggregate(summary), _per_case(summary), _counts(summary)]
    parts.append("<h2>Plots</h2>" + (f"<div class=plots>{''.join(plots)}</div>" if plots
                                    else "<p class=note>No per-episode data to plot.</p>"))
    if compare is not None:
        parts.append(_comparison(summary, compare, compare_label))
    parts += [_worst(run_dir, summary, worst), _mining(summary, runs), _all_episodes(summary)]
    title = _e(f"{summary.get('name') or 'evaluation'} — roadloop report")
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width, initial-scale=1'>"
            f"<title>{title}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(p for p in parts if p) + "\n</body></html>\n")


def write_report(run_dir, summary: dict, compare: dict | None = None, compare_label: str = "previous", *,
                 worst_k: int = 3) -> Path:
    """Write ``run_dir/report.html`` (temp file + ``os.replace``) from a run's metrics.json dict; return its path.

    ``compare``: another run's metrics.json dict, shown as a comparison table and overlaid plots, labelled
    ``compare_label``. ``worst_k``: how many of the lowest-score episodes get a detailed section."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    text = render_report(summary, compare, compare_label, run_dir=run_dir, worst_k=worst_k)
    out = run_dir / "report.html"
    with atomic_open(out, "w", encoding="utf-8") as f:
        f.write(text)
    return out
