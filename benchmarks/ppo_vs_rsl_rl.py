"""FastEmbody PPO vs rsl_rl's OnPolicyRunner: same env, networks, batch, epochs and minibatches, both on CPU.

Measured in one run, iterations interleaved: rsl_rl 5.x (fp32, driven through ``fastembody_core.adapters.rsl_rl``),
FastEmbody PPO with its defaults (precision "auto": bf16 autocast on CPUs with avx512_bf16/AMX; compile "auto":
torch.compile'd networks from 1024 envs on), the same in fp32, and the defaults with ``compile=False`` (eager: the
compile lever's share). The first iteration of each, which compiles, is left out of the timings.
Prints env steps/s, collection and learning seconds per iteration, the mean per-step reward of the last
iterations (same env steps for every variant), the learning phase's GFLOP/s against this machine's measured
2048x2048 GEMM peak, the bound this CPU puts on the speedup (``speedup_bound_at_bf16_peak``: rsl_rl's seconds per
iteration over FastEmbody's collection plus the update's FLOPs at 100 % of the bf16 peak), and, as the last line, a
JSON object (``speedup`` = FastEmbody default / rsl_rl steps/s).

    flock /tmp/fastembody-cpu.lock python benchmarks/ppo_vs_rsl_rl.py            # go2-toy if installed
    python benchmarks/ppo_vs_rsl_rl.py --env bench-toy --num-envs 512 --iterations 3   # quick look

Needs rsl-rl-lib (benchmark-only): ``pip install rsl-rl-lib -c constraints.txt``.
"""
import argparse
import json
import math
import os
import sys
import time
from typing import Any, Callable, Dict, List

import torch

from fastembody_core import (RunContext, VectorEnv, get_registry, guard_cpu_denormals,
                             keep_large_allocations_in_heap)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu_info import cpu_model  # noqa: E402


# -- a cheap synthetic legged-like env (used when go2-toy is not installed) ---------------------------------
class BenchToyEnv(VectorEnv):
    """12 damped 'joints' tracking random targets; go2-toy's shapes (policy 48, critic 56, 12 actions)."""

    def __init__(self, num_envs: int, seed: int = 0, max_episode_length: int = 250):
        self.num_envs, self.num_actions, self.max_episode_length, self.step_dt = num_envs, 12, max_episode_length, 0.02
        self.device = torch.device("cpu")
        self.observation_shapes = {"policy": (48,), "critic": (56,)}
        self.gen = torch.Generator().manual_seed(seed)
        self.q = torch.zeros(num_envs, 12)
        self.dq = torch.zeros(num_envs, 12)
        self.target = torch.zeros(num_envs, 12)
        self.last_action = torch.zeros(num_envs, 12)
        self.gain = torch.ones(num_envs, 8)
        self.episode_length_buf = torch.zeros(num_envs, dtype=torch.long)

    def _reset_envs(self, ids: torch.Tensor) -> None:
        n = int(ids.numel())
        self.q[ids] = 0.3 * torch.randn(n, 12, generator=self.gen)
        self.dq[ids] = 0.0
        self.target[ids] = 0.8 * torch.rand(n, 12, generator=self.gen) - 0.4
        self.last_action[ids] = 0.0
        self.gain[ids] = 0.5 + torch.rand(n, 8, generator=self.gen)
        self.episode_length_buf[ids] = 0

    def reset(self) -> Dict[str, torch.Tensor]:
        self._reset_envs(torch.arange(self.num_envs))
        return self.get_observations()

    def get_observations(self) -> Dict[str, torch.Tensor]:
        policy = torch.cat([self.q, 0.1 * self.dq, self.target, self.last_action], dim=1)
        return {"policy": policy, "critic": torch.cat([policy, self.gain], dim=1)}

    def step(self, actions: torch.Tensor):
        a = actions.clamp(-3.0, 3.0)
        stiffness = 20.0 * self.gain[:, :1]
        self.dq += self.step_dt * (stiffness * (0.5 * a - self.q) - 2.0 * self.dq)
        self.q += self.step_dt * self.dq
        err = (self.q - self.target).square().mean(dim=1)
        rewards = torch.exp(-err / 0.05) - 0.01 * (a - self.last_action).square().mean(dim=1)
        self.last_action = a
        self.episode_length_buf += 1
        terminated = self.q.abs().max(dim=1).values > 2.5
        time_outs = self.episode_length_buf >= self.max_episode_length
        dones = terminated | time_outs
        ids = dones.nonzero().flatten()
        if ids.numel():
            self._reset_envs(ids)
        return self.get_observations(), rewards, dones, {"time_outs": time_outs & ~terminated}


class RewardTracker(VectorEnv):
    """Records the mean reward of every step (same measurement for every variant)."""

    def __init__(self, env: VectorEnv):
        self.env = env
        for key in ("num_envs", "num_actions", "max_episode_length", "step_dt", "observation_shapes", "device"):
            setattr(self, key, getattr(env, key))
        self.cfg: Dict[str, Any] = {}
        self.step_rewards: List[float] = []

    @property
    def episode_length_buf(self) -> torch.Tensor:  # type: ignore[override]
        return self.env.episode_length_buf

    @episode_length_buf.setter
    def episode_length_buf(self, value: torch.Tensor) -> None:
        self.env.episode_length_buf = value

    def reset(self):
        return self.env.reset()

    def get_observations(self):
        return self.env.get_observations()

    def step(self, actions):
        obs, rewards, dones, extras = self.env.step(actions)
        self.step_rewards.append(float(rewards.mean()))
        return obs, rewards, dones, extras


# -- the env -----------------------------------------------------------------------------------------------
def env_maker(name: str, num_envs: int, seed: int) -> Callable[[], VectorEnv]:
    if name == "bench-toy":
        return lambda: BenchToyEnv(num_envs, seed)
    reg = get_registry().get("envs", name)
    ctx = RunContext(device="cpu", seed=seed, config={"env": {"name": name}})
    return lambda: reg.factory(reg.params(num_envs=num_envs), ctx)


def default_env() -> str:
    try:
        get_registry().get("envs", "go2-toy")
        return "go2-toy"
    except Exception:
        return "bench-toy"


# -- the two learners --------------------------------------------------------------------------------------
PPO_SETTINGS = dict(
    num_learning_epochs=5, num_mini_batches=4, clip_param=0.2, gamma=0.99, lam=0.95, value_loss_coef=1.0,
    entropy_coef=0.01, learning_rate=1e-3, max_grad_norm=1.0, use_clipped_value_loss=True, schedule="adaptive",
    desired_kl=0.01,
)  # rsl_rl's legged defaults, given explicitly to both


class FastEmbodyLearner:
    """FastEmbody PPO on its own env copy, one iteration per call (the trainer's loop)."""

    def __init__(self, make_env: Callable[[], VectorEnv], args: argparse.Namespace, precision: str, compile: Any = "auto"):
        torch.manual_seed(args.seed)
        self.env, self.steps = RewardTracker(make_env()), args.steps
        reg = get_registry().get("algorithms", "ppo")
        params = reg.params(
            actor_hidden_dims=args.hidden, critic_hidden_dims=args.hidden, activation="elu", init_noise_std=1.0,
            obs_normalization=False, precision=precision, compile=compile, **PPO_SETTINGS,
        )
        self.algo = reg.factory(self.env.spec(), params, RunContext(device="cpu", seed=args.seed))
        self.algo.setup(args.steps)
        self.obs = self.env.reset()
        self.env.episode_length_buf = torch.randint_like(self.env.episode_length_buf, high=int(self.env.max_episode_length))
        self.collect: List[float] = []
        self.learn: List[float] = []

    def iteration(self) -> None:
        algo, obs = self.algo, self.obs
        start = time.perf_counter()
        with torch.inference_mode():
            for _ in range(self.steps):
                obs, rewards, dones, extras = self.env.step(algo.act(obs))
                algo.process_env_step(obs, rewards, dones, extras)
        mid = time.perf_counter()
        algo.update(obs)
        self.obs = obs
        self.collect.append(mid - start)
        self.learn.append(time.perf_counter() - mid)


class RslRlLearner:
    """rsl_rl's OnPolicyRunner on its own env copy (through the core adapter), one ``learn(1)`` per call."""

    def __init__(self, make_env: Callable[[], VectorEnv], args: argparse.Namespace):
        from rsl_rl.runners import OnPolicyRunner

        from fastembody_core.adapters.rsl_rl import RslRlVecEnv

        torch.manual_seed(args.seed)
        self.env = RewardTracker(make_env())
        model = {
            "class_name": "MLPModel", "hidden_dims": list(args.hidden), "activation": "elu", "obs_normalization": False,
        }
        cfg = {
            "num_steps_per_env": args.steps,
            "save_interval": 10**9,
            "obs_groups": {"actor": ["policy"], "critic": ["critic" if "critic" in self.env.observation_shapes else "policy"]},
            "algorithm": {"class_name": "PPO", "optimizer": "adam", **PPO_SETTINGS},
            "actor": dict(model, distribution_cfg={"class_name": "GaussianDistribution", "init_std": 1.0}),
            "critic": dict(model),
        }
        self.runner = OnPolicyRunner(RslRlVecEnv(self.env), cfg, log_dir=None, device="cpu")
        self.collect: List[float] = []
        self.learn: List[float] = []
        self.runner.logger.log = self._record  # type: ignore[assignment]  (the runner's own timings)
        self.first = True

    def _record(self, **kw: Any) -> None:
        self.collect.append(kw["collect_time"])
        self.learn.append(kw["learn_time"])

    def iteration(self) -> None:
        self.runner.learn(1, init_at_random_ep_len=self.first)
        self.first = False


def summarize(learner: Any, args: argparse.Namespace) -> Dict[str, Any]:
    env, collect, learn = learner.env, learner.collect, learner.learn
    skip = min(args.warmup, len(collect) - 1)  # first iterations pay one-off allocation costs
    c, l = sum(collect[skip:]) / len(collect[skip:]), sum(learn[skip:]) / len(learn[skip:])
    last = env.step_rewards[-args.reward_iterations * args.steps :]
    per_iteration = [sum(env.step_rewards[i : i + args.steps]) / args.steps for i in range(0, len(env.step_rewards), args.steps)]
    return {
        "reward_curve": per_iteration,
        "steps_per_s": args.num_envs * args.steps / (c + l),
        "collect_s": c,
        "learn_s": l,
        "reward": sum(last) / len(last),
        "iterations": len(collect),
    }


# -- the machine -------------------------------------------------------------------------------------------
def gemm_gflops(dtype: torch.dtype, n: int = 2048, reps: int = 5, trials: int = 5) -> float:
    """Best of ``trials`` timings of ``reps`` n x n matmuls (the best is the least disturbed by other load)."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(trials):
        start = time.perf_counter()
        for _ in range(reps):
            torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 * reps / best / 1e9


def update_gflop(obs_dims: Dict[str, int], hidden: List[int], num_actions: int, args: argparse.Namespace) -> float:
    """Matmul FLOPs of one PPO update: actor + critic forward and backward (~3x forward) per sample and epoch."""
    def macs(d_in: int, d_out: int) -> int:
        dims = [d_in] + list(hidden) + [d_out]
        return sum(a * b for a, b in zip(dims[:-1], dims[1:]))

    per_sample = macs(obs_dims["actor"], num_actions) + macs(obs_dims["critic"], 1)
    return 2 * 3 * per_sample * args.num_envs * args.steps * 5 / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default=None, help="env name (default: go2-toy if installed, else bench-toy)")
    parser.add_argument("--num-envs", type=int, default=4096)
    parser.add_argument("--steps", type=int, default=24, help="rollout steps per env per iteration")
    parser.add_argument("--iterations", type=int, default=30, help="iterations of rsl_rl and FastEmbody (default)")
    parser.add_argument("--fp32-iterations", type=int, default=4, help="iterations of FastEmbody fp32 (timing)")
    parser.add_argument("--eager-iterations", type=int, default=4,
                        help="iterations of FastEmbody defaults with compile=False (timing; 0 skips)")
    parser.add_argument("--reward-iterations", type=int, default=5, help="average the reward over the last N its")
    parser.add_argument("--warmup", type=int, default=1, help="iterations left out of the timings")
    parser.add_argument("--hidden", type=int, nargs="+", default=[512, 256, 128])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    guard_cpu_denormals()
    keep_large_allocations_in_heap()  # as the trainer does; both PPOs in this process share it
    env_name = args.env or default_env()
    make_env = env_maker(env_name, args.num_envs, args.seed)
    probe = make_env()
    shapes = probe.observation_shapes
    obs_dims = {"actor": math.prod(shapes["policy"]), "critic": math.prod(shapes.get("critic", shapes["policy"]))}
    num_actions = probe.num_actions
    probe.close()

    from fastembody_core.nn import resolve_precision

    default_dtype = resolve_precision("auto", "cpu")
    peak32, peak16 = gemm_gflops(torch.float32), gemm_gflops(torch.bfloat16)
    flop = update_gflop(obs_dims, args.hidden, num_actions, args)

    # Iterations of every variant are interleaved, so load from other processes hits them alike.
    learners: Dict[str, Any] = {
        "rsl_rl": (RslRlLearner(make_env, args), args.iterations),
        "fastembody": (FastEmbodyLearner(make_env, args, "auto"), args.iterations),
        "fastembody_fp32": (FastEmbodyLearner(make_env, args, "fp32"), args.fp32_iterations),
    }
    if args.eager_iterations > 0:
        learners["fastembody_eager"] = (FastEmbodyLearner(make_env, args, "auto", compile=False), args.eager_iterations)
    for it in range(args.iterations):
        for learner, iterations in learners.values():
            if it < iterations:
                learner.iteration()
    results = {name: summarize(learner, args) for name, (learner, _) in learners.items()}
    # the peaks again after the runs: the best of both is the least disturbed by other load
    peak32, peak16 = max(peak32, gemm_gflops(torch.float32)), max(peak16, gemm_gflops(torch.bfloat16))
    import rsl_rl  # noqa: F401  (version for the table)
    from importlib import metadata

    print(f"env {env_name}, {args.num_envs} envs x {args.steps} steps, nets {args.hidden} elu, 5 epochs x 4 minibatches, "
          f"{args.threads} threads; rsl-rl-lib {metadata.version('rsl-rl-lib')}, torch {torch.__version__}")
    print(f"CPU: {cpu_model()}")
    print(f"GEMM 2048^2 peak: fp32 {peak32:.0f} GFLOP/s, bf16 {peak16:.0f} GFLOP/s; update = {flop:.0f} GFLOP/iteration")
    print(f"FastEmbody default precision on this CPU: {'bf16' if default_dtype is not None else 'fp32'}")
    header = f"{'variant':<22}{'its':>5}{'steps/s':>10}{'collect s':>11}{'learn s':>9}{'reward':>9}{'learn GF/s':>12}{'%fp32 pk':>10}{'%bf16 pk':>10}"
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        gf = flop / r["learn_s"]
        reward = f"{r['reward']:>9.4f}" if r["iterations"] == args.iterations else f"{'-':>9}"  # timing-only runs
        print(f"{name:<22}{r['iterations']:>5}{r['steps_per_s']:>10.0f}{r['collect_s']:>11.3f}{r['learn_s']:>9.3f}"
              f"{reward}{gf:>12.0f}{100 * gf / peak32:>9.0f}%{100 * gf / peak16:>9.0f}%")
    marks = sorted({max(1, args.iterations * k // 4) for k in (1, 2, 3, 4)})
    print(f"mean reward per step of iteration {marks} (learning curves; same env steps):")
    for name in ("rsl_rl", "fastembody"):
        curve = results[name]["reward_curve"]
        print(f"  {name:<20}" + "".join(f"{curve[m - 1]:>10.4f}" for m in marks))
    base = results["rsl_rl"]["steps_per_s"]
    # What this CPU allows: the same update FLOPs at 100 % of the bf16 GEMM peak, collection as measured.
    rsl_rl_s = results["rsl_rl"]["collect_s"] + results["rsl_rl"]["learn_s"]
    bound = rsl_rl_s / (flop / peak16 + results["fastembody"]["collect_s"])
    print(f"bound on this CPU: the update at 100% of the bf16 peak ({flop / peak16:.2f} s) plus collection as measured "
          f"({results['fastembody']['collect_s']:.2f} s) would be {bound:.2f}x rsl_rl (target 5x)")
    summary = {
        "env": env_name,
        "num_envs": args.num_envs,
        "iterations": args.iterations,
        "precision_default": "bf16" if default_dtype is not None else "fp32",
        "speedup": results["fastembody"]["steps_per_s"] / base,
        "speedup_fp32": results["fastembody_fp32"]["steps_per_s"] / base,
        "steps_per_s_fastembody": results["fastembody"]["steps_per_s"],
        "steps_per_s_fastembody_fp32": results["fastembody_fp32"]["steps_per_s"],
        "steps_per_s_rsl_rl": base,
        "speedup_eager": results["fastembody_eager"]["steps_per_s"] / base if "fastembody_eager" in results else None,
        "learn_s_fastembody_eager": results["fastembody_eager"]["learn_s"] if "fastembody_eager" in results else None,
        "speedup_bound_at_bf16_peak": bound,
        "learn_pct_bf16_peak": 100 * flop / results["fastembody"]["learn_s"] / peak16,
        "learn_pct_fp32_peak": 100 * flop / results["fastembody"]["learn_s"] / peak32,
        "cpu": cpu_model(),
        "reward_fastembody": results["fastembody"]["reward"],
        "reward_rsl_rl": results["rsl_rl"]["reward"],
        "reward_curve_fastembody": results["fastembody"]["reward_curve"],
        "reward_curve_rsl_rl": results["rsl_rl"]["reward_curve"],
        "learn_s_fastembody": results["fastembody"]["learn_s"],
        "learn_s_rsl_rl": results["rsl_rl"]["learn_s"],
        "gemm_peak_gflops_fp32": peak32,
        "gemm_peak_gflops_bf16": peak16,
        "learn_gflops_fastembody": flop / results["fastembody"]["learn_s"],
        "learn_gflops_rsl_rl": flop / results["rsl_rl"]["learn_s"],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
