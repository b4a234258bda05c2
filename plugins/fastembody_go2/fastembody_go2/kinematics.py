"""Batched Go2 leg kinematics and rigid-body helpers (closed form, no Python loop over envs or legs).

Shapes: joint positions ``q`` are ``[N, 4, 3]`` (legs FL, FR, RL, RR; joints hip, thigh, calf); points are
``[N, 4, 3]`` in the base frame; leg Jacobians ``[N, 4, 3, 3]`` map (hip, thigh, calf) rates to foot velocity.
"""
import math
from typing import NamedTuple, Tuple

import torch

from . import robot


class LegGeometry(NamedTuple):
    """Constant tensors of the Go2 legs on one device."""

    hip_offset: torch.Tensor
    """[4, 3] abduction joint positions in the base frame."""
    side: torch.Tensor
    """[4] +1 left, -1 right."""
    thigh_length: float
    calf_length: float
    thigh_offset_y: float


def leg_geometry(device: torch.device, dtype: torch.dtype = torch.float32) -> LegGeometry:
    return LegGeometry(
        hip_offset=torch.tensor(robot.HIP_OFFSETS, device=device, dtype=dtype),
        side=torch.tensor(robot.LEG_SIDE, device=device, dtype=dtype),
        thigh_length=robot.THIGH_LENGTH,
        calf_length=robot.CALF_LENGTH,
        thigh_offset_y=robot.THIGH_OFFSET_Y,
    )


Vec3 = Tuple[torch.Tensor, torch.Tensor, torch.Tensor]
"""A 3-vector as separate component tensors (structure of arrays: vectorises across envs when compiled)."""


def leg_kinematics_components(
    abd: torch.Tensor,
    thigh: torch.Tensor,
    knee: torch.Tensor,
    hip_x: torch.Tensor,
    hip_y: torch.Tensor,
    side_y: torch.Tensor,
    l1: float,
    l2: float,
) -> Tuple[Vec3, Vec3, Tuple[Vec3, Vec3, Vec3]]:
    """Foot centre, knee position (base frame) and Jacobian columns d foot / d(abd, thigh, knee), componentwise.

    ``abd, thigh, knee`` have any shape that broadcasts with ``hip_x, hip_y`` (hip joint position) and
    ``side_y`` (+-0.0955 thigh offset). Abduction rotates about +x, thigh and knee about +y; a positive thigh
    angle swings the foot backward.
    """
    sin_t, cos_t = torch.sin(thigh), torch.cos(thigh)
    sin_tk, cos_tk = torch.sin(thigh + knee), torch.cos(thigh + knee)
    sin_a, cos_a = torch.sin(abd), torch.cos(abd)
    knee_x, knee_z = -l1 * sin_t, -l1 * cos_t  # sagittal plane of the leg, before abduction
    calf_x, calf_z = -l2 * cos_tk, l2 * sin_tk  # d(foot - knee)/d knee in that plane
    foot_x, foot_z = knee_x - l2 * sin_tk, knee_z - l2 * cos_tk
    foot_rel_y = cos_a * side_y - sin_a * foot_z  # foot relative to the hip joint, after abduction
    foot_rel_z = sin_a * side_y + cos_a * foot_z
    foot = (foot_x + hip_x, foot_rel_y + hip_y, foot_rel_z)
    knee_pos = (knee_x + hip_x, cos_a * side_y - sin_a * knee_z + hip_y, sin_a * side_y + cos_a * knee_z)
    d_abd = (torch.zeros_like(foot_x), -foot_rel_z, foot_rel_y)
    d_thigh = (foot_z, sin_a * foot_x, -cos_a * foot_x)
    d_knee = (calf_x, -sin_a * calf_z, cos_a * calf_z)
    return foot, knee_pos, (d_abd, d_thigh, d_knee)


def leg_kinematics(q: torch.Tensor, geo: LegGeometry) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Foot centres ``[N, 4, 3]``, knee positions (base frame) and Jacobians ``[N, 4, 3, 3]`` of ``q[N, 4, 3]``."""
    abd, thigh, knee = q.unbind(-1)
    foot, knee_pos, columns = leg_kinematics_components(
        abd, thigh, knee, geo.hip_offset[:, 0], geo.hip_offset[:, 1], geo.side * geo.thigh_offset_y,
        geo.thigh_length, geo.calf_length,
    )
    jacobian = torch.stack([torch.stack(col, dim=-1) for col in columns], dim=-1)  # [N, 4, xyz, joint]
    return torch.stack(foot, dim=-1), torch.stack(knee_pos, dim=-1), jacobian


def quat_to_rotmat(quat: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``[N, 3, 3]`` (body -> world) of unit quaternions ``[N, 4]`` in (w, x, y, z) order."""
    w, x, y, z = quat.unbind(-1)
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz, wx, wy, wz = x * y, x * z, y * z, w * x, w * y, w * z
    rows = (
        torch.stack((1 - 2 * (yy + zz), 2 * (xy - wz), 2 * (xz + wy)), dim=-1),
        torch.stack((2 * (xy + wz), 1 - 2 * (xx + zz), 2 * (yz - wx)), dim=-1),
        torch.stack((2 * (xz - wy), 2 * (yz + wx), 1 - 2 * (xx + yy)), dim=-1),
    )
    return torch.stack(rows, dim=-2)


def rotate(rot: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``rot @ v`` for ``rot[N, 3, 3]`` and ``v[N, ..., 3]`` (any number of points per env)."""
    r = rot.view(rot.shape[0], *([1] * (v.dim() - 2)), 3, 3)
    return (r * v.unsqueeze(-2)).sum(-1)


def rotate_inverse(rot: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``rot.T @ v`` (world -> body) for ``rot[N, 3, 3]`` and ``v[N, ..., 3]``."""
    r = rot.view(rot.shape[0], *([1] * (v.dim() - 2)), 3, 3)
    return (r * v.unsqueeze(-1)).sum(-2)


def yaw_quat(yaw: torch.Tensor) -> torch.Tensor:
    """(w, x, y, z) quaternions of rotations by ``yaw`` about +z."""
    half = 0.5 * yaw
    zero = torch.zeros_like(yaw)
    return torch.stack((torch.cos(half), zero, zero, torch.sin(half)), dim=-1)


def roll_pitch_yaw(rot: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """ZYX Euler angles of rotation matrices ``[N, 3, 3]``."""
    roll = torch.atan2(rot[:, 2, 1], rot[:, 2, 2])
    pitch = torch.asin((-rot[:, 2, 0]).clamp(-1.0, 1.0))
    yaw = torch.atan2(rot[:, 1, 0], rot[:, 0, 0])
    return roll, pitch, yaw


def wrap_to_pi(angle: torch.Tensor) -> torch.Tensor:
    return torch.remainder(angle + math.pi, 2.0 * math.pi) - math.pi


# -- componentwise helpers (structure of arrays: each component a tensor, envs last) -----------------------
RotComponents = Tuple[torch.Tensor, ...]
"""A rotation matrix as 9 row-major component tensors."""


def rotmat_components(q: Tuple[torch.Tensor, ...]) -> RotComponents:
    """Body -> world rotation of a (w, x, y, z) unit quaternion given as 4 component tensors."""
    w, x, y, z = q
    return (1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y))


def rotate_components(r: RotComponents, v: Vec3) -> Vec3:
    return (r[0] * v[0] + r[1] * v[1] + r[2] * v[2], r[3] * v[0] + r[4] * v[1] + r[5] * v[2],
            r[6] * v[0] + r[7] * v[1] + r[8] * v[2])


def rotate_inverse_components(r: RotComponents, v: Vec3) -> Vec3:
    return (r[0] * v[0] + r[3] * v[1] + r[6] * v[2], r[1] * v[0] + r[4] * v[1] + r[7] * v[2],
            r[2] * v[0] + r[5] * v[1] + r[8] * v[2])


def cross_components(a: Vec3, b: Vec3) -> Vec3:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def dot_components(a: Vec3, b: Vec3) -> torch.Tensor:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
