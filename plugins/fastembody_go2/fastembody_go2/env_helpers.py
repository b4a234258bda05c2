"""Tensor helpers every Go2 env shares: action checking, episode statistics, command sampling, initial poses,
due envs."""
import math
from typing import Any, Callable, Dict, NamedTuple, Optional, Sequence, Tuple

import torch

from fastembody_core import EnvError

from .kinematics import leg_kinematics, yaw_quat


def checked_actions(actions: torch.Tensor, num_envs: int, num_actions: int, device: Any, check: bool, clip: float,
                    env: str) -> torch.Tensor:
    """Float32 actions on ``device``, clipped to ±``clip``; NaN/inf raise EnvError (``check``) or become 0."""
    if tuple(actions.shape) != (num_envs, num_actions):
        raise EnvError(f"{env}: actions must have shape ({num_envs}, {num_actions}), got {tuple(actions.shape)}")
    actions = actions.detach().to(device=device, dtype=torch.float32)
    if check:
        if not bool(torch.isfinite(actions).all()):
            bad = int((~torch.isfinite(actions)).any(-1).sum())
            raise EnvError(f"{env}: NaN/inf in the actions of {bad} env(s); the env state was not changed "
                           f"(set env.params.check_actions: false to replace them by 0 instead)")
    else:
        actions = torch.nan_to_num(actions, nan=0.0, posinf=0.0, neginf=0.0)
    return actions.clamp(-clip, clip)


def episode_stats(ids: torch.Tensor, terminated: torch.Tensor, episode_sums: torch.Tensor,
                  episode_length_buf: torch.Tensor, tracking_error_sum: torch.Tensor, reward_terms: Sequence[str],
                  episode_length_s: float) -> Dict[str, torch.Tensor]:
    """``extras["episode"]`` of the envs ``ids`` that just finished: per-term reward per second, fall rate and
    mean velocity-tracking error."""
    sums = episode_sums[ids].mean(0) / episode_length_s
    stats = {f"rew_{name}": sums[i] for i, name in enumerate(reward_terms)}
    lengths = episode_length_buf[ids].clamp(min=1).to(torch.float32)
    stats["fall_rate"] = terminated[ids].to(torch.float32).mean()
    stats["lin_vel_tracking_error"] = (tracking_error_sum[ids] / lengths).mean()
    return stats


def sample_commands(cp: Any, k: int, uniform: Callable[..., torch.Tensor], generator: torch.Generator,
                    device: Any) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
    """``(commands [k, 3], heading [k], standing [k] or None)`` drawn from the ``commands`` params ``cp``:
    |v_xy| below ``zero_below`` becomes 0; a ``standing_fraction`` of the envs gets a zero command (the caller
    sets their heading to the current yaw)."""
    commands = torch.stack((uniform(cp.lin_vel_x, k), uniform(cp.lin_vel_y, k), uniform(cp.ang_vel_yaw, k)), dim=-1)
    heading = uniform(cp.heading, k)
    commands[:, :2] *= (torch.norm(commands[:, :2], dim=1) > cp.zero_below).unsqueeze(1)
    standing = None
    if cp.standing_fraction > 0:
        standing = torch.rand(k, generator=generator, device=device) < cp.standing_fraction
        commands *= ~standing.unsqueeze(1)
    return commands, heading, standing


def due_envs(episode_length_buf: torch.Tensor, every_steps: int, skip_start: bool = False) -> torch.Tensor:
    """Ids of the envs whose episode step is a multiple of ``every_steps`` (not step 0 if ``skip_start``)."""
    due = (episode_length_buf % every_steps) == 0
    if skip_start:
        due &= episode_length_buf > 0
    return due.nonzero(as_tuple=False).flatten()


class InitialPose(NamedTuple):
    """A new episode's initial state of ``k`` robots (before placing them on the ground)."""

    joint_pos: torch.Tensor
    """[k, 12] joint angles (legged_gym order), the default pose scaled and clipped to the joint limits."""
    quat: torch.Tensor
    """[k, 4] base orientation (w, x, y, z): a random heading."""
    lin_vel: torch.Tensor
    """[k, 3] base linear velocity, body frame."""
    ang_vel: torch.Tensor
    """[k, 3] base angular velocity, body frame."""
    foot_b: torch.Tensor
    """[k, 4, 3] foot centres in the base frame."""
    clearance: torch.Tensor
    """[k] gap between the lowest foot and the ground at spawn [m]."""


def sample_initial_pose(k: int, rnd: Any, default_joint_pos: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor,
                        geometry: Any, uniform: Callable[..., torch.Tensor]) -> InitialPose:
    """go2-toy's initial-state distribution from the ``randomization`` params ``rnd`` (the draw order is part of
    every env's reproducibility: joint scale, heading, linear and angular velocity, clearance)."""
    joint_pos = default_joint_pos * uniform(rnd.init_joint_pos_scale, k, 12)
    joint_pos = torch.maximum(torch.minimum(joint_pos, upper), lower)
    quat = yaw_quat(uniform((-math.pi, math.pi), k))
    lin_vel = uniform((-rnd.init_base_vel, rnd.init_base_vel), k, 3)
    ang_vel = uniform((-rnd.init_base_vel, rnd.init_base_vel), k, 3)
    clearance = uniform((0.005, 0.03), k)
    foot_b, _, _ = leg_kinematics(joint_pos.view(k, 4, 3), geometry)
    return InitialPose(joint_pos, quat, lin_vel, ang_vel, foot_b, clearance)
