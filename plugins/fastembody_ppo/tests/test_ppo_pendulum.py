"""PPO solves gymnasium Pendulum-v1 in a test-sized budget (through the registry: gym:* and ppo plugins)."""
import time

import pytest
import torch

from fastembody_core import RunContext, get_registry

import gymnasium  # noqa: F401,E402  (installed by scripts/setup.sh: missing, this fails, never skips)


def test_ppo_reaches_minus_300_on_pendulum():
    torch.manual_seed(0)
    ctx = RunContext(seed=0, config={"env": {"name": "gym:Pendulum-v1"}})
    env_reg = get_registry().get("envs", "gym:Pendulum-v1")
    env = env_reg.factory(env_reg.params(num_envs=32, reward_scale=0.1), ctx)
    algo_reg = get_registry().get("algorithms", "ppo")
    params = algo_reg.params(
        actor_hidden_dims=[64, 64], critic_hidden_dims=[64, 64], activation="tanh", obs_normalization=True,
        num_learning_epochs=10, num_mini_batches=8, entropy_coef=0.0, gamma=0.95, precision="fp32",
    )
    algo = algo_reg.factory(env.spec(), params, ctx)
    algo.setup(64)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    returns, start = [], time.time()
    obs = env.reset()
    try:
        for _ in range(60):  # 60 x 64 x 32 = 123k env steps
            with torch.inference_mode():
                for _ in range(64):
                    obs, rewards, dones, extras = env.step(algo.act(obs))
                    algo.process_env_step(obs, rewards, dones, extras)
                    if "episode" in extras:
                        returns.extend(extras["episode"]["return"].tolist())
            algo.update(obs)
    finally:
        torch.set_num_threads(threads)
        env.close()
    first, last = sum(returns[:32]) / 32, sum(returns[-64:]) / 64
    assert first < -900, first  # the random policy
    assert last > -300, (first, last, time.time() - start)
