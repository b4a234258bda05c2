"""What go2-toy computes after the physics of a policy step: measurements, rewards, terminations, observations.

Pure functions over tensors (compiled together with the physics when ``compile`` is on); the env keeps the
buffers and the randomness.
"""
from typing import NamedTuple, Tuple

import torch

from .. import robot
from ..observations import ObservationInputs, concat_terms, term_values
from ..rewards import LocomotionState, RewardShape, air_time_step, heading_commands, step_rewards
from ..task import CRITIC_TERMS, POLICY_TERMS
from .dynamics import BodyState, EnvDynamics, joints_to_aos
from .kinematics import cross_components, leg_kinematics_components, rotate_components, rotate_inverse_components
from .kinematics import rotmat_components

KNEE_RADIUS = 0.02
"""A knee closer than this to the ground counts as a thigh/calf collision [m]."""
CONTACT_FORCE_THRESHOLD = 1.0
"""A foot is in contact when its normal force exceeds this [N]."""


class TaskConstants(NamedTuple):
    hip_x: torch.Tensor
    """[4, 1] (per-leg constants broadcast against [4, N] leg rows)."""
    hip_y: torch.Tensor
    side_y: torch.Tensor
    com_offset: Tuple[float, float, float]
    default_joint_pos: torch.Tensor
    """[12]."""
    soft_joint_lower: torch.Tensor
    soft_joint_upper: torch.Tensor
    reward_shape: RewardShape
    reward_terms: Tuple[str, ...]
    reward_scales: Tuple[float, ...]
    only_positive_rewards: bool
    heading_command: bool
    max_roll: float
    max_pitch: float
    clip_observations: float


class Measured(NamedTuple):
    base_lin_vel: torch.Tensor
    base_ang_vel: torch.Tensor
    projected_gravity: torch.Tensor
    base_height: torch.Tensor
    foot_speed_xy: torch.Tensor
    knee_height: torch.Tensor
    lowest_body_point: torch.Tensor
    yaw: torch.Tensor
    fallen: torch.Tensor


class StepOutput(NamedTuple):
    reward: torch.Tensor
    per_term: torch.Tensor
    terminated: torch.Tensor
    commands: torch.Tensor
    feet_air_time: torch.Tensor
    contacts: torch.Tensor
    tracking_error: torch.Tensor


def measure(s: BodyState, c: TaskConstants) -> Measured:
    """Body-frame velocities, gravity, heights, foot speeds and the fall condition of every env (env-major)."""
    pos, quat, lin_vel, ang_vel = (tuple(x.unbind(0)) for x in (s.pos, s.quat, s.lin_vel, s.ang_vel))
    rot = rotmat_components(quat)
    to_origin = (-c.com_offset[0], -c.com_offset[1], -c.com_offset[2])  # CoM -> base origin, body frame
    base_lin_vel = tuple(a + b for a, b in zip(rotate_inverse_components(rot, lin_vel),  # type: ignore[arg-type]
                                               cross_components(ang_vel, to_origin)))
    base_height = pos[2] + rot[6] * to_origin[0] + rot[7] * to_origin[1] + rot[8] * to_origin[2]
    foot, knee, columns = leg_kinematics_components(*s.joint_pos.unbind(0), c.hip_x, c.hip_y, c.side_y,
                                                    robot.THIGH_LENGTH, robot.CALF_LENGTH)
    lever = tuple(f - o for f, o in zip(foot, c.com_offset))
    leg_vel = tuple(sum(col[i] * dq for col, dq in zip(columns, s.joint_vel.unbind(0))) for i in range(3))
    rel_vel = tuple(a + b for a, b in zip(cross_components(ang_vel, lever), leg_vel))  # type: ignore[arg-type]
    foot_vel = rotate_components(rot, rel_vel)  # type: ignore[arg-type]
    foot_speed = torch.sqrt((lin_vel[0] + foot_vel[0]) ** 2 + (lin_vel[1] + foot_vel[1]) ** 2)
    knee_height = pos[2] + sum(r * (k - o) for r, k, o in zip(rot[6:], knee, c.com_offset))
    # lowest point of the trunk box (support function along -z) and of the head sphere
    hx, hy, hz = robot.TRUNK_HALF_SIZES
    trunk = base_height - (rot[6].abs() * hx + rot[7].abs() * hy + rot[8].abs() * hz)
    cx, cy, cz = robot.HEAD_CENTER
    head = base_height + rot[6] * cx + rot[7] * cy + rot[8] * cz - robot.HEAD_RADIUS
    lowest = torch.minimum(trunk, head)
    roll, pitch = torch.atan2(rot[7], rot[8]), torch.asin((-rot[6]).clamp(-1.0, 1.0))
    yaw = torch.atan2(rot[3], rot[0])
    finite = torch.isfinite(s.pos).all(0) & torch.isfinite(s.lin_vel).all(0)
    finite = finite & torch.isfinite(s.joint_vel).flatten(0, 1).all(0)
    fallen = (lowest < 0.0) | (roll.abs() > c.max_roll) | (pitch.abs() > c.max_pitch) | ~finite
    return Measured(torch.stack(base_lin_vel, -1), s.ang_vel.t(), -torch.stack(rot[6:], -1), base_height,
                    foot_speed.t(), knee_height.t(), lowest, yaw, fallen)


def task_step(
    s: BodyState,
    torques: torch.Tensor,
    foot_forces: torch.Tensor,
    actions: torch.Tensor,
    last_actions: torch.Tensor,
    last_joint_vel: torch.Tensor,
    commands: torch.Tensor,
    heading: torch.Tensor,
    feet_air_time: torch.Tensor,
    last_contacts: torch.Tensor,
    c: TaskConstants,
) -> StepOutput:
    """Heading control, contacts and air time, rewards and falls after the physics of one policy step.

    ``torques``, ``last_joint_vel`` are ``[3, 4, N]`` and ``foot_forces`` ``[3, 4, N]`` as the physics returns
    them; everything else is env-major.
    """
    m = measure(s, c)
    if c.heading_command:
        commands = heading_commands(commands, heading, m.yaw)
    contacts = foot_forces[2].t() > CONTACT_FORCE_THRESHOLD
    contact_filt, first_contacts, air_time = air_time_step(contacts, last_contacts, feet_air_time, c.reward_shape.dt)
    state = LocomotionState(
        base_lin_vel=m.base_lin_vel,
        base_ang_vel=m.base_ang_vel,
        projected_gravity=m.projected_gravity,
        base_height=m.base_height,
        commands=commands,
        joint_pos=joints_to_aos(s.joint_pos),
        joint_vel=joints_to_aos(s.joint_vel),
        last_joint_vel=joints_to_aos(last_joint_vel),
        default_joint_pos=c.default_joint_pos,
        soft_joint_lower=c.soft_joint_lower,
        soft_joint_upper=c.soft_joint_upper,
        torques=joints_to_aos(torques),
        actions=actions,
        last_actions=last_actions,
        foot_contacts=contacts,
        first_contacts=first_contacts,
        feet_air_time=air_time,
        foot_speed_xy=m.foot_speed_xy,
        collisions=(m.knee_height < KNEE_RADIUS).sum(-1).to(s.pos.dtype),
        terminated=m.fallen,
    )
    reward, per_term, air_time, tracking_error = step_rewards(state, contact_filt, c.reward_shape, c.reward_terms,
                                                              c.reward_scales, c.only_positive_rewards)
    return StepOutput(reward, per_term, m.fallen, commands, air_time, contacts, tracking_error)


def observe(
    s: BodyState,
    dyn: EnvDynamics,
    commands: torch.Tensor,
    actions: torch.Tensor,
    contacts: torch.Tensor,
    noise_uniform: torch.Tensor,
    noise_amplitude: torch.Tensor,
    noise_columns: torch.Tensor,
    c: TaskConstants,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(noisy 48-dim legged_gym observation, noise-free critic observation)``.

    Column ``noise_columns[k]`` of the first gets ``(2 u - 1) * noise_amplitude[k]`` with ``u = noise_uniform[:, k]``
    (legged_gym's uniform noise, drawn by the caller from the env's generator).
    """
    m = measure(s, c)
    inputs = ObservationInputs(
        base_lin_vel=m.base_lin_vel,
        base_ang_vel=m.base_ang_vel,
        projected_gravity=m.projected_gravity,
        commands=commands,
        joint_pos_offset=joints_to_aos(s.joint_pos) - c.default_joint_pos,
        joint_vel=joints_to_aos(s.joint_vel),
        actions=actions,
        friction=dyn.friction,
        payload=dyn.mass - robot.TOTAL_MASS,
        motor_strength=dyn.motor_strength,
        base_height=m.base_height,
        foot_contacts=contacts,
    )
    values = term_values(inputs)
    clean = concat_terms(values, POLICY_TERMS)
    noise = torch.zeros_like(clean).index_copy(1, noise_columns, (2.0 * noise_uniform - 1.0) * noise_amplitude)
    noisy = (clean + noise).clamp(-c.clip_observations, c.clip_observations)
    critic = concat_terms(values, CRITIC_TERMS).clamp(-c.clip_observations, c.clip_observations)
    return noisy, critic
