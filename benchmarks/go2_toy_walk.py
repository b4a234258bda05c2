"""Train PPO on go2-toy until it walks; print the wall time.

"Walks" (the go2-toy issue): forward commands of 0.5-1.0 m/s tracked with a mean error < 0.15 m/s and < 5 % of
episodes ending in a fall, measured by ``fastembody_go2.toy.evaluate.evaluate_walking``: 512 fresh envs (new seed,
friction/payload/motor-strength randomised, observation noise on, no pushes), one full 20 s episode each, the
deterministic policy, error averaged after the first second. The env and the team's ``ppo`` are built from
``configs/unitree_go2_ppo.yaml`` through the pipeline's builders; the rollout/update loop is the trainer's, with
an evaluation every ``--eval-every`` iterations. ``wall_s`` counts from process start (imports, building and
compiling the env, the evaluations: everything); it splits into ``startup_s`` (process start to the first
iteration), ``train_s`` (rollouts and updates) and ``eval_s``, so the two levers show separately: env steps to walk
(``env_steps``, sample efficiency) and training throughput (``env_steps_per_s`` = env_steps / train_s).

The peer figure printed alongside: the same evaluation of the untrained policy (iteration 0).
Last line: JSON with ``wall_s``, ``tracking_error``, ``fall_rate``, ``iterations``, ``env_steps``,
``env_steps_per_s``, ``startup_s``, ``train_s``, ``eval_s``, ``walking``, ``cpu``.

    flock /tmp/fastembody-cpu.lock python benchmarks/go2_toy_walk.py
    python benchmarks/go2_toy_walk.py --max-minutes 2 --eval-every 10          # quick look
"""
import time

PROCESS_START = time.perf_counter()  # before the heavy imports: they count too

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Dict  # noqa: E402

import torch  # noqa: E402

from fastembody_core.config import load_experiment
from fastembody_core.pipeline import build_env_and_algorithm, make_context
from fastembody_go2.toy.evaluate import evaluate_walking

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu_info import cpu_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRACKING_ERROR_MAX = 0.15
FALL_RATE_MAX = 0.05


def evaluate(algorithm: Any, env_params: Any, num_envs: int) -> Dict[str, float]:
    algorithm.eval_mode()
    try:
        return evaluate_walking(algorithm.act_inference, env_params, num_envs=num_envs)
    finally:
        algorithm.train_mode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "unitree_go2_ppo.yaml"))
    parser.add_argument("--set", action="append", default=[], help="config override, e.g. env.params.num_envs=2048")
    parser.add_argument("--max-minutes", type=float, default=12.0, help="give up after this much wall time")
    parser.add_argument("--eval-every", type=int, default=25, help="iterations between evaluations")
    parser.add_argument("--eval-envs", type=int, default=512)
    parser.add_argument("--keep-going", action="store_true", help="train to max_iterations even once walking")
    args = parser.parse_args()

    start = PROCESS_START
    experiment = load_experiment(args.config, args.set)
    ctx = make_context(experiment)
    env, algorithm = build_env_and_algorithm(experiment, ctx)
    trainer = experiment.trainer.params
    algorithm.setup(trainer.num_steps_per_env)
    env_params = experiment.env.params
    print(f"go2-toy walk: {env.num_envs} envs x {trainer.num_steps_per_env} steps, up to {trainer.max_iterations} "
          f"iterations or {args.max_minutes} min ({args.config})", flush=True)
    eval_start = time.perf_counter()
    untrained = evaluate(algorithm, env_params, args.eval_envs)
    eval_s = time.perf_counter() - eval_start
    print(f"  iteration    0: tracking error {untrained['tracking_error']:.3f} m/s, falls "
          f"{100 * untrained['fall_rate']:5.1f} %  (untrained policy)", flush=True)

    obs = env.reset()
    env.episode_length_buf = torch.randint_like(env.episode_length_buf, high=int(env.max_episode_length))
    result: Dict[str, Any] = {}
    iteration, walking, episode = 0, False, {}
    startup_s = time.perf_counter() - start - eval_s
    while iteration < trainer.max_iterations and time.perf_counter() - start < 60 * args.max_minutes:
        with torch.inference_mode():
            for _ in range(trainer.num_steps_per_env):
                actions = algorithm.act(obs)
                obs, rewards, dones, extras = env.step(actions)
                algorithm.process_env_step(obs, rewards, dones, extras)
                episode = extras.get("episode", episode)
        algorithm.update(obs)
        iteration += 1
        if iteration % args.eval_every == 0 or iteration == trainer.max_iterations:
            eval_start = time.perf_counter()
            result = evaluate(algorithm, env_params, args.eval_envs)
            eval_s += time.perf_counter() - eval_start
            walking = result["tracking_error"] < TRACKING_ERROR_MAX and result["fall_rate"] < FALL_RATE_MAX
            train_info = ", ".join(f"{k} {float(v):.3f}" for k, v in episode.items()
                                   if k in ("rew_tracking_lin_vel", "fall_rate", "lin_vel_tracking_error"))
            print(f"  iteration {iteration:4d}: tracking error {result['tracking_error']:.3f} m/s, falls "
                  f"{100 * result['fall_rate']:5.1f} %, speed {result['mean_speed']:.2f} of "
                  f"{result['mean_command']:.2f} m/s, duty {result['duty_factor']:.2f}, diagonal support "
                  f"{result['diagonal_support']:.2f}"
                  f"  [{time.perf_counter() - start:6.1f} s; training episodes: {train_info}]", flush=True)
            if walking and not args.keep_going:
                break
    wall_s = time.perf_counter() - start
    train_s = wall_s - startup_s - eval_s
    env_steps = iteration * trainer.num_steps_per_env * env.num_envs
    summary = {
        "cpu": cpu_model(),
        "wall_s": wall_s,
        "startup_s": startup_s,
        "train_s": train_s,
        "eval_s": eval_s,
        "env_steps_per_s": env_steps / max(train_s, 1e-9),
        "tracking_error": result.get("tracking_error"),
        "fall_rate": result.get("fall_rate"),
        "mean_speed": result.get("mean_speed"),
        "duty_factor": result.get("duty_factor"),
        "diagonal_support": result.get("diagonal_support"),
        "iterations": iteration,
        "env_steps": env_steps,
        "walking": walking,
        "untrained_tracking_error": untrained["tracking_error"],
        "untrained_fall_rate": untrained["fall_rate"],
        "threads": torch.get_num_threads(),
    }
    verdict = "WALKS" if walking else "not walking yet"
    print(f"CPU: {summary['cpu']}, {torch.get_num_threads()} threads")
    print(f"{'wall s':>8}{'startup s':>11}{'train s':>9}{'eval s':>8}{'iterations':>12}{'M env steps':>13}{'steps/s':>9}")
    print(f"{wall_s:>8.1f}{startup_s:>11.1f}{train_s:>9.1f}{eval_s:>8.1f}{iteration:>12}{env_steps / 1e6:>13.2f}"
          f"{summary['env_steps_per_s']:>9.0f}")
    print(f"{verdict}: tracking error {summary['tracking_error']:.3f} m/s (< {TRACKING_ERROR_MAX}), falls "
          f"{100 * (summary['fall_rate'] or 0):.1f} % (< {100 * FALL_RATE_MAX:.0f} %) after {iteration} iterations "
          f"({env_steps / 1e6:.1f} M steps) in {wall_s / 60:.1f} min from process start (target <= 3 min)")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
