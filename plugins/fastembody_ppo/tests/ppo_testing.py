"""Test helpers for the PPO plugin: a tiny pure-torch env and a rollout loop shaped like the trainer's (AlgorithmHandle's docstring)."""
from typing import Any, Dict, List

import torch

from fastembody_core import EnvSpec, RunContext, VectorEnv
from fastembody_core.testing import learning_seed
from fastembody_ppo import PPOParams


class PointMassEnv(VectorEnv):
    """2-D point masses pushed towards the origin; time-out after ``max_episode_length``, terminated when far."""

    def __init__(self, num_envs: int = 64, max_episode_length: int = 50, critic: bool = True, seed: int = 0):
        self.num_envs, self.num_actions, self.max_episode_length, self.step_dt = num_envs, 2, max_episode_length, 0.1
        self.device = torch.device("cpu")
        self.observation_shapes = {"policy": (4,)}
        if critic:
            self.observation_shapes["critic"] = (6,)
        self.gen = torch.Generator().manual_seed(seed)
        self.pos, self.vel = torch.zeros(num_envs, 2), torch.zeros(num_envs, 2)
        self.episode_length_buf = torch.zeros(num_envs, dtype=torch.long)

    def _reset(self, ids: torch.Tensor) -> None:
        self.pos[ids] = 2.0 * torch.rand(len(ids), 2, generator=self.gen) - 1.0
        self.vel[ids] = 0.0
        self.episode_length_buf[ids] = 0

    def reset(self) -> Dict[str, torch.Tensor]:
        self._reset(torch.arange(self.num_envs))
        return self.get_observations()

    def get_observations(self) -> Dict[str, torch.Tensor]:
        obs = {"policy": torch.cat([self.pos, self.vel], 1)}
        if "critic" in self.observation_shapes:
            obs["critic"] = torch.cat([self.pos, self.vel, self.pos.square()], 1)
        return obs

    def step(self, actions: torch.Tensor):
        a = actions.clamp(-1.0, 1.0)
        self.vel = 0.9 * self.vel + self.step_dt * 2.0 * a
        self.pos = self.pos + self.step_dt * self.vel
        rewards = -self.pos.square().sum(1) - 0.01 * a.square().sum(1)
        self.episode_length_buf += 1
        terminated = self.pos.abs().max(1).values > 3.0
        time_outs = (self.episode_length_buf >= self.max_episode_length) & ~terminated
        dones = terminated | time_outs
        ids = dones.nonzero().flatten()
        if len(ids):
            self._reset(ids)
        return self.get_observations(), rewards, dones, {"time_outs": time_outs}


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
