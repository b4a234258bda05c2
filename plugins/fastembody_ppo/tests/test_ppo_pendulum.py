"""PPO solves gymnasium Pendulum-v1 in a test-sized budget (through the registry: gym:* and ppo plugins)."""
import time

import pytest
import torch

from fastembody_core import RunContext, get_registry
from fastembody_core.testing import learning_precision, learning_seed

import gymnasium  # noqa: F401,E402  (installed by scripts/setup.sh: missing, this fails, never skips)


@pytest.mark.learning
def test_ppo_reaches_minus_300_on_pendulum():
    seed = learning_seed(0)
    torch.manual_seed(seed)
    ctx = RunContext(seed=seed, config={"env": {"name": "gym:Pendulum-v1"}})
    env_reg = get_registry().get("envs", "gym:Pendulum-v1")
    env = env_reg.factory(env_reg.params(num_envs=64, reward_scale=0.1), ctx)
    algo_reg = get_registry().get("algorithms", "ppo")
    params = algo_reg.params(
        actor_hidden_dims=[64, 64], critic_hidden_dims=[64, 64], activation="tanh", obs_normalization=True,
        num_learning_epochs=10, num_mini_batches=8, entropy_coef=0.0, gamma=0.95, desired_kl=0.005, precision=learning_precision("fp32"),
    )
    algo = algo_reg.factory(env.spec(), params, ctx)
    algo.setup(64)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    returns, start = [], time.time()
    obs = env.reset()
    try:
        for _ in range(60):  # 60 x 64 x 64 = 246k env steps
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
    # seeds 0-9 (fp32): last -234 .. -168. With 32 envs and desired_kl 0.01 seed 3 stopped at -649 and seed 7
    # (64 envs) fell back to -839: too little data per update and too large steps for every seed to learn.
    assert last > -300, (first, last, time.time() - start)
