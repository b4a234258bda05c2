"""Does it walk? Run a policy on go2-toy with fixed forward commands for one full episode per env.

Used by ``benchmarks/go2_toy_walk.py`` and the learning test. The criterion of the go2-toy issue: forward
commands of 0.5-1.0 m/s tracked with a mean error < 0.15 m/s, and < 5 % of episodes ending in a fall.
"""
import dataclasses
from typing import Callable, Dict, Optional, Tuple

import torch

from fastembody_core import RunContext

from .config import Go2ToyParams
from .env import Go2ToyEnv

Policy = Callable[[Dict[str, torch.Tensor]], torch.Tensor]


def forward_walk_params(
    params: Go2ToyParams, num_envs: int, speed: Tuple[float, float] = (0.5, 1.0), pushes: bool = False
) -> Go2ToyParams:
    """``params`` with forward-only commands U(speed) (no lateral, no yaw, never resampled in an episode)."""
    commands = dataclasses.replace(params.commands, lin_vel_x=speed, lin_vel_y=(0.0, 0.0), ang_vel_yaw=(0.0, 0.0),
                                   heading_command=False, resampling_time_s=params.episode_length_s + 1.0,
                                   zero_below=0.0, standing_fraction=0.0)
    randomization = dataclasses.replace(params.randomization, push_robots=pushes)
    return dataclasses.replace(params, num_envs=num_envs, commands=commands, randomization=randomization)


def evaluate_walking(
    policy: Policy,
    params: Go2ToyParams,
    num_envs: int = 512,
    seed: int = 12345,
    warmup_s: float = 1.0,
    speed: Tuple[float, float] = (0.5, 1.0),
    pushes: bool = False,
    env: Optional[Go2ToyEnv] = None,
) -> Dict[str, float]:
    """One episode per env under ``policy`` (deterministic actions from observations) with forward commands.

    Returns ``tracking_error`` (mean |v_xy - cmd_xy| in m/s over the steps after ``warmup_s`` of every episode,
    up to its end), ``fall_rate`` (fraction of episodes ending in a fall before the time limit), ``mean_speed``
    (forward body velocity), ``mean_command``, and two gait figures: ``duty_factor`` (fraction of time a foot is on
    the ground) and ``diagonal_support`` (fraction of steps on exactly one diagonal pair, FL+RR or FR+RL: a trot
    is mostly that, a walk or a pronk is not).
    """
    if env is None:
        env = Go2ToyEnv(forward_walk_params(params, num_envs, speed, pushes), RunContext(seed=seed))
    with torch.inference_mode():
        obs = env.reset()
        running = torch.ones(env.num_envs, dtype=torch.bool, device=env.device)
        fell = torch.zeros_like(running)
        error_sum = torch.zeros(env.num_envs, device=env.device)
        speed_sum = torch.zeros_like(error_sum)
        command_sum = torch.zeros_like(error_sum)
        counted = torch.zeros_like(error_sum)
        duty_sum, diagonal_sum = torch.zeros_like(error_sum), torch.zeros_like(error_sum)
        warmup = int(round(warmup_s / env.step_dt))
        for step in range(int(env.max_episode_length)):
            velocity = env.critic_obs[:, 0:2] / 2.0  # noise-free base_lin_vel (scale 2) of the current state
            command = env.commands[:, :2].clone()
            obs, _, dones, extras = env.step(policy(obs))
            if step >= warmup:
                # the velocity reached under this step's action, read before a reset replaced the state
                reached = torch.where(dones.unsqueeze(1), velocity, env.critic_obs[:, 0:2] / 2.0)
                live = running.to(error_sum.dtype)
                error_sum += live * (reached - command).norm(dim=1)
                speed_sum += live * reached[:, 0]
                command_sum += live * command[:, 0]
                counted += live
                contacts = env.last_contacts  # FL, FR, RL, RR (the critic's foot_contacts term)
                diagonal = (contacts[:, 0] == contacts[:, 3]) & (contacts[:, 1] == contacts[:, 2]) & (
                    contacts[:, 0] != contacts[:, 1])
                duty_sum += live * contacts.float().mean(1)
                diagonal_sum += live * diagonal.float()
            fell |= running & dones & ~extras["time_outs"]
            running &= ~dones
            if not bool(running.any()):
                break
    total = counted.sum().clamp(min=1.0)
    return {
        "tracking_error": float(error_sum.sum() / total),
        "fall_rate": float(fell.float().mean()),
        "mean_speed": float(speed_sum.sum() / total),
        "mean_command": float(command_sum.sum() / total),
        "duty_factor": float(duty_sum.sum() / total),
        "diagonal_support": float(diagonal_sum.sum() / total),
        "episodes": float(env.num_envs),
    }
