"""Seconds from ``fastembody run`` to its first iteration: the README's main job right after set-up.

From an empty compile cache (a temporary ``TORCHINDUCTOR_CACHE_DIR``, so the user's own cache is left alone):

a. set-up's warm step (``python -m fastembody_core.compiling CONFIG``, the last step of scripts/setup.sh), timed;
b. the main job in a fresh process after it: seconds from process start to the first ``it 1/`` line on stdout,
   and the median seconds between later iteration lines;
c. the same in another empty cache without the warm step (what a first run paid before set-up warmed the cache).

Prints a table, the CPU model, and as its last line one JSON object: ``first_iteration_s`` (target <= 10),
``first_iteration_s_cold``, ``warm_step_s``, ``iteration_s``, ``iteration_s_cold``.

Measured (AMD EPYC, 2 logical CPUs, idle, 2026-12-01; the main job as shipped: go2-toy eager, PPO compiled by
``compile: auto`` at 2048 envs): warm step 16.7 s, first iteration 4.3 s after set-up, 15.5 s from an empty cache
without the warm step, 0.5 s per iteration after.

    flock /tmp/fastembody-cpu.lock python benchmarks/first_iteration.py
    python benchmarks/first_iteration.py --iterations 3 --set env.params.compile=true   # another variant
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from cpu_info import cpu_model

ROOT = Path(__file__).resolve().parents[1]
MAIN_JOB = "configs/go2_toy_quick.yaml"
TARGET_S = 10.0


def warm_step(config: str, overrides: Sequence[str], env: Dict[str, str]) -> float:
    """Run set-up's warm step in a fresh process; its wall seconds."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "fastembody_core.compiling", config, *overrides], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"the warm step failed: {done.stderr.strip()[-500:]}")
    print(f"  warm step: {done.stdout.strip()}", flush=True)
    return time.perf_counter() - start


def time_run(config: str, overrides: Sequence[str], iterations: int, env: Dict[str, str]) -> Dict[str, Optional[float]]:
    """``fastembody run`` in a fresh process: seconds to its first iteration line, median seconds per later one."""
    fastembody = str(Path(sys.executable).with_name("fastembody"))
    with tempfile.TemporaryDirectory(prefix="first_iteration_") as run_dir:
        args = [fastembody, "run", config, "--run-dir", str(Path(run_dir) / "run"),
                "--set", f"trainer.params.max_iterations={iterations}", "--set", "run.preview=false"]
        for item in overrides:
            args += ["--set", item]
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        stamps: List[float] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("it "):
                stamps.append(time.perf_counter() - start)
        if proc.wait() != 0 or not stamps:
            sys.exit(f"fastembody run {config} failed (exit {proc.returncode})")
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    return {"first": stamps[0], "iteration": statistics.median(gaps) if gaps else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=MAIN_JOB)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--iterations", type=int, default=4, help="iterations of each timed run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fastembody_cache_") as caches:
        warm_env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(Path(caches) / "warm")}
        cold_env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(Path(caches) / "cold")}
        print(f"{args.config} {' '.join(args.overrides)}: empty compile caches in {caches}", flush=True)
        warm_s = warm_step(args.config, args.overrides, warm_env)
        after_setup = time_run(args.config, args.overrides, args.iterations, warm_env)
        cold = time_run(args.config, args.overrides, args.iterations, cold_env)

    def cell(value: Optional[float]) -> str:
        return "-" if value is None else f"{value:.1f}"

    rows = [("set-up's warm step (empty cache)", warm_s, None, None),
            ("main job after set-up (warm cache)", None, after_setup["first"], after_setup["iteration"]),
            ("main job, empty cache, no warm step", None, cold["first"], cold["iteration"])]
    print(f"\n{'':<38} {'wall s':>7} {'s to it 1':>10} {'s/it after':>11}")
    for name, wall, first, per in rows:
        print(f"{name:<38} {cell(wall):>7} {cell(first):>10} {cell(per):>11}")
    model = cpu_model()
    print(f"\nCPU: {model} ({os.cpu_count()} logical CPUs); target: first iteration <= {TARGET_S:.0f} s after set-up")
    print(json.dumps({
        "benchmark": "first_iteration", "config": args.config, "overrides": args.overrides, "cpu": model,
        "logical_cpus": os.cpu_count(), "warm_step_s": round(warm_s, 2),
        "first_iteration_s": round(after_setup["first"] or 0.0, 2),
        "first_iteration_s_cold": round(cold["first"] or 0.0, 2),
        "iteration_s": after_setup["iteration"] and round(after_setup["iteration"], 3),
        "iteration_s_cold": cold["iteration"] and round(cold["iteration"], 3),
        "target_s": TARGET_S,
    }))


if __name__ == "__main__":
    main()
