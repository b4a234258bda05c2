"""Parameters of the core's on-policy trainer (torch-free, so configs validate without torch)."""
from dataclasses import dataclass
from typing import Optional


@dataclass
class OnPolicyTrainerParams:
    """rsl_rl OnPolicyRunner's settings, as plain data."""

    max_iterations: int = 1500
    """Iterations to run (in total: a resumed run continues up to this number)."""
    num_steps_per_env: int = 24
    """Rollout length per env per iteration."""
    save_interval: int = 50
    """Write a checkpoint every N iterations (and always at the end; 0: only at the end)."""
    keep_last_checkpoints: int = 0
    """Keep only the newest N periodic checkpoints (0 keeps all)."""
    init_at_random_ep_len: bool = True
    """Spread the first episodes over their length, as legged_gym does."""
    check_for_nan: bool = True
    """Stop with a named error on NaN/inf in observations, rewards or losses."""
    tensorboard: bool = True
    """Write TensorBoard event files (metrics.jsonl is always written)."""
    progress: bool = True
    """Show a progress bar with ETA and a per-iteration summary."""
    log_interval: int = 1
    """Print the summary every N iterations."""
    init_checkpoint: Optional[str] = None
    """Start this run from another run's checkpoint (a ``model_<N>.pt`` or a run directory: its latest): the
    algorithm's state (networks, normalisers, optimiser) is loaded before the first iteration, while the iteration
    count, the env and its curriculum start fresh (rsl_rl's ``runner.load`` before ``learn``): fine-tuning, e.g.
    a walker moved to harder terrain. The networks must match (a CheckpointError names both shapes). Ignored
    on ``--resume``, which continues this run's own checkpoints."""

    def __post_init__(self) -> None:
        from .errors import ConfigError

        for key in ("max_iterations", "num_steps_per_env", "log_interval"):
            if int(getattr(self, key)) < 1:
                raise ConfigError(f"must be >= 1, got {getattr(self, key)}", key=key)
        if self.init_checkpoint is not None and (not isinstance(self.init_checkpoint, str)
                                                 or not self.init_checkpoint.strip()):
            raise ConfigError(f"expected a checkpoint file or run directory, got {self.init_checkpoint!r}",
                              key="init_checkpoint")
        for key in ("save_interval", "keep_last_checkpoints"):
            if int(getattr(self, key)) < 0:
                raise ConfigError(f"must be >= 0 (0: {'only at the end' if key == 'save_interval' else 'keep all'}), "
                                  f"got {getattr(self, key)}", key=key)
