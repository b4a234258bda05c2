"""The observation terms as a robot-side runner must compute them (torch-free): scale and source of each term.
The tensor code is :mod:`.observations`; both read the scales from :mod:`.robot` and the terrain params."""
from typing import Dict, List, Union

from . import robot
from .task import HEIGHT_SCAN_TERM
from .terrain.params import HEIGHT_SCAN_OBS_SCALE

TERM_DESCRIPTIONS: Dict[str, str] = {
    "base_lin_vel": "privileged: base linear velocity, body frame [m/s] (not measurable on the robot)",
    "base_ang_vel": "IMU gyroscope, body frame [rad/s]",
    "projected_gravity": "unit gravity vector in the body frame, from the IMU quaternion (0, 0, -1 when level)",
    "commands": "velocity command (vx, vy, yaw rate), body frame [m/s, m/s, rad/s]",
    "joint_pos": "joint positions minus default_joint_pos, policy joint order [rad]",
    "joint_vel": "joint velocities, policy joint order [rad/s]",
    "actions": "the previous policy output, clipped to clip_actions (zeros at start)",
    "friction": "privileged: ground friction coefficient",
    "payload": "privileged: added base mass [kg]",
    "motor_strength": "privileged: PD torque factor",
    "base_height": "privileged: base height above the local ground [m]",
    "foot_contacts": "privileged: foot contact flags FL, FR, RL, RR",
    HEIGHT_SCAN_TERM: "privileged: terrain heights around the base (needs a terrain map)",
}
"""Where each term comes from, for the runner's author."""


def term_scales() -> Dict[str, Union[float, List[float]]]:
    """Scale of every term (``commands`` per component); the observation is clip(scale * value, +-clip_observations)."""
    return {
        "base_lin_vel": robot.LIN_VEL_SCALE,
        "base_ang_vel": robot.ANG_VEL_SCALE,
        "projected_gravity": 1.0,
        "commands": list(robot.COMMAND_SCALE),
        "joint_pos": robot.DOF_POS_SCALE,
        "joint_vel": robot.DOF_VEL_SCALE,
        "actions": 1.0,
        HEIGHT_SCAN_TERM: HEIGHT_SCAN_OBS_SCALE,
    }
