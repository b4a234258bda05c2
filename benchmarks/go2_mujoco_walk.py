"""Learning a Go2 walk for MuJoCo on a 2-core CPU: go2-toy PPO, then a PPO fine-tune in go2-mujoco, within 30 min.

Arms, each trained with the core's OnPolicyTrainer and the team's PPO, from ``configs/unitree_go2_ppo.yaml``
(the go2-toy task and PPO settings; go2-mujoco gets the same task params wherever it has the field):

1. **toy**: go2-toy from scratch for ``--toy-min`` minutes;
2. **fine-tune**: that policy (networks, optimiser and normaliser state) trained on in go2-mujoco for the rest
   of ``--budget-min`` (the wall time of arms 1 + 2, env and model building included);
3. **scratch**: go2-mujoco from scratch for ``--scratch-min`` minutes (default: the whole budget), beside it.

Every policy is then evaluated in both sims with go2-toy's walking criterion
(``fastembody_go2.toy.evaluate.evaluate_walking``): forward command 0.5 m/s, one 20 s episode in each of
``--eval-envs`` fresh envs (friction, payload and motor strength randomised, observation noise on, no pushes),
tracking error = mean |v_xy - command| after the first second, fall rate = share of episodes ending in a fall.
The table crosses policies and sims: toy -> MuJoCo and MuJoCo -> toy are the sim-to-sim rows. The target (issue
7): the fine-tuned policy tracks with error < 0.15 m/s and < 5 % falls in MuJoCo within 30 min in total.
Last line: JSON with ``wall_s``, ``tracking_error`` and ``fall_rate`` of the fine-tuned policy in MuJoCo, and
every other figure of the tables.

    flock /tmp/fastembody-cpu.lock python benchmarks/go2_mujoco_walk.py --out runs/go2_mujoco_walk
    python benchmarks/go2_mujoco_walk.py --toy-min 1 --budget-min 2 --scratch-min 1 --eval-envs 32   # smoke test
"""
import argparse
import copy
import json
import time
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from fastembody_core import OnPolicyTrainer, RunContext, guard_cpu_denormals
from fastembody_core.checkpoint import latest_checkpoint, load_checkpoint
from fastembody_core.config import experiment_from_dict, read_config_file, write_resolved
from fastembody_core.pipeline import build_algorithm, build_env_and_algorithm, make_context
from fastembody_core.evaluation import map_params
from fastembody_go2.mujoco.config import Go2MujocoParams
from fastembody_go2.mujoco.env import Go2MujocoEnv
from fastembody_go2.toy.env import Go2ToyEnv
from fastembody_go2.toy.evaluate import evaluate_walking, forward_walk_params

ROOT = Path(__file__).resolve().parents[1]
SPEED = 0.5
TRACKING_ERROR_MAX, FALL_RATE_MAX = 0.15, 0.05


class TimedTrainer(OnPolicyTrainer):
    """OnPolicyTrainer that ends (with a checkpoint) at the first iteration boundary after ``deadline``."""

    def __init__(self, *args: Any, deadline: float, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def _run_iteration(self, obs: Any, logger: Any) -> Any:
        obs = super()._run_iteration(obs, logger)
        if time.perf_counter() >= self.deadline:
            self.params.max_iterations = self.iteration
        return obs


def configs(base: Dict[str, Any], mujoco_envs: int, seed: int) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(go2-toy config, go2-mujoco config) from the toy PPO config: same task, PPO and trainer settings."""
    toy = copy.deepcopy(base)
    toy["seed"] = seed
    toy["trainer"]["params"].update(max_iterations=10 ** 6, save_interval=100, progress=False, log_interval=25)
    mujoco = copy.deepcopy(toy)
    params, _ = map_params(toy["env"].get("params") or {}, Go2MujocoParams)
    params["num_envs"] = mujoco_envs
    mujoco["env"] = {"name": "go2-mujoco", "params": params}
    return toy, mujoco


def train(config: Dict[str, Any], run_dir: Path, minutes: float, init_from: Optional[Path] = None) -> Dict[str, Any]:
    """Train ``config`` into ``run_dir`` for ``minutes`` of wall time (building included)."""
    start = time.perf_counter()
    config = dict(config, name=run_dir.name)
    experiment = experiment_from_dict(config)
    write_resolved(experiment, run_dir)
    ctx = make_context(experiment, run_dir=run_dir)
    env, algorithm = build_env_and_algorithm(experiment, ctx)
    if init_from is not None:
        algorithm.load_state_dict(load_checkpoint(latest_checkpoint(init_from))["algorithm_state"])
    trainer = TimedTrainer(env, algorithm, experiment.trainer.params, ctx, deadline=start + 60.0 * minutes)
    try:
        trainer.train()
    finally:
        env.close()
    last = trainer._last_metrics
    return {"wall_s": time.perf_counter() - start, "iterations": trainer.iteration, "env_steps": trainer.env_steps,
            "num_envs": int(env.num_envs), "train_fall_rate": last.get("Episode/fall_rate"),
            "train_tracking_error": last.get("Episode/lin_vel_tracking_error")}


def evaluate(run_dir: Path, config: Dict[str, Any], sim: str, num_envs: int, seed: int = 12345) -> Dict[str, float]:
    """go2-toy's walking evaluation of ``run_dir``'s latest policy in ``sim`` ("toy" or "mujoco")."""
    experiment = experiment_from_dict(config)
    ctx = make_context(experiment)
    env_params = dataclass_copy(experiment.env.params, compile=False)
    walk = forward_walk_params(env_params, num_envs, speed=(SPEED, SPEED))
    env = (Go2ToyEnv if sim == "toy" else Go2MujocoEnv)(walk, RunContext(seed=seed))
    try:
        algorithm = build_algorithm(experiment, env, ctx)
        algorithm.load_state_dict(load_checkpoint(latest_checkpoint(run_dir))["algorithm_state"])
        algorithm.eval_mode()
        return evaluate_walking(algorithm.act_inference, walk, num_envs=num_envs, speed=(SPEED, SPEED), env=env)
    finally:
        env.close()


def dataclass_copy(params: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(params, **{k: v for k, v in changes.items() if hasattr(params, k)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "unitree_go2_ppo.yaml")
    parser.add_argument("--out", type=Path, default=Path("runs/go2_mujoco_walk") / time.strftime("%Y-%m-%d_%H-%M-%S"))
    parser.add_argument("--budget-min", type=float, default=30.0, help="toy + fine-tune wall time [min]")
    parser.add_argument("--toy-min", type=float, default=12.0, help="go2-toy training [min]")
    parser.add_argument("--scratch-min", type=float, default=None, help="go2-mujoco from scratch [min] (default: budget)")
    parser.add_argument("--mujoco-envs", type=int, default=1024, help="go2-mujoco envs while training")
    parser.add_argument("--eval-envs", type=int, default=512)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-scratch", action="store_true")
    args = parser.parse_args()
    guard_cpu_denormals()
    toy_config, mujoco_config = configs(read_config_file(args.config), args.mujoco_envs, args.seed)
    started = time.perf_counter()
    arms: Dict[str, Dict[str, Any]] = {}
    arms["toy"] = train(toy_config, args.out / "toy", args.toy_min)
    remaining = args.budget_min - (time.perf_counter() - started) / 60.0
    arms["finetune"] = train(mujoco_config, args.out / "finetune", max(0.5, remaining), init_from=args.out / "toy")
    wall_s = time.perf_counter() - started
    if not args.skip_scratch:
        scratch_min = args.budget_min if args.scratch_min is None else args.scratch_min
        arms["scratch"] = train(mujoco_config, args.out / "scratch", scratch_min)
    table: Dict[str, Dict[str, float]] = {}
    for arm in arms:
        for sim, config in (("toy", toy_config), ("mujoco", mujoco_config)):
            table[f"{arm}->{sim}"] = evaluate(args.out / arm, config, sim, args.eval_envs)

    print(f"toy {arms['toy']['wall_s'] / 60:.1f} min + MuJoCo fine-tune {arms['finetune']['wall_s'] / 60:.1f} min "
          f"= {wall_s / 60:.1f} min wall (budget {args.budget_min:g}); run dirs under {args.out}")
    header = f"{'arm':<10}{'sim':>8}{'envs':>6}{'minutes':>9}{'iters':>7}{'env steps':>12}{'train falls':>13}{'train err':>11}"
    print(header + "\n" + "-" * len(header))
    for arm, r in arms.items():
        sim = "toy" if arm == "toy" else "mujoco"
        print(f"{arm:<10}{sim:>8}{r['num_envs']:>6}{r['wall_s'] / 60:>9.1f}{r['iterations']:>7}{r['env_steps']:>12,}"
              f"{(r['train_fall_rate'] or 0.0):>13.3f}{(r['train_tracking_error'] or 0.0):>11.3f}")
    print(f"\nwalking at {SPEED} m/s, {args.eval_envs} envs x one 20 s episode, no pushes (* = sim-to-sim)")
    header = f"{'policy -> sim':<20}{'tracking error [m/s]':>22}{'fall rate':>11}{'mean speed':>12}"
    print(header + "\n" + "-" * len(header))
    for key, r in table.items():
        arm, sim = key.split("->")
        mark = "*" if (arm == "toy") != (sim == "toy") else " "
        print(f"{key + mark:<20}{r['tracking_error']:>22.3f}{r['fall_rate']:>11.3f}{r['mean_speed']:>12.3f}")
    final = table["finetune->mujoco"]
    summary = {
        "benchmark": "go2_mujoco_walk",
        "wall_s": round(wall_s, 1),
        "tracking_error": round(final["tracking_error"], 4),
        "fall_rate": round(final["fall_rate"], 4),
        "walks": bool(wall_s <= 60.0 * args.budget_min + 60.0 and final["tracking_error"] < TRACKING_ERROR_MAX
                      and final["fall_rate"] < FALL_RATE_MAX),
        "table": {k: {m: round(v, 4) for m, v in r.items()} for k, r in table.items()},
        "arms": {arm: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for arm, r in arms.items()},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
