"""FastEmbody core: contracts, plugin discovery, configs, the training pipeline and the CLI.

``import fastembody_core`` is torch-free and loads no plugin. The names plugins use are re-exported here;
torch-backed ones (networks, checkpoints, export) load on first access.
"""
import importlib
from typing import Any

from .contracts import AlgorithmHandle, EnvSpec, Observations, RunContext, StepResult, Trainer, VectorEnv
from .errors import (
    CheckpointError,
    ConfigError,
    EnvError,
    FastEmbodyError,
    PluginError,
    ResourceError,
    RunDirError,
    StorageError,
    TrainingError,
)
from .hookspecs import hookimpl
from .plugins import get_registry
from .trainer_config import OnPolicyTrainerParams

__version__ = "0.1.0"

# name -> submodule, imported on first attribute access (keeps torch out of start-up).
_LAZY = {
    "save_checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
    "latest_checkpoint": "checkpoint",
    "OnPolicyTrainer": "trainer",
    "seed_everything": "seeding",
    "guard_cpu_denormals": "seeding",
    "keep_large_allocations_in_heap": "seeding",
    "evaluate_run": "evaluation",
    "export_run": "export",
    "make_env": "pipeline",
    "plot_run": "plotting",
    "TrainingInterrupted": "trainer",
    "iteration_callbacks": "callbacks",
    "MetricLogger": "loggers",
    "obs_group_names": "contracts",
    "MirrorableEnv": "contracts",
    "MirrorMap": "contracts",
    "MIRROR_ACTIONS": "contracts",
    "check_mirror_maps": "contracts",
    "check_memory": "resources",
    "atomic_write": "resources",
    "flatten_config": "run_dir",
    # torch.compile with a notice, a shared compile cache and an eager fallback (torch imported on first call)
    "maybe_compile": "compiling",
    "make_adam": "optim",
    "load_optimizer_state": "optim",
    # params validation (torch-free)
    "ACTIVATION_NAMES": "validation",
    "check_fraction": "validation",
    "check_int": "validation",
    "check_number": "validation",
    "check_one_of": "validation",
    "check_positive": "validation",
    "check_range": "validation",
    # data parallel helpers for algorithms (no-ops in one process)
    "all_reduce_mean": "distributed",
    "average_gradients": "distributed",
    "broadcast_module_states": "distributed",
    # shared networks (fastembody_core.nn: the checkpoint layout of a policy is documented there)
    "EmpiricalNormalizer": "nn",
    "ExportedPolicy": "nn",
    "ExportedRecurrentPolicy": "nn",
    "GaussianActor": "nn",
    "MLPModel": "nn",
    "SPEC_FORMAT": "nn",
    "build_mlp": "nn",
    "build_model": "nn",
    "build_policy": "nn",
    "gaussian_entropy": "nn",
    "gaussian_kl": "nn",
    "gaussian_log_prob": "nn",
    "load_module_state": "nn",
    "load_policy": "nn",
    "maybe_autocast": "nn",
    "orthogonal_init": "nn",
    "policy_spec": "nn",
    "resolve_precision": "nn",
    # a trained policy carried into another run (PPO fine-tuning of a distilled student)
    "POLICY_KEY": "policy_transfer",
    "load_trained_policy": "policy_transfer",
    "policy_record": "policy_transfer",
}

__all__ = [
    "AlgorithmHandle",
    "CheckpointError",
    "ConfigError",
    "EnvError",
    "EnvSpec",
    "FastEmbodyError",
    "Observations",
    "OnPolicyTrainerParams",
    "PluginError",
    "ResourceError",
    "RunContext",
    "RunDirError",
    "StepResult",
    "StorageError",
    "Trainer",
    "TrainingError",
    "VectorEnv",
    "get_registry",
    "hookimpl",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fastembody_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
