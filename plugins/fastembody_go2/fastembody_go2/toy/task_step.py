"""What go2-toy computes after the physics of a policy step: measurements, rewards, terminations, observations.

Pure functions over tensors (compiled together with the physics when ``compile`` is on); the env keeps the
buffers and the randomness. With ``terrain`` (a height field) every height is measured from the local ground:
the base height from the mean ground under the height-scan points (legged_gym's ``measured_heights``), knees
from the ground under each knee, trunk and head from the ground under their lowest points, and the head also
against the risers of higher neighbouring columns (a head pitched into a step is a fall, as in MuJoCo). Without it (flat
ground) the flat code runs, unchanged.
"""
from typing import NamedTuple, Optional, Tuple

import torch

from .. import robot
from ..observations import ObservationInputs, concat_terms, term_values
from ..rewards import LocomotionState, RewardShape, air_time_step, heading_commands, step_rewards
from ..task import CRITIC_TERMS, HEIGHT_SCAN_TERM, POLICY_TERMS
from ..terrain.field import Terrain
from .dynamics import BodyState, EnvDynamics, joints_to_aos
from .terrain_contact import column_contacts_soa, ground_at
from ..kinematics import cross_components, leg_kinematics_components, rotate_components, rotate_inverse_components
from ..kinematics import rotmat_components

KNEE_RADIUS = 0.02
"""A knee closer than this to the ground (the local ground on terrain) counts as a thigh/calf collision [m]."""
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
    policy_layout: Tuple[str, ...] = POLICY_TERMS
    """Terms of the noisy observation buffer (the ``policy`` group; ``deployable`` is its columns 3:48)."""
    critic_layout: Tuple[str, ...] = CRITIC_TERMS
    """Terms of the noise-free ``critic`` group."""
    scan_noise_amplitude: float = 0.0
    """Noise amplitude of the policy's height-scan columns (scaled units; from ``scan_noise_bits``)."""


class ScanConstants(NamedTuple):
    """The height scan: body-frame points and legged_gym's offset and clip [m]."""

    points: torch.Tensor
    """[P, 2] x-major (``terrain.scan.scan_points``)."""
    offset: float
    clip: float


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
    base_z: torch.Tensor
    """[N] world z of the base origin (``base_height`` is measured from the local ground)."""
    foot_clearance: torch.Tensor
    """[N, 4] foot sphere bottoms above the ground under their centres [m]."""
    scan_ground: Optional[torch.Tensor] = None
    """[N, P] ground z under the height-scan points (terrain only)."""


class StepOutput(NamedTuple):
    reward: torch.Tensor
    per_term: torch.Tensor
    terminated: torch.Tensor
    commands: torch.Tensor
    feet_air_time: torch.Tensor
    contacts: torch.Tensor
    tracking_error: torch.Tensor
    scan_ground: Optional[torch.Tensor] = None
    """[N, P] ground z under the scan points after the physics (terrain only; before any reset)."""


def scan_ground_heights(pos: torch.Tensor, quat: torch.Tensor, com_offset: Tuple[float, float, float],
                        terrain: Terrain, scan: ScanConstants) -> torch.Tensor:
    """[N, P] ground z under the scan points around bases whose CoM is at ``pos`` [3, N] with ``quat`` [4, N]."""
    rot = rotmat_components(tuple(quat.unbind(0)))  # type: ignore[arg-type]
    x, y = _base_origin_xy(tuple(pos.unbind(0)), rot, com_offset)  # type: ignore[arg-type]
    # cos/sin of the heading atan2(r10, r00) without trigonometry (compiled, trig ran once per scan point)
    inv = torch.rsqrt((rot[0] * rot[0] + rot[3] * rot[3]).clamp(min=1e-12))
    cos, sin = (rot[0] * inv)[:, None], (rot[3] * inv)[:, None]
    px, py = scan.points[:, 0][None, :], scan.points[:, 1][None, :]
    return ground_at(terrain, x[:, None] + cos * px - sin * py, y[:, None] + sin * px + cos * py)


def _base_origin_xy(pos: Tuple[torch.Tensor, ...], rot: Tuple[torch.Tensor, ...],
                    com_offset: Tuple[float, float, float]) -> Tuple[torch.Tensor, torch.Tensor]:
    ox, oy, oz = (-com_offset[0], -com_offset[1], -com_offset[2])
    return (pos[0] + rot[0] * ox + rot[1] * oy + rot[2] * oz, pos[1] + rot[3] * ox + rot[4] * oy + rot[5] * oz)


def _local_heights(pos: Tuple[torch.Tensor, ...], rot: Tuple[torch.Tensor, ...], base_z: torch.Tensor,
                   knee: Tuple[torch.Tensor, ...], c: TaskConstants, terrain: Terrain
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
    """(knee heights above the ground under each knee [4, N], lowest trunk/head clearance [N]) on ``terrain``."""
    rel = tuple(k - o for k, o in zip(knee, c.com_offset))
    knee_w = [pos[i] + rot[3 * i] * rel[0] + rot[3 * i + 1] * rel[1] + rot[3 * i + 2] * rel[2] for i in range(3)]
    knee_height = knee_w[2] - ground_at(terrain, knee_w[0], knee_w[1])
    ox, oy = _base_origin_xy(pos, rot, c.com_offset)
    hx, hy, hz = robot.TRUNK_HALF_SIZES
    clearances = []
    # the trunk's bottom face: corners and mid-edges (a nosing under the middle of the trunk counts too)
    for px, py, pz in ((hx, hy, -hz), (hx, -hy, -hz), (0.0, hy, -hz), (0.0, -hy, -hz), (-hx, hy, -hz),
                       (-hx, -hy, -hz)) + ((robot.HEAD_CENTER[0], robot.HEAD_CENTER[1], robot.HEAD_CENTER[2]),):
        wx = ox + rot[0] * px + rot[1] * py + rot[2] * pz
        wy = oy + rot[3] * px + rot[4] * py + rot[5] * pz
        wz = base_z + rot[6] * px + rot[7] * py + rot[8] * pz
        clearances.append(wz - ground_at(terrain, wx, wy))
    clearances[-1] = clearances[-1] - robot.HEAD_RADIUS
    # the head sphere against the risers and nosings of higher neighbour columns (as MuJoCo's head geom meets a
    # step's face when the robot pitches into it): any depth there is a contact, so the clearance is <= -depth
    depths, _ = column_contacts_soa(terrain, (wx, wy, wz), robot.HEAD_RADIUS)
    clearances[-1] = torch.where((depths[1] > 0) | (depths[2] > 0),
                                 torch.minimum(clearances[-1], -torch.maximum(depths[1], depths[2])), clearances[-1])
    return knee_height, torch.stack(clearances, 0).min(0).values


def measure(s: BodyState, c: TaskConstants, terrain: Optional[Terrain] = None, scan: Optional[ScanConstants] = None,
            scan_ground: Optional[torch.Tensor] = None) -> Measured:
    """Body-frame velocities, gravity, heights, foot speeds and the fall condition of every env (env-major).

    With ``terrain`` (and ``scan``), heights are above the local ground; ``scan_ground`` [N, P] is computed here
    unless given."""
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
    foot_w = tuple(p + d for p, d in zip(pos, rotate_components(rot, lever)))  # type: ignore[arg-type]
    foot_clearance = foot_w[2] - robot.FOOT_RADIUS
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
    base_z = base_height
    if terrain is not None and scan is not None:
        if scan_ground is None:
            scan_ground = scan_ground_heights(s.pos, s.quat, c.com_offset, terrain, scan)
        base_height = base_z - scan_ground.mean(-1)
        knee_height, lowest = _local_heights(pos, rot, base_z, knee, c, terrain)
        foot_clearance = foot_clearance - ground_at(terrain, foot_w[0], foot_w[1])
    finite = torch.isfinite(s.pos).all(0) & torch.isfinite(s.lin_vel).all(0)
    finite = finite & torch.isfinite(s.joint_vel).flatten(0, 1).all(0)
    fallen = (lowest < 0.0) | (roll.abs() > c.max_roll) | (pitch.abs() > c.max_pitch) | ~finite
    return Measured(torch.stack(base_lin_vel, -1), s.ang_vel.t(), -torch.stack(rot[6:], -1), base_height,
                    foot_speed.t(), knee_height.t(), lowest, yaw, fallen, base_z, foot_clearance.t(), scan_ground)


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
    terrain: Optional[Terrain] = None,
    scan: Optional[ScanConstants] = None,
) -> StepOutput:
    """Heading control, contacts and air time, rewards and falls after the physics of one policy step.

    ``torques``, ``last_joint_vel`` are ``[3, 4, N]`` and ``foot_forces`` ``[3, 4, N]`` as the physics returns
    them; everything else is env-major. With ``terrain`` and ``scan``, heights are above the local ground.
    """
    m = measure(s, c, terrain, scan)
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
        foot_clearance=m.foot_clearance,
    )
    reward, per_term, air_time, tracking_error = step_rewards(state, contact_filt, c.reward_shape, c.reward_terms,
                                                              c.reward_scales, c.only_positive_rewards)
    return StepOutput(reward, per_term, m.fallen, commands, air_time, contacts, tracking_error, m.scan_ground)


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
    terrain: Optional[Terrain] = None,
    scan: Optional[ScanConstants] = None,
    scan_ground: Optional[torch.Tensor] = None,
    scan_noise_bits: Optional[torch.Tensor] = None,
    scan_hidden: Optional[torch.Tensor] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(noisy observation in c.policy_layout, noise-free observation in c.critic_layout)`` (48 and 56 columns
    without a height scan).

    Column ``noise_columns[k]`` of the first gets ``(2 u - 1) * noise_amplitude[k]`` with ``u = noise_uniform[:, k]``
    (legged_gym's uniform noise, drawn by the caller from the env's generator). ``scan`` given: the ``height_scan``
    term is clip(base_z - offset - ground, +-clip) over ``scan_ground`` [N, P] on ``terrain``, and over flat
    ground at z = 0 without a terrain. ``scan_noise_bits`` [K, 4] int16 (uniform in lanes 0-2, K >= N P / 3;
    ``terrain_env.uniform_int16``), when the policy layout ends with the scan, give its noise
    ``(b + 0.5) / 32768 * c.scan_noise_amplitude`` (cheaper to draw than floats). ``scan_hidden`` [N] bool: those
    envs' policy scan reads its own mean at every point (flat ground; ``Go2ToyParams.height_scan_dropout``).
    """
    m = measure(s, c, terrain, scan, scan_ground)
    height_scan = None
    if scan is not None:
        if m.scan_ground is None:  # flat ground
            height_scan = (m.base_z - scan.offset).clamp(-scan.clip, scan.clip).unsqueeze(-1)
            height_scan = height_scan.expand(-1, scan.points.shape[0])
        else:
            height_scan = ((m.base_z.unsqueeze(-1) - scan.offset) - m.scan_ground).clamp(-scan.clip, scan.clip)
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
        height_scan=height_scan,
    )
    values = term_values(inputs)
    critic = concat_terms(values, c.critic_layout).clamp(-c.clip_observations, c.clip_observations)
    if scan_hidden is not None and height_scan is not None:
        scan_values = values[HEIGHT_SCAN_TERM]
        hidden = scan_values.mean(-1, keepdim=True).expand_as(scan_values)
        values = dict(values, **{HEIGHT_SCAN_TERM: torch.where(scan_hidden.unsqueeze(-1), hidden, scan_values)})
    clean = concat_terms(values, c.policy_layout)
    noise = torch.zeros_like(clean).index_copy(1, noise_columns, (2.0 * noise_uniform - 1.0) * noise_amplitude)
    noisy = clean + noise
    if scan_noise_bits is not None and height_scan is not None:
        rows, points = height_scan.shape
        bits = scan_noise_bits[:, :3].reshape(-1)[:rows * points].view(rows, points)
        scan_noise = (bits.to(clean.dtype) + 0.5) * (c.scan_noise_amplitude / 32768.0)
        noisy = torch.cat((noisy[:, :-points], noisy[:, -points:] + scan_noise), dim=1)
    return noisy.clamp(-c.clip_observations, c.clip_observations), critic
