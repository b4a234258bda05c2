"""The Go2 locomotion task as plain data (torch-free): observation terms, reward terms, default scales.

Shared by the go2 envs so that observation layouts and reward names agree across backends; the tensor
code that computes them lives in :mod:`fastembody_go2.observations` and :mod:`fastembody_go2.rewards`.
"""
from typing import Dict, Tuple

from .terrain.params import HEIGHT_SCAN_NOISE_M

HEIGHT_SCAN_TERM = "height_scan"
"""The terrain heights around the base (``fastembody_go2.terrain.scan``), x HEIGHT_SCAN_OBS_SCALE; its width is
``TerrainParams.num_scan_points`` (``term_dims``)."""
DEFAULT_SCAN_POINTS = 187
"""legged_gym's 17 x 11 height-scan points (``TerrainParams`` defaults)."""

OBSERVATION_TERM_DIMS: Dict[str, int] = {
    "base_lin_vel": 3,
    "base_ang_vel": 3,
    "projected_gravity": 3,
    "commands": 3,
    "joint_pos": 12,
    "joint_vel": 12,
    "actions": 12,
    "friction": 1,
    "payload": 1,
    "motor_strength": 1,
    "base_height": 1,
    "foot_contacts": 4,
    HEIGHT_SCAN_TERM: DEFAULT_SCAN_POINTS,
}
"""Width of every observation term (``height_scan`` at the default scan size: use ``term_dims``)."""

POLICY_TERMS: Tuple[str, ...] = (
    "base_lin_vel", "base_ang_vel", "projected_gravity", "commands", "joint_pos", "joint_vel", "actions",
)
"""The 48-dim legged_gym layout (scales: lin vel 2, ang vel 0.25, commands (2, 2, 0.25), joint vel 0.05)."""
DEPLOYABLE_TERMS: Tuple[str, ...] = POLICY_TERMS[1:]
"""The 45-dim layout without base linear velocity, which the real Go2 cannot measure."""
PRIVILEGED_EXTRA_TERMS: Tuple[str, ...] = ("friction", "payload", "motor_strength", "base_height", "foot_contacts")
"""Appended to the 48 policy terms in the ``critic`` group."""
CRITIC_TERMS: Tuple[str, ...] = POLICY_TERMS + PRIVILEGED_EXTRA_TERMS
PRIVILEGED_TERMS: Tuple[str, ...] = ("base_lin_vel",) + PRIVILEGED_EXTRA_TERMS + (HEIGHT_SCAN_TERM,)
"""Terms a real robot cannot measure (the height scan needs a terrain map: teacher and critic only)."""

OBSERVATION_NOISE: Dict[str, float] = {
    "base_lin_vel": 0.1,
    "base_ang_vel": 0.2,
    "projected_gravity": 0.05,
    "commands": 0.0,
    "joint_pos": 0.01,
    "joint_vel": 1.5,
    "actions": 0.0,
    HEIGHT_SCAN_TERM: HEIGHT_SCAN_NOISE_M,
}
"""legged_gym's uniform noise amplitudes, in physical units (multiplied by the term's scale)."""


def term_dims(scan_points: int = DEFAULT_SCAN_POINTS) -> Dict[str, int]:
    """Width of every observation term with a height scan of ``scan_points`` points."""
    dims = dict(OBSERVATION_TERM_DIMS)
    dims[HEIGHT_SCAN_TERM] = int(scan_points)
    return dims


def observation_groups(deployable_policy: bool = False, terrain_type: str = "flat",
                       height_scan_in_policy: bool = False) -> Dict[str, Tuple[str, ...]]:
    """Terms of the ``policy``, ``deployable`` and ``critic`` groups.

    ``critic`` gets ``height_scan`` appended on non-flat terrain (or when the policy has it); ``policy`` gets it
    appended with ``height_scan_in_policy`` (a teacher; allowed on flat ground, where it reads the flat ground);
    ``deployable`` never has it. On flat ground without the switch the groups are the 48/45/56 layouts."""
    policy = DEPLOYABLE_TERMS if deployable_policy else POLICY_TERMS
    critic = CRITIC_TERMS
    if height_scan_in_policy:
        policy = policy + (HEIGHT_SCAN_TERM,)
    if height_scan_in_policy or terrain_type != "flat":
        critic = critic + (HEIGHT_SCAN_TERM,)
    return {"policy": policy, "deployable": DEPLOYABLE_TERMS, "critic": critic}

REWARD_TERMS: Tuple[str, ...] = (
    "tracking_lin_vel",
    "tracking_ang_vel",
    "lin_vel_z",
    "ang_vel_xy",
    "orientation",
    "torques",
    "dof_vel",
    "dof_acc",
    "action_rate",
    "base_height",
    "feet_air_time",
    "collision",
    "dof_pos_limits",
    "stand_still",
    "feet_slip",
    "pose",
    "termination",
    "feet_clearance",
)
"""Every reward term the go2 envs implement (legged_gym names; ``feet_slip`` and ``pose`` from Playground,
``feet_clearance`` from Isaac Lab's Spot task)."""

DEFAULT_REWARD_SCALES: Dict[str, float] = {
    "tracking_lin_vel": 1.0,
    "tracking_ang_vel": 0.5,
    "lin_vel_z": -2.0,
    "ang_vel_xy": -0.05,
    "orientation": 0.0,
    "torques": -2e-4,
    "dof_vel": 0.0,
    "dof_acc": -2.5e-7,
    "action_rate": -0.01,
    "base_height": 0.0,
    "feet_air_time": 1.0,
    "collision": -1.0,
    "dof_pos_limits": -10.0,
    "stand_still": 0.0,
    "feet_slip": 0.0,
    "pose": 0.0,
    "termination": 0.0,
    "feet_clearance": 0.0,
}
"""unitree_rl_gym's Go2 scales (each multiplied by the policy dt, 0.02 s, when applied)."""
