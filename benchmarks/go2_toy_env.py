"""go2-toy speed: env steps/s, a long-horizon (denormal) check, and the env's share of a PPO iteration.

Sections (all on this machine's CPU, in one process so every figure shares the same neighbours):

1. env-only steps/s with random actions U(-1, 1) at 1024, 4096 and 16384 envs, compiled (the default), against
   the same env run eagerly (``compile: false``, the peer) at 4096 envs; repeats interleaved, best kept;
2. a long-horizon run (4096 envs, zero actions, 1500 policy steps = 1.5 episodes, most robots standing still so
   velocities decay towards zero): ms/step per block of 250 steps, in a fresh process with the denormal guard
   set before any torch op (so torch's worker threads inherit it), and in one where nothing flushes denormals;
3. one full PPO iteration at 4096 envs x 24 steps, 5 epochs x 4 minibatches, with the team's ``ppo`` plugin
   ([128, 128, 128] as Isaac Lab's flat Go2, and [512, 256, 128] as rsl_rl's default): the env's share of it;
4. the go2-mujoco env (the high-fidelity peer) at 256 envs, if ``mujoco`` is installed;
5. rough terrain at 4096 envs (legged_gym's default tile grid, the 187-point height scan in the critic; and the
   teacher's layout with the scan in the policy too) against flat ground, interleaved in the same loop; and the
   time to generate that grid (1300 x 2100 cells; tensor ops, no Python loop per cell).

Last line: JSON with ``env_steps_per_s`` (by num_envs), ``env_share_of_ppo_iteration``,
``env_steps_per_s_rough``, ``rough_to_flat`` (target >= 0.5), ``terrain_generation_s`` and the rest.

    flock /tmp/fastembody-cpu.lock python benchmarks/go2_toy_env.py
    python benchmarks/go2_toy_env.py --sizes 1024 --steps 20 --long-steps 100 --no-ppo --no-mujoco   # quick look
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import torch

from cpu_info import cpu_model
from fastembody_core import RunContext, get_registry
from fastembody_go2.toy.config import Go2ToyParams
from fastembody_go2.toy.env import Go2ToyEnv


def make_env(num_envs: int, compile: bool = True, **kwargs: Any) -> Go2ToyEnv:
    return Go2ToyEnv(Go2ToyParams(num_envs=num_envs, compile=compile, **kwargs), RunContext(seed=0))


def steps_per_s(env: Go2ToyEnv, steps: int, actions: List[torch.Tensor]) -> float:
    with torch.inference_mode():
        start = time.perf_counter()
        for i in range(steps):
            env.step(actions[i % len(actions)])
        return steps * env.num_envs / (time.perf_counter() - start)


def random_actions(num_envs: int) -> List[torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return [2.0 * torch.rand(num_envs, 12, generator=gen) - 1.0 for _ in range(16)]


def env_rates(sizes: List[int], steps: int, repeats: int) -> Dict[str, Any]:
    rates: Dict[str, float] = {}
    eager_rate = 0.0
    for n in sizes:
        env, actions = make_env(n), random_actions(n)
        compile_start = time.perf_counter()
        steps_per_s(env, 3, actions)  # compiles (or loads the compiled kernels from the cache)
        compile_s = time.perf_counter() - compile_start
        eager = make_env(n, compile=False) if n == 4096 else None
        best, best_eager = 0.0, 0.0
        for _ in range(repeats):
            best = max(best, steps_per_s(env, steps, actions))
            if eager is not None:
                best_eager = max(best_eager, steps_per_s(eager, max(10, steps // 3), actions))
        rates[str(n)] = best
        line = f"  {n:>6} envs  compiled {best / 1e3:8.0f} k steps/s  ({1e3 * n / best:6.2f} ms/step; first 3 steps " \
               f"incl. compile {compile_s:5.1f} s)"
        if eager is not None:
            eager_rate = best_eager
            line += f"   eager {best_eager / 1e3:6.0f} k steps/s  -> compiled/eager {best / best_eager:4.1f}x"
        print(line, flush=True)
    return {"env_steps_per_s": rates, "eager_env_steps_per_s_4096": eager_rate}


def long_horizon(num_envs: int, steps: int, block: int) -> Dict[str, Any]:
    env = make_env(num_envs)
    zero = [torch.zeros(num_envs, 12)]
    steps_per_s(env, 3, zero)
    blocks = []
    for _ in range(0, steps, block):
        blocks.append(1e3 * num_envs / steps_per_s(env, block, zero))
    return {"ms_per_step_by_block": blocks, "last_over_first": blocks[-1] / blocks[0]}


def long_horizon_subprocess(steps: int, guarded: bool) -> Dict[str, Any]:
    """The long-horizon run in a fresh process: guarded = flush-to-zero set before any torch op (so torch's worker
    threads inherit it); unguarded = ``torch.set_flush_denormal`` made a no-op, so no thread flushes."""
    code = (f"import json, sys, torch\n"
            f"{'torch.set_flush_denormal(True)' if guarded else 'torch.set_flush_denormal = lambda on: False'}\n"
            f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            f"from go2_toy_env import long_horizon\n"
            f"print(json.dumps(long_horizon(4096, {steps}, {max(1, steps // 6)})))\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    blocks = " ".join(f"{ms:5.2f}" for ms in result["ms_per_step_by_block"])
    print(f"  {'guarded  ' if guarded else 'unguarded'}: ms/step per {max(1, steps // 6)}-step block: {blocks}  "
          f"(last/first {result['last_over_first']:.2f})", flush=True)
    return result


def ppo_iteration(num_envs: int, hidden: List[int], iterations: int) -> Dict[str, float]:
    registration = get_registry().get("algorithms", "ppo")
    env = make_env(num_envs)
    params = registration.params(actor_hidden_dims=hidden, critic_hidden_dims=hidden)
    algorithm = registration.factory(env.spec(), params, RunContext(seed=0))
    algorithm.setup(24)
    obs = env.get_observations()
    best: Dict[str, float] = {}
    for it in range(iterations + 1):  # the first one warms up (and compiles)
        env_s = 0.0
        start = time.perf_counter()
        with torch.inference_mode():
            for _ in range(24):
                actions = algorithm.act(obs)
                t = time.perf_counter()
                obs, rewards, dones, extras = env.step(actions)
                env_s += time.perf_counter() - t
                algorithm.process_env_step(obs, rewards, dones, extras)
        collect_s = time.perf_counter() - start
        algorithm.update(obs)
        total_s = time.perf_counter() - start
        if it > 0 and (not best or total_s < best["iteration_s"]):
            best = {"iteration_s": total_s, "collection_s": collect_s, "update_s": total_s - collect_s,
                    "env_s": env_s, "env_share": env_s / total_s}
    print(f"  {str(hidden):>16}: iteration {best['iteration_s']:6.2f} s = collection {best['collection_s']:5.2f} s "
          f"(env {best['env_s']:5.3f} s) + update {best['update_s']:5.2f} s  -> env share "
          f"{100 * best['env_share']:4.1f} %", flush=True)
    return best


def mujoco_rate(num_envs: int, seconds: float) -> float:
    registration = get_registry().get("envs", "go2-mujoco")
    env = registration.factory(registration.params(num_envs=num_envs), RunContext(seed=0))
    try:
        actions = random_actions(num_envs)
        steps_per_s(env, 3, actions)  # type: ignore[arg-type]
        start, steps = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            steps_per_s(env, 5, actions)  # type: ignore[arg-type]
            steps += 5
        return steps * num_envs / (time.perf_counter() - start)
    finally:
        env.close()


def _generation_s() -> float:
    """Seconds to generate legged_gym's default tile grid (``terrain: {type: rough}``)."""
    from fastembody_go2.terrain import TerrainParams, generate_terrain

    start = time.perf_counter()
    generate_terrain(TerrainParams(type="rough"), 0)
    return time.perf_counter() - start


def terrain_rates(steps: int, repeats: int) -> Dict[str, float]:
    """Steps/s at 4096 envs on flat ground, rough terrain (scan in the critic) and the teacher's layout (scan in
    the policy too), compiled, repeats interleaved, best kept."""
    envs = {"flat": make_env(4096), "rough": make_env(4096, terrain={"type": "rough"}),
            "rough_teacher": make_env(4096, terrain={"type": "rough"}, height_scan_in_policy=True)}
    actions = random_actions(4096)
    for env in envs.values():
        steps_per_s(env, 3, actions)  # compiles
    best = {name: 0.0 for name in envs}
    for _ in range(repeats):
        for name, env in envs.items():
            best[name] = max(best[name], steps_per_s(env, steps, actions))
    for name, rate in best.items():
        print(f"  {name:<14} {rate / 1e3:8.0f} k steps/s  ({rate / best['flat']:4.2f} of flat)", flush=True)
    generation = min(_generation_s() for _ in range(repeats))
    print(f"  generating the default 10 x 20 tile grid: {generation:.2f} s", flush=True)
    return {"terrain_generation_s": generation,
            "env_steps_per_s_flat_4096": best["flat"], "env_steps_per_s_rough": best["rough"],
            "env_steps_per_s_rough_teacher": best["rough_teacher"], "rough_to_flat": best["rough"] / best["flat"],
            "rough_teacher_to_flat": best["rough_teacher"] / best["flat"]}



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096, 16384])
    parser.add_argument("--steps", type=int, default=100, help="policy steps per timed repeat")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--long-steps", type=int, default=1500)
    parser.add_argument("--ppo-iterations", type=int, default=2)
    parser.add_argument("--no-ppo", action="store_true")
    parser.add_argument("--no-mujoco", action="store_true")
    parser.add_argument("--no-terrain", action="store_true")
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    print(f"go2-toy on {torch.get_num_threads()} CPU threads of {cpu_model()}, torch {torch.__version__}")
    result: Dict[str, Any] = {}
    print("1. env steps/s, random actions")
    result.update(env_rates(args.sizes, args.steps, args.repeats))
    print(f"2. long horizon: 4096 envs, zero actions, {args.long_steps} steps, fresh processes")
    result["long_horizon"] = long_horizon_subprocess(args.long_steps, guarded=True)
    result["long_horizon_unguarded"] = long_horizon_subprocess(args.long_steps, guarded=False)
    if not args.no_ppo:
        print("3. one PPO iteration at 4096 envs x 24 steps, 5 epochs x 4 minibatches (fastembody-ppo)")
        small = ppo_iteration(4096, [128, 128, 128], args.ppo_iterations)
        large = ppo_iteration(4096, [512, 256, 128], 1)
        result["env_share_of_ppo_iteration"] = small["env_share"]
        result["ppo_iteration_128x3"] = small
        result["ppo_iteration_512_256_128"] = large
    if not args.no_mujoco:
        print("4. peer: go2-mujoco, 256 envs, random actions")
        try:
            rate = mujoco_rate(256, 3.0)
            result["mujoco_env_steps_per_s_256"] = rate
            toy = result["env_steps_per_s"].get("1024") or next(iter(result["env_steps_per_s"].values()))
            print(f"  go2-mujoco {rate / 1e3:6.1f} k steps/s; go2-toy is {toy / rate:5.0f}x faster")
        except Exception as exc:  # mujoco missing or the env not available
            print(f"  skipped: {type(exc).__name__}: {exc}")
    if not args.no_terrain:
        print("5. rough terrain, 4096 envs, random actions (flat in the same loop)")
        result.update(terrain_rates(args.steps, args.repeats))
    result["cpu"] = cpu_model()
    rate_4096 = result["env_steps_per_s"].get("4096")
    targets = {}
    if rate_4096:
        targets["env_steps_per_s_4096_ge_500k"] = rate_4096 >= 5e5
        result["compile_speedup_4096"] = rate_4096 / max(result["eager_env_steps_per_s_4096"], 1e-9)
    if "env_share_of_ppo_iteration" in result:
        targets["env_share_le_10pct"] = result["env_share_of_ppo_iteration"] <= 0.10
    if "rough_to_flat" in result:
        targets["rough_to_flat_ge_0.5"] = result["rough_to_flat"] >= 0.5
    result["targets_met"] = targets
    print(f"targets: {targets}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
