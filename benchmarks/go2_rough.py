"""Rough terrain end to end: train the height-scan teacher, distil the blind student, evaluate both on every course.

Trains ``configs/go2_rough_teacher.yaml`` (PPO on go2-toy's tile grid with the curriculum, the 187-point height scan
in its policy), then ``configs/go2_rough_student.yaml`` (a GRU student on the 45-dim ``deployable`` group, DAgger),
and runs ``fastembody eval --courses`` (``fastembody_core.evaluation.evaluate_courses``): the teacher and the
student on every course in go2-toy, the student in go2-mujoco (the same arrays as hfields). The teacher's
flat-ground tracking is measured with the walking evaluation of ``benchmarks/go2_toy_walk.py`` on flat ground
(no regression on flat).

Targets (the rough-terrain issue), on a 2-core CPU: teacher <= 60 min wall, student <= 30 min; teacher >= 90 %
success on every 10 cm / 20 deg course in go2-toy; the blind student >= 80 % in go2-toy and >= 70 % in
go2-mujoco on the same courses. Anchor (not runnable here): legged_gym trains ANYmal on rough terrain in ~20 min
on one GPU. Last line: JSON with ``teacher_wall_s``, ``student_wall_s``, ``teacher_success``,
``student_success_toy``, ``student_success_mujoco`` (dicts by course), ``terrain_level_mean``,
``teacher_flat_tracking_error`` and ``targets_met``.

    flock /tmp/fastembody-cpu.lock python benchmarks/go2_rough.py
    python benchmarks/go2_rough.py --teacher-minutes 60 --student-minutes 30   # what each reaches within its target
    python benchmarks/go2_rough.py --teacher runs/rough_teacher --student-iterations 0   # evaluate an existing teacher
    python benchmarks/go2_rough.py --quick        # smoke run in a few minutes (figures not meaningful)
"""
import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import torch

from cpu_info import cpu_model
from fastembody_core import guard_cpu_denormals, iteration_callbacks
from fastembody_core.checkpoint import list_checkpoints
from fastembody_core.config import load_experiment
from fastembody_core.evaluation import evaluate_courses, load_run
from fastembody_core.pipeline import run_experiment
from fastembody_go2.terrain import COURSES
from fastembody_go2.toy.evaluate import evaluate_walking

ROOT = Path(__file__).resolve().parents[1]
TARGET_COURSES = ("stairs_up_10cm", "stairs_down_10cm", "slope_up_20deg", "slope_down_20deg",
                  "discrete_obstacles_10cm")
"""The 10 cm / 20 deg courses the success targets apply to (15 cm stairs and the rough slope are reported)."""
TEACHER_MINUTES, STUDENT_MINUTES = 60.0, 30.0
TEACHER_SUCCESS, STUDENT_SUCCESS_TOY, STUDENT_SUCCESS_MUJOCO = 0.9, 0.8, 0.7



def train(config: str, run_dir: Path, overrides: List[str], reuse: bool,
          minutes: Optional[float] = None) -> Tuple[float, int]:
    """Train ``config`` into ``run_dir`` (or reuse its checkpoints), stopping after ``minutes`` of wall time if given
    (the run's max_iterations otherwise); (wall seconds, iterations trained); (0, its iteration) if reused."""
    if reuse and list_checkpoints(run_dir):
        print(f"reusing {run_dir}", flush=True)
        return 0.0, list_checkpoints(run_dir)[-1][0]
    started = time.time()
    last = [started]

    def budget(iteration: int, metrics: Any) -> Optional[str]:
        """Stop when one more iteration (as long as the last one) would end past the budget."""
        now = time.time()
        step, last[0] = now - last[0], now
        if minutes is not None and now - started + step > minutes * 60:
            return f"wall budget of {minutes:g} min reached"
        return None

    with iteration_callbacks(budget):
        summary = run_experiment(load_experiment(config, overrides + ["trainer.params.progress=false"]),
                                 run_dir=run_dir)
    return time.time() - started, int(summary["iteration"])


def last_metric(run_dir: Path, key: str) -> Optional[float]:
    """The last logged value of ``key`` in a run's metrics.jsonl."""
    value = None
    path = run_dir / "metrics.jsonl"
    for line in path.read_text().splitlines() if path.is_file() else ():
        record = json.loads(line)
        value = record.get(key, value)
    return value


def flat_walking(run_dir: Path, eval_envs: int) -> Dict[str, float]:
    """The teacher on the flat-ground walking evaluation (its scan reads the flat ground)."""
    loaded = load_run(run_dir, num_envs=1)
    try:
        params = loaded.experiment.env.params
        flat = dataclasses.replace(params, terrain=dataclasses.replace(params.terrain, type="flat"), compile=False)
        return evaluate_walking(loaded.algorithm.act_inference, flat, num_envs=eval_envs)
    finally:
        loaded.env.close()


def success(result: Dict[str, Any]) -> Dict[str, float]:
    return {name: row["success"] for name, row in result["courses"].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher-config", default=str(ROOT / "configs" / "go2_rough_teacher.yaml"))
    parser.add_argument("--student-config", default=str(ROOT / "configs" / "go2_rough_student.yaml"))
    parser.add_argument("--teacher", help="an existing teacher run directory (skips training it)")
    parser.add_argument("--teacher-iterations", type=int, help="default: the teacher config's")
    parser.add_argument("--student-iterations", type=int, help="default: the student config's; 0 skips the student")
    parser.add_argument("--teacher-minutes", type=float, help="stop the teacher after this wall time (e.g. the 60 min "
                        "target: what it reaches in that time)")
    parser.add_argument("--student-minutes", type=float, help="stop the student after this wall time")
    parser.add_argument("--num-envs", type=int, help="envs of both runs (default: the configs')")
    parser.add_argument("--episodes", type=int, default=50, help="episodes per course")
    parser.add_argument("--courses", default="all", help=f"comma list of {', '.join(COURSES)}, or all")
    parser.add_argument("--eval-envs", type=int, default=512, help="envs of the flat walking evaluation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "runs" / "bench_go2_rough"))
    parser.add_argument("--reuse", action="store_true", help="reuse runs an earlier benchmark left in --out")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script, not the figures")
    args = parser.parse_args()
    if args.quick:
        args.teacher_iterations = args.teacher_iterations or 2
        args.student_iterations = 2 if args.student_iterations is None else args.student_iterations
        args.num_envs, args.episodes, args.eval_envs = args.num_envs or 64, 2, 8
        args.out += "_quick"
    torch.set_num_threads(args.threads)
    guard_cpu_denormals()
    out = Path(args.out)
    courses = None if args.courses == "all" else [c for c in args.courses.split(",") if c]
    common = [f"seed={args.seed}", "trainer.params.tensorboard=false"]
    if args.num_envs:
        common.append(f"env.params.num_envs={args.num_envs}")

    teacher_dir = Path(args.teacher) if args.teacher else out / "teacher"
    teacher_wall, teacher_iterations = 0.0, None
    if not args.teacher:
        extra = [f"trainer.params.max_iterations={args.teacher_iterations}"] if args.teacher_iterations else []
        teacher_wall, teacher_iterations = train(args.teacher_config, teacher_dir, common + extra, args.reuse,
                                                 args.teacher_minutes)
        print(f"teacher: {teacher_wall / 60:.1f} min, {teacher_iterations} iterations -> {teacher_dir}", flush=True)
    level = last_metric(teacher_dir, "Episode/terrain_level")
    teacher = evaluate_courses(teacher_dir, courses, episodes=args.episodes)
    print(f"teacher courses: {json.dumps(success(teacher))}", flush=True)
    flat = flat_walking(teacher_dir, args.eval_envs)
    print(f"teacher on flat ground: tracking error {flat['tracking_error']:.3f} m/s, falls "
          f"{100 * flat['fall_rate']:.1f} %", flush=True)

    student_dir, student_wall, student_iterations = out / "student", 0.0, None
    student_toy: Dict[str, Any] = {"courses": {}}
    student_mujoco: Dict[str, Any] = {"courses": {}}
    if args.student_iterations != 0:
        extra = [f"algorithm.params.teacher_checkpoint={teacher_dir}"]
        if args.student_iterations:
            extra.append(f"trainer.params.max_iterations={args.student_iterations}")
        student_wall, student_iterations = train(args.student_config, student_dir, common + extra, args.reuse,
                                                 args.student_minutes)
        print(f"student: {student_wall / 60:.1f} min, {student_iterations} iterations -> {student_dir}", flush=True)
        student_toy = evaluate_courses(student_dir, courses, episodes=args.episodes)
        student_mujoco = evaluate_courses(student_dir, courses, episodes=args.episodes, env_name="go2-mujoco")

    names = list(teacher["courses"])
    print()
    print(f"CPU: {cpu_model()}, {torch.get_num_threads()} threads; {args.episodes} episodes per course, 0.5 m/s "
          f"forward, success = 4 m within 20 s without a fall")
    print(f"{'course':<26} {'teacher toy':>12} {'student toy':>12} {'student MuJoCo':>15}  target (10 cm / 20 deg)")
    for name in names:
        cells = [row["courses"].get(name, {}).get("success") for row in (teacher, student_toy, student_mujoco)]
        text = [f"{c:.0%}" if c is not None else "-" for c in cells]
        target = (f">= {TEACHER_SUCCESS:.0%} / {STUDENT_SUCCESS_TOY:.0%} / {STUDENT_SUCCESS_MUJOCO:.0%}"
                  if name in TARGET_COURSES else "reported")
        print(f"{name:<26} {text[0]:>12} {text[1]:>12} {text[2]:>15}  {target}")
    print(f"teacher {teacher_wall / 60:.1f} min, {teacher_iterations} it (target <= {TEACHER_MINUTES:.0f} min), student "
          f"{student_wall / 60:.1f} min, {student_iterations} it (<= {STUDENT_MINUTES:.0f}); mean terrain level at the end {level}; teacher on flat ground "
          f"{flat['tracking_error']:.3f} m/s, {100 * flat['fall_rate']:.1f} % falls; "
          f"anchor: legged_gym ANYmal rough ~20 min on one GPU")

    def met(result: Dict[str, Any], bar: float) -> bool:
        rows = result["courses"]
        return bool(rows) and all(rows[c]["success"] >= bar for c in TARGET_COURSES if c in rows)

    targets = {
        "teacher_wall": 0 < teacher_wall <= TEACHER_MINUTES * 60,
        "student_wall": 0 < student_wall <= STUDENT_MINUTES * 60,
        "teacher_success": met(teacher, TEACHER_SUCCESS),
        "student_success_toy": met(student_toy, STUDENT_SUCCESS_TOY),
        "student_success_mujoco": met(student_mujoco, STUDENT_SUCCESS_MUJOCO),
    }
    print(json.dumps({
        "benchmark": "go2_rough", "cpu": cpu_model(), "threads": torch.get_num_threads(), "seed": args.seed,
        "episodes_per_course": args.episodes, "teacher_wall_s": round(teacher_wall, 1),
        "teacher_iterations": teacher_iterations, "student_wall_s": round(student_wall, 1),
        "student_iterations": student_iterations, "teacher_success": success(teacher),
        "student_success_toy": success(student_toy) if student_toy["courses"] else {},
        "student_success_mujoco": success(student_mujoco) if student_mujoco["courses"] else {},
        "terrain_level_mean": level, "teacher_flat_tracking_error": flat["tracking_error"],
        "teacher_flat_fall_rate": flat["fall_rate"], "targets_met": targets, "all_targets_met": all(targets.values()),
    }))


if __name__ == "__main__":
    main()
