"""What a Go2 runner needs to rebuild the policy's inputs and apply its outputs on the robot (torch-free): the
``deployment_info()`` of go2-toy and go2-mujoco, written by ``fastembody export --format bundle`` into the
bundle's manifest. Joint order: the policy's is legged_gym's (FL, FR, RL, RR); the Unitree SDK's low-level state
and command use FR, FL, RR, RL: ``policy_from_sdk[i]`` is the SDK index of policy joint i."""
from typing import Any, Dict

from . import robot
from .observations_meta import TERM_DESCRIPTIONS, term_scales
from .task import term_dims


def deployment_info(params: Any, scan_points: int) -> Dict[str, Any]:
    """Plain data from a go2 env's params (``Go2TaskParams`` with a ``physics`` block holding kp and kd)."""
    dims = term_dims(scan_points)
    scales = term_scales()
    commands = params.commands
    return {
        "robot": "unitree_go2",
        "joint_names": list(robot.JOINT_NAMES),
        "sdk_joint_names": list(robot.SDK_JOINT_NAMES),
        "policy_from_sdk": list(robot.LEGGED_GYM_FROM_SDK),
        "sdk_from_policy": list(robot.SDK_FROM_LEGGED_GYM),
        "joint_maps": "policy_values = sdk_values[policy_from_sdk]; sdk_values = policy_values[sdk_from_policy]",
        "default_joint_pos": list(robot.DEFAULT_JOINT_POS),
        "kp": float(params.physics.kp),
        "kd": float(params.physics.kd),
        "action_scale": float(robot.ACTION_SCALE),
        "clip_actions": float(params.clip_actions),
        "joint_target": "q* = default_joint_pos + action_scale * clip(action, -clip_actions, clip_actions)",
        "control_dt": float(robot.CONTROL_DT),
        "sim_dt": float(robot.SIM_DT),
        "decimation": int(robot.DECIMATION),
        "clip_observations": float(params.clip_observations),
        "joint_lower": list(robot.JOINT_LOWER),
        "joint_upper": list(robot.JOINT_UPPER),
        "torque_limits": list(robot.TORQUE_LIMITS),
        "command_ranges": {"lin_vel_x": list(commands.lin_vel_x), "lin_vel_y": list(commands.lin_vel_y),
                           "ang_vel_yaw": list(commands.ang_vel_yaw)},
        "fall_limits": {"max_roll": float(params.max_roll), "max_pitch": float(params.max_pitch)},
        "observation_terms": {name: {"dim": int(dims[name]), "scale": scales.get(name, 1.0),
                                     "source": TERM_DESCRIPTIONS.get(name, "")} for name in dims},
    }
