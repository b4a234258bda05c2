"""The go2-toy physics: one rigid base, four compliant point feet, joint-space leg dynamics.

Pure functions over tensors (no Python loop over envs or legs), so ``torch.compile`` can fuse a whole policy
step of ``decimation`` physics substeps into a few kernels. The model and its assumptions are in
docs/go2_toy.md; in short, per substep of ``dt``:

* PD torques ``clip(strength * (kp (q* - q) - kd q̇), ±τmax)`` on the 12 joints;
* each foot sphere penetrating the ground gets a spring-damper normal force and a stick-slip anchor spring
  tangential force capped by the Coulomb cone ``μ F_n``;
* the base (whole-robot mass and inertia, legs lumped in) gets gravity plus the foot forces and their moments
  about the CoM; the joints get ``Jᵀ F`` (massless-leg coupling), viscous and Coulomb joint friction;
* semi-implicit Euler, with joint damping (PD, friction, contact) treated implicitly on the diagonal, as
  MuJoCo's implicitfast does, so the light legs stay stable against stiff contacts at dt = 5 ms.
"""
from typing import Dict, NamedTuple, Optional, Tuple

import torch

from .. import robot
from ..kinematics import Vec3, cross_components, dot_components, leg_kinematics_components, rotate_components
from ..kinematics import rotate_inverse_components, rotmat_components
from ..terrain.field import Terrain
from .terrain_contact import terrain_foot_contact


class BodyState(NamedTuple):
    """The simulated state of every env, stored as structure of arrays: envs last and contiguous, so compiled
    code vectorises across envs. Joint tensors are ``[3 (hip, thigh, calf), 4 (leg FL, FR, RL, RR), N]``;
    convert with :func:`joints_to_soa` / :func:`joints_to_aos`, or build a state with :func:`body_state`."""

    pos: torch.Tensor
    """[3, N] world position of the CoM."""
    quat: torch.Tensor
    """[4, N] base orientation (w, x, y, z), body -> world."""
    lin_vel: torch.Tensor
    """[3, N] world linear velocity of the CoM."""
    ang_vel: torch.Tensor
    """[3, N] body-frame angular velocity."""
    joint_pos: torch.Tensor
    """[3, 4, N]."""
    joint_vel: torch.Tensor
    """[3, 4, N]."""
    foot_anchor: torch.Tensor
    """[2, 4, N] world xy where each stance foot's tangential spring is anchored."""


def joints_to_soa(x: torch.Tensor) -> torch.Tensor:
    """``[N, 12]`` legged_gym order -> contiguous ``[3, 4, N]``."""
    return x.reshape(x.shape[0], 4, 3).permute(2, 1, 0).contiguous()


def joints_to_aos(x: torch.Tensor) -> torch.Tensor:
    """``[3, 4, N]`` -> ``[N, 12]`` legged_gym order."""
    return x.permute(2, 1, 0).reshape(x.shape[-1], 12)


def body_state(pos: torch.Tensor, quat: torch.Tensor, lin_vel: torch.Tensor, ang_vel: torch.Tensor,
               joint_pos: torch.Tensor, joint_vel: torch.Tensor, foot_anchor: Optional[torch.Tensor] = None
               ) -> BodyState:
    """A BodyState from env-major tensors: ``[N, 3]``, ``[N, 4]``, ``[N, 3]``, ``[N, 3]``, ``[N, 12]``,
    ``[N, 12]`` and ``[N, 4, 2]`` (zeros when None)."""
    if foot_anchor is None:
        foot_anchor = torch.zeros(pos.shape[0], 4, 2, device=pos.device, dtype=pos.dtype)
    return BodyState(pos.t().contiguous(), quat.t().contiguous(), lin_vel.t().contiguous(),
                     ang_vel.t().contiguous(), joints_to_soa(joint_pos), joints_to_soa(joint_vel),
                     foot_anchor.permute(2, 1, 0).contiguous())


def aos_fields(s: BodyState) -> Dict[str, torch.Tensor]:
    """The state's fields env-major (the shapes :func:`body_state` takes)."""
    return {"pos": s.pos.t(), "quat": s.quat.t(), "lin_vel": s.lin_vel.t(), "ang_vel": s.ang_vel.t(),
            "joint_pos": joints_to_aos(s.joint_pos), "joint_vel": joints_to_aos(s.joint_vel),
            "foot_anchor": s.foot_anchor.permute(2, 1, 0)}


class EnvDynamics(NamedTuple):
    """Per-env randomised dynamics."""

    friction: torch.Tensor
    """[N] Coulomb friction coefficient of the ground."""
    mass: torch.Tensor
    """[N] total mass (robot + payload) [kg]."""
    motor_strength: torch.Tensor
    """[N] factor on the PD torque."""


class ModelConstants(NamedTuple):
    """Constants of the model on one device. Per-joint tensors are ``[3 (hip, thigh, calf), 4 (leg), 1]``
    and per-leg ones ``[4, 1]``, the structure-of-arrays layout the physics runs in; floats are specialised
    by torch.compile."""

    hip_x: torch.Tensor
    hip_y: torch.Tensor
    side_y: torch.Tensor
    joint_inertia: torch.Tensor
    torque_limit: torch.Tensor
    velocity_limit: torch.Tensor
    joint_lower: torch.Tensor
    joint_upper: torch.Tensor
    thigh_length: float
    calf_length: float
    com_offset: Tuple[float, float, float]
    inertia: Tuple[float, float, float]
    gravity: float
    kp: float
    kd: float
    ground_stiffness: float
    ground_damping: float
    tangential_stiffness: float
    tangential_damping: float
    joint_damping: float
    joint_friction: float
    foot_radius: float
    dt: float


def model_constants(physics, device: torch.device, dt: float = robot.SIM_DT) -> ModelConstants:
    """Build the constants from a :class:`~fastembody_go2.toy.config.PhysicsParams`."""

    def per_joint(values) -> torch.Tensor:  # legged_gym order [12] -> [3, 4, 1]
        return torch.tensor(values, device=device, dtype=torch.float32).view(4, 3).t().contiguous().unsqueeze(-1)

    def per_leg(values) -> torch.Tensor:
        return torch.tensor(values, device=device, dtype=torch.float32).unsqueeze(-1)

    limits = list(robot.TORQUE_LIMITS)
    limits[2::3] = [float(physics.knee_torque_limit)] * robot.NUM_LEGS
    return ModelConstants(
        hip_x=per_leg([h[0] for h in robot.HIP_OFFSETS]),
        hip_y=per_leg([h[1] for h in robot.HIP_OFFSETS]),
        side_y=per_leg([s * robot.THIGH_OFFSET_Y for s in robot.LEG_SIDE]),
        joint_inertia=per_joint(robot.JOINT_INERTIA),
        torque_limit=per_joint(limits),
        velocity_limit=per_joint(robot.VELOCITY_LIMITS),
        joint_lower=per_joint(robot.JOINT_LOWER),
        joint_upper=per_joint(robot.JOINT_UPPER),
        thigh_length=robot.THIGH_LENGTH,
        calf_length=robot.CALF_LENGTH,
        com_offset=robot.COM_OFFSET,
        inertia=robot.COMPOSITE_INERTIA,
        gravity=robot.GRAVITY,
        kp=float(physics.kp),
        kd=float(physics.kd),
        ground_stiffness=float(physics.ground_stiffness),
        ground_damping=float(physics.ground_damping),
        tangential_stiffness=float(physics.tangential_stiffness),
        tangential_damping=float(physics.tangential_damping),
        joint_damping=float(physics.joint_damping),
        joint_friction=float(physics.joint_friction),
        foot_radius=robot.FOOT_RADIUS,
        dt=float(dt),
    )


FRICTION_VELOCITY = 0.1
"""Coulomb joint friction is smoothed as τ_f tanh(q̇ / FRICTION_VELOCITY)."""

class _Soa(NamedTuple):
    """BodyState as component tensors: base vectors as [N] rows, legs as [4, N] rows."""

    pos: Vec3
    quat: Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
    lin_vel: Vec3
    ang_vel: Vec3
    joint_pos: Vec3
    joint_vel: Vec3
    anchor: Tuple[torch.Tensor, torch.Tensor]


def _components(s: BodyState) -> _Soa:
    return _Soa(*(tuple(field.unbind(0)) for field in s))  # type: ignore[arg-type]


def _stacked(s: _Soa) -> BodyState:
    return BodyState(*(torch.stack(field, 0) for field in s))


def _substep(s: _Soa, targets: Vec3, dyn: EnvDynamics, m: ModelConstants, terrain: Optional[Terrain] = None
             ) -> Tuple[_Soa, Vec3, Vec3]:
    """One physics step of ``m.dt`` in structure-of-arrays form; returns (state, torques, world foot forces).

    ``terrain`` None is flat ground at z = 0 (the branch is taken when tracing, so flat ground runs the flat code)."""
    rot = rotmat_components(s.quat)
    foot, _, columns = leg_kinematics_components(*s.joint_pos, m.hip_x, m.hip_y, m.side_y, m.thigh_length,
                                                 m.calf_length)
    lever = (foot[0] - m.com_offset[0], foot[1] - m.com_offset[1], foot[2] - m.com_offset[2])
    foot_w = tuple(p + d for p, d in zip(s.pos, rotate_components(rot, lever)))
    leg_vel = tuple(sum(col[i] * dq for col, dq in zip(columns, s.joint_vel)) for i in range(3))
    rel_vel = tuple(a + b for a, b in zip(cross_components(s.ang_vel, lever), leg_vel))
    foot_vel = tuple(v + d for v, d in zip(s.lin_vel, rotate_components(rot, rel_vel)))  # type: ignore[arg-type]

    if terrain is not None:
        contact = terrain_foot_contact(foot_w, foot_vel, s.anchor, dyn.friction, m.ground_stiffness,  # type: ignore
                                       m.ground_damping, m.tangential_stiffness, m.tangential_damping,
                                       m.foot_radius, terrain)
        return _integrate(s, targets, dyn, m, rot, lever, columns, contact.force, contact.pressed, contact.anchor,
                          contact.normal, contact.walls)
    # -- foot contacts: spring-damper normal force, stick-slip anchor spring capped by the friction cone
    depth = m.foot_radius - foot_w[2]
    touching = depth > 0
    normal = (m.ground_stiffness * depth - m.ground_damping * foot_vel[2]).clamp(min=0.0) * touching
    anchor_x = torch.where(touching, s.anchor[0], foot_w[0])
    anchor_y = torch.where(touching, s.anchor[1], foot_w[1])
    stretch_x, stretch_y = foot_w[0] - anchor_x, foot_w[1] - anchor_y
    force_x = -m.tangential_stiffness * stretch_x - m.tangential_damping * foot_vel[0]
    force_y = -m.tangential_stiffness * stretch_y - m.tangential_damping * foot_vel[1]
    max_tangential = dyn.friction * normal
    tangential = torch.sqrt(force_x * force_x + force_y * force_y)
    ratio = torch.where(tangential > max_tangential, max_tangential / tangential.clamp(min=1e-9),
                        torch.ones_like(normal))
    force_w = (force_x * ratio, force_y * ratio, normal)
    # slip (elasto-plastic): the anchor follows the foot so that the spring alone never exceeds the cone,
    # which only ever releases stored spring energy
    stretch = torch.sqrt(stretch_x * stretch_x + stretch_y * stretch_y)
    max_stretch = max_tangential / m.tangential_stiffness
    keep = torch.where(stretch > max_stretch, max_stretch / stretch.clamp(min=1e-9), torch.ones_like(normal))
    anchor_x, anchor_y = foot_w[0] - stretch_x * keep, foot_w[1] - stretch_y * keep
    return _integrate(s, targets, dyn, m, rot, lever, columns, force_w, normal > 0, (anchor_x, anchor_y))


def _integrate(s: _Soa, targets: Vec3, dyn: EnvDynamics, m: ModelConstants, rot: Tuple[torch.Tensor, ...],
               lever: Vec3, columns: Tuple[Vec3, Vec3, Vec3], force_w: Vec3, pressed: torch.Tensor,
               anchor: Tuple[torch.Tensor, torch.Tensor], contact_normal: Optional[Vec3] = None,
               walls: Tuple[Tuple[torch.Tensor, Vec3], ...] = ()) -> Tuple[_Soa, Vec3, Vec3]:
    """Joints and base after the foot forces ``force_w`` (world). ``contact_normal`` None means +z (flat ground);
    ``walls`` (terrain: pushing, normal) adds each pushing riser spring's normal damping and dt x stiffness
    along its normal to the joints' implicit diagonal."""
    force_b = rotate_inverse_components(rot, force_w)

    # -- joints: PD + Jᵀ F + friction; damping implicit on the diagonal
    joint_pos, joint_vel, torques = [], [], []
    for j, (col, q, dq, target) in enumerate(zip(columns, s.joint_pos, s.joint_vel, targets)):
        raw_pd = dyn.motor_strength * (m.kp * (target - q) - m.kd * dq)
        limit = m.torque_limit[j]
        torque = torch.maximum(torch.minimum(raw_pd, limit), -limit)
        friction_tanh = torch.tanh(dq * (1.0 / FRICTION_VELOCITY))
        total = torque + dot_components(col, force_b) - m.joint_damping * dq - m.joint_friction * friction_tanh
        if contact_normal is None:
            col_z_world = rot[6] * col[0] + rot[7] * col[1] + rot[8] * col[2]
        else:  # the column's component along the contact normal
            col_world = rotate_components(rot, col)
            col_z_world = sum(a * n for a, n in zip(col_world, contact_normal))  # type: ignore[assignment]
        contact_damping = pressed * (m.tangential_damping * dot_components(col, col)
                                     + (m.ground_damping - m.tangential_damping) * col_z_world * col_z_world)
        for pushing, normal in walls:  # riser spring-dampers: (c_n - c_t + dt k) (J_j . n)^2 on the diagonal
            along = sum(a * n for a, n in zip(col_world, normal))
            wall = pushing * (m.ground_damping - m.tangential_damping + m.dt * m.ground_stiffness)
            contact_damping = contact_damping + wall * along * along
        damping = ((raw_pd.abs() < limit) * (dyn.motor_strength * m.kd) + m.joint_damping
                   + (m.joint_friction / FRICTION_VELOCITY) * (1.0 - friction_tanh * friction_tanh)
                   + contact_damping)
        vel = dq + m.dt * total / (m.joint_inertia[j] + m.dt * damping)
        vel = torch.maximum(torch.minimum(vel, m.velocity_limit[j]), -m.velocity_limit[j])
        pos = q + m.dt * vel
        clamped = torch.maximum(torch.minimum(pos, m.joint_upper[j]), m.joint_lower[j])
        joint_vel.append(torch.where(clamped != pos, torch.zeros_like(vel), vel))
        joint_pos.append(clamped)
        torques.append(torque)

    # -- base: Newton-Euler of one rigid body (legs lumped in)
    lin_vel = tuple(v + m.dt * f.sum(0) / dyn.mass for v, f in zip(s.lin_vel, force_w))
    lin_vel = (lin_vel[0], lin_vel[1], lin_vel[2] - m.dt * m.gravity)
    moment = tuple(c.sum(0) for c in cross_components(lever, force_b))
    spin = tuple(i * w for i, w in zip(m.inertia, s.ang_vel))
    gyro = cross_components(s.ang_vel, spin)  # type: ignore[arg-type]
    ang_vel = tuple(w + m.dt * (t - g) / i for w, t, g, i in zip(s.ang_vel, moment, gyro, m.inertia))
    pos = tuple(p + m.dt * v for p, v in zip(s.pos, lin_vel))
    qw, qx, qy, qz = s.quat
    wx, wy, wz = ang_vel
    half = 0.5 * m.dt
    quat = (qw - half * (qx * wx + qy * wy + qz * wz), qx + half * (qw * wx + qy * wz - qz * wy),
            qy + half * (qw * wy - qx * wz + qz * wx), qz + half * (qw * wz + qx * wy - qy * wx))
    norm = torch.rsqrt(quat[0] * quat[0] + quat[1] * quat[1] + quat[2] * quat[2] + quat[3] * quat[3])
    quat = tuple(c * norm for c in quat)
    state = _Soa(pos, quat, lin_vel, ang_vel, tuple(joint_pos), tuple(joint_vel), anchor)  # type: ignore
    return state, tuple(torques), force_w  # type: ignore[return-value]


def physics_step(
    s: BodyState, targets: torch.Tensor, dyn: EnvDynamics, m: ModelConstants, decimation: int = 1,
    terrain: Optional[Terrain] = None,
) -> Tuple[BodyState, torch.Tensor, torch.Tensor]:
    """Advance every env by ``decimation`` physics steps with fixed PD targets ``[3, 4, N]``, on flat ground
    (``terrain`` None) or on a height field (feet only; see :mod:`.terrain_contact`).

    Returns ``(state, joint torques [3, 4, N], world foot forces [3 (xyz), 4, N])`` of the last substep.
    """
    soa, target = _components(s), tuple(targets.unbind(0))
    torques, forces = target, target
    for _ in range(decimation):
        soa, torques, forces = _substep(soa, target, dyn, m, terrain)  # type: ignore[arg-type]
    return _stacked(soa), torch.stack(torques, 0), torch.stack(forces, 0)


def mechanical_energy(s: BodyState, dyn: EnvDynamics, m: ModelConstants, targets: torch.Tensor) -> torch.Tensor:
    """Kinetic + gravity + PD-spring + contact-spring energy per env [J] (for passivity checks)."""
    soa = _components(s)
    kinetic = 0.5 * dyn.mass * dot_components(soa.lin_vel, soa.lin_vel)
    kinetic = kinetic + 0.5 * sum(i * w * w for i, w in zip(m.inertia, soa.ang_vel))
    kinetic = kinetic + 0.5 * (m.joint_inertia * s.joint_vel * s.joint_vel).sum((0, 1))
    potential = dyn.mass * m.gravity * soa.pos[2]
    potential = potential + 0.5 * m.kp * dyn.motor_strength * ((targets - s.joint_pos) ** 2).sum((0, 1))
    foot, _, _ = leg_kinematics_components(*soa.joint_pos, m.hip_x, m.hip_y, m.side_y, m.thigh_length,
                                           m.calf_length)
    lever = (foot[0] - m.com_offset[0], foot[1] - m.com_offset[1], foot[2] - m.com_offset[2])
    foot_w = tuple(p + d for p, d in zip(soa.pos, rotate_components(rotmat_components(soa.quat), lever)))
    depth = (m.foot_radius - foot_w[2]).clamp(min=0.0)
    stretch_sq = ((foot_w[0] - soa.anchor[0]) ** 2 + (foot_w[1] - soa.anchor[1]) ** 2) * (depth > 0)
    contact = 0.5 * m.ground_stiffness * (depth * depth).sum(0) + 0.5 * m.tangential_stiffness * stretch_sq.sum(0)
    return kinetic + potential + contact
