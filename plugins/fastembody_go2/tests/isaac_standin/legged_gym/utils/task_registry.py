"""legged_gym's TaskRegistry: register(name, task_class, env_cfg, train_cfg), get_cfgs, make_env."""
from typing import Tuple

import torch  # noqa: F401  (imported here in legged_gym too, after isaacgym)
from rsl_rl.env import VecEnv
from rsl_rl.runners import OnPolicyRunner  # noqa: F401

from legged_gym.envs.base.legged_robot_config import LeggedRobotCfg, LeggedRobotCfgPPO
from .helpers import class_to_dict, get_args, parse_sim_params, set_seed, update_cfg_from_args


class TaskRegistry:
    def __init__(self) -> None:
        self.task_classes = {}
        self.env_cfgs = {}
        self.train_cfgs = {}

    def register(self, name: str, task_class: VecEnv, env_cfg: LeggedRobotCfg, train_cfg: LeggedRobotCfgPPO) -> None:
        self.task_classes[name] = task_class
        self.env_cfgs[name] = env_cfg
        self.train_cfgs[name] = train_cfg

    def get_task_class(self, name: str) -> VecEnv:
        return self.task_classes[name]

    def get_cfgs(self, name) -> Tuple[LeggedRobotCfg, LeggedRobotCfgPPO]:  # noqa: ANN001
        train_cfg = self.train_cfgs[name]
        env_cfg = self.env_cfgs[name]
        env_cfg.seed = train_cfg.seed  # copy seed
        return env_cfg, train_cfg

    def make_env(self, name, args=None, env_cfg=None) -> Tuple[VecEnv, LeggedRobotCfg]:  # noqa: ANN001
        """Create a registered task; ``args`` as legged_gym's get_args() returns them (parsed if None)."""
        if args is None:
            args = get_args()
        if name in self.task_classes:
            task_class = self.get_task_class(name)
        else:
            raise ValueError(f"Task with name: {name} was not registered")
        if env_cfg is None:
            env_cfg, _ = self.get_cfgs(name)
        env_cfg, _ = update_cfg_from_args(env_cfg, None, args)
        set_seed(env_cfg.seed)
        sim_params = {"sim": class_to_dict(env_cfg.sim)}
        sim_params = parse_sim_params(args, sim_params)
        env = task_class(
            cfg=env_cfg,
            sim_params=sim_params,
            physics_engine=args.physics_engine,
            sim_device=args.sim_device,
            headless=args.headless,
        )
        return env, env_cfg

    def make_alg_runner(self, env, name=None, args=None, train_cfg=None, log_root="default"):  # noqa: ANN001, ANN201
        raise NotImplementedError("stand-in: FastEmbody trains with its own trainer, not rsl_rl's runner")


task_registry = TaskRegistry()
