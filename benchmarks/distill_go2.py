"""Distil a go2-toy PPO teacher (48-dim obs with base linear velocity) into students that read only the 45-dim
``deployable`` group, on go2-toy with dynamics randomisation on (friction, payload, motor strength, pushes).

Measured in one run, every policy on the same evaluation episodes (same env params, same seed): the teacher, a
history-MLP student with DAgger and with teacher-acts collection side by side, a GRU student, and a student
without history or recurrence for contrast. Prints a table and, as the last line, a JSON object with
``student_reward_ratio`` (main student / teacher mean episode reward), ``tracking_error_student`` and
``tracking_error_teacher`` (m/s, go2-toy's per-episode ``lin_vel_tracking_error``), plus every variant's figures.

    flock /tmp/fastembody-cpu.lock python benchmarks/distill_go2.py                          # trains the teacher too
    flock /tmp/fastembody-cpu.lock python benchmarks/distill_go2.py --teacher runs/teacher   # reuse a teacher
    python benchmarks/distill_go2.py --quick        # smoke run in a few minutes (figures not meaningful)

Acceptance (issue 5): main student >= 90% of the teacher's mean episode reward, tracking error within 0.05 m/s.
The comparison means something only against a teacher that walks, so the teacher is first checked against the
walking bar of benchmarks/go2_toy_walk.py (forward commands 0.5-1.0 m/s tracked within 0.15 m/s, < 5 % falls):
a teacher that misses it makes the benchmark FAIL (``teacher_walks: false``) whatever the students score. The
teacher trains at its config's own env count (2048 for unitree_go2_ppo.yaml); ``--num-envs`` sizes the students.
"""
import argparse
import json
import math
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import torch

from cpu_info import cpu_model
from fastembody_core import guard_cpu_denormals
from fastembody_core.checkpoint import list_checkpoints
from fastembody_core.config import load_experiment
from fastembody_core.evaluation import load_run
from fastembody_core.pipeline import run_experiment
from fastembody_go2.toy.evaluate import evaluate_walking

ROOT = Path(__file__).resolve().parents[1]
TEACHER_TRACKING_ERROR_MAX = 0.15  # the walking bar of benchmarks/go2_toy_walk.py
TEACHER_FALL_RATE_MAX = 0.05
MAIN = "gru-dagger"
VARIANTS: Dict[str, Dict[str, Any]] = {
    "gru-dagger": {"collection": "student", "history_length": 1, "rnn_type": "gru"},
    "history-dagger": {"collection": "student", "history_length": 5, "rnn_type": "none"},
    "history-teacher": {"collection": "teacher", "history_length": 5, "rnn_type": "none"},
    "no-memory-dagger": {"collection": "student", "history_length": 1, "rnn_type": "none"},
}
DESCRIPTIONS = {
    "history-dagger": "MLP over 5 frames, student acts (DAgger)",
    "history-teacher": "MLP over 5 frames, teacher acts (BC)",
    "gru-dagger": "GRU, student acts (DAgger)",
    "no-memory-dagger": "MLP over 1 frame, student acts (DAgger)",
}


def train_teacher(args: argparse.Namespace, out: Path) -> Path:
    """The teacher run directory: ``--teacher``, an earlier benchmark's, or a new PPO run."""
    if args.teacher:
        return Path(args.teacher)
    run_dir = out / "teacher"
    if list_checkpoints(run_dir) and not args.retrain_teacher:
        print(f"reusing teacher {run_dir}", flush=True)
        return run_dir
    overrides = ["trainer.params.progress=false", "trainer.params.tensorboard=false", f"seed={args.seed}"]
    if args.teacher_num_envs:
        overrides.append(f"env.params.num_envs={args.teacher_num_envs}")
    if args.teacher_iterations:
        overrides.append(f"trainer.params.max_iterations={args.teacher_iterations}")
    started = time.time()
    run_experiment(load_experiment(args.teacher_config, overrides), run_dir=run_dir)
    print(f"teacher trained in {time.time() - started:.0f} s: {run_dir}", flush=True)
    return run_dir


def teacher_walking(teacher: Path, args: argparse.Namespace) -> Dict[str, float]:
    """The teacher on the walking evaluation (fresh envs, forward commands, one 20 s episode each)."""
    run_dir, checkpoint = (teacher.parents[1], teacher) if teacher.is_file() else (teacher, None)
    loaded = load_run(run_dir, checkpoint=checkpoint, num_envs=1)
    try:
        loaded.algorithm.eval_mode()
        return evaluate_walking(loaded.algorithm.act_inference, loaded.experiment.env.params,
                                num_envs=args.eval_envs, seed=args.eval_seed)
    finally:
        loaded.env.close()



def distill(args: argparse.Namespace, out: Path, teacher: Path, name: str) -> Dict[str, Any]:
    params = dict(VARIANTS[name])
    overrides = [f"algorithm.params.{k}={v}" for k, v in params.items()]
    overrides += [
        f"algorithm.params.teacher_checkpoint={teacher}",
        f"env.params.num_envs={args.num_envs}",
        f"trainer.params.max_iterations={args.iterations}",
        "trainer.params.progress=false",
        "trainer.params.tensorboard=false",
        f"seed={args.seed}",
    ]
    started = time.time()
    summary = run_experiment(load_experiment(args.config, overrides), run_dir=out / name)
    return {"run_dir": str(out / name), "train_seconds": time.time() - started,
            "final_behavior_loss": summary["metrics"].get("Loss/behavior", float("nan"))}


def evaluate(act: Callable, reset: Callable, env: Any, steps: int) -> Dict[str, float]:
    """Every episode that ends within ``steps`` steps from a fresh reset: mean return, tracking error, falls."""
    num_envs = int(env.num_envs)
    returns: List[float] = []
    tracking_sum = fall_sum = 0.0
    with torch.inference_mode():
        obs = env.reset()
        reset(None)
        reward_sum = torch.zeros(num_envs)
        for _ in range(steps):
            obs, rewards, dones, extras = env.step(act(obs))
            reward_sum += rewards.float().cpu()
            done = dones.reshape(-1).bool().cpu()
            if bool(done.any()):
                reset(done)
                returns.extend(reward_sum[done].tolist())
                reward_sum[done] = 0.0
                stats = extras["episode"]
                tracking_sum += float(stats["lin_vel_tracking_error"]) * int(done.sum())
                fall_sum += float(stats["fall_rate"]) * int(done.sum())
    count = max(1, len(returns))
    return {"episodes": len(returns), "mean_reward": sum(returns) / count,
            "tracking_error": tracking_sum / count, "fall_rate": fall_sum / count}


def evaluate_run(run_dir: str, args: argparse.Namespace, who: str) -> Dict[str, float]:
    """Evaluate the student of a distillation run, or (``who="teacher"``) its teacher, on identical episodes."""
    loaded = load_run(run_dir, overrides=[f"seed={args.eval_seed}"], num_envs=args.eval_envs)
    algorithm, env = loaded.algorithm, loaded.env
    try:
        if who == "teacher":
            teacher = algorithm.teacher

            def reset(dones: Optional[torch.Tensor]) -> None:
                teacher.reset(None if dones is None else (~dones).float().view(1, -1, 1))

            return evaluate(teacher.act, reset, env, steps=int(env.max_episode_length))
        return evaluate(algorithm.act_inference, algorithm.reset, env, steps=int(env.max_episode_length))
    finally:
        env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", help="teacher run directory or checkpoint (default: train one)")
    parser.add_argument("--teacher-config", default=str(ROOT / "configs" / "unitree_go2_ppo.yaml"))
    parser.add_argument("--teacher-iterations", type=int, default=None, help="default: the teacher config's")
    parser.add_argument("--teacher-num-envs", type=int, default=None, help="default: the teacher config's")
    parser.add_argument("--retrain-teacher", action="store_true", help="ignore a teacher from an earlier run")
    parser.add_argument("--config", default=str(ROOT / "configs" / "go2_distillation.yaml"))
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma list of {', '.join(VARIANTS)}")
    parser.add_argument("--num-envs", type=int, default=1024)
    parser.add_argument("--iterations", type=int, default=300, help="distillation iterations per student")
    parser.add_argument("--eval-envs", type=int, default=512)
    parser.add_argument("--eval-seed", type=int, default=12345)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "runs" / "bench_distill_go2"))
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script, not the figures")
    args = parser.parse_args()
    if args.quick:
        args.num_envs, args.iterations, args.eval_envs = 64, 3, 16
        args.teacher_iterations = args.teacher_iterations or 3
        args.teacher_num_envs = args.teacher_num_envs or 64
        args.out = args.out + "_quick"
    torch.set_num_threads(args.threads)
    guard_cpu_denormals()
    out = Path(args.out)
    variants = [v for v in args.variants.split(",") if v]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; choose from {list(VARIANTS)}")

    teacher_dir = train_teacher(args, out)
    walk = teacher_walking(teacher_dir, args)
    teacher_walks = walk["tracking_error"] < TEACHER_TRACKING_ERROR_MAX and walk["fall_rate"] < TEACHER_FALL_RATE_MAX
    print(f"teacher on the walking evaluation: tracking error {walk['tracking_error']:.3f} m/s (< "
          f"{TEACHER_TRACKING_ERROR_MAX}), falls {100 * walk['fall_rate']:.1f} % (< {100 * TEACHER_FALL_RATE_MAX:.0f} %)"
          f" -> {'walks' if teacher_walks else 'DOES NOT WALK: the comparison below cannot pass'}", flush=True)
    rows: Dict[str, Dict[str, Any]] = {}
    for name in variants:
        rows[name] = distill(args, out, teacher_dir, name)
        rows[name].update(evaluate_run(rows[name]["run_dir"], args, "student"))
        print(f"{name}: {json.dumps({k: v for k, v in rows[name].items() if k != 'run_dir'})}", flush=True)
    teacher = evaluate_run(rows[variants[0]]["run_dir"], args, "teacher")

    print()
    print(f"CPU: {cpu_model()}, {torch.get_num_threads()} threads")
    print(f"go2-toy, dynamics randomisation on; {args.num_envs} envs x {args.iterations} iterations per student; "
          f"evaluation: episodes ending within one episode length of {args.eval_envs} envs, seed {args.eval_seed}")
    header = f"{'policy':<44} {'obs':>11} {'mean ep. reward':>16} {'ratio':>6} {'track err m/s':>14} {'falls':>6} {'train s':>8}"
    print(header)
    print("-" * len(header))
    print(f"{'teacher (PPO, base lin vel)':<44} {'policy 48':>11} {teacher['mean_reward']:>16.3f} {1.0:>6.2f} "
          f"{teacher['tracking_error']:>14.3f} {teacher['fall_rate']:>6.2f} {'':>8}")
    for name, row in rows.items():
        row["reward_ratio"] = row["mean_reward"] / teacher["mean_reward"] if teacher["mean_reward"] else float("nan")
        print(f"{DESCRIPTIONS[name]:<44} {'deploy. 45':>11} {row['mean_reward']:>16.3f} {row['reward_ratio']:>6.2f} "
              f"{row['tracking_error']:>14.3f} {row['fall_rate']:>6.2f} {row['train_seconds']:>8.0f}")
    main_name = MAIN if MAIN in rows else variants[0]
    main_row = rows[main_name]
    student_ok = main_row["reward_ratio"] >= 0.9 and main_row["tracking_error"] - teacher["tracking_error"] <= 0.05
    passed = student_ok and teacher_walks
    print(f"\nmain student ({main_name}): reward ratio {main_row['reward_ratio']:.3f} (target >= 0.90), tracking error "
          f"{main_row['tracking_error']:.3f} vs teacher {teacher['tracking_error']:.3f} m/s (target: within 0.05); "
          f"teacher {'walks' if teacher_walks else 'does NOT walk'} -> {'PASS' if passed else 'FAIL'}")
    result = {
        "benchmark": "distill_go2",
        "main_student": main_name,
        "student_reward_ratio": round(main_row["reward_ratio"], 4),
        "tracking_error_student": round(main_row["tracking_error"], 4),
        "tracking_error_teacher": round(teacher["tracking_error"], 4),
        "teacher_mean_reward": round(teacher["mean_reward"], 4),
        "teacher_walks": bool(teacher_walks),
        "teacher_walk_tracking_error": round(walk["tracking_error"], 4),
        "teacher_walk_fall_rate": round(walk["fall_rate"], 4),
        "cpu": cpu_model(),
        "passed": bool(passed),
        "quick": bool(args.quick),
        "num_envs": args.num_envs,
        "iterations": args.iterations,
        "variants": {name: {k: (round(v, 4) if isinstance(v, float) and math.isfinite(v) else v)
                            for k, v in row.items() if k != "run_dir"} for name, row in rows.items()},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
