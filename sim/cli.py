"""The ``roadloop`` command."""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def _run(args) -> int:
    """Closed-loop episodes of an agent; prints per-episode metrics and their mean."""
    import gymnasium as gym
    from tqdm import tqdm

    import sim  # noqa: F401  (registers the environments)
    from agents import make_agent

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
    from sim.scenario.replay import replay

    log = load_log(args.log)
    agent = None
    if args.agent:
        from agents import make_agent

        agent = make_agent(args.agent)
    elif args.from_step:
        raise SystemExit("roadloop replay: --from-step needs --agent (who drives from that step on)")
    result = replay(log, agent=agent, agent_name=args.agent, from_step=args.from_step, video=args.video)
    new = result.log
    checked = log.steps if agent is None else args.from_step
    verdict = "bit-identical" if result.identical else f"DIFFERS at step {result.first_mismatch[0]} ({result.first_mismatch[1]})"
    print(f"{args.log}: {checked} of {log.steps} logged steps re-simulated: {verdict}")
    if agent is not None:
        from sim.env.simulation import COLLISION_KINDS

        collision = COLLISION_KINDS[int(new.arrays["collision"][-1])] if new.steps else ""
        print(f"re-driven by {args.agent} from step {args.from_step}: {new.steps} steps, "
              f"progress {new.arrays['progress_m'][-1]:.1f} m, collision {collision or '-'}, "
              f"off-road {bool(new.arrays['off_road'][-1]) if new.steps else False}")
    if args.out:
        print(f"new log: {save_log(new, args.out)}")
    if args.video:
        print(f"video: {args.video}")
    return 0 if result.identical else 1


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


def _envs(args) -> int:
    from sim.env.registration import ENV_IDS

    print("\n".join(ENV_IDS))
    return 0


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
    p.add_argument("log", help="episode log (.npz) written by `roadloop run --log-dir`")
    p.add_argument("--agent", help="re-drive with this registered agent instead of the logged actions")
    p.add_argument("--from-step", type=int, default=0, help="with --agent: logged actions until this step")
    p.add_argument("--video", help="write a top-down MP4 of the (re-)simulated episode here")
    p.add_argument("--out", help="save the re-simulated episode as a new log here")
    p.set_defaults(func=_replay)
    p = sub.add_parser("world", help="generate a world and save its map as a PNG")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--length", type=float, default=1500.0, help="road length to generate, m")
    p.add_argument("--m-per-px", type=float, default=0.5)
    p.add_argument("--out", default="world.png")
    p.set_defaults(func=_world)
    p = sub.add_parser("envs", help="list the registered environment ids")
    p.set_defaults(func=_envs)
    args = parser.parse_args(argv)
    if getattr(args, "episodes", 1) < 1:
        parser.error("--episodes must be >= 1")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
