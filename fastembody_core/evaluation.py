"""Evaluate a trained run: rebuild its env and algorithm from the run directory, load a checkpoint, and run
the deterministic policy (``algorithm.act_inference``) for a number of episodes.
"""
import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .contracts import (
    COMPILE_PARAM,
    COURSE_PARAM,
    COURSE_SUCCESS_KEY,
    NUM_ENVS_PARAM,
    AlgorithmHandle,
    RunContext,
    VectorEnv,
    evaluation_courses,
)
from .errors import ConfigError, EnvError

PathLike = Union[str, Path]


@dataclass
class LoadedRun:
    """A run's env and algorithm rebuilt from ``config.resolved.yaml``, with a checkpoint loaded."""

    run_dir: Path
    experiment: Any
    ctx: RunContext
    env: VectorEnv
    algorithm: AlgorithmHandle
    checkpoint: Path
    payload: Dict[str, Any]
    dropped: List[str] = field(default_factory=list)
    """Env params of the run that another env (``env_name``) has no field for (see :func:`experiment_for`)."""


def _env_num_envs(experiment: Any) -> Optional[int]:
    value = getattr(getattr(experiment.env, "params", None), NUM_ENVS_PARAM, None)
    return value if isinstance(value, int) else None


def load_checkpoint_for(path: Path, experiment: Any, device: Any, where: str = "the run") -> Dict[str, Any]:
    """Load checkpoint ``path`` for ``experiment``; CheckpointError if another algorithm wrote it."""
    from .checkpoint import load_checkpoint_of

    return load_checkpoint_of(path, experiment.algorithm.name, map_location=device, where=where)


def map_params(data: Any, params_cls: Optional[type]) -> Tuple[Dict[str, Any], List[str]]:
    """Keep the keys of ``data`` that ``params_cls`` (a dataclass) has, recursively; return them and the dropped
    dotted keys."""
    import dataclasses
    import typing

    if params_cls is None or not isinstance(data, Mapping):
        return {}, sorted(str(k) for k in (data or {}))
    fields = {f.name: f for f in dataclasses.fields(params_cls) if f.init}
    try:
        hints = typing.get_type_hints(params_cls)
    except Exception:
        hints = {}
    kept: Dict[str, Any] = {}
    dropped: List[str] = []
    for key, value in data.items():
        if key not in fields:
            dropped.append(str(key))
            continue
        tp = hints.get(key)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp) and isinstance(value, Mapping):
            kept[key], inner = map_params(value, tp)
            dropped.extend(f"{key}.{k}" for k in inner)
        else:
            kept[key] = value
    return kept, dropped


def experiment_for(
    run_dir: PathLike,
    env_name: Optional[str] = None,
    overrides: Sequence[str] = (),
    env_params: Optional[Mapping[str, Any]] = None,
) -> Tuple[Any, List[str]]:
    """A run's experiment from its ``config.resolved.yaml``, with the dotted keys it could not carry over.

    ``env_name`` (another registered env, e.g. ``go2-mujoco`` for a go2-toy run) takes the run's env params
    wherever it has a field of the same name (the rest keep their defaults); then ``overrides`` apply; then the build
    options ``env_params`` (``contracts.NUM_ENVS_PARAM``, ``COMPILE_PARAM``, ``COURSE_PARAM``) replace those fields
    of the validated params (``dataclasses.replace``, so ``__post_init__`` checks them) where the env declares them."""
    from .config import RESOLVED_CONFIG_NAME, apply_overrides, experiment_from_dict, read_config_file
    from .plugins import get_registry

    path = Path(run_dir) / RESOLVED_CONFIG_NAME
    if not path.is_file():
        raise ConfigError(f"{path} not found: is {run_dir} a FastEmbody run directory?")
    data = read_config_file(path)
    dropped: List[str] = []
    env = dict(data.get("env") or {})
    if env_name and env_name != env.get("name"):
        registration = get_registry().get("envs", env_name, source="--env")
        env["params"], dropped = map_params(env.get("params") or {}, registration.params)
        env["name"] = env_name
    data["env"] = env
    apply_overrides(data, list(overrides))
    experiment = experiment_from_dict(data, source=str(path))
    params = experiment.env.params
    if env_params and params is not None and dataclasses.is_dataclass(params):  # typed values on the validated params
        names = {f.name for f in dataclasses.fields(params)}
        experiment.env.params = dataclasses.replace(params, **{k: v for k, v in env_params.items() if k in names})
    return experiment, dropped


def preload_run_env(run_dir: PathLike) -> None:
    """Import the preload module of a run's env (e.g. Isaac Gym's bindings) before anything imports torch."""
    from .pipeline import preload_modules

    preload_modules(experiment_for(run_dir)[0])


def load_run(
    run_dir: PathLike,
    checkpoint: Optional[Union[PathLike, int]] = None,
    overrides: Sequence[str] = (),
    num_envs: Optional[int] = None,
    max_envs: Optional[int] = None,
    env_name: Optional[str] = None,
    env_params: Optional[Mapping[str, Any]] = None,
    render: bool = False,
) -> LoadedRun:
    """Rebuild a run's env and algorithm (``num_envs`` overrides the env's count; ``max_envs`` caps the
    configured one when ``num_envs`` is None; ``env_name`` and ``env_params`` as in :func:`experiment_for`;
    ``render``: frames will be drawn, see ``RunContext.render``) and load ``checkpoint`` (default: the latest)
    into the algorithm."""
    from .pipeline import build_env_and_algorithm, make_context, preload_modules

    run_dir = Path(run_dir)
    env_params = dict(env_params or {})
    if num_envs is not None:
        env_params[NUM_ENVS_PARAM] = int(num_envs)
    experiment, dropped = experiment_for(run_dir, env_name, overrides, env_params)
    preload_modules(experiment)  # before torch: Isaac Gym's bindings refuse to load after it
    from .checkpoint import resolve_checkpoint

    path = resolve_checkpoint(run_dir, checkpoint)
    configured = _env_num_envs(experiment)
    if num_envs is None and max_envs is not None and configured is not None and configured > max_envs:
        experiment, dropped = experiment_for(run_dir, env_name, overrides,
                                             dict(env_params, **{NUM_ENVS_PARAM: int(max_envs)}))
    ctx = make_context(experiment, run_dir=None, resume=False, render=render)
    payload = load_checkpoint_for(path, experiment, ctx.device, where=str(run_dir / "config.resolved.yaml"))
    env, algorithm = build_env_and_algorithm(experiment, ctx)
    try:
        algorithm.load_policy_state(payload["algorithm_state"])
    except Exception:
        env.close()
        raise
    algorithm.eval_mode()
    return LoadedRun(run_dir, experiment, ctx, env, algorithm, path, payload, dropped)


def run_episodes(env: VectorEnv, algorithm: AlgorithmHandle, episodes: int) -> Dict[str, Any]:
    """Run the deterministic policy until ``episodes`` episodes finished; returns, lengths and term averages."""
    import torch

    num_envs = int(env.num_envs)
    max_steps = (math.ceil(episodes / num_envs) + 1) * max(1, int(env.max_episode_length)) + 1
    returns: List[float] = []
    lengths: List[float] = []
    term_sum: Dict[str, float] = {}
    term_weight: Dict[str, float] = {}
    with torch.inference_mode():
        obs = env.reset()
        algorithm.reset()
        reward_sum = torch.zeros(num_envs, device=env.episode_length_buf.device)
        length = torch.zeros(num_envs, device=env.episode_length_buf.device)
        for _ in range(max_steps):
            obs, rewards, dones, extras = env.step(algorithm.act_inference(obs))
            reward_sum += rewards.reshape(-1).float()
            length += 1
            done = dones.reshape(-1).bool()
            if not bool(done.any()):
                continue
            algorithm.reset(done)
            returns.extend(reward_sum[done].tolist())
            lengths.extend(length[done].tolist())
            reward_sum[done] = 0.0
            length[done] = 0.0
            finished = float(done.sum())
            for key, value in (extras.get("episode") or {}).items():
                if isinstance(value, torch.Tensor) and value.numel() > 1:
                    total, weight = float(value.float().sum()), float(value.numel())
                else:  # a scalar: the mean over the envs that finished this step
                    total, weight = float(value) * finished, finished
                term_sum[key] = term_sum.get(key, 0.0) + total
                term_weight[key] = term_weight.get(key, 0.0) + weight
            if len(returns) >= episodes:
                break
    if not returns:
        raise EnvError(f"no episode finished within {max_steps} steps (max_episode_length {env.max_episode_length})")
    returns, lengths = returns[:episodes], lengths[:episodes]
    mean = sum(returns) / len(returns)
    return {
        "episodes": len(returns),
        "mean_return": mean,
        "std_return": math.sqrt(sum((r - mean) ** 2 for r in returns) / len(returns)),
        "min_return": min(returns),
        "max_return": max(returns),
        "mean_episode_length": sum(lengths) / len(lengths),
        "episode_terms": {k: term_sum[k] / term_weight[k] for k in sorted(term_sum) if term_weight[k] > 0},
    }


def evaluate_run(
    run_dir: PathLike,
    episodes: int = 10,
    checkpoint: Optional[Union[PathLike, int]] = None,
    num_envs: Optional[int] = None,
    overrides: Sequence[str] = (),
) -> Dict[str, Any]:
    """Evaluate a run's checkpoint (default: latest) with the deterministic policy for ``episodes`` episodes.

    ``num_envs`` defaults to the run's count capped at ``episodes`` (each env's first episode counts, so short
    episodes are not over-represented). Returns mean/std/min/max return, mean episode length and the average
    of each ``extras["episode"]`` term.
    """
    if episodes < 1:
        raise ConfigError(f"episodes must be >= 1, got {episodes}", key="episodes")
    loaded = load_run(run_dir, checkpoint, overrides, num_envs=num_envs, max_envs=episodes)
    try:
        result = run_episodes(loaded.env, loaded.algorithm, episodes)
    finally:
        loaded.env.close()
    out: Dict[str, Any] = {
        "run_dir": str(loaded.run_dir),
        "checkpoint": str(loaded.checkpoint),
        "iteration": int(loaded.payload["iteration"]),
        "num_envs": int(loaded.env.num_envs),
    }
    out.update(result)
    return out


def run_course_episodes(env: VectorEnv, algorithm: AlgorithmHandle) -> Dict[str, Any]:
    """One episode per env on a course (see ``contracts.COURSE_PARAM``) with the deterministic policy: success
    rate, fall rate (ended before the time limit without crossing) and mean progress."""
    import torch

    num_envs = int(env.num_envs)
    device = env.episode_length_buf.device
    running = torch.ones(num_envs, dtype=torch.bool, device=device)
    success = torch.zeros(num_envs, device=device)
    fell = torch.zeros(num_envs, dtype=torch.bool, device=device)
    progress = torch.full((num_envs,), float("nan"), device=device)
    with torch.inference_mode():
        obs = env.reset()
        algorithm.reset()
        for _ in range(int(env.max_episode_length) + 1):
            obs, _, dones, extras = env.step(algorithm.act_inference(obs))
            done = dones.reshape(-1).bool()
            if not bool(done.any()):
                continue
            algorithm.reset(done)
            ids = done.nonzero(as_tuple=False).flatten()
            episode = extras.get("episode") or {}
            if COURSE_SUCCESS_KEY not in episode:
                raise EnvError(f"{type(env).__name__} ended an episode on a course without "
                               f"extras['episode'][{COURSE_SUCCESS_KEY!r}] (see fastembody_core.contracts.COURSE_PARAM)")
            first = running[ids]
            outcome = torch.as_tensor(episode[COURSE_SUCCESS_KEY], device=device).reshape(-1).float()
            success[ids[first]] = outcome[first]
            fell[ids[first]] = ~extras["time_outs"].reshape(-1).bool()[ids][first]
            if "course_progress" in episode:
                progress[ids[first]] = torch.as_tensor(episode["course_progress"], device=device).reshape(-1).float()[first]
            running[ids] = False
            if not bool(running.any()):
                break
    finished = ~running
    out: Dict[str, Any] = {"episodes": int(finished.sum()), "success": float(success[finished].mean()),
                           "fall_rate": float(fell[finished].float().mean())}
    known = finished & ~torch.isnan(progress)
    if bool(known.any()):
        out["mean_progress_m"] = float(progress[known].mean())
    return out


def evaluate_courses(
    run_dir: PathLike,
    courses: Optional[Sequence[str]] = None,
    episodes: int = 20,
    checkpoint: Optional[Union[PathLike, int]] = None,
    env_name: Optional[str] = None,
    overrides: Sequence[str] = (),
) -> Dict[str, Any]:
    """Success on the env's evaluation courses (all, or ``courses``): ``episodes`` envs per course, one episode
    each, the deterministic policy; ``env_name`` runs them in another env (e.g. go2-mujoco for a go2-toy run)."""
    from .plugins import get_registry

    if episodes < 1:
        raise ConfigError(f"episodes must be >= 1, got {episodes}", key="episodes")
    experiment, _ = experiment_for(run_dir, env_name, overrides)
    name = str(experiment.env.name)
    available = evaluation_courses(get_registry().get("envs", name).params)
    if not available:
        raise ConfigError(f"env {name!r} has no evaluation courses (its params have no {COURSE_PARAM!r} field)",
                          key="--courses")
    chosen = list(available) if not courses else list(courses)
    unknown = [c for c in chosen if c not in available]
    if unknown:
        raise ConfigError(f"unknown course(s) {unknown} for env {name!r}; courses: {', '.join(available)}",
                          key="--courses")
    out: Dict[str, Any] = {"run_dir": str(run_dir), "env": name, "courses": {}}
    for course in chosen:
        loaded = load_run(run_dir, checkpoint, overrides, num_envs=episodes, env_name=env_name,
                          env_params={COURSE_PARAM: course, COMPILE_PARAM: False})
        try:
            out["courses"][course] = run_course_episodes(loaded.env, loaded.algorithm)
        finally:
            loaded.env.close()
        out["checkpoint"], out["iteration"] = str(loaded.checkpoint), int(loaded.payload["iteration"])
    return out
