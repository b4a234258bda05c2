"""Build and run an experiment: preload -> seed -> env -> algorithm -> trainer -> run directory.

Each step is one call; nothing comes back up the path. torch is imported only after the env's preload
modules (Isaac Gym refuses to load once torch is in the process).
"""
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .config import ExperimentConfig, write_resolved
from .contracts import AlgorithmHandle, RunContext, Trainer, VectorEnv
from .errors import CheckpointError, ConfigError, FastEmbodyError
from .plugins import get_registry, import_preload


def preload_modules(experiment: ExperimentConfig) -> List[str]:
    """Import the modules the env asks to load before torch; error if torch came first."""
    registration = get_registry().get("envs", experiment.env.name)
    if not registration.preload:
        return []
    if "torch" in sys.modules and registration.preload not in sys.modules:
        raise FastEmbodyError(
            f"env {experiment.env.name!r} needs {registration.preload} imported before torch, but torch is "
            f"already imported; run it through `fastembody run` or import {registration.preload} first"
        )
    import_preload([registration.preload])
    return [registration.preload]


def resolve_device(device: str) -> str:
    """``auto`` -> cuda when available else cpu; ``cuda*`` on a machine without CUDA is a named error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but torch.cuda.is_available() is False", key="device")
    if not (device == "cpu" or device.startswith("cuda") or device.startswith("mps")):
        raise ConfigError(f"unknown device {device!r}; use cpu, cuda, cuda:N or auto", key="device")
    return device


def _distributed_rank() -> Tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    return rank, world, local_rank


def make_context(
    experiment: ExperimentConfig, run_dir: Optional[Path] = None, resume: bool = False, debug: bool = False
) -> RunContext:
    """The RunContext every factory receives (device resolved, rank from torchrun's variables)."""
    rank, world, local_rank = _distributed_rank()
    device = resolve_device(experiment.device)
    if device == "cuda" and world > 1:
        device = f"cuda:{local_rank}"
    return RunContext(
        device=device,
        seed=experiment.seed,
        run_dir=Path(run_dir) if run_dir is not None else None,
        resume=resume,
        rank=rank,
        world_size=world,
        config=experiment.to_dict(),
        debug=debug,
    )


def resolve_run_dir(experiment: ExperimentConfig, run_dir: Optional[Path], resume: bool) -> Path:
    """``--run-dir`` if given; on ``--resume`` the newest run of this experiment; else a new timestamped one."""
    if run_dir is not None:
        run_dir = Path(run_dir)
        if resume and not run_dir.is_dir():
            raise CheckpointError(f"--resume: run directory {run_dir} does not exist")
        return run_dir
    parent = Path(experiment.run.root) / experiment.name
    if resume:
        runs = sorted(p for p in parent.glob("*") if p.is_dir()) if parent.is_dir() else []
        if not runs:
            raise CheckpointError(f"--resume: no earlier run of {experiment.name!r} under {parent}")
        return runs[-1]
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    candidate, n = parent / stamp, 1
    while candidate.exists():
        candidate, n = parent / f"{stamp}_{n}", n + 1
    return candidate


def build_env(experiment: ExperimentConfig, ctx: RunContext) -> VectorEnv:
    """Build the env from its registration and validated params."""
    registration = get_registry().get("envs", experiment.env.name)
    return registration.factory(experiment.env.params, ctx)


def build_algorithm(experiment: ExperimentConfig, env: VectorEnv, ctx: RunContext) -> AlgorithmHandle:
    """Build the algorithm for the env's spec."""
    registration = get_registry().get("algorithms", experiment.algorithm.name)
    return registration.factory(env.spec(), experiment.algorithm.params, ctx)


def build_env_and_algorithm(experiment: ExperimentConfig, ctx: RunContext) -> Tuple[VectorEnv, AlgorithmHandle]:
    """Preload, seed, guard CPU numerics, then build env and algorithm (what eval/export/play need)."""
    preload_modules(experiment)
    from .seeding import guard_cpu_denormals, seed_everything

    seed_everything(ctx.seed + ctx.rank)
    if ctx.device == "cpu":
        guard_cpu_denormals()
    env = build_env(experiment, ctx)
    algorithm = build_algorithm(experiment, env, ctx)
    return env, algorithm


def build_trainer(
    experiment: ExperimentConfig, env: VectorEnv, algorithm: AlgorithmHandle, ctx: RunContext
) -> Trainer:
    registration = get_registry().get("trainers", experiment.trainer.name)
    return registration.factory(env, algorithm, experiment.trainer.params, ctx)


def run_experiment(
    experiment: ExperimentConfig, run_dir: Optional[Path] = None, resume: bool = False, debug: bool = False
) -> Dict[str, Any]:
    """Run an experiment end to end; returns the trainer's summary with ``run_dir`` added."""
    from .distributed import broadcast_object, destroy_distributed, init_distributed

    preload_modules(experiment)
    # Under torchrun: join the process group before anything collective; rank 0 picks the run directory.
    owns_group = init_distributed(resolve_device(experiment.device))
    finished = False
    try:
        run_dir = Path(broadcast_object(str(resolve_run_dir(experiment, run_dir, resume))))
        ctx = make_context(experiment, run_dir=run_dir, resume=resume, debug=debug)
        if ctx.is_main_process:
            write_resolved(experiment, run_dir)
        env, algorithm = build_env_and_algorithm(experiment, ctx)
        try:
            trainer = build_trainer(experiment, env, algorithm, ctx)
            summary = dict(trainer.train() or {})
        finally:
            env.close()
        finished = True
    finally:
        if owns_group:
            destroy_distributed(wait_for_all=finished)
    summary["run_dir"] = str(run_dir)
    return summary
