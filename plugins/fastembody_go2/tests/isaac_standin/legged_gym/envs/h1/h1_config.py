"""unitree_rl_gym's H1 cfg, reduced to its dimensions (41 observations, 44 privileged, 10 actions)."""
from legged_gym.envs.base.legged_robot_config import LeggedRobotCfg, LeggedRobotCfgPPO


class H1RoughCfg(LeggedRobotCfg):
    class env(LeggedRobotCfg.env):
        num_observations = 41
        num_privileged_obs = 44
        num_actions = 10

    class init_state(LeggedRobotCfg.init_state):
        pos = [0.0, 0.0, 1.0]
        default_joint_angles = {
            "left_hip_yaw_joint": 0.0, "left_hip_roll_joint": 0.0, "left_hip_pitch_joint": -0.1,
            "left_knee_joint": 0.3, "left_ankle_joint": -0.2,
            "right_hip_yaw_joint": 0.0, "right_hip_roll_joint": 0.0, "right_hip_pitch_joint": -0.1,
            "right_knee_joint": 0.3, "right_ankle_joint": -0.2,
        }

    class control(LeggedRobotCfg.control):
        stiffness = {"hip": 150.0}
        damping = {"hip": 2.0}
        action_scale = 0.25
        decimation = 4


class H1RoughCfgPPO(LeggedRobotCfgPPO):
    class runner(LeggedRobotCfgPPO.runner):
        run_name = ""
        experiment_name = "h1"
