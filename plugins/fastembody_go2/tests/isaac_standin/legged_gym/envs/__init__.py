"""Registers unitree_rl_gym's tasks in legged_gym's task registry (importing this module does it).

``STANDIN_LEGGED_GYM=legged_gym`` registers go2 with ``TerrainLeggedRobot`` (leggedrobotics/legged_gym's
LeggedRobot, which keeps the terrain code) instead of unitree_rl_gym's plane-only ``LeggedRobot``.
"""
import os

from legged_gym import LEGGED_GYM_ENVS_DIR, LEGGED_GYM_ROOT_DIR  # noqa: F401
from legged_gym.envs.go2.go2_config import GO2RoughCfg, GO2RoughCfgPPO
from legged_gym.envs.h1.h1_config import H1RoughCfg, H1RoughCfgPPO
from legged_gym.envs.h1_2.h1_2_config import H1_2RoughCfg, H1_2RoughCfgPPO
from legged_gym.envs.g1.g1_config import G1RoughCfg, G1RoughCfgPPO
from .base.legged_robot import LeggedRobot, TerrainLeggedRobot

from legged_gym.utils.task_registry import task_registry

GO2_CLASS = TerrainLeggedRobot if os.environ.get("STANDIN_LEGGED_GYM") == "legged_gym" else LeggedRobot

task_registry.register("go2", GO2_CLASS, GO2RoughCfg(), GO2RoughCfgPPO())
task_registry.register("h1", LeggedRobot, H1RoughCfg(), H1RoughCfgPPO())
task_registry.register("h1_2", LeggedRobot, H1_2RoughCfg(), H1_2RoughCfgPPO())
task_registry.register("g1", LeggedRobot, G1RoughCfg(), G1RoughCfgPPO())
