"""The Go2 task's observation terms: legged_gym scaling, layouts and noise, shared by the go2 envs."""
from typing import Dict, NamedTuple, Optional, Sequence

import torch

from . import robot
from .task import DEFAULT_SCAN_POINTS, HEIGHT_SCAN_TERM, OBSERVATION_NOISE, term_dims
from .observations_meta import term_scales

OBSERVATION_SCALES: Dict[str, float] = {k: v for k, v in term_scales().items() if isinstance(v, float)}
"""Scalar scales (:func:`.observations_meta.term_scales`); ``commands`` is scaled per component by
robot.COMMAND_SCALE, other privileged terms are raw."""


class ObservationInputs(NamedTuple):
    """Unscaled quantities the observation terms read (body frame)."""

    base_lin_vel: torch.Tensor
    """[N, 3] m/s."""
    base_ang_vel: torch.Tensor
    """[N, 3] rad/s."""
    projected_gravity: torch.Tensor
    """[N, 3]."""
    commands: torch.Tensor
    """[N, 3] (vx, vy, yaw rate)."""
    joint_pos_offset: torch.Tensor
    """[N, 12] q - q0."""
    joint_vel: torch.Tensor
    """[N, 12]."""
    actions: torch.Tensor
    """[N, 12] the last actions sent."""
    friction: torch.Tensor
    """[N] ground friction coefficient."""
    payload: torch.Tensor
    """[N] added base mass [kg]."""
    motor_strength: torch.Tensor
    """[N] PD torque factor."""
    base_height: torch.Tensor
    """[N] m."""
    foot_contacts: torch.Tensor
    """[N, 4] bool or float."""
    height_scan: Optional[torch.Tensor] = None
    """[N, P] clip(base_z - scan_offset - ground_z, +-scan_clip) [m] (``terrain.scan.height_scan``); None when
    no group reads it."""


def term_values(x: ObservationInputs) -> Dict[str, torch.Tensor]:
    """Every observation term, scaled, each ``[N, dim]``."""
    command_scale = torch.tensor(robot.COMMAND_SCALE, device=x.commands.device, dtype=x.commands.dtype)
    dtype = x.base_lin_vel.dtype
    values = {
        "base_lin_vel": x.base_lin_vel * OBSERVATION_SCALES["base_lin_vel"],
        "base_ang_vel": x.base_ang_vel * OBSERVATION_SCALES["base_ang_vel"],
        "projected_gravity": x.projected_gravity,
        "commands": x.commands * command_scale,
        "joint_pos": x.joint_pos_offset * OBSERVATION_SCALES["joint_pos"],
        "joint_vel": x.joint_vel * OBSERVATION_SCALES["joint_vel"],
        "actions": x.actions,
        "friction": x.friction.unsqueeze(-1),
        "payload": x.payload.unsqueeze(-1),
        "motor_strength": x.motor_strength.unsqueeze(-1),
        "base_height": x.base_height.unsqueeze(-1),
        "foot_contacts": x.foot_contacts.to(dtype),
    }
    if x.height_scan is not None:
        values[HEIGHT_SCAN_TERM] = x.height_scan * OBSERVATION_SCALES[HEIGHT_SCAN_TERM]
    return values


def concat_terms(values: Dict[str, torch.Tensor], names: Sequence[str]) -> torch.Tensor:
    """Concatenate the named terms, in order, into one ``[N, sum(dims)]`` tensor."""
    return torch.cat([values[name] for name in names], dim=-1)


def group_dim(names: Sequence[str], scan_points: int = DEFAULT_SCAN_POINTS) -> int:
    """Width of a layout whose ``height_scan`` (if any) has ``scan_points`` points."""
    dims = term_dims(scan_points)
    return sum(dims[name] for name in names)


def noise_amplitudes(names: Sequence[str], noise_level: float, device: torch.device,
                     scan_points: int = DEFAULT_SCAN_POINTS) -> torch.Tensor:
    """Per-column amplitude of legged_gym's uniform noise U(-a, a) for a layout, in scaled units (``height_scan``:
    HEIGHT_SCAN_NOISE_M x HEIGHT_SCAN_OBS_SCALE x noise_level on each of its ``scan_points`` columns)."""
    dims = term_dims(scan_points)
    columns = []
    for name in names:
        scale = OBSERVATION_SCALES.get(name, 1.0)
        if name == "commands":
            scale = 0.0
        amplitude = OBSERVATION_NOISE.get(name, 0.0) * scale * noise_level
        columns.extend([amplitude] * dims[name])
    return torch.tensor(columns, device=device, dtype=torch.float32)
