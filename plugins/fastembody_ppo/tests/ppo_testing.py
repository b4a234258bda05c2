"""Test helpers for the PPO plugin: the example point-mass env and a rollout loop shaped like the trainer's
(AlgorithmHandle's docstring)."""
from typing import Any, List

import torch

from fastembody_core import EnvSpec, RunContext, VectorEnv
from fastembody_core.testing import learning_seed
from fastembody_example_pointmass.config import PointMassParams
from fastembody_example_pointmass.env import PointMassEnv
from fastembody_ppo import PPOParams


def point_mass(num_envs: int = 64, episode_length: int = 50, critic: bool = True, seed: int = 0) -> PointMassEnv:
    """The example plugin's point masses (the env a third party would start from), with terminations when far and,
    with ``critic``, the privileged 6-dim ``critic`` group; reset."""
    params = PointMassParams(num_envs=num_envs, episode_length=episode_length, max_force=2.0, max_distance=3.0,
                             privileged=critic)
    env = PointMassEnv(params, RunContext(seed=seed))
    env.reset()
    return env


def make_ppo(env: VectorEnv, **overrides: Any):
    from fastembody_ppo.ppo import PPO

    params = dict(actor_hidden_dims=[32, 32], critic_hidden_dims=[32, 32], precision="fp32")
    params.update(overrides)
    return PPO(env.spec(), PPOParams(**params), RunContext(seed=learning_seed(0)))


def train(algo, env: VectorEnv, iterations: int, num_steps: int = 16) -> List[float]:
    """The trainer's loop; returns the mean reward per step of every iteration."""
    if algo.storage is None:
        algo.setup(num_steps)
    obs = env.get_observations()
    means = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: one thread is fastest and spares a shared CI machine
    try:
        for _ in range(iterations):
            means.append(_iteration(algo, env, obs))
            obs = env.get_observations()
    finally:
        torch.set_num_threads(threads)
    return means


def _iteration(algo, env: VectorEnv, obs) -> float:
    total = 0.0
    with torch.inference_mode():
        for _ in range(algo.num_steps_per_env):
            actions = algo.act(obs)
            obs, rewards, dones, extras = env.step(actions)
            algo.process_env_step(obs, rewards, dones, extras)
            total += float(rewards.mean())
    algo.update(obs)
    return total / algo.num_steps_per_env


def spec(num_envs: int = 8, critic: bool = True) -> EnvSpec:
    shapes = {"policy": (4,)}
    if critic:
        shapes["critic"] = (6,)
    return EnvSpec(num_envs=num_envs, num_actions=2, observation_shapes=shapes, max_episode_length=10, step_dt=0.1, device="cpu")
