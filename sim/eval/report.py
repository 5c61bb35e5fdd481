"""A self-contained HTML report of one evaluation run (and optionally its comparison with another).

``write_report(run_dir, summary)`` reads the run's ``metrics.json`` dict (written by the runner) and
writes ``run_dir/report.html``: one file with no external references; plots (sim.eval.plots) are base64
PNG data URIs and videos base64 MP4 data URIs. Values are read and formatted by sim.eval.view.
"""
from __future__ import annotations

import base64
from pathlib import Path


from sim.atomic import atomic_open
from sim.eval import plots
from sim.eval.view import (DASH, NUPLAN_BOUNDS, episode_failures, episode_metrics, episodes, esc, fmt, fmt_ci,
                           metric_info, number, stat, values_of, within_bound, worst_episodes)

MAX_EMBED_BYTES = 48 * 2**20
"""Videos larger than this are not embedded (base64 grows them by a third), a note is shown instead."""



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


def _table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    """Rows hold already-escaped cell HTML; a cell may be a (html, css_class) pair."""
    out = [f"<table{f' class={cls}' if cls else ''}><thead><tr>"]
    out += [f"<th>{esc(h)}</th>" for h in headers]
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
    _, _, _, n = stat((summary.get("aggregate") or {}).get("score"))
    return n


def _header(summary: dict) -> str:
    name = summary.get("name") or "evaluation"
    wall = number(summary.get("wall_s"))
    rows = [
        ("agent", esc(summary.get("agent"))),
        ("suite", esc(summary.get("suite"))),
        ("created", esc(summary.get("created"))),
        ("code version", f"<code>{esc(summary.get('code_version'))}</code>"),
        ("episodes", fmt(_n_episodes(summary))),
        ("backend / workers", f"{esc(summary.get('backend'))} / {fmt(summary.get('workers'))}"),
        ("wall time", DASH if wall is None else f"{fmt(wall)} s ({wall / 60:.1f} min)"),
        ("throughput", f"{fmt(number(summary.get('episodes_per_min')))} episodes/min"),
    ]
    body = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
    return f"<h1>{esc(name)}</h1><table class=meta>{body}</table>"


def _bound_text(metric: str) -> str:
    b = NUPLAN_BOUNDS.get(metric)
    return DASH if b is None else esc(f"{'≤' if b[0] == '<=' else '≥'} {b[1]}")


def _aggregate(summary: dict) -> str:
    agg = summary.get("aggregate") or {}
    if not agg:
        return "<h2>Metrics</h2><p class=note>No aggregate metrics.</p>"
    rows = []
    for metric, s in agg.items():
        info = metric_info(summary, metric)
        m, _, _, n = stat(s)
        ok = within_bound(metric, m)
        mean_cell = (fmt_ci(s), "" if ok is None else ("good" if ok else "bad"))
        frac = DASH
        if metric in NUPLAN_BOUNDS:
            v = values_of(summary, metric)
            if v:
                frac = f"{sum(bool(within_bound(metric, x)) for x in v) / len(v):.0%} of {len(v)}"
        hib = info.get("higher_is_better")
        rows.append([f"<b>{esc(metric)}</b>", esc(info.get("unit") or ""), mean_cell, fmt(n), _bound_text(metric),
                     frac, DASH if hib is None else ("↑" if hib else "↓"), esc(info.get("description") or "")])
    return ("<h2>Metrics</h2><p class=note>Mean over episodes with its 95% confidence interval. Green/red: the "
            "mean is within/outside the nuPlan bound of that metric.</p>"
            + _table(["metric", "unit", "mean [95% CI]", "n", "nuPlan bound", "episodes within", "better",
                      "description"], rows))


def _case_stat(cs: dict, ceps: list[dict], metric: str) -> str:
    """A case's mean [CI] from by_case, else the plain mean over its episodes."""
    if stat(cs.get(metric))[0] is not None:
        return fmt_ci(cs.get(metric))
    v = [x for x in (number(episode_metrics(ep).get(metric)) for ep in ceps) if x is not None]
    return fmt(sum(v) / len(v)) if v else DASH


def _per_case(summary: dict) -> str:
    by_case = summary.get("by_case") or {}
    eps = episodes(summary)
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
        _, _, _, n = stat(cs.get("score"))
        n = len(ceps) if ceps else n
        passed = [number(episode_metrics(ep).get("passed")) for ep in ceps]
        passed = [p for p in passed if p is not None]
        if passed:
            pass_rate = f"{sum(passed) / len(passed):.0%}"
        else:
            pm, _, _, _ = stat(cs.get("passed"))
            pass_rate = DASH if pm is None else f"{pm:.0%}"
        coll = [episode_metrics(ep).get("collision") for ep in ceps]
        if ceps:
            n_coll = str(sum(bool(c) for c in coll if c is not None))
        else:
            cm, _, _, cn = stat(cs.get("collision"))
            n_coll = DASH if cm is None or cn is None else str(round(cm * cn))
        n_fail = sum(len(episode_failures(ep)) for ep in ceps) if ceps else None
        drivers = sorted({str(d) for d in (episode_metrics(ep).get("driver") for ep in ceps) if d}
                         - {str(summary.get("agent"))})
        label = esc(case) + (f" <span class=note>(driven by {esc(', '.join(drivers))})</span>" if drivers else "")
        rows.append([label, fmt(n), _case_stat(cs, ceps, "score"), pass_rate, n_coll, fmt(n_fail),
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
        rows = [[esc(k), (fmt(v), "num")] for k, v in sorted(c.items(), key=lambda kv: -(number(kv[1]) or 0))]
        parts.append(f"<div><h3>{title}</h3>{_table(['kind', 'count'], rows)}</div>")
    return ("<h2>Failure counts</h2><div style='display:flex;gap:3em;flex-wrap:wrap'>" + "".join(parts)
            + "</div>")


def _comparison(summary: dict, compare: dict, label: str) -> str:
    a, b = summary.get("aggregate") or {}, compare.get("aggregate") or {}
    metrics = list(a) + [m for m in b if m not in a]
    rows = []
    for metric in metrics:
        ma, la, ha, _ = stat(a.get(metric))
        mb, lb, hb, _ = stat(b.get(metric))
        delta = None if ma is None or mb is None else ma - mb
        verdict, cls = DASH, ""
        if delta is not None:
            if None in (la, ha, lb, hb):
                verdict = "no CI"
            elif la <= hb and lb <= ha:
                verdict = "CIs overlap: no clear difference"
            else:
                hib = metric_info(summary, metric).get("higher_is_better")
                if hib is None:
                    verdict = "differs (no preferred direction)"
                else:
                    this_better = (delta > 0) == bool(hib)
                    verdict = "this run better" if this_better else f"{label} better"
                    cls = "good" if this_better else "bad"
        delta_txt = DASH if delta is None else ("+" if delta > 0 else "") + fmt(delta)
        rows.append([f"<b>{esc(metric)}</b>", esc(metric_info(summary, metric).get("unit") or ""),
                     fmt_ci(a.get(metric)), fmt_ci(b.get(metric)), (delta_txt, "num"), (esc(verdict), cls)])
    who = " · ".join(esc(x) for x in (compare.get("name"), compare.get("agent"), compare.get("code_version")) if x)
    return (f"<h2>Comparison with {esc(label)}</h2><p>{esc(label)}: {who or DASH}, {fmt(_n_episodes(compare))} "
            "episodes. Delta = this run − other; a difference is called only when the 95% CIs do not overlap.</p>"
            + _table(["metric", "unit", "this run", label, "delta", "verdict"], rows))


def _baselines(summary: dict) -> str:
    """The run's agent and its baselines on the same suite and seeds, one row each."""
    base = summary.get("baselines")
    if not base:
        return ""
    agg = summary.get("aggregate") or {}
    metrics = [m for m in ("score", "passed", "route_completion", "progress_m", "collision", "off_road",
                           "comfortable") if m in agg]
    rows = [[f"<b>{esc(summary.get('agent') or 'this run')}</b>", fmt(_n_episodes(summary))]
            + [fmt_ci(agg.get(m)) for m in metrics]]
    for name, b in base.items():
        rows.append([esc(name), fmt(b.get("episodes"))] + [fmt_ci(b["aggregate"].get(m)) for m in metrics])
    return ("<h2>Baselines</h2><p>The same cases and seeds driven by the baseline agents (mean and 95% CI).</p>"
            + _table(["agent", "episodes", *metrics], rows))


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
        return f"<p class=note>{esc(title)} video not found: <code>{esc(p)}</code></p>"
    size = f.stat().st_size
    if size > MAX_EMBED_BYTES:
        return (f"<p class=note>{esc(title)} video too large to embed ({size / 2**20:.0f} MiB): "
                f"<code>{esc(p)}</code></p>")
    mime = {".webm": "video/webm", ".ogv": "video/ogg"}.get(f.suffix.lower(), "video/mp4")
    data = base64.b64encode(f.read_bytes()).decode("ascii")
    return (f'<figure><video controls loop muted playsinline title="{esc(title)}" '
            f'src="data:{mime};base64,{data}"></video><figcaption>{esc(title)}</figcaption></figure>')


def _episode_block(run_dir: Path, summary: dict, i: int, rank: int | None) -> str:
    ep = episodes(summary)[i]
    m = episode_metrics(ep)
    head = f"#{rank + 1} worst: " if rank is not None else ""
    out = [f"<div class=episode><h3>{head}episode {i} · case {esc(ep.get('case'))} · seed {esc(ep.get('seed'))}"
           "</h3>"]
    if ep.get("log"):
        out.append(f"<p>log: <code>{esc(ep.get('log'))}</code></p>")
    if m:
        cells = []
        for k, v in m.items():
            ok = within_bound(k, number(v))
            cls = "" if ok is None else ("good" if ok else "bad")
            cells.append(f'<td class="{cls}"><b>{esc(k)}</b><br>{fmt(v)}</td>')
        rows = ["<tr>" + "".join(cells[j:j + 7]) + "</tr>" for j in range(0, len(cells), 7)]
        out.append("<table>" + "".join(rows) + "</table>")
    fails = episode_failures(ep)
    if fails:
        rows = [[esc(f.get("detector")), fmt(f.get("step")), esc(f.get("road_type")), fmt(f.get("actors")),
                 esc(f.get("detail"))] for f in fails]
        out.append(_table(["detector", "step", "road type", "actors", "detail"], rows))
    else:
        out.append("<p class=note>no failures detected</p>")
    vids = _video(run_dir, ep.get("video"), "top-down") + _video(run_dir, ep.get("camera_video"), "camera")
    if vids:
        out.append(f"<div class=videos>{vids}</div>")
    out.append("</div>")
    return "".join(out)


def _worst(run_dir: Path, summary: dict, worst: list[int]) -> str:
    eps = episodes(summary)
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
    eps = episodes(summary)
    if not eps:
        return ""
    rows = []
    for i, ep in enumerate(eps):
        m = episode_metrics(ep)
        rows.append([(str(i), "num"), esc(ep.get("case")), esc(ep.get("seed")), (fmt(m.get("score")), "num"),
                     fmt(m.get("passed")), (fmt(m.get("route_completion")), "num"), fmt(m.get("collision_type")),
                     (fmt(m.get("min_ttc_s")), "num"),
                     esc(", ".join(sorted({str(f.get("detector")) for f in episode_failures(ep)})) or DASH)])
    return (f"<h2>All episodes</h2><details><summary>{len(eps)} episodes</summary>"
            + _table(["#", "case", "seed", "score", "passed", "route completion", "collision", "min TTC (s)",
                      "failures"], rows) + "</details>")


def _mining(summary: dict, runs) -> str:
    mining = summary.get("mining")
    if not isinstance(mining, dict):
        return ""
    keys = ("campaign", "strategy", "agent", "budget", "episodes", "failures", "distinct_failures")
    meta = "".join(f"<tr><td>{esc(k.replace('_', ' '))}</td><td>{fmt(mining.get(k))}</td></tr>" for k in keys)
    out = [f"<h2>Failure mining</h2><table class=meta>{meta}</table>"]
    plot = plots.mining_curve(runs)
    if plot:
        out.append(f"<div class=plots>{plot}</div>")
    clusters = [c for c in (mining.get("clusters") or []) if isinstance(c, dict)]
    if clusters:
        rows = [[esc(c.get("cluster_key")), (fmt(c.get("count")), "num"), (fmt(c.get("distinct")), "num")]
                for c in clusters]
        out.append("<h3>Failure clusters</h3>" + _table(["cluster", "failures", "distinct"], rows))
    mined = mining.get("mined_scenarios") or []
    if mined:
        items = "".join(f"<li><code>{esc(p)}</code></li>" for p in mined)
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
    runs = plots.runs_of(summary, compare, compare_label)
    worst = worst_episodes(summary, worst_k)
    images = [p for p in (plots.score_histogram(runs), plots.case_scores(runs), plots.comfort_scatter(runs),
                          plots.ttc_histogram(runs), plots.trajectories(summary, worst)) if p]
    parts = [_header(summary), _aggregate(summary), _baselines(summary), _per_case(summary), _counts(summary)]
    parts.append("<h2>Plots</h2>" + (f"<div class=plots>{''.join(images)}</div>" if images
                                    else "<p class=note>No per-episode data to plot.</p>"))
    if compare is not None:
        parts.append(_comparison(summary, compare, compare_label))
    parts += [_worst(run_dir, summary, worst), _mining(summary, runs), _all_episodes(summary)]
    title = esc(f"{summary.get('name') or 'evaluation'} — roadloop report")
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
