"""Fixtures: a hand-made PD teacher for the example point-mass env, a Go2-like EnvSpec, teacher checkpoints.

The PD teacher is a real ``fastembody_core.nn.GaussianActor`` (identity activations, so its weights can encode
``a = -kp * pos - kd * vel``) saved as a PPO checkpoint: tests need no PPO training and no other plugin.
"""
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import pytest
import torch

from fastembody_core import EnvSpec, RunContext, save_checkpoint
from fastembody_core.nn import GaussianActor, policy_spec
from fastembody_example_pointmass.config import PointMassParams
from fastembody_example_pointmass.env import PointMassEnv

KP, KD = 5.0, 3.0

GO2_TERMS = {
    "policy": ("base_lin_vel", "base_ang_vel", "projected_gravity", "commands", "joint_pos", "joint_vel", "actions"),
    "deployable": ("base_ang_vel", "projected_gravity", "commands", "joint_pos", "joint_vel", "actions"),
    "critic": ("base_lin_vel", "base_ang_vel", "projected_gravity", "commands", "joint_pos", "joint_vel", "actions",
               "friction", "payload"),
}
GO2_PRIVILEGED = ("base_lin_vel", "friction", "payload")


def write_teacher(path: Path, spec: Dict, actor: Optional[GaussianActor] = None, algorithm: str = "ppo") -> Path:
    """Save ``actor`` (default: a fresh one for ``spec``) as a PPO-layout checkpoint."""
    actor = actor if actor is not None else GaussianActor(spec)
    state = {"format": "fastembody.ppo/1", "model_spec": spec, "actor_state": actor.state_dict()}
    save_checkpoint(path, {"iteration": 7, "algorithm": algorithm, "algorithm_state": state})
    return path


def pd_actor(kp: float = KP, kd: float = KD) -> GaussianActor:
    """``a = -kp * pos - kd * vel`` on the point mass's ``policy`` observation ``[pos(2), vel(2)]``."""
    spec = policy_spec(["policy"], 4, 2, [8], activation="identity", init_noise_std=0.5)
    actor = GaussianActor(spec)
    with torch.no_grad():
        first, last = actor.model.mlp[0], actor.model.mlp[2]
        first.weight.zero_()
        first.bias.zero_()
        first.weight[:4, :4] = torch.eye(4)
        last.weight.zero_()
        last.bias.zero_()
        last.weight[0, 0], last.weight[0, 2], last.weight[1, 1], last.weight[1, 3] = -kp, -kd, -kp, -kd
    return actor


@pytest.fixture
def pd_teacher(tmp_path) -> Path:
    """A PD-controller teacher checkpoint for ``example-pointmass``."""
    actor = pd_actor()
    return write_teacher(tmp_path / "teacher" / "checkpoints" / "model_7.pt", actor.spec, actor)


@pytest.fixture
def pointmass() -> Callable[..., PointMassEnv]:
    def make(num_envs: int = 64, seed: int = 0) -> PointMassEnv:
        return PointMassEnv(PointMassParams(num_envs=num_envs), RunContext(seed=seed))

    return make


def episode_return(env: PointMassEnv, policy: Callable, reset: Optional[Callable] = None, steps: int = 100) -> float:
    """Mean return of one full episode of every env (point-mass episodes are 100 steps, all aligned)."""
    total = torch.zeros(env.num_envs)
    with torch.inference_mode():
        obs = env.reset()
        if reset is not None:
            reset()
        for _ in range(steps):
            obs, rewards, _, _ = env.step(policy(obs))
            total += rewards
    return float(total.mean())


@pytest.fixture
def go2_spec() -> Callable[..., EnvSpec]:
    """An EnvSpec with go2-toy's observation layout (policy 48, deployable 45, privileged critic)."""

    def make(num_envs: int = 8, shapes: Optional[Dict[str, Sequence[int]]] = None) -> EnvSpec:
        default = {"policy": (48,), "deployable": (45,), "critic": (50,)}
        return EnvSpec(
            num_envs=num_envs,
            num_actions=12,
            observation_shapes={k: tuple(v) for k, v in (shapes or default).items()},
            max_episode_length=1000,
            step_dt=0.02,
            device="cpu",
            observation_terms=dict(GO2_TERMS),
            privileged_terms=GO2_PRIVILEGED,
        )

    return make


@pytest.fixture
def go2_teacher(tmp_path) -> Callable[..., Path]:
    """A (random) teacher checkpoint reading go2's 48-dim ``policy`` group, or other groups/widths."""

    def make(groups: List[str] = ["policy"], obs_dim: int = 48, name: str = "go2_teacher.pt", **arch) -> Path:
        spec = policy_spec(groups, obs_dim, 12, [32, 32], **arch)
        return write_teacher(tmp_path / name, spec)

    return make


@pytest.fixture
def run_episode() -> Callable[..., float]:
    """``run_episode(env, policy, reset=None)``: mean return of one aligned episode of every env."""
    return episode_return


@pytest.fixture
def teacher_file() -> Callable[..., Path]:
    """``teacher_file(path, spec, actor=None, algorithm="ppo")``: write a teacher checkpoint."""
    return write_teacher
