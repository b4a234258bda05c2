"""The Go2 task's reward terms (legged_gym definitions), as functions of a small state struct.

Every go2 env (toy, Isaac, MuJoCo) fills a :class:`LocomotionState` from its simulator and calls
:func:`compute_rewards`, so the terms and their names agree across backends. Each function returns the
unscaled term ``[N]``; :func:`compute_rewards` multiplies by ``scale * dt``.
"""
from typing import Callable, Dict, NamedTuple, Sequence, Tuple

import torch

from .task import REWARD_TERMS
from .kinematics import wrap_to_pi


class LocomotionState(NamedTuple):
    """What the reward terms read, at the end of a policy step (body frame unless noted)."""

    base_lin_vel: torch.Tensor
    """[N, 3] m/s."""
    base_ang_vel: torch.Tensor
    """[N, 3] rad/s."""
    projected_gravity: torch.Tensor
    """[N, 3] unit gravity direction in the body frame."""
    base_height: torch.Tensor
    """[N] base origin height above the ground [m]."""
    commands: torch.Tensor
    """[N, 3] (vx, vy, yaw rate)."""
    joint_pos: torch.Tensor
    """[N, 12]."""
    joint_vel: torch.Tensor
    """[N, 12]."""
    last_joint_vel: torch.Tensor
    """[N, 12] joint velocities one policy step earlier."""
    default_joint_pos: torch.Tensor
    """[12]."""
    soft_joint_lower: torch.Tensor
    """[12] lower soft limit (soft_dof_pos_limit of the range, centred)."""
    soft_joint_upper: torch.Tensor
    """[12]."""
    torques: torch.Tensor
    """[N, 12] applied joint torques [N·m]."""
    actions: torch.Tensor
    """[N, 12]."""
    last_actions: torch.Tensor
    """[N, 12]."""
    foot_contacts: torch.Tensor
    """[N, 4] bool: foot carries > 1 N."""
    first_contacts: torch.Tensor
    """[N, 4] bool: foot touched down this step (after being in the air)."""
    feet_air_time: torch.Tensor
    """[N, 4] seconds in the air up to this step (valid where first_contacts)."""
    foot_speed_xy: torch.Tensor
    """[N, 4] horizontal foot speed (world) [m/s]."""
    collisions: torch.Tensor
    """[N] number of penalised bodies (thighs, calves) touching the ground."""
    terminated: torch.Tensor
    """[N] bool: the episode ended in a fall (not a time-out)."""
    foot_clearance: torch.Tensor
    """[N, 4] height of each foot sphere's bottom above the ground under its centre [m] (the column top on
    terrain: ``terrain.field.ground_height``, the lookup every backend shares)."""


class RewardShape(NamedTuple):
    """Shape parameters of the terms."""

    tracking_sigma: float
    base_height_target: float
    feet_air_time_target: float
    dt: float
    feet_clearance_target: float


RewardFn = Callable[[LocomotionState, RewardShape], torch.Tensor]


def tracking_lin_vel(s: LocomotionState, p: RewardShape) -> torch.Tensor:
    error = ((s.commands[:, :2] - s.base_lin_vel[:, :2]) ** 2).sum(-1)
    return torch.exp(-error / p.tracking_sigma)


def tracking_ang_vel(s: LocomotionState, p: RewardShape) -> torch.Tensor:
    return torch.exp(-((s.commands[:, 2] - s.base_ang_vel[:, 2]) ** 2) / p.tracking_sigma)


def lin_vel_z(s: LocomotionState, p: RewardShape) -> torch.Tensor:
    return s.base_lin_vel[:, 2] ** 2


def ang_vel_xy(s: LocomotionState, p: RewardShape) -> torch.Tensor:
    return (s.base_ang_vel[:, :2] ** 2).sum(-1)


def orientation(s: LocomotionState, p: RewardShape) -> torch.Tensor:
    return (s.projected_gravity[:, :2] ** 2).sum(-1)


def torques(s: LocomotionState, p: RewardShape) -> torch.Tensor:
    return (s.torques ** 2).sum(-1)


def dof_vel(s: LocomotionState, p: RewardShape) -> torch.Tensor:
    return (s.joint_vel ** 2).sum(-1)


def dof_acc(s: LocomotionState, p: RewardShape) -> torch.Tensor:
    return (((s.last_joint_vel - s.joint_vel) / p.dt) ** 2).sum(-1)


def action_rate(s: LocomotionState, p: RewardShape) -> torch.Tensor:
    return ((s.last_actions - s.actions) ** 2).sum(-1)


def base_height(s: LocomotionState, p: RewardShape) -> torch.Tensor:
    return (s.base_height - p.base_height_target) ** 2


def feet_air_time(s: LocomotionState, p: RewardShape) -> torch.Tensor:
    """Sum over touchdowns of (air time - target), only while a linear velocity is commanded."""
    reward = ((s.feet_air_time - p.feet_air_time_target) * s.first_contacts).sum(-1)
    return reward * (torch.norm(s.commands[:, :2], dim=1) > 0.1)


def collision(s: LocomotionState, p: RewardShape) -> torch.Tensor:
    return s.collisions


def dof_pos_limits(s: LocomotionState, p: RewardShape) -> torch.Tensor:
    below = (s.soft_joint_lower - s.joint_pos).clamp(min=0.0)
    above = (s.joint_pos - s.soft_joint_upper).clamp(min=0.0)
    return (below + above).sum(-1)


def stand_still(s: LocomotionState, p: RewardShape) -> torch.Tensor:
    moving = (s.joint_pos - s.default_joint_pos).abs().sum(-1)
    return moving * (torch.norm(s.commands[:, :2], dim=1) < 0.1)


def feet_slip(s: LocomotionState, p: RewardShape) -> torch.Tensor:
    return (s.foot_speed_xy ** 2 * s.foot_contacts).sum(-1)


def pose(s: LocomotionState, p: RewardShape) -> torch.Tensor:
    """Playground's pose term: exp(-Σ w (q - q0)²) with weights (1, 1, 0.1) per leg."""
    weights = torch.tensor((1.0, 1.0, 0.1), device=s.joint_pos.device).repeat(4)
    return torch.exp(-(weights * (s.joint_pos - s.default_joint_pos) ** 2).sum(-1))


def termination(s: LocomotionState, p: RewardShape) -> torch.Tensor:
    return s.terminated.to(s.base_height.dtype)


def feet_clearance(s: LocomotionState, p: RewardShape) -> torch.Tensor:
    """Isaac Lab's Spot foot clearance as a penalty: sum over feet of (clearance - target)² weighted by
    tanh(2 |v_xy|) (swinging feet count, standing ones do not), only while a linear velocity is commanded."""
    error = (s.foot_clearance - p.feet_clearance_target) ** 2 * torch.tanh(2.0 * s.foot_speed_xy)
    return error.sum(-1) * (torch.norm(s.commands[:, :2], dim=1) > 0.1)


REWARD_FUNCTIONS: Dict[str, RewardFn] = {
    "tracking_lin_vel": tracking_lin_vel,
    "tracking_ang_vel": tracking_ang_vel,
    "lin_vel_z": lin_vel_z,
    "ang_vel_xy": ang_vel_xy,
    "orientation": orientation,
    "torques": torques,
    "dof_vel": dof_vel,
    "dof_acc": dof_acc,
    "action_rate": action_rate,
    "base_height": base_height,
    "feet_air_time": feet_air_time,
    "collision": collision,
    "dof_pos_limits": dof_pos_limits,
    "stand_still": stand_still,
    "feet_slip": feet_slip,
    "pose": pose,
    "termination": termination,
    "feet_clearance": feet_clearance,
}
assert tuple(REWARD_FUNCTIONS) == REWARD_TERMS


def compute_rewards(
    s: LocomotionState,
    shape: RewardShape,
    terms: Sequence[str],
    scales: Sequence[float],
    only_positive: bool,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(reward [N], per-term rewards [N, len(terms)])``, each term times ``scale * dt``.

    As in legged_gym, with ``only_positive`` the total of every term but ``termination`` is clipped at zero
    before the termination term is added.
    """
    values = [REWARD_FUNCTIONS[name](s, shape) * (scale * shape.dt) for name, scale in zip(terms, scales)]
    per_term = torch.stack(values, dim=-1)
    if not only_positive:
        return per_term.sum(-1), per_term
    is_termination = [name == "termination" for name in terms]
    total = torch.zeros_like(s.base_height)
    done_term = torch.zeros_like(s.base_height)
    for value, is_term in zip(values, is_termination):
        if is_term:
            done_term = done_term + value
        else:
            total = total + value
    return total.clamp(min=0.0) + done_term, per_term


def heading_commands(commands: torch.Tensor, heading: torch.Tensor, yaw: torch.Tensor) -> torch.Tensor:
    """legged_gym's heading controller: yaw-rate command ``clip(0.5 wrap(heading - yaw), -1, 1)``."""
    yaw_rate = (0.5 * wrap_to_pi(heading - yaw)).clamp(-1.0, 1.0)
    return torch.cat((commands[:, :2], yaw_rate.unsqueeze(-1)), dim=-1)


def air_time_step(contacts: torch.Tensor, last_contacts: torch.Tensor, feet_air_time: torch.Tensor, dt: float
                  ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """legged_gym's contact filter: ``(contact_filt, first_contacts, air time incl. this step)`` per foot."""
    contact_filt = contacts | last_contacts
    first_contacts = (feet_air_time > 0.0) & contact_filt
    return contact_filt, first_contacts, feet_air_time + dt


def step_rewards(s: LocomotionState, contact_filt: torch.Tensor, shape: RewardShape, terms: Sequence[str],
                 scales: Sequence[float], only_positive: bool
                 ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(reward, per-term rewards, air time for the next step, velocity-tracking error |v_xy - command|)``."""
    reward, per_term = compute_rewards(s, shape, terms, scales, only_positive)
    air_time = s.feet_air_time * ~contact_filt
    tracking_error = torch.sqrt(((s.commands[:, :2] - s.base_lin_vel[:, :2]) ** 2).sum(-1))
    return reward, per_term, air_time, tracking_error
