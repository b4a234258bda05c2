"""What go2-mujoco computes after the physics of a policy step: measurements, rewards, falls, observations.

The reward and observation terms are the shared ones of :mod:`fastembody_go2.rewards` and
:mod:`fastembody_go2.observations` (as go2-toy uses them); this module only turns MuJoCo's state vectors and
sensor values into their inputs. All tensors are float32 on the CPU, joints in legged_gym order.
"""
from typing import Any, Dict, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch

from .. import robot
from ..observations import ObservationInputs, concat_terms, noise_amplitudes, term_values
from ..rewards import LocomotionState, RewardShape, air_time_step, heading_commands, step_rewards
from ..task import CRITIC_TERMS, HEIGHT_SCAN_TERM, POLICY_TERMS, observation_groups
from .model import ModelLayout

FOOT_CONTACT_THRESHOLD = 1.0
"""A foot is in contact when its touch sensor reads more than this [N] (legged_gym)."""
COLLISION_THRESHOLD = 0.1
"""A thigh or calf collides when its touch sensor reads more than this [N] (legged_gym)."""
BASE_CONTACT_THRESHOLD = 1.0
"""The episode ends when the trunk or head touches the ground with more than this [N] (legged_gym)."""

LEGS = ("FL", "FR", "RL", "RR")
FOOT_FORCE_SENSORS = tuple(f"{leg}_foot_force" for leg in LEGS)
FOOT_POS_SENSORS = tuple(f"{leg}_foot_pos" for leg in LEGS)
FOOT_VEL_SENSORS = tuple(f"{leg}_foot_vel" for leg in LEGS)
BASE_TOUCH_SENSORS = ("trunk_touch", "head_touch")
LEG_TOUCH_SENSORS = tuple(f"{leg}_{part}_touch" for part in ("thigh", "calf") for leg in LEGS)
TORQUE_SENSORS = tuple(f"{leg}_{kind}_torque" for leg in LEGS for kind in ("hip", "thigh", "calf"))


class SensorIndex(NamedTuple):
    """Where each measured quantity lives in the state vector (``time, qpos, qvel``) and in sensordata."""

    base_pos: np.ndarray
    base_quat: np.ndarray
    base_lin_vel: np.ndarray
    base_ang_vel: np.ndarray
    joint_pos: np.ndarray
    joint_vel: np.ndarray
    foot_force: np.ndarray
    foot_pos: np.ndarray
    foot_vel: np.ndarray
    base_touch: np.ndarray
    leg_touch: np.ndarray
    torques: np.ndarray
    state_columns: np.ndarray
    """[37] base position, quaternion, world linear and body angular velocity, joint positions, velocities."""
    sensor_columns: np.ndarray
    """[50] foot forces, positions, velocities, base and leg touch, joint torques (legged_gym order)."""

    @classmethod
    def of(cls, layout: ModelLayout) -> "SensorIndex":
        qpos, qvel = 1, 1 + layout.nq  # FULLPHYSICS state: [time, qpos, qvel]
        parts = dict(
            base_pos=np.arange(qpos, qpos + 3),
            base_quat=np.arange(qpos + 3, qpos + 7),
            base_lin_vel=np.arange(qvel, qvel + 3),
            base_ang_vel=np.arange(qvel + 3, qvel + 6),
            joint_pos=qpos + layout.qpos_joint,
            joint_vel=qvel + layout.qvel_joint,
            foot_force=layout.sensor_index(FOOT_FORCE_SENSORS),
            foot_pos=layout.sensor_index(FOOT_POS_SENSORS),
            foot_vel=layout.sensor_index(FOOT_VEL_SENSORS),
            base_touch=layout.sensor_index(BASE_TOUCH_SENSORS),
            leg_touch=layout.sensor_index(LEG_TOUCH_SENSORS),
            torques=layout.sensor_index(TORQUE_SENSORS),
        )
        state_columns = np.concatenate([parts[k] for k in ("base_pos", "base_quat", "base_lin_vel", "base_ang_vel",
                                                           "joint_pos", "joint_vel")])
        sensor_columns = np.concatenate([parts[k] for k in ("foot_force", "foot_pos", "foot_vel", "base_touch",
                                                            "leg_touch", "torques")])
        return cls(state_columns=state_columns, sensor_columns=sensor_columns, **parts)


class Measured(NamedTuple):
    """Everything the task reads after a step, body frame unless noted."""

    base_pos: torch.Tensor
    """[N, 3] world."""
    base_lin_vel: torch.Tensor
    base_ang_vel: torch.Tensor
    projected_gravity: torch.Tensor
    base_height: torch.Tensor
    joint_pos: torch.Tensor
    joint_vel: torch.Tensor
    torques: torch.Tensor
    foot_contacts: torch.Tensor
    """[N, 4] bool."""
    foot_speed_xy: torch.Tensor
    """[N, 4] world horizontal foot speed."""
    foot_height: torch.Tensor
    """[N, 4] foot-centre height [m]."""
    foot_clearance: torch.Tensor
    """[N, 4] foot sphere bottoms above the ground under their centres [m]."""
    collisions: torch.Tensor
    """[N] thighs and calves touching the ground."""
    yaw: torch.Tensor
    fallen: torch.Tensor
    """[N] bool: trunk/head contact, roll or pitch beyond the limits, or a non-finite state."""


class Columns(NamedTuple):
    """:attr:`SensorIndex.state_columns` and :attr:`SensorIndex.sensor_columns` as index tensors."""

    state: torch.Tensor
    sensors: torch.Tensor

    @classmethod
    def of(cls, ix: SensorIndex) -> "Columns":
        return cls(torch.from_numpy(ix.state_columns).long(), torch.from_numpy(ix.sensor_columns).long())


def measure(state: torch.Tensor, sensors: torch.Tensor, columns: Columns, max_roll: float,
            max_pitch: float, ground: Optional[torch.Tensor] = None,
            foot_ground: Optional[torch.Tensor] = None) -> Measured:
    """Read a batch of MuJoCo states ``[N, nstate]`` and sensor values ``[N, nsensordata]`` (float64 views of
    the driver's arrays); the maths runs in float64, the results are float32.

    ``ground`` [N] is the ground z under each base on terrain: base height is measured from it, and a base
    below it (sunk into the terrain) is a fall; ``foot_ground`` [N, 4] the ground z under each foot (its
    clearance is measured from it). None: flat ground at z 0."""
    n = state.shape[0]
    s = state.index_select(1, columns.state)
    d = sensors.index_select(1, columns.sensors)
    w, x, y, z = s[:, 3:7].unbind(-1)
    r00, r01, r02 = 1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)  # body -> world rotation
    r10, r11, r12 = 2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)
    r20, r21, r22 = 2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)
    vx, vy, vz = s[:, 7:10].unbind(-1)  # world frame
    base_lin_vel = torch.stack((r00 * vx + r10 * vy + r20 * vz, r01 * vx + r11 * vy + r21 * vz,
                                r02 * vx + r12 * vy + r22 * vz), dim=-1)
    roll, pitch = torch.atan2(r21, r22), torch.asin(torch.clamp(-r20, -1.0, 1.0))
    foot_vel = d[:, 16:28].reshape(n, 4, 3)
    fallen = ((d[:, 28:30] > BASE_CONTACT_THRESHOLD).any(-1) | (roll.abs() > max_roll) | (pitch.abs() > max_pitch)
              | ~torch.isfinite(s).all(-1))
    base_height = s[:, 2]
    foot_height = d[:, 4:16].reshape(n, 4, 3)[..., 2]
    foot_clearance = foot_height - robot.FOOT_RADIUS
    if foot_ground is not None:
        foot_clearance = foot_clearance - foot_ground
    if ground is not None:
        base_height = base_height - ground
        fallen = fallen | (base_height < 0.0)
    return Measured(
        base_pos=s[:, 0:3].float(),
        base_lin_vel=base_lin_vel.float(),
        base_ang_vel=s[:, 10:13].float(),
        projected_gravity=-torch.stack((r20, r21, r22), dim=-1).float(),
        base_height=base_height.float(),
        joint_pos=s[:, 13:25].float(),
        joint_vel=s[:, 25:37].float(),
        torques=d[:, 38:50].float(),
        foot_contacts=d[:, 0:4] > FOOT_CONTACT_THRESHOLD,
        foot_speed_xy=torch.sqrt(foot_vel[..., 0] ** 2 + foot_vel[..., 1] ** 2).float(),
        foot_height=foot_height.float(),
        foot_clearance=foot_clearance.float(),
        collisions=(d[:, 30:38] > COLLISION_THRESHOLD).sum(-1).float(),
        yaw=torch.atan2(r10, r00).float(),
        fallen=fallen,
    )


class TaskConstants(NamedTuple):
    default_joint_pos: torch.Tensor
    soft_joint_lower: torch.Tensor
    soft_joint_upper: torch.Tensor
    reward_shape: RewardShape
    reward_terms: Tuple[str, ...]
    reward_scales: Tuple[float, ...]
    only_positive_rewards: bool
    heading_command: bool
    clip_observations: float


class StepOutput(NamedTuple):
    reward: torch.Tensor
    per_term: torch.Tensor
    commands: torch.Tensor
    feet_air_time: torch.Tensor
    tracking_error: torch.Tensor


def task_step(
    m: Measured,
    actions: torch.Tensor,
    last_actions: torch.Tensor,
    last_joint_vel: torch.Tensor,
    commands: torch.Tensor,
    feet_air_time: torch.Tensor,
    last_contacts: torch.Tensor,
    c: TaskConstants,
) -> StepOutput:
    """Contacts and air time, rewards and tracking error after the physics of one policy step (legged_gym)."""
    contact_filt, first_contacts, air_time = air_time_step(m.foot_contacts, last_contacts, feet_air_time,
                                                           c.reward_shape.dt)
    state = LocomotionState(
        base_lin_vel=m.base_lin_vel,
        base_ang_vel=m.base_ang_vel,
        projected_gravity=m.projected_gravity,
        base_height=m.base_height,
        commands=commands,
        joint_pos=m.joint_pos,
        joint_vel=m.joint_vel,
        last_joint_vel=last_joint_vel,
        default_joint_pos=c.default_joint_pos,
        soft_joint_lower=c.soft_joint_lower,
        soft_joint_upper=c.soft_joint_upper,
        torques=m.torques,
        actions=actions,
        last_actions=last_actions,
        foot_contacts=m.foot_contacts,
        first_contacts=first_contacts,
        feet_air_time=air_time,
        foot_speed_xy=m.foot_speed_xy,
        collisions=m.collisions,
        terminated=m.fallen,
        foot_clearance=m.foot_clearance,
    )
    reward, per_term, air_time, tracking_error = step_rewards(state, contact_filt, c.reward_shape, c.reward_terms,
                                                              c.reward_scales, c.only_positive_rewards)
    return StepOutput(reward, per_term, commands, air_time, tracking_error)


def post_physics(
    state: torch.Tensor,
    sensors: torch.Tensor,
    columns: Columns,
    max_roll: float,
    max_pitch: float,
    actions: torch.Tensor,
    last_actions: torch.Tensor,
    last_joint_vel: torch.Tensor,
    commands: torch.Tensor,
    heading: torch.Tensor,
    feet_air_time: torch.Tensor,
    last_contacts: torch.Tensor,
    c: TaskConstants,
    steer: bool,
    ground: Optional[torch.Tensor] = None,
    foot_ground: Optional[torch.Tensor] = None,
) -> Tuple[Measured, StepOutput]:
    """:func:`measure`, heading control (``steer``) and :func:`task_step` in one call (one compiled graph)."""
    m = measure(state, sensors, columns, max_roll, max_pitch, ground, foot_ground)
    if steer:
        commands = heading_commands(commands, heading, m.yaw)
    return m, task_step(m, actions, last_actions, last_joint_vel, commands, feet_air_time, last_contacts, c)


def observe(
    m: Measured,
    commands: torch.Tensor,
    actions: torch.Tensor,
    friction: torch.Tensor,
    payload: torch.Tensor,
    motor_strength: torch.Tensor,
    c: TaskConstants,
    groups: Sequence[Tuple[str, Sequence[str]]] = (("policy", POLICY_TERMS), ("critic", CRITIC_TERMS)),
    policy_noise: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
    height_scan: Optional[torch.Tensor] = None,
) -> dict:
    """Observation groups clipped to ``clip_observations``; ``policy_noise`` = (uniform draws in [0, 1) shaped
    like the ``policy`` group, per-column amplitude) adds noise ``(2 u - 1) * amplitude`` to that group first;
    ``height_scan`` [N, P] (metres, unscaled) feeds the ``height_scan`` term when a group has it."""
    inputs = ObservationInputs(
        base_lin_vel=m.base_lin_vel,
        base_ang_vel=m.base_ang_vel,
        projected_gravity=m.projected_gravity,
        commands=commands,
        joint_pos_offset=m.joint_pos - c.default_joint_pos,
        joint_vel=m.joint_vel,
        actions=actions,
        friction=friction,
        payload=payload,
        motor_strength=motor_strength,
        base_height=m.base_height,
        foot_contacts=m.foot_contacts,
        height_scan=height_scan,
    )
    values = term_values(inputs)
    out = {name: concat_terms(values, terms) for name, terms in groups}
    if policy_noise is not None:
        uniform, amplitude = policy_noise
        out["policy"] = out["policy"] + (2.0 * uniform - 1.0) * amplitude
    clip = c.clip_observations
    return {name: value.clamp(-clip, clip) for name, value in out.items()}


def observation_layout(params: Any, rough: bool) -> Tuple[Dict[str, Tuple[str, ...]],
                                                          Tuple[Tuple[str, Tuple[str, ...]], ...], torch.Tensor]:
    """(terms of each group, the (name, terms) pairs :func:`observe` computes, noise amplitude per column of the
    noisy one) of a ``Go2MujocoParams`` on flat or ``rough`` ground, as go2-toy lays them out: the noisy buffer is
    the 48 policy terms (+ ``height_scan`` when the policy reads it); ``policy`` without base linear velocity and
    ``deployable`` are slices of it; ``critic`` gets ``height_scan`` on terrain or when the policy has it."""
    terms = observation_groups(params.deployable_policy, "rough" if rough else "flat", params.height_scan_in_policy)
    scan = (HEIGHT_SCAN_TERM,) if HEIGHT_SCAN_TERM in terms["policy"] else ()
    groups = (("policy", POLICY_TERMS + scan), ("critic", terms["critic"]))
    amplitude = noise_amplitudes(groups[0][1], params.noise_level, torch.device("cpu"), params.terrain.num_scan_points)
    return terms, groups, amplitude
