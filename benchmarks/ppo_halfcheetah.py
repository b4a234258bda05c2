"""FastEmbody PPO on gymnasium MuJoCo HalfCheetah for 1M env steps, beside CleanRL's published PPO return.

CleanRL's ``ppo_continuous_action.py`` reaches 1442 +- 46 on HalfCheetah-v4 after 1M steps (its benchmark
table, 3 seeds). This script uses CleanRL's settings through FastEmbody's configuration: 1 env, 2048 steps per
rollout, 10 epochs x 32 minibatches, lr 3e-4 (fixed here; CleanRL anneals it linearly), gamma 0.99, lambda 0.95,
clip 0.2, clipped value loss (CleanRL's 0.5 * vf_coef 0.5 = 0.25), no entropy bonus, grad-norm 0.5, [64, 64]
tanh nets with orthogonal init, log-std 0, observation normalisation, reward normalisation clipped at 10.
Reported: the mean raw return of the last 10 finished episodes (CleanRL's episodic_return), wall time, env
steps/s; last line JSON.

    pip install "gymnasium[mujoco]" -c constraints.txt
    flock /tmp/fastembody-cpu.lock python benchmarks/ppo_halfcheetah.py            # ~10 min on 2 cores
"""
import argparse
import json
import time
from typing import List

import torch

from fastembody_core import (RunContext, get_registry, guard_cpu_denormals, keep_large_allocations_in_heap,
                             seed_everything)

CLEANRL_PUBLISHED = {"env": "HalfCheetah-v4", "steps": 1_000_000, "return_mean": 1442.0, "return_std": 46.0}


def pick_env_id() -> str:
    import gymnasium as gym

    for env_id in ("HalfCheetah-v4", "HalfCheetah-v5"):
        try:
            gym.spec(env_id)
            return env_id
        except Exception:
            continue
    raise SystemExit("no HalfCheetah in gymnasium: pip install 'gymnasium[mujoco]'")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000, help="total env steps")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (tiny nets: 1 is fastest)")
    parser.add_argument("--precision", default="fp32", help="fp32 (CleanRL parity) | bf16 | auto")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    guard_cpu_denormals()
    keep_large_allocations_in_heap()  # as the trainer does; both PPOs in this process share it
    seed_everything(args.seed)
    env_id = pick_env_id()
    name = f"gym:{env_id}"
    ctx = RunContext(seed=args.seed, config={"env": {"name": name}})
    env_reg = get_registry().get("envs", name)
    env = env_reg.factory(
        env_reg.params(num_envs=1, normalize_reward=True, reward_gamma=0.99, clip_reward=10.0), ctx
    )
    algo_reg = get_registry().get("algorithms", "ppo")
    params = algo_reg.params(
        actor_hidden_dims=[64, 64], critic_hidden_dims=[64, 64], activation="tanh", init="orthogonal",
        std_type="log", init_noise_std=1.0, obs_normalization=True, learning_rate=3e-4, schedule="fixed",
        num_learning_epochs=10, num_mini_batches=32, clip_param=0.2, use_clipped_value_loss=True, gamma=0.99,
        lam=0.95, value_loss_coef=0.25, entropy_coef=0.0, max_grad_norm=0.5, precision=args.precision,
    )
    algo = algo_reg.factory(env.spec(), params, ctx)
    num_steps = 2048
    algo.setup(num_steps)
    iterations = args.steps // num_steps
    returns: List[float] = []
    obs = env.reset()
    start = time.time()
    for it in range(iterations):
        with torch.inference_mode():
            for _ in range(num_steps):
                obs, rewards, dones, extras = env.step(algo.act(obs))
                algo.process_env_step(obs, rewards, dones, extras)
                if "episode" in extras:
                    returns.extend(extras["episode"]["return"].tolist())
        algo.update(obs)
        if (it + 1) % 50 == 0:
            recent = returns[-10:]
            print(f"it {it + 1:4d}  steps {(it + 1) * num_steps:8d}  return(last 10) {sum(recent) / max(1, len(recent)):8.1f}"
                  f"  {time.time() - start:6.0f} s", flush=True)
    wall = time.time() - start
    env.close()
    final = sum(returns[-10:]) / len(returns[-10:])
    steps = iterations * num_steps
    print(f"{'':<28}{'return':>10}{'steps':>10}{'wall s':>9}{'steps/s':>9}")
    print(f"{'FastEmbody PPO ' + env_id:<28}{final:>10.0f}{steps:>10d}{wall:>9.0f}{steps / wall:>9.0f}")
    print(f"{'CleanRL PPO (published) v4':<28}{'1442 +- 46':>10}{1_000_000:>10d}{'-':>9}{'-':>9}")
    print(json.dumps({
        "env": env_id, "steps": steps, "seed": args.seed, "return_fastembody": final,
        "return_cleanrl_published": CLEANRL_PUBLISHED["return_mean"], "return_cleanrl_published_std": CLEANRL_PUBLISHED["return_std"],
        "ratio": final / CLEANRL_PUBLISHED["return_mean"], "wall_s": wall, "steps_per_s": steps / wall,
    }))


if __name__ == "__main__":
    main()
