"""Build and run an experiment: preload -> seed -> env -> algorithm -> trainer -> run directory.

Each step is one call; nothing comes back up the path. torch is imported only after the env's preload
modules (Isaac Gym refuses to load once torch is in the process).
"""
import contextlib
import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from .config import ExperimentConfig, write_resolved
from .contracts import NUM_ENVS_PARAM, AlgorithmHandle, RunContext, Trainer, VectorEnv
from .errors import CheckpointError, ConfigError, FastEmbodyError
from .plugins import get_registry, import_preload
from .resources import memory_guard
from .run_dir import RunClaim, claim_run_dir


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


def available_devices() -> List[str]:
    """The devices torch can use on this machine: cpu, cuda:0..N-1, mps."""
    import torch

    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


def resolve_device(device: str) -> str:
    """``auto`` -> cuda when available else cpu; a device this machine lacks is a named error listing those it has."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    here = available_devices()
    kind, _, index = device.partition(":")
    if kind not in ("cpu", "cuda", "mps") or (index and not index.isdigit()):
        raise ConfigError(f"unknown device {device!r}; use cpu, cuda, cuda:N, mps or auto (devices here: "
                          f"{', '.join(here)})", key="device")
    if kind == "cpu" or device in here or (kind == "cuda" and not index and len(here) > 1 and "cuda:0" in here):
        return device
    build = "" if kind != "cuda" or torch.version.cuda else f" (this torch {torch.__version__} is built without CUDA)"
    raise ConfigError(f"device {device!r} is not available on this machine{build}; devices here: {', '.join(here)} "
                      f"(device=auto picks one)", key="device")


def _distributed_rank() -> Tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    return rank, world, local_rank


def make_context(
    experiment: ExperimentConfig, run_dir: Optional[Path] = None, resume: bool = False, debug: bool = False,
    resume_from: Optional[Path] = None, render: bool = False,
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
        render=render,
        resume_from=resume_from,
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


@contextlib.contextmanager
def _named_config_errors(experiment: ExperimentConfig, section: str) -> Iterator[None]:
    """A ConfigError a factory raises (checks that need the EnvSpec live there) gets the config file and the
    section's key path: ``pointmass.yaml: algorithm.params.critic_obs_groups: ...``."""
    try:
        yield
    except ConfigError as err:
        if err.source:
            raise
        key = err.key or ""
        if not key.startswith(("env.", "algorithm.", "trainer.")):
            key = f"{section}.params" + (f".{key}" if key else "")
        raise ConfigError(err.detail, source=experiment.source or None, key=key) from None


def build_env(experiment: ExperimentConfig, ctx: RunContext) -> VectorEnv:
    """Build the env from its registration and validated params; refuse episodes shorter than two steps."""
    registration = get_registry().get("envs", experiment.env.name)
    num_envs = getattr(experiment.env.params, NUM_ENVS_PARAM, None)
    what = f"building env {experiment.env.name!r}" + (f" with num_envs={num_envs}" if num_envs is not None else "")
    with memory_guard(what, "lower env.params.num_envs", ctx.device), _named_config_errors(experiment, "env"):
        env = registration.factory(experiment.env.params, ctx)
    length = int(getattr(env, "max_episode_length", 2))
    if length < 2:
        env.close()
        fields = dataclasses.fields(registration.params) if registration.params is not None else ()
        keys = [f"env.params.{f.name}" for f in fields if "episode" in f.name]
        raise ConfigError(f"env {experiment.env.name!r} ends every episode after {length} step (max_episode_length "
                          f"{env.max_episode_length}, step_dt {env.step_dt} s): nothing can be learned from that; "
                          f"make episodes longer{' (' + ', '.join(keys) + ')' if keys else ''}", key="env.params")
    return env


def make_env(name: str, params: Optional[Dict[str, Any]] = None, ctx: Optional[RunContext] = None,
             source: str = "make_env") -> VectorEnv:
    """A registered env by name, its params from a plain dict validated as a config's ``env.params`` (errors name
    ``source`` and the key); the env's preload module is imported first."""
    from .config import build_dataclass

    registration = get_registry().get("envs", name, source=source)
    values = build_dataclass(registration.params, dict(params or {}), "env.params", source) \
        if registration.params is not None else None
    if registration.preload:
        import_preload([registration.preload])
    with memory_guard(f"building env {name!r}", "lower env.params.num_envs", (ctx or RunContext()).device):
        return registration.factory(values, ctx or RunContext())


def build_algorithm(experiment: ExperimentConfig, env: VectorEnv, ctx: RunContext) -> AlgorithmHandle:
    """Build the algorithm for the env's spec."""
    registration = get_registry().get("algorithms", experiment.algorithm.name)
    with memory_guard(f"building algorithm {experiment.algorithm.name!r}", "lower the network sizes in "
                      "algorithm.params or env.params.num_envs", ctx.device), \
            _named_config_errors(experiment, "algorithm"):
        return registration.factory(env.spec(), experiment.algorithm.params, ctx)


def build_prepared_env(experiment: ExperimentConfig, ctx: RunContext) -> VectorEnv:
    """Preload, seed, guard CPU numerics, then build the env (what eval/export/play need)."""
    preload_modules(experiment)
    from .seeding import guard_cpu_denormals, seed_everything

    seed_everything(ctx.seed + ctx.rank)
    if ctx.device == "cpu":
        guard_cpu_denormals()
    return build_env(experiment, ctx)


def build_env_and_algorithm(experiment: ExperimentConfig, ctx: RunContext) -> Tuple[VectorEnv, AlgorithmHandle]:
    """:func:`build_prepared_env`, then the algorithm for it."""
    env = build_prepared_env(experiment, ctx)
    try:
        return env, build_algorithm(experiment, env, ctx)
    except BaseException:
        env.close()
        raise


def build_trainer(
    experiment: ExperimentConfig, env: VectorEnv, algorithm: AlgorithmHandle, ctx: RunContext
) -> Trainer:
    registration = get_registry().get("trainers", experiment.trainer.name)
    return registration.factory(env, algorithm, experiment.trainer.params, ctx)


def _claim(experiment: ExperimentConfig, run_dir: Optional[Path], resume: bool) -> RunClaim:
    """Rank 0: pick, lock and check the run dir (run_dir.py), then write the resolved config into it."""
    init_checkpoint = getattr(experiment.trainer.params, "init_checkpoint", None)
    if init_checkpoint and not resume:  # a missing file is refused before anything is written
        from .checkpoint import checkpoint_file

        checkpoint_file(init_checkpoint, "trainer.params.init_checkpoint")
    claim = claim_run_dir(experiment, resolve_run_dir(experiment, run_dir, resume), resume)
    try:
        write_resolved(experiment, claim.run_dir)
    except BaseException:
        claim.lock.release()
        raise
    return claim


def run_experiment(
    experiment: ExperimentConfig, run_dir: Optional[Path] = None, resume: bool = False, debug: bool = False
) -> Dict[str, Any]:
    """Run an experiment end to end; returns the trainer's summary with ``run_dir`` added.

    Rank 0 alone claims the run dir (lock, identity, resume plan, resolved config) and tells the other ranks
    where to write and which checkpoint to resume from, or why it refused: no rank waits on a refusal."""
    from .distributed import broadcast_object, destroy_distributed, init_distributed

    preload_modules(experiment)
    # Under torchrun: join the process group before anything collective; rank 0 picks the run directory.
    owns_group = init_distributed(resolve_device(experiment.device))
    finished = False
    claim: Optional[RunClaim] = None
    try:
        error: Optional[BaseException] = None
        if _distributed_rank()[0] == 0:
            try:
                claim = _claim(experiment, run_dir, resume)
            except Exception as exc:  # shared with the other ranks below, then raised here
                error = exc
        shared = broadcast_object((str(claim.run_dir) if claim else None,
                                   str(claim.resume_from) if claim and claim.resume_from else None,
                                   str(error) if error is not None else None))
        if error is not None:
            raise error
        if shared[2] is not None:
            raise FastEmbodyError(f"rank 0 refused the run: {shared[2]}")
        run_dir = Path(shared[0])
        resume_from = Path(shared[1]) if shared[1] else None
        ctx = make_context(experiment, run_dir=run_dir, resume=resume, debug=debug, resume_from=resume_from)
        env, algorithm = build_env_and_algorithm(experiment, ctx)
        try:
            trainer = build_trainer(experiment, env, algorithm, ctx)
            with memory_guard("training", "lower env.params.num_envs, trainer.params.num_steps_per_env or the "
                              "network sizes", ctx.device):
                summary = dict(trainer.train() or {})
        finally:
            env.close()
        finished = True
    finally:
        if claim is not None:
            claim.lock.release()
        if owns_group:
            destroy_distributed(wait_for_all=finished)
    summary["run_dir"] = str(run_dir)
    return summary
