"""Data-parallel throughput on this machine: 1 process x 2 threads vs 2 processes x 1 thread (torchrun, gloo).

Both setups train PPO on go2-toy with the same total number of envs (the 2-process run gives each rank half)
and the same PPO settings; steps/s is env steps (all ranks) per second of training time, read from rank 0's
``metrics.jsonl`` after the first (warm-up) iteration. Prints a table and, as the last line, a JSON object with
``steps_per_s_1proc``, ``steps_per_s_2proc`` and their ratio.

    flock /tmp/fastembody-cpu.lock python benchmarks/distributed.py            # ~2 min
    flock /tmp/fastembody-cpu.lock python benchmarks/distributed.py --total-envs 1024 --iterations 6
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import yaml

CONFIG = {
    "name": "distributed_bench",
    "seed": 1,
    "device": "cpu",
    "env": {"name": "go2-toy", "params": {"num_envs": 0}},
    "algorithm": {
        "name": "ppo",
        "params": {"actor_hidden_dims": [512, 256, 128], "critic_hidden_dims": [512, 256, 128],
                   "num_learning_epochs": 5, "num_mini_batches": 4, "precision": "fp32"},
    },
    "trainer": {"name": "on-policy", "params": {"max_iterations": 0, "num_steps_per_env": 24,
                                                 "save_interval": 100000, "progress": False}},
}


def run_setup(nproc: int, threads: int, total_envs: int, iterations: int, workdir: Path) -> Dict[str, float]:
    """Train with ``nproc`` processes of ``threads`` threads each; steps/s over iterations 2..N."""
    config = json.loads(json.dumps(CONFIG))
    config["env"]["params"]["num_envs"] = total_envs // nproc
    config["trainer"]["params"]["max_iterations"] = iterations
    path = workdir / f"bench_{nproc}proc.yaml"
    path.write_text(yaml.safe_dump(config))
    run_dir = workdir / f"run_{nproc}proc"
    args = ["run", str(path), "--run-dir", str(run_dir)]
    if nproc == 1:
        cmd = [sys.executable, "-m", "fastembody_core"] + args
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "fastembody_core"] + args
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    for var in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        env.pop(var, None)
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"{nproc}-process run failed:\n{out.stderr[-3000:]}")
    rows: List[dict] = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    first, last = rows[0], rows[-1]
    steps = last["env_steps"] - first["env_steps"]
    seconds = last["train_time"] - first["train_time"]
    return {"steps_per_s": steps / seconds, "env_steps": float(last["env_steps"]), "wall_s": wall,
            "collection_s": sum(r["Perf/collection_time"] for r in rows[1:]),
            "learning_s": sum(r["Perf/learning_time"] for r in rows[1:])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total-envs", type=int, default=512, help="Envs over all processes (even).")
    parser.add_argument("--iterations", type=int, default=5, help="PPO iterations per setup (first is warm-up).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one = run_setup(1, 2, args.total_envs, args.iterations, Path(tmp))
        two = run_setup(2, 1, args.total_envs, args.iterations, Path(tmp))
    print(f"go2-toy PPO, {args.total_envs} envs in total, {args.iterations} iterations x 24 steps, CPU, "
          f"{os.cpu_count()} cores")
    print(f"{'setup':<24}{'steps/s':>10}{'collect s':>11}{'learn s':>9}{'wall s':>8}")
    for name, r in (("1 process x 2 threads", one), ("2 processes x 1 thread", two)):
        print(f"{name:<24}{r['steps_per_s']:>10.0f}{r['collection_s']:>11.2f}{r['learning_s']:>9.2f}{r['wall_s']:>8.1f}")
    ratio = two["steps_per_s"] / one["steps_per_s"]
    print(f"2-process / 1-process throughput: {ratio:.2f}x")
    print(json.dumps({"steps_per_s_1proc": round(one["steps_per_s"], 1), "steps_per_s_2proc": round(two["steps_per_s"], 1),
                      "ratio_2proc_over_1proc": round(ratio, 3), "total_envs": args.total_envs,
                      "iterations": args.iterations, "details": {"1proc": one, "2proc": two}}))


if __name__ == "__main__":
    main()
