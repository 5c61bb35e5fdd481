"""The ``roadloop`` command."""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

BASELINES = ("lane_keeping", "constant_velocity", "random")
"""Agents ``roadloop eval`` runs beside the evaluated one by default (those registered)."""


def _run(args) -> int:
    """Closed-loop episodes of an agent; prints per-episode metrics and their mean."""
    import gymnasium as gym
    from tqdm import tqdm

    import sim  # noqa: F401  (registers the environments)
    from agents import EnvKindError, check_env_kind, make_agent

    try:
        check_env_kind(args.agent, "drive")
    except EnvKindError as e:
        raise SystemExit(f"roadloop run: {e}") from None
    env = gym.make("roadloop/Drive-v0", obs_mode="vector", num_traffic=args.traffic)
    if args.log_dir:
        from sim.scenario.recorder import RecordEpisodes

        env = RecordEpisodes(env, args.log_dir, agent=args.agent)
    agent = make_agent(args.agent)
    rows = []
    for ep in tqdm(range(args.episodes), desc=f"{args.agent} episodes", unit="ep", file=sys.stderr):
        obs, info = env.reset(seed=args.seed + ep)
        agent.reset(obs, info)
        ret, speeds, jerks, lat = 0.0, [], [], []
        done = False
        while not done:
            obs, r, term, trunc, info = env.step(agent.act(obs, info))
            ret += r
            speeds.append(info["speed"])
            jerks.append(abs(info["jerk"]))
            lat.append(abs(info["lat_accel"]))
            done = term or trunc
        rows.append({
            "seed": args.seed + ep, "return": round(ret, 2), "steps": len(speeds), "seconds": round(info["t"], 1),
            "route_completion": round(info["route_completion"], 3), "collision": info["collision"] or "-",
            "off_road": info["off_road"], "mean_speed": round(float(np.mean(speeds)), 2),
            "max_abs_jerk": round(float(np.max(jerks)), 2), "max_abs_lat_accel": round(float(np.max(lat)), 2),
        })
    env.close()
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    cols = list(rows[0])
    print("  ".join(f"{c:>17}" for c in cols))
    for row in rows:
        print("  ".join(f"{str(row[c]):>17}" for c in cols))
    n = len(rows)
    print(f"mean return {np.mean([r['return'] for r in rows]):.2f}, route completion "
          f"{np.mean([r['route_completion'] for r in rows]):.3f}, collisions "
          f"{sum(r['collision'] != '-' for r in rows)}/{n}, off-road {sum(r['off_road'] for r in rows)}/{n}")
    return 0


def _replay(args) -> int:
    """Re-simulate an episode log: check it is bit-identical, or re-drive it with another agent."""
    from sim.scenario.episode_log import load_log, save_log
    from sim.scenario.replay import is_parking, replay

    if args.failure is not None:
        args.log = _failure_log(args)
    elif args.log is None:
        raise SystemExit("roadloop replay: give a LOG, or --campaign and --failure")
    log = load_log(args.log)
    agent = None
    if args.agent:
        from agents import EnvKindError, check_env_kind, make_agent

        try:
            check_env_kind(args.agent, "parking" if is_parking(log) else "drive")
        except EnvKindError as e:
            raise SystemExit(f"roadloop replay: {e}") from None
        agent = make_agent(args.agent)
    elif args.from_step:
        raise SystemExit("roadloop replay: --from-step needs --agent (who drives from that step on)")
    result = replay(log, agent=agent, agent_name=args.agent, from_step=args.from_step, video=args.video)
    new = result.log
    checked = log.steps if agent is None else args.from_step
    verdict = "bit-identical" if result.identical else f"DIFFERS at step {result.first_mismatch[0]} ({result.first_mismatch[1]})"
    print(f"{args.log}: {checked} of {log.steps} logged steps re-simulated: {verdict}")
    if agent is not None:
        from sim.env import parking
        from sim.env.simulation import COLLISION_KINDS

        kinds = parking.COLLISION_KINDS if is_parking(log) else COLLISION_KINDS
        collision = kinds[int(new.arrays["collision"][-1])] if new.steps else ""
        where = (f"{new.arrays['progress_m'][-1]:.2f} m from the goal" if is_parking(log)
                 else f"progress {new.arrays['progress_m'][-1]:.1f} m")
        print(f"re-driven by {args.agent} from step {args.from_step}: {new.steps} steps, {where}, "
              f"collision {collision or '-'}, off-road {bool(new.arrays['off_road'][-1]) if new.steps else False}")
    if args.out:
        print(f"new log: {save_log(new, args.out)}")
    if args.video:
        print(f"video: {args.video}")
    return 0 if result.identical else 1


def _failure_log(args) -> str:
    """The log path of failure ``args.failure`` in campaign ``args.campaign``."""
    from pathlib import Path

    from sim.mining.store import FailureStore

    if not args.campaign:
        raise SystemExit("roadloop replay: --failure needs --campaign")
    path = Path(args.runs_dir) / "mining" / args.campaign / "campaign.sqlite"
    if not path.exists():
        raise SystemExit(f"roadloop replay: no campaign store at {path}")
    with FailureStore(path) as store:
        match = [f for f in store.failures() if f["id"] == args.failure]
    if not match or not match[0]["log_path"]:
        raise SystemExit(f"roadloop replay: campaign {args.campaign} has no failure #{args.failure} with a log")
    return match[0]["log_path"]


def _eval(args) -> int:
    """Closed-loop evaluation of an agent on a suite (plus a short mining round), ending in the report."""
    from agents import agent_env_kind, agent_names, agent_obs_mode, agents_for, best_agent
    from sim.eval.episode import is_parking_case
    from sim.eval.evaluate import EvalConfig, evaluate, evaluate_baselines, finish
    from sim.eval.suite import load_suite
    from sim.mining.campaign import CampaignConfig, mine

    agent = args.agent or best_agent()
    if agent_env_kind(agent) == "parking":
        road = [c.name for c in load_suite(args.suite) if not is_parking_case(c)]
        if road:
            raise SystemExit(f"roadloop eval: agent {agent!r} drives parking envs only, and suite {args.suite!r} has "
                             f"{len(road)} road cases ({', '.join(road[:3])}, ...); evaluate a driving agent "
                             f"({agents_for('drive')}) or a suite of parking scenarios")
    cfg = EvalConfig(agent=agent, suite=args.suite, episodes=args.episodes, workers=args.workers,
                     backend=args.backend, address=args.address, seed=args.seed, name=args.name,
                     runs_dir=args.runs_dir, videos=args.videos, camera_videos=args.camera_videos,
                     obs_mode=agent_obs_mode(agent))
    summary = evaluate(cfg)
    if args.baselines is None:
        baselines = [b for b in BASELINES if b in agent_names()]
    else:
        baselines = [b for b in args.baselines.split(",") if b]
        unknown = sorted(set(baselines) - set(agent_names()))
        if unknown:
            raise SystemExit(f"roadloop eval: --baselines: unknown agents {unknown}; registered: {agent_names()}")
    baselines = [b for b in baselines if b != agent]
    summary["baselines"] = evaluate_baselines(cfg, baselines) if baselines else None
    if args.mine_budget:
        campaign = CampaignConfig(name=f"{cfg.run_name}-mining", agent=agent, space=args.mine_space,
                                  strategy=args.mine_strategy, budget=args.mine_budget, seed=args.seed,
                                  detectors=tuple(args.mine_detectors.split(",")) if args.mine_detectors else None,
                                  workers=args.workers, backend=args.backend, address=args.address,
                                  runs_dir=args.runs_dir, mined_dir=args.mined_dir, obs_mode=cfg.obs_mode)
        summary["mining"] = mine(campaign, resume=campaign.store_path.exists())
    report = finish(cfg, summary, compare=args.compare)
    agg = summary["aggregate"]
    n = len(summary["episodes"])
    print(f"{agent} on {args.suite}: {n} episodes, score {agg['score']['mean']:.3f} "
          f"[{agg['score']['ci_low']:.3f}, {agg['score']['ci_high']:.3f}], passed {agg['passed']['mean']:.0%}, "
          f"collisions {agg['collision']['mean']:.0%}, {summary['episodes_per_min']:.0f} episodes/min")
    if summary["mining"]:
        m = summary["mining"]
        print(f"mining {m['campaign']}: {m['episodes']} episodes, {m['failures']} failures, "
              f"{m['distinct_failures']} distinct, scenarios in {args.mined_dir}/{m['campaign']}")
    print(f"report: {report}")
    for e in summary["errors"]:
        print(f"ERROR in {e['case']} rep {e['rep']} (seed {e['seed']}):\n{e['error']}", file=sys.stderr)
    return 1 if summary["errors"] else 0


def _mine(args) -> int:
    """Search a scenario space for failures of an agent."""
    from agents import agent_obs_mode, best_agent
    from sim.mining.campaign import CampaignConfig, mine

    agent = args.agent or best_agent()
    detectors = tuple(args.detectors.split(",")) if args.detectors else None
    name = args.name or f"{agent}-{args.space.replace(':', '_')}-{args.strategy}-{args.seed}"
    cfg = CampaignConfig(name=name, agent=agent, space=args.space, strategy=args.strategy, budget=args.budget,
                         batch=args.batch, seed=args.seed, detectors=detectors, workers=args.workers,
                         backend=args.backend, address=args.address, runs_dir=args.runs_dir,
                         mined_dir=args.mined_dir, obs_mode=agent_obs_mode(agent), realizations=args.realizations)
    m = mine(cfg, resume=args.resume)
    print(f"campaign {name}: {m['episodes']} episodes ({m['invalid']} invalid proposals), {m['failures']} failures, "
          f"{m['distinct_failures']} distinct in {len(m['clusters'])} clusters")
    print(f"store: {m['store']}\nmined scenarios: {cfg.scenario_dir} (run them: roadloop eval --suite "
          f"{cfg.scenario_dir} --agent {agent} --mine-budget 0)")
    return 0


def _failures(args) -> int:
    """List a campaign's failures, or its clusters."""
    from pathlib import Path

    from sim.mining.store import FailureStore

    path = Path(args.campaign)
    if not path.suffix:
        path = Path(args.runs_dir) / "mining" / args.campaign / "campaign.sqlite"
    if not path.exists():
        raise SystemExit(f"roadloop failures: no campaign store at {path}")
    with FailureStore(path) as store:
        if args.clusters:
            rows = store.clusters()
            if args.json:
                print(json.dumps(rows, indent=1))
                return 0
            print(f"{'failures':>8} {'distinct':>8}  cluster (detector|road type|actors)")
            for c in rows:
                print(f"{c['count']:>8} {c['distinct']:>8}  {c['cluster_key']}")
            return 0
        rows = store.failures(distinct_only=not args.all)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for f in rows:
        print(f"#{f['id']:<5} {f['cluster_key']:<40} step {f['step']:<4} {f['detail']}")
        print(f"       scenario {f['scenario_path'] or '-'}  log {f['log_path'] or '-'}")
    return 0


def _world(args) -> int:
    """Generate a world and draw its map to a PNG."""
    import cv2

    from sim.world import WorldSpec, generate_world
    from sim.env.topdown import world_map

    world = generate_world(WorldSpec(road_length_m=args.length), np.random.default_rng(args.seed))
    cv2.imwrite(args.out, world_map(world, args.m_per_px)[:, :, ::-1])
    g = world.lanes
    kinds = [j.kind for j in world.junctions]
    print(f"world seed {args.seed}: {len(world.roads)} roads, {len(g.lanes)} lanes, "
          f"{g.lane_length[g.lane_junction < 0].sum() / 1000:.2f} km of lanes, junctions "
          f"{ {k: kinds.count(k) for k in sorted(set(kinds))} }, {len(world.props)} props -> {args.out}")
    return 0


def _render(args) -> int:
    """Render the camera rig of a Drive-v0 episode: a PNG contact sheet after K zero-action steps, and
    optionally an MP4 of the whole rig (a mosaic of every camera) over those steps."""
    import cv2
    import gymnasium as gym
    from tqdm import tqdm

    import sim  # noqa: F401  (registers the environments)
    from sim.labels.sheet import contact_sheet, rig_mosaic

    camera = {"width": args.width, "height": args.height, "labels": True}
    if args.cameras:
        camera["cameras"] = tuple(c for c in args.cameras.split(",") if c)
    env = gym.make("roadloop/Drive-v0", obs_mode="camera", camera=camera, num_traffic=args.traffic)
    obs, info = env.reset(seed=args.seed)
    frames = [rig_mosaic(obs)]
    for _ in tqdm(range(args.steps), desc="render", unit="step", file=sys.stderr, disable=not args.video):
        obs, _, term, trunc, info = env.step(np.zeros(2, np.float32))
        frames.append(rig_mosaic(obs))
        if term or trunc:
            break
    sheet = contact_sheet(obs, info["labels"])
    if not cv2.imwrite(str(args.out), sheet[..., ::-1]):
        raise SystemExit(f"roadloop render: could not write {args.out}")
    print(f"{args.out}: {len(obs)} cameras x (colour, depth, semantic, instance, normals), "
          f"{sheet.shape[1]}x{sheet.shape[0]} px")
    if args.video:
        from sim.video import write_mp4

        write_mp4(frames, args.video, fps=env.unwrapped.config.control_hz)
        print(f"{args.video}: {len(frames)} frames of the {len(obs)}-camera rig")
    env.close()
    return 0


def _envs(args) -> int:
    from sim.env.registration import ENV_IDS, GOAL_ENV_IDS

    print("\n".join(ENV_IDS + GOAL_ENV_IDS))
    return 0


def _runner_args(p) -> None:
    p.add_argument("--workers", type=int, default=1, help="parallel episodes (processes, or Ray CPUs)")
    p.add_argument("--backend", choices=("local", "ray"), default="local")
    p.add_argument("--address", help="with --backend ray: address of a running Ray cluster (default: start one)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs-dir", default="runs", help="where runs, logs and campaign stores go")
    p.add_argument("--mined-dir", default="scenarios/mined", help="where mined scenario files go")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="roadloop", description="roadloop: closed-loop driving simulator.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run closed-loop episodes of an agent and print their metrics")
    p.add_argument("--agent", default="lane_keeping", help="registered agent name (default: lane_keeping)")
    p.add_argument("--episodes", type=int, default=5)
    p.add_argument("--seed", type=int, default=0, help="seed of the first episode; episode i uses seed+i")
    p.add_argument("--traffic", type=int, default=20, help="traffic vehicles around the ego")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--log-dir", help="write each episode's log (.npz) to this folder")
    p.set_defaults(func=_run)
    p = sub.add_parser("replay", help="re-simulate an episode log bit-exactly, or re-drive it with another agent")
    p.add_argument("log", nargs="?", help="episode log (.npz) written by `roadloop run --log-dir`, eval or mine")
    p.add_argument("--campaign", help="with --failure: the mining campaign's name")
    p.add_argument("--failure", type=int, help="replay this failure id of --campaign (see `roadloop failures`)")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--agent", help="re-drive with this registered agent instead of the logged actions")
    p.add_argument("--from-step", type=int, default=0, help="with --agent: logged actions until this step")
    p.add_argument("--video", help="write a top-down MP4 of the (re-)simulated episode here")
    p.add_argument("--out", help="save the re-simulated episode as a new log here")
    p.set_defaults(func=_replay)
    p = sub.add_parser("eval", help="closed-loop evaluation on a suite, a short mining round, and a report")
    p.add_argument("--agent", help="registered agent (default: the most capable one registered)")
    p.add_argument("--suite", default="default", help="default | scenarios | procedural:K | scenario name, file or "
                   "folder (e.g. scenarios/mined/<campaign>); comma-separated to combine")
    p.add_argument("--episodes", type=int, default=1, help="episodes per case (different seeds)")
    _runner_args(p)
    p.add_argument("--name", help="run name: results go to RUNS_DIR/NAME (default AGENT-SUITE)")
    p.add_argument("--compare", help="metrics.json (or run folder) of another run to compare with (default: the "
                   "previous run of the same name, if any)")
    p.add_argument("--videos", type=int, default=3, help="worst episodes that get a video in the report")
    p.add_argument("--camera-videos", type=int, default=1,
                   help="worst episodes that also get a video of the 8-camera rig (re-driven in camera mode)")
    p.add_argument("--baselines", help="comma-separated agents also run on the same cases and seeds, for the "
                   f"report's baselines table (default: those of {','.join(BASELINES)} that are registered; "
                   "'': none; the evaluated agent itself is left out)")
    p.add_argument("--mine-budget", type=int, default=100, help="episodes of the mining round after the "
                   "evaluation (0: none)")
    p.add_argument("--mine-space", default="cut_in", help="search space of the mining round")
    p.add_argument("--mine-strategy", default="surrogate", help="search strategy of the mining round")
    p.add_argument("--mine-detectors", default="collision,off_road",
                   help="comma-separated detectors that count as failures in the mining round ('': all)")
    p.set_defaults(func=_eval)
    p = sub.add_parser("mine", help="search a scenario space for failures of an agent")
    p.add_argument("--agent", help="registered agent (default: the most capable one registered)")
    p.add_argument("--space", default="cut_in", help="named space (cut_in, lead_brake) or around:SCENARIO")
    p.add_argument("--strategy", default="surrogate", help="uniform | cross_entropy | surrogate | perturb")
    p.add_argument("--budget", type=int, default=200, help="episodes in total")
    p.add_argument("--batch", type=int, default=16, help="proposals per strategy round")
    p.add_argument("--detectors", help="comma-separated detectors that count as failures (default: all)")
    p.add_argument("--name", help="campaign name (default AGENT-SPACE-STRATEGY-SEED)")
    p.add_argument("--resume", action="store_true", help="continue the campaign of this name")
    p.add_argument("--realizations", type=int, default=16, help="episode seeds the search picks among (one more "
                   "searched coordinate; 0: a fresh seed per episode)")
    _runner_args(p)
    p.set_defaults(func=_mine)
    p = sub.add_parser("failures", help="list the failures (or clusters) of a mining campaign")
    p.add_argument("campaign", help="campaign name (under RUNS_DIR/mining) or its .sqlite file")
    p.add_argument("--all", action="store_true", help="include duplicates of distinct failures")
    p.add_argument("--clusters", action="store_true", help="one line per cluster instead")
    p.add_argument("--json", action="store_true")
    p.add_argument("--runs-dir", default="runs")
    p.set_defaults(func=_failures)
    p = sub.add_parser("world", help="generate a world and save its map as a PNG")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--length", type=float, default=1500.0, help="road length to generate, m")
    p.add_argument("--m-per-px", type=float, default=0.5)
    p.add_argument("--out", default="world.png")
    p.set_defaults(func=_world)
    p = sub.add_parser("render", help="render the camera rig of an episode to a PNG contact sheet (and an MP4)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="sheet.png", help="PNG contact sheet: a row per camera (colour, depth, "
                   "semantic, instance)")
    p.add_argument("--width", type=int, default=160, help="image width, px")
    p.add_argument("--height", type=int, default=120, help="image height, px")
    p.add_argument("--steps", type=int, default=0, help="zero-action steps before the sheet is taken")
    p.add_argument("--cameras", default="", help="comma-separated camera names (default: the whole rig)")
    p.add_argument("--traffic", type=int, default=8, help="traffic vehicles")
    p.add_argument("--video", help="also write an MP4 of every camera (a mosaic) over the steps")
    p.set_defaults(func=_render)
    p = sub.add_parser("envs", help="list the registered environment ids")
    p.set_defaults(func=_envs)
    args = parser.parse_args(argv)
    for name in ("episodes", "workers", "budget", "batch"):
        if getattr(args, name, 1) < 1:
            parser.error(f"--{name} must be >= 1")
    if getattr(args, "mine_budget", 0) < 0:
        parser.error("--mine-budget must be >= 0")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
