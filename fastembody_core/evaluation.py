"""Evaluate a trained run: rebuild its env and algorithm from the run directory, load a checkpoint, and run
the deterministic policy (``algorithm.act_inference``) for a number of episodes.
"""
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from .checkpoint import load_checkpoint, resolve_checkpoint
from .contracts import AlgorithmHandle, RunContext, VectorEnv
from .errors import CheckpointError, ConfigError, EnvError

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


def _env_num_envs(experiment: Any) -> Optional[int]:
    value = getattr(getattr(experiment.env, "params", None), "num_envs", None)
    return value if isinstance(value, int) else None


def load_checkpoint_for(path: Path, experiment: Any, device: Any, where: str = "the run") -> Dict[str, Any]:
    """Load checkpoint ``path`` for ``experiment``; CheckpointError if another algorithm wrote it."""
    payload = load_checkpoint(path, map_location=device)
    if payload["algorithm"] != experiment.algorithm.name:
        raise CheckpointError(f"{path} was written by algorithm {payload['algorithm']!r} but {where} uses "
                              f"{experiment.algorithm.name!r}")
    return payload


def load_run(
    run_dir: PathLike,
    checkpoint: Optional[Union[PathLike, int]] = None,
    overrides: Sequence[str] = (),
    num_envs: Optional[int] = None,
    max_envs: Optional[int] = None,
) -> LoadedRun:
    """Rebuild a run's env and algorithm (``num_envs`` overrides the env's count; ``max_envs`` caps the
    configured one when ``num_envs`` is None) and load ``checkpoint`` (default: the latest) into the algorithm."""
    from .config import RESOLVED_CONFIG_NAME, load_experiment
    from .pipeline import build_env_and_algorithm, make_context

    run_dir = Path(run_dir)
    config_path = run_dir / RESOLVED_CONFIG_NAME
    if not config_path.is_file():
        raise ConfigError(f"{config_path} not found: is {run_dir} a FastEmbody run directory?")
    path = resolve_checkpoint(run_dir, checkpoint)
    overrides = list(overrides)
    experiment = load_experiment(config_path, overrides)
    configured = _env_num_envs(experiment)
    if num_envs is None and max_envs is not None and configured is not None and configured > max_envs:
        num_envs = max_envs
    if num_envs is not None and num_envs != configured:
        experiment = load_experiment(config_path, overrides + [f"env.params.num_envs={int(num_envs)}"])
    ctx = make_context(experiment, run_dir=None, resume=False)
    payload = load_checkpoint_for(path, experiment, ctx.device, where=str(config_path))
    env, algorithm = build_env_and_algorithm(experiment, ctx)
    try:
        algorithm.load_state_dict(payload["algorithm_state"])
    except Exception:
        env.close()
        raise
    algorithm.eval_mode()
    return LoadedRun(run_dir, experiment, ctx, env, algorithm, path, payload)


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
