"""Unitree Go2 constants shared by the go2 envs (torch-free).

Numbers come from unitree_rl_gym's Go2 URDF/config and MuJoCo Menagerie's go2 model (see docs/go2_toy.md).
Every per-joint tuple is in **legged_gym order**: legs FL, FR, RL, RR, each (hip, thigh, calf), which is also
the URDF / MuJoCo qpos order. The Unitree SDK and Menagerie's actuators use legs FR, FL, RR, RL: convert with
:func:`to_sdk_order` / :func:`from_sdk_order` (or the index maps) when exporting or deploying a policy.
"""
from typing import Any, Sequence, Tuple

# -- joint names and orders -----------------------------------------------------------------------------
LEG_NAMES: Tuple[str, ...] = ("FL", "FR", "RL", "RR")
"""Leg order of legged_gym, the URDF and MuJoCo's qpos/qvel."""
SDK_LEG_NAMES: Tuple[str, ...] = ("FR", "FL", "RR", "RL")
"""Leg order of the Unitree SDK (LowCmd/LowState motor index) and Menagerie's actuators."""
JOINT_KINDS: Tuple[str, ...] = ("hip", "thigh", "calf")
JOINT_NAMES: Tuple[str, ...] = tuple(f"{leg}_{kind}_joint" for leg in LEG_NAMES for kind in JOINT_KINDS)
SDK_JOINT_NAMES: Tuple[str, ...] = tuple(f"{leg}_{kind}_joint" for leg in SDK_LEG_NAMES for kind in JOINT_KINDS)
NUM_LEGS = 4
NUM_JOINTS = 12

SDK_FROM_LEGGED_GYM: Tuple[int, ...] = tuple(JOINT_NAMES.index(name) for name in SDK_JOINT_NAMES)
"""``x_sdk = x_lg[..., SDK_FROM_LEGGED_GYM]``: SDK joint i is legged_gym joint ``SDK_FROM_LEGGED_GYM[i]``."""
LEGGED_GYM_FROM_SDK: Tuple[int, ...] = tuple(SDK_JOINT_NAMES.index(name) for name in JOINT_NAMES)
"""``x_lg = x_sdk[..., LEGGED_GYM_FROM_SDK]``: legged_gym joint i is SDK joint ``LEGGED_GYM_FROM_SDK[i]``."""


def to_sdk_order(values: Any) -> Any:
    """Reorder a 12-vector (list, tuple, NumPy array or torch tensor; last axis) from legged_gym to SDK order."""
    return _reorder(values, SDK_FROM_LEGGED_GYM)


def from_sdk_order(values: Any) -> Any:
    """Reorder a 12-vector (last axis) from SDK / MuJoCo-actuator order to legged_gym order."""
    return _reorder(values, LEGGED_GYM_FROM_SDK)


def _reorder(values: Any, index: Sequence[int]) -> Any:
    if isinstance(values, (list, tuple)):
        if len(values) != NUM_JOINTS:
            raise ValueError(f"expected {NUM_JOINTS} joint values, got {len(values)}")
        return type(values)(values[i] for i in index)
    return values[..., list(index)]


# -- control (unitree_rl_gym go2_config.py) -------------------------------------------------------------
DEFAULT_JOINT_POS: Tuple[float, ...] = (
    0.1, 0.8, -1.5,  # FL
    -0.1, 0.8, -1.5,  # FR
    0.1, 1.0, -1.5,  # RL
    -0.1, 1.0, -1.5,  # RR
)
"""q0 [rad]: the action's zero point (q* = q0 + 0.25 a)."""
KP = 20.0
"""PD stiffness [N·m/rad] on every joint."""
KD = 0.5
"""PD damping [N·m·s/rad] on every joint."""
ACTION_SCALE = 0.25
SIM_DT = 0.005
"""Physics step [s]."""
DECIMATION = 4
"""Physics steps per policy step (50 Hz policy)."""
CONTROL_DT = SIM_DT * DECIMATION

# -- limits (URDF) --------------------------------------------------------------------------------------
TORQUE_LIMITS: Tuple[float, ...] = (23.7, 23.7, 35.55) * NUM_LEGS
"""N·m; the knee is 45.43 in Menagerie's model (35.55 = URDF, the conservative choice)."""
KNEE_TORQUE_LIMIT_MENAGERIE = 45.43
VELOCITY_LIMITS: Tuple[float, ...] = (30.1, 30.1, 20.07) * NUM_LEGS
"""rad/s."""
_HIP_RANGE = (-1.0472, 1.0472)
_FRONT_THIGH_RANGE = (-1.5708, 3.4907)
_REAR_THIGH_RANGE = (-0.5236, 4.5379)
_CALF_RANGE = (-2.7227, -0.83776)
JOINT_LOWER: Tuple[float, ...] = tuple(
    r[0] for thigh in (_FRONT_THIGH_RANGE,) * 2 + (_REAR_THIGH_RANGE,) * 2 for r in (_HIP_RANGE, thigh, _CALF_RANGE)
)
JOINT_UPPER: Tuple[float, ...] = tuple(
    r[1] for thigh in (_FRONT_THIGH_RANGE,) * 2 + (_REAR_THIGH_RANGE,) * 2 for r in (_HIP_RANGE, thigh, _CALF_RANGE)
)

# -- geometry (Menagerie go2.xml == URDF offsets; body frames unrotated) ---------------------------------
HIP_OFFSETS: Tuple[Tuple[float, float, float], ...] = (
    (0.1934, 0.0465, 0.0),  # FL
    (0.1934, -0.0465, 0.0),  # FR
    (-0.1934, 0.0465, 0.0),  # RL
    (-0.1934, -0.0465, 0.0),  # RR
)
"""Abduction joint position in the base frame [m]."""
LEG_SIDE: Tuple[float, ...] = (1.0, -1.0, 1.0, -1.0)
"""+1 for left legs, -1 for right legs (mirror sign of y)."""
THIGH_OFFSET_Y = 0.0955
"""Thigh joint y offset from the hip joint, times LEG_SIDE [m]."""
THIGH_LENGTH = 0.213
CALF_LENGTH = 0.213
FOOT_RADIUS = 0.022
TRUNK_HALF_SIZES: Tuple[float, float, float] = (0.1881, 0.04675, 0.057)
"""Collision box of the trunk, centred on the base origin [m]."""
HEAD_CENTER: Tuple[float, float, float] = (0.293, 0.0, -0.06)
HEAD_RADIUS = 0.047
NOMINAL_BASE_HEIGHT = 0.324
"""Base height with the feet touching the ground at DEFAULT_JOINT_POS (no sag) [m]."""

# -- inertia (Menagerie masses; composite values derived at the default pose) ----------------------------
BASE_MASS = 6.921
HIP_MASS = 0.678
THIGH_MASS = 1.152
CALF_MASS = 0.241352
TOTAL_MASS = 15.206
"""Whole robot [kg] (Menagerie; the rl_gym URDF gives 15.019)."""
COM_OFFSET: Tuple[float, float, float] = (-0.004, 0.0, -0.020)
"""Whole-body centre of mass in the base frame at the default pose [m]."""
COMPOSITE_INERTIA: Tuple[float, float, float] = (0.190, 0.508, 0.558)
"""Principal moments of the whole robot about its CoM [kg·m²] (the −0.020 xz product is dropped)."""
JOINT_INERTIA: Tuple[float, ...] = (
    0.039, 0.035, 0.016,  # FL
    0.039, 0.035, 0.016,  # FR
    0.036, 0.035, 0.016,  # RL
    0.036, 0.035, 0.016,  # RR
)
"""Joint-space diagonal inertia with the base fixed, armature 0.01 included [kg·m²]."""
GRAVITY = 9.81

# -- observation scales (legged_gym) --------------------------------------------------------------------
LIN_VEL_SCALE = 2.0
ANG_VEL_SCALE = 0.25
DOF_POS_SCALE = 1.0
DOF_VEL_SCALE = 0.05
COMMAND_SCALE: Tuple[float, float, float] = (LIN_VEL_SCALE, LIN_VEL_SCALE, ANG_VEL_SCALE)
