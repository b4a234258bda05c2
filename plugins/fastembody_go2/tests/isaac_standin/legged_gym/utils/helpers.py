"""legged_gym's helpers: cfg classes <-> dicts, seeding, Isaac Gym sim params, CLI overrides."""
import os
import random

import numpy as np
from isaacgym import gymapi, gymutil

import torch


def class_to_dict(obj):  # noqa: ANN001, ANN201
    if not hasattr(obj, "__dict__"):
        return obj
    result = {}
    for key in dir(obj):
        if key.startswith("_"):
            continue
        val = getattr(obj, key)
        result[key] = [class_to_dict(item) for item in val] if isinstance(val, list) else class_to_dict(val)
    return result


def update_class_from_dict(obj, values):  # noqa: ANN001
    for key, val in values.items():
        attr = getattr(obj, key, None)
        if isinstance(attr, type):
            update_class_from_dict(attr, val)
        else:
            setattr(obj, key, val)


def set_seed(seed):  # noqa: ANN001
    if seed == -1:
        seed = np.random.randint(0, 10000)
    print("Setting seed: {}".format(seed))
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    torch.cuda.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def parse_sim_params(args, cfg):  # noqa: ANN001, ANN201
    sim_params = gymapi.SimParams()
    if args.physics_engine == gymapi.SIM_FLEX:
        if args.device != "cpu":
            print("WARNING: Using Flex with GPU instead of PHYSX!")
    elif args.physics_engine == gymapi.SIM_PHYSX:
        sim_params.physx.use_gpu = args.use_gpu
        sim_params.physx.num_subscenes = args.subscenes
    sim_params.use_gpu_pipeline = args.use_gpu_pipeline
    if "sim" in cfg:
        gymutil.parse_sim_config(cfg["sim"], sim_params)
    if args.physics_engine == gymapi.SIM_PHYSX and args.num_threads > 0:
        sim_params.physx.num_threads = args.num_threads
    return sim_params


def update_cfg_from_args(env_cfg, cfg_train, args):  # noqa: ANN001, ANN201
    if env_cfg is not None:
        if args.num_envs is not None:
            env_cfg.env.num_envs = args.num_envs
    if cfg_train is not None:
        if args.seed is not None:
            cfg_train.seed = args.seed
        if args.max_iterations is not None:
            cfg_train.runner.max_iterations = args.max_iterations
        if args.resume:
            cfg_train.runner.resume = args.resume
        for key in ("experiment_name", "run_name", "load_run", "checkpoint"):
            if getattr(args, key) is not None:
                setattr(cfg_train.runner, key, getattr(args, key))
    return env_cfg, cfg_train


def get_args():  # noqa: ANN201
    raise RuntimeError("stand-in: get_args() parses sys.argv with isaacgym.gymutil; callers must pass args")
