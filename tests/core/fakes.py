"""A tiny deterministic VectorEnv and AlgorithmHandle for core tests (trainer, checkpoints, eval, export).

``FakeEnv``: a noisy point that the actions push around; reward for keeping it near a target; time limit plus
an early termination; its RNG is a private ``torch.Generator`` saved in ``state_dict``. ``FakeAlgorithm``: a
linear Gaussian policy trained by a REINFORCE-with-baseline step with Adam; it draws from the torch, Python and
NumPy global RNGs so that a resume that forgets one of them shows up as different parameters.

Register both in-process with ``register_plugin(FakePlugin(), "fake-plugin")`` (fixture in tests/conftest.py):
env ``fake-env``, algorithm ``fake-algorithm``.
"""
import os
import random
import signal
from dataclasses import dataclass
from typing import Any, Dict, List, Literal, Optional

import numpy as np
import torch
from torch import nn

from fastembody_core import AlgorithmHandle, CheckpointError, EnvSpec, RunContext, VectorEnv, hookimpl


@dataclass
class FakeEnvParams:
    num_envs: int = 4
    """Envs stepped together."""
    obs_dim: int = 3
    """Size of the 'policy' observation group ('critic' has one more entry)."""
    num_actions: int = 2
    """Action size (<= obs_dim)."""
    max_episode_length: int = 12
    """Time limit in steps."""
    nan_obs_at_step: int = -1
    """Global step at which observations become NaN (-1: never)."""
    signal_at_step: int = -1
    """Global step at which the env sends SIGINT to its own process (-1: never)."""
    course: Optional[Literal["easy", "impossible", "silent"]] = None
    """Evaluation course (contracts.COURSE_PARAM): every episode succeeds on ``easy``, none on ``impossible``;
    ``silent`` breaks the contract (no course_success)."""


class FakeEnv(VectorEnv):
    """Deterministic given ``ctx.seed``; ``state_dict`` restores it exactly."""

    joint_names = ("j0", "j1")

    def __init__(self, params: FakeEnvParams, ctx: RunContext):
        self.params = params
        self.num_envs = params.num_envs
        self.num_actions = params.num_actions
        self.max_episode_length = params.max_episode_length
        self.step_dt = 0.02
        self.device = torch.device("cpu")
        self.observation_shapes = {"policy": (params.obs_dim,), "critic": (params.obs_dim + 1,)}
        self.observation_terms = {"policy": ("position",), "critic": ("position", "time")}
        self.generator = torch.Generator().manual_seed(1000 + int(ctx.seed))
        self.state = torch.zeros(params.num_envs, params.obs_dim)
        self.episode_length_buf = torch.zeros(params.num_envs, dtype=torch.long)
        self.global_step = 0
        self.closed = False

    def _noise(self, *shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=self.generator)

    def reset(self) -> Dict[str, torch.Tensor]:
        self.state = self._noise(self.num_envs, self.params.obs_dim)
        self.episode_length_buf.zero_()
        return self.get_observations()

    def get_observations(self) -> Dict[str, torch.Tensor]:
        policy = self.state.clone()
        if 0 <= self.params.nan_obs_at_step <= self.global_step:
            policy[0, 0] = float("nan")
        time = self.episode_length_buf.float().unsqueeze(1) / self.max_episode_length
        return {"policy": policy, "critic": torch.cat([self.state, time], dim=1)}

    def step(self, actions: torch.Tensor):
        self.global_step += 1
        if self.global_step == self.params.signal_at_step:
            os.kill(os.getpid(), signal.SIGINT)
        push = torch.zeros_like(self.state)
        push[:, : self.num_actions] = actions.clamp(-3.0, 3.0)
        self.state = 0.8 * self.state + 0.3 * push + 0.05 * self._noise(*self.state.shape)
        distance = self.state.pow(2).sum(dim=1)
        rewards = 1.0 - distance
        self.episode_length_buf += 1
        time_outs = self.episode_length_buf >= self.max_episode_length
        dones = time_outs | (distance > 16.0)
        extras: Dict[str, Any] = {"time_outs": time_outs}
        if bool(dones.any()):
            extras["episode"] = {"distance": distance[dones].mean(), "steps": self.episode_length_buf[dones].float()}
            if self.params.course in ("easy", "impossible"):
                crossed = torch.full((int(dones.sum()),), float(self.params.course == "easy"))
                extras["episode"].update(course_success=crossed, course_progress=distance[dones])
            ids = dones.nonzero().flatten()
            self.state[ids] = self._noise(len(ids), self.params.obs_dim)
            self.episode_length_buf[ids] = 0
        return self.get_observations(), rewards, dones, extras

    def state_dict(self) -> Dict[str, Any]:
        return {
            "state": self.state.clone(),
            "episode_length_buf": self.episode_length_buf.clone(),
            "generator": self.generator.get_state(),
            "global_step": self.global_step,
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.state = state["state"].clone()
        self.episode_length_buf = state["episode_length_buf"].clone()
        self.generator.set_state(state["generator"])
        self.global_step = int(state["global_step"])

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeAlgorithmParams:
    learning_rate: float = 0.01
    """Adam step size."""
    gamma: float = 0.9
    """Discount of the returns."""
    nan_loss_at_update: int = -1
    """Update number (1-based) whose loss and parameters become NaN (-1: never)."""


class FakePolicy(nn.Module):
    """What ``export_policy`` returns: normaliser baked in, then a linear map."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, linear: nn.Linear, obs_groups: List[str]):
        super().__init__()
        self.register_buffer("obs_mean", mean.clone())
        self.register_buffer("obs_std", std.clone())
        self.linear = linear
        self.obs_groups = list(obs_groups)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.linear((obs - self.obs_mean) / self.obs_std)


class FakeAlgorithm(AlgorithmHandle):
    """Linear Gaussian policy + linear critic, REINFORCE with a baseline; uses all three global RNGs."""

    name = "fake-algorithm"

    def __init__(self, spec: EnvSpec, params: FakeAlgorithmParams, ctx: RunContext):
        self.spec, self.params = spec, params
        self.obs_dim = spec.observation_shapes["policy"][0]
        self.actor = nn.Linear(self.obs_dim, spec.num_actions)
        self.critic = nn.Linear(spec.observation_shapes["critic"][0], 1)
        self.log_std = nn.Parameter(torch.zeros(spec.num_actions))
        self.obs_mean = torch.zeros(self.obs_dim)
        self.obs_std = torch.ones(self.obs_dim)
        self.optimizer = torch.optim.Adam(self.parameters(), lr=params.learning_rate)
        self.updates = 0
        self.num_steps_per_env = 0
        self.storage: List[Dict[str, torch.Tensor]] = []
        self.training = True

    def parameters(self) -> List[nn.Parameter]:
        return [*self.actor.parameters(), *self.critic.parameters(), self.log_std]

    def setup(self, num_steps_per_env: int) -> None:
        self.num_steps_per_env = num_steps_per_env

    def _normalize(self, obs: torch.Tensor) -> torch.Tensor:
        return (obs - self.obs_mean) / self.obs_std

    def act(self, obs: Dict[str, torch.Tensor]) -> torch.Tensor:
        mean = self.actor(self._normalize(obs["policy"]))
        actions = mean + self.log_std.exp() * torch.randn_like(mean)
        self.storage.append({"policy": obs["policy"], "critic": obs["critic"], "actions": actions})
        return actions

    def process_env_step(self, obs, rewards, dones, extras) -> None:
        self.storage[-1]["rewards"] = rewards.clone()
        self.storage[-1]["dones"] = dones.float()

    def update(self, last_obs: Dict[str, torch.Tensor]) -> Dict[str, float]:
        self.updates += 1
        steps = self.storage
        self.storage = []
        returns, running = [], torch.zeros(self.spec.num_envs)
        for step in reversed(steps):
            running = step["rewards"] + self.params.gamma * running * (1.0 - step["dones"])
            returns.append(running)
        returns = torch.stack(returns[::-1]).flatten()
        policy_obs = torch.stack([s["policy"] for s in steps]).flatten(0, 1)
        critic_obs = torch.stack([s["critic"] for s in steps]).flatten(0, 1)
        actions = torch.stack([s["actions"] for s in steps]).flatten(0, 1)
        self.obs_mean = 0.9 * self.obs_mean + 0.1 * policy_obs.mean(0)
        self.obs_std = 0.9 * self.obs_std + 0.1 * (policy_obs.std(0) + 1e-3)
        order = torch.randperm(len(returns))
        losses = {"surrogate": 0.0, "value_function": 0.0}
        for batch in order.chunk(2):
            values = self.critic(critic_obs[batch]).squeeze(1)
            advantages = (returns[batch] - values).detach()
            mean = self.actor(self._normalize(policy_obs[batch]))
            dist = torch.distributions.Normal(mean, self.log_std.exp())
            surrogate = -(dist.log_prob(actions[batch]).sum(1) * advantages).mean()
            value_loss = (returns[batch] - values).pow(2).mean()
            self.optimizer.zero_grad()
            (surrogate + 0.5 * value_loss).backward()
            self.optimizer.step()
            losses["surrogate"] += float(surrogate.detach()) / 2
            losses["value_function"] += float(value_loss.detach()) / 2
        with torch.no_grad():  # tiny jitter from the Python and NumPy RNGs: forgetting to restore them shows
            self.log_std.add_(1e-4 * (random.random() - 0.5) + 1e-4 * (float(np.random.rand()) - 0.5))
            if self.updates == self.params.nan_loss_at_update:
                self.actor.weight.fill_(float("nan"))
                losses["surrogate"] = float("nan")
        return losses

    def act_inference(self, obs: Dict[str, torch.Tensor]) -> torch.Tensor:
        return self.actor(self._normalize(obs["policy"]))

    def export_policy(self) -> nn.Module:
        linear = nn.Linear(self.obs_dim, self.spec.num_actions)
        linear.load_state_dict(self.actor.state_dict())
        return FakePolicy(self.obs_mean, self.obs_std, linear, ["policy"]).eval()

    def state_dict(self) -> Dict[str, Any]:
        return {
            "architecture": {"obs_dim": self.obs_dim, "num_actions": self.spec.num_actions},
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "log_std": self.log_std.detach().clone(),
            "obs_mean": self.obs_mean.clone(),
            "obs_std": self.obs_std.clone(),
            "optimizer": self.optimizer.state_dict(),
            "updates": self.updates,
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        saved = tuple(state["actor"]["weight"].shape)
        if saved != tuple(self.actor.weight.shape):
            raise CheckpointError(f"actor weight shape {saved} in checkpoint, {tuple(self.actor.weight.shape)} in model")
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        with torch.no_grad():
            self.log_std.copy_(state["log_std"])
        self.obs_mean, self.obs_std = state["obs_mean"].clone(), state["obs_std"].clone()
        self.optimizer.load_state_dict(state["optimizer"])
        self.updates = int(state["updates"])

    def train_mode(self) -> None:
        self.training = True

    def eval_mode(self) -> None:
        self.training = False

    def metrics(self) -> Dict[str, float]:
        return {"mean_std": float(self.log_std.detach().exp().mean())}

    def flat_parameters(self) -> torch.Tensor:
        """Every learned number in one vector (to compare two runs exactly)."""
        return torch.cat([p.detach().flatten() for p in self.parameters()] + [self.obs_mean, self.obs_std])


class DeployableFakeEnv(FakeEnv):
    """FakeEnv that describes itself to a robot-side runner (contracts.DeployableEnv)."""

    def deployment_info(self) -> Dict[str, Any]:
        dim = self.params.obs_dim
        return {"robot": "fake", "joint_names": list(self.joint_names), "action_scale": 0.5,
                "observation_terms": {"position": {"dim": dim, "scale": 1.0}, "time": {"dim": 1, "scale": 1.0}}}


def make_fake_env(params: FakeEnvParams, ctx: RunContext) -> FakeEnv:
    return FakeEnv(params, ctx)


def make_deployable_fake_env(params: FakeEnvParams, ctx: RunContext) -> FakeEnv:
    return DeployableFakeEnv(params, ctx)


def make_fake_algorithm(spec: EnvSpec, params: FakeAlgorithmParams, ctx: RunContext) -> FakeAlgorithm:
    return FakeAlgorithm(spec, params, ctx)


class FakePlugin:
    """In-process plugin registering ``fake-env`` and ``fake-algorithm``."""

    @hookimpl
    def register_envs(self, register):
        register("fake-env", make_fake_env, params=FakeEnvParams, description="Deterministic test env")
        register("fake-robot", make_deployable_fake_env, params=FakeEnvParams, description="fake-env with a "
                 "deployment description")

    @hookimpl
    def register_algorithms(self, register):
        register("fake-algorithm", make_fake_algorithm, params=FakeAlgorithmParams, description="Test learner")


def fake_experiment(
    max_iterations: int = 4,
    save_interval: int = 2,
    env: Optional[Dict[str, Any]] = None,
    algorithm: Optional[Dict[str, Any]] = None,
    trainer: Optional[Dict[str, Any]] = None,
    seed: int = 3,
) -> Dict[str, Any]:
    """A plain-data experiment config using the fakes (what a YAML file would hold)."""
    trainer_params = {
        "max_iterations": max_iterations,
        "num_steps_per_env": 8,
        "save_interval": save_interval,
        "progress": False,
        "tensorboard": False,
    }
    trainer_params.update(trainer or {})
    return {
        "name": "fake",
        "seed": seed,
        "device": "cpu",
        "env": {"name": "fake-env", "params": dict(env or {})},
        "algorithm": {"name": "fake-algorithm", "params": dict(algorithm or {})},
        "trainer": {"name": "on-policy", "params": trainer_params},
    }


def train_fake_run(run_dir: Any, **experiment: Any) -> Dict[str, Any]:
    """Train a small fake run through the real pipeline (the fake plugin must be registered)."""
    from fastembody_core.config import experiment_from_dict
    from fastembody_core.pipeline import run_experiment

    return run_experiment(experiment_from_dict(fake_experiment(**experiment)), run_dir=run_dir)
