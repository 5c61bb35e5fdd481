"""Traffic smoothness and sanity: comfort of every non-ego actor and collisions among them, over random episodes.

    .venv/bin/python bench/traffic_sanity.py [--episodes 1000] [--steps 200] [--workers 2] [--seed 0]
                                             [--agent lane_keeping] [--out summary.json]

Episode i is ``roadloop/Drive-v0`` reset with seed ``seed + i`` (a new random world, default traffic density)
and driven ``steps`` control steps by ``agent`` (fewer where the ego crashes, leaves the road or completes its
route). The ego is left
out of every figure. Per non-ego actor and step: longitudinal acceleration (speed difference), lateral
acceleration (speed x yaw rate from consecutive headings) and longitudinal jerk, smoothed exactly like the
ego's comfort metrics (``sim.eval.metrics.smooth``: Savitzky-Golay, ACCEL_WINDOW_S and JERK_WINDOW_S), checked
against nuPlan's comfort bounds. An actor's track is cut where it is invalid or respawned (a jump of more than
speed x dt + RESPAWN_JUMP_M). Emergency steps: the smoothed acceleration is below MIN_LON_ACCEL, or such a step
lies within half a jerk window; figures are printed with and without them. Collisions: oriented boxes of two
non-ego actors overlapping; a pair already overlapping when either actor (re)appears is a spawn overlap,
excused until the pair separates, and counted apart; events are also grouped by the parties (vehicle+vehicle,
vehicle+vru, vru+vru; a tractor and a trailer are vehicles), vehicle events listed first. Prints the figures and
writes a JSON summary to ``--out``.
"""

import argparse
import json
import math
import multiprocessing
import time
from collections import Counter, defaultdict
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass

import gymnasium as gym
import numpy as np
from scipy.ndimage import maximum_filter1d
from tqdm import tqdm

import sim  # noqa: F401  (registers the environments)
from agents import agent_obs_mode, make_agent
from sim.eval.metrics import (ACCEL_WINDOW_S, JERK_WINDOW_S, MAX_ABS_LAT_ACCEL, MAX_ABS_LON_JERK, MAX_LON_ACCEL,
                              MIN_LON_ACCEL, smooth)
from sim.physics.collision import pairwise_overlap
from sim.traffic.actor_classes import ACTOR_CLASSES

RESPAWN_JUMP_M = 5.0
"""A step moving an actor farther than speed x dt plus this is a respawn, m."""
BEHAVIOURS = ("following", "lane_change", "junction", "other")
"""What a traffic vehicle is doing: changing lane, on a junction connector, else following its lane; "other"
for actors outside the traffic state."""
COUNTS = ("steps", "lon", "lat", "jerk", "all")
"""Per group: actor-steps, and how many of them are within each bound and within all."""
PARTIES = ("vehicle+vehicle", "vehicle+vru", "vru+vru")
"""Collision events by the kinds of road user involved (vehicle-involving events are listed first)."""
VRU_CLASSES = ("pedestrian", "cyclist", "dog")
WORST = 5
"""Worst events listed per quantity."""


@dataclass
class Args:
    episodes: int = 1000
    steps: int = 200
    """control steps per episode (10 Hz)"""
    workers: int = 2
    seed: int = 0
    agent: str = "lane_keeping"
    """the ego's driver (any registered agent; excluded from the figures)"""
    chunk: int = 5
    """episodes per worker task"""
    out: str = ""
    """JSON summary path ("" for none)"""


_env = None


def _class_name(kind: int) -> str:
    return ACTOR_CLASSES[kind] if 0 <= kind < len(ACTOR_CLASSES) else f"class{kind}"


def _snapshot(env):
    """Non-ego actors now: table (7, M), kind (M,), valid (M,), behaviour code (M,)."""
    state, lmap = env.unwrapped.state, env.unwrapped.scene.lane_map
    a, tr = state.actors, state.traffic
    m = a.table.shape[1] - 1
    n = min(tr.n, m)
    beh = np.full(m, BEHAVIOURS.index("other"), np.int8)
    beh[:n] = np.where(tr.lc_from[:n] >= 0, 1, np.where(lmap.in_junction[tr.lane[:n]], 2, 0))
    return a.table[:, 1:].copy(), a.kind[1:].astype(np.int64), a.valid[1:].copy(), beh


def _stack(snaps):
    """(T, 7, M) table, (T, M) kind, valid and behaviour, padded with invalid actors to the widest step."""
    t, m = len(snaps), max(s[0].shape[1] for s in snaps)
    tab, kind = np.zeros((t, 7, m)), np.full((t, m), -1, np.int64)
    valid, beh = np.zeros((t, m), bool), np.full((t, m), BEHAVIOURS.index("other"), np.int8)
    for k, (a, b, c, d) in enumerate(snaps):
        w = a.shape[1]
        tab[k, :, :w], kind[k, :w], valid[k, :w], beh[k, :w] = a, b, c, d
    return np.where(valid[:, None], np.nan_to_num(tab), 0.0), kind, valid, beh


def _comfort(tab, kind, valid, beh, dt, seed):
    """Group counts {"class|behaviour": {"all": [...COUNTS], "normal": [...]}} over the actor-steps and the
    actor-steps outside emergencies, the emergency step count, and the worst events per quantity."""
    x, y, h, v = tab[:, 0], tab[:, 1], tab[:, 2], tab[:, 3]
    cont = np.zeros(valid.shape, bool)  # step k continues step k-1 of the same actor
    jump = np.hypot(np.diff(x, axis=0), np.diff(y, axis=0))
    cont[1:] = valid[1:] & valid[:-1] & (jump <= np.maximum(v[1:], v[:-1]) * dt + RESPAWN_JUMP_M)
    half = round(0.5 * JERK_WINDOW_S / dt)
    groups = defaultdict(lambda: {"all": [0] * len(COUNTS), "normal": [0] * len(COUNTS)})
    worst, emergency = {q: [] for q in ("min_accel", "max_accel", "abs_lat", "abs_jerk")}, 0
    for j in range(valid.shape[1]):
        edges = np.flatnonzero(np.diff(np.r_[0, cont[:, j].astype(np.int8), 0]))
        for a, b in zip(edges[::2], edges[1::2]):
            k = np.arange(a, b)  # steps whose accelerations are defined (k - 1 in the same track)
            acc = smooth((v[k, j] - v[k - 1, j]) / dt, dt, ACCEL_WINDOW_S)
            yaw = (h[k, j] - h[k - 1, j] + math.pi) % (2.0 * math.pi) - math.pi
            lat = smooth(0.5 * (v[k, j] + v[k - 1, j]) * yaw / dt, dt, ACCEL_WINDOW_S)
            jerk = smooth(acc, dt, JERK_WINDOW_S, deriv=1)
            em = maximum_filter1d((acc < MIN_LON_ACCEL).astype(np.uint8), 2 * half + 1) > 0
            ok = np.stack([np.ones(k.size, bool), (acc >= MIN_LON_ACCEL) & (acc <= MAX_LON_ACCEL),
                           np.abs(lat) <= MAX_ABS_LAT_ACCEL, np.abs(jerk) <= MAX_ABS_LON_JERK])
            ok = np.vstack([ok, ok[1:].all(axis=0)])
            emergency += int(em.sum())
            for key in {(int(kind[q, j]), int(beh[q, j])) for q in k}:
                sel = (kind[k, j] == key[0]) & (beh[k, j] == key[1])
                g = groups[f"{_class_name(key[0])}|{BEHAVIOURS[key[1]]}"]
                g["all"] = [c + int(n) for c, n in zip(g["all"], ok[:, sel].sum(axis=1))]
                g["normal"] = [c + int(n) for c, n in zip(g["normal"], ok[:, sel & ~em].sum(axis=1))]
            for q, values in (("min_accel", -acc), ("max_accel", acc), ("abs_lat", np.abs(lat)),
                              ("abs_jerk", np.abs(jerk))):
                i = int(np.argmax(values))
                worst[q].append({"value": float(values[i]) * (-1 if q == "min_accel" else 1), "seed": seed,
                                 "step": int(k[i]), "actor": j + 1, "class": _class_name(int(kind[k[i], j])),
                                 "behaviour": BEHAVIOURS[beh[k[i], j]], "emergency": bool(em[i])})
    return dict(groups), emergency, _worst_first(worst), cont


def _worst_first(worst: dict) -> dict:
    """The WORST events of each quantity, worst first (lowest for min_accel, else highest)."""
    return {q: sorted(w, key=lambda e: e["value"] if q == "min_accel" else -e["value"])[:WORST]
            for q, w in worst.items()}


def _collisions(tab, kind, valid, beh, cont, seed):
    """Collision events (a pair of non-ego actors starting to overlap) and the number of spawn overlaps."""
    events, spawn, excused, before = [], 0, set(), set()
    for k in range(tab.shape[0]):
        x, y, h, _, length, width, _ = tab[k]
        now = set(zip(*np.nonzero(pairwise_overlap(x, y, h, length, width, valid[k]))))
        now = {(int(i), int(j)) for i, j in now if i < j}
        for i, j in sorted(now - before):
            if k == 0 or not (cont[k, i] and cont[k, j]):
                excused.add((i, j))
                spawn += 1
            else:
                events.append({"seed": seed, "step": k, "actors": [i + 1, j + 1],
                               "classes": sorted([_class_name(int(kind[k, i])), _class_name(int(kind[k, j]))]),
                               "behaviours": sorted([BEHAVIOURS[beh[k, i]], BEHAVIOURS[beh[k, j]]]),
                               "speeds": [round(float(tab[k, 3, i]), 2), round(float(tab[k, 3, j]), 2)]})
        excused &= now
        before = now
    return events, spawn


def run_episodes(seeds, steps: int, agent_name: str) -> list[dict]:
    """Run and measure the episodes of ``seeds`` (in a worker; the env is kept between calls)."""
    global _env
    if _env is None:
        _env = gym.make("roadloop/Drive-v0", obs_mode=agent_obs_mode(agent_name), episode_seconds=1e6)
    out = []
    for seed in seeds:
        t0 = time.perf_counter()
        agent = make_agent(agent_name)
        obs, info = _env.reset(seed=seed)
        agent.reset(obs, info)
        snaps, terminated = [_snapshot(_env)], False
        while len(snaps) <= steps and not terminated:
            obs, _, terminated, _, info = _env.step(agent.act(obs, info))
            snaps.append(_snapshot(_env))
        tab, kind, valid, beh = _stack(snaps)
        dt = _env.unwrapped.config.dt
        groups, emergency, worst, cont = _comfort(tab, kind, valid, beh, dt, seed)
        collisions, spawn = _collisions(tab, kind, valid, beh, cont, seed)
        out.append({"seed": seed, "steps": len(snaps) - 1, "ego_terminated": bool(terminated), "groups": groups,
                    "emergency_steps": emergency, "worst": worst, "collisions": collisions, "spawn_overlaps": spawn,
                    "wall_s": time.perf_counter() - t0})
    return out


def _pct(counts) -> dict:
    n = max(counts[0], 1)
    return {name: 100.0 * c / n for name, c in zip(COUNTS[1:], counts[1:])}


def summarise(results: list[dict], args: Args, wall_s: float) -> dict:
    """Totals over all episodes, by class and by behaviour."""
    total = {"all": np.zeros(len(COUNTS), np.int64), "normal": np.zeros(len(COUNTS), np.int64)}
    by = {"class": defaultdict(lambda: np.zeros(2 * len(COUNTS), np.int64)),
          "behaviour": defaultdict(lambda: np.zeros(2 * len(COUNTS), np.int64))}
    worst = defaultdict(list)
    for r in results:
        for key, g in r["groups"].items():
            cls, beh = key.split("|")
            row = np.array(g["all"] + g["normal"])
            total["all"] += row[:len(COUNTS)]
            total["normal"] += row[len(COUNTS):]
            by["class"][cls] += row
            by["behaviour"][beh] += row
        for q, w in r["worst"].items():
            worst[q] += w
    collisions = [c for r in results for c in r["collisions"]]
    n = len(results)
    return {
        "args": asdict(args), "episodes": n, "wall_s": wall_s,
        "episode_wall_s_mean": float(np.mean([r["wall_s"] for r in results])),
        "actor_steps": int(total["all"][0]), "ego_terminated": sum(r["ego_terminated"] for r in results),
        "within_pct": _pct(total["all"]), "emergency_steps": sum(r["emergency_steps"] for r in results),
        "actor_steps_outside_emergencies": int(total["normal"][0]),
        "within_pct_outside_emergencies": _pct(total["normal"]),
        **{f"by_{part}": {k: {"actor_steps": int(v[0]), "within_pct": _pct(v[:len(COUNTS)]),
                              "within_pct_outside_emergencies": _pct(v[len(COUNTS):])} for k, v in sorted(rows.items())}
           for part, rows in by.items()},
        "collisions": len(collisions), "collisions_per_1000_episodes": 1000.0 * len(collisions) / max(n, 1),
        "episodes_with_collision": len({c["seed"] for c in collisions}),
        "collisions_by_classes": dict(Counter("+".join(c["classes"]) for c in collisions).most_common()),
        "collisions_by_behaviours": dict(Counter("+".join(c["behaviours"]) for c in collisions).most_common()),
        "collisions_by_parties": {p: sum(_parties(c) == p for c in collisions) for p in PARTIES},
        "collision_events": sorted(collisions, key=lambda c: PARTIES.index(_parties(c)))[:50],
        "spawn_overlaps": sum(r["spawn_overlaps"] for r in results),
        "worst": _worst_first(worst),
    }


def _parties(event: dict) -> str:
    """Which kinds of road user a collision event is between (one of PARTIES)."""
    vru = sum(c in VRU_CLASSES for c in event["classes"])
    return PARTIES[vru]


def report(s: dict) -> None:
    def row(name, p):
        return (f"  {name:<28s} lon {p['lon']:7.3f}%  lat {p['lat']:7.3f}%  jerk {p['jerk']:7.3f}%  "
                f"all {p['all']:7.3f}%")

    print(f"episodes {s['episodes']} x {s['args']['steps']} steps (ego terminated early in {s['ego_terminated']}), "
          f"non-ego actor-steps {s['actor_steps']}, wall {s['wall_s']:.1f} s "
          f"({s['episode_wall_s_mean']:.2f} s per episode per worker)")
    print(f"comfort bounds: lon accel {MIN_LON_ACCEL}..{MAX_LON_ACCEL} m/s^2, |lat accel| <= {MAX_ABS_LAT_ACCEL} "
          f"m/s^2, |jerk| <= {MAX_ABS_LON_JERK} m/s^3 (within, % of actor-steps)")
    print(row("all steps", s["within_pct"]))
    print(row(f"outside emergencies ({s['actor_steps_outside_emergencies']})", s["within_pct_outside_emergencies"]))
    print(f"  emergency-brake steps: {s['emergency_steps']} "
          f"({100.0 * s['emergency_steps'] / max(s['actor_steps'], 1):.3f}%)")
    for part in ("by_class", "by_behaviour"):
        print(f"{part.replace('_', ' ')} (outside emergencies), worst first:")
        for name, g in sorted(s[part].items(), key=lambda kv: kv[1]["within_pct_outside_emergencies"]["all"]):
            print(row(f"{name} ({g['actor_steps']})", g["within_pct_outside_emergencies"]))
    print(f"collisions among non-ego actors: {s['collisions']} ({s['collisions_per_1000_episodes']:.1f} per 1000 "
          f"episodes, in {s['episodes_with_collision']} episodes); spawn overlaps (excused): {s['spawn_overlaps']}")
    print("  parties: " + ", ".join(f"{k} {v}" for k, v in s["collisions_by_parties"].items()))
    for e in [e for e in s["collision_events"] if _parties(e) != "vru+vru"][:20]:
        print(f"    s{e['seed']} k{e['step']} actors {e['actors']} {'+'.join(e['classes'])} "
              f"{'+'.join(e['behaviours'])} speeds {e['speeds']}")
    for part in ("collisions_by_classes", "collisions_by_behaviours"):
        if s[part]:
            print(f"  {part.split('_by_')[1]}: " + ", ".join(f"{k} {v}" for k, v in s[part].items()))
    print("worst offenders (value, seed, step, actor, class, behaviour, emergency):")
    for q, w in s["worst"].items():
        print(f"  {q}: " + "; ".join(f"{e['value']:.2f} s{e['seed']} k{e['step']} a{e['actor']} {e['class']} "
                                     f"{e['behaviour']}{' E' if e['emergency'] else ''}" for e in w[:3]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, value in asdict(Args()).items():
        parser.add_argument(f"--{name}", type=type(value), default=value)
    args = Args(**vars(parser.parse_args()))

    # ---- seeding: episode i resets with seed args.seed + i (world, route, traffic and agent all follow it)
    seeds = [args.seed + i for i in range(args.episodes)]
    chunks = [seeds[i:i + args.chunk] for i in range(0, len(seeds), args.chunk)]
    t0 = time.perf_counter()
    results = []
    with tqdm(total=args.episodes, unit="episode") as bar:
        if args.workers == 1:
            for chunk in chunks:
                results += run_episodes(chunk, args.steps, args.agent)
                bar.update(len(chunk))
        else:
            with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                pending = {pool.submit(run_episodes, c, args.steps, args.agent) for c in chunks}
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        results += future.result()
                        bar.update(len(future.result()))
    summary = summarise(sorted(results, key=lambda r: r["seed"]), args, time.perf_counter() - t0)
    report(summary)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
