"""Parameters of the ``gym:<EnvId>`` env family (torch- and gymnasium-free)."""
from dataclasses import dataclass
from typing import Optional

from fastembody_core import ConfigError

VECTORIZATION_MODES = ("sync", "async")


@dataclass
class GymEnvParams:
    """A gymnasium env id vectorised with SyncVectorEnv/AsyncVectorEnv (same-step autoreset)."""

    num_envs: int = 16
    """Number of env copies stepped together."""
    vectorization_mode: str = "sync"
    """"sync" (one process, best for cheap envs) or "async" (one subprocess per env)."""
    max_episode_steps: Optional[int] = None
    """Time limit in steps (None keeps the env's registered limit); hitting it is a time-out PPO bootstraps."""
    rescale_actions: bool = True
    """Map policy actions from [-1, 1] to the Box bounds (clipped); False only clips to the bounds."""
    reward_scale: float = 1.0
    """Multiply rewards by this before the algorithm sees them (Episode/return stays unscaled)."""
    normalize_reward: bool = False
    """Divide rewards by a running std of the discounted return (gymnasium's NormalizeReward, CleanRL)."""
    reward_gamma: float = 0.99
    """Discount of that running return."""
    clip_reward: Optional[float] = None
    """Clip the (scaled/normalised) reward to [-clip, clip] (CleanRL uses 10 with normalize_reward)."""

    def __post_init__(self) -> None:
        if self.num_envs < 1:
            raise ConfigError(f"must be >= 1, got {self.num_envs}", key="num_envs")
        if self.vectorization_mode not in VECTORIZATION_MODES:
            raise ConfigError(
                f"unknown mode {self.vectorization_mode!r}; allowed: sync, async", key="vectorization_mode"
            )
        if self.max_episode_steps is not None and self.max_episode_steps < 1:
            raise ConfigError(f"must be >= 1 or null, got {self.max_episode_steps}", key="max_episode_steps")
        if not 0.0 < self.reward_gamma <= 1.0:
            raise ConfigError(f"must be in (0, 1], got {self.reward_gamma}", key="reward_gamma")
        if self.clip_reward is not None and self.clip_reward <= 0:
            raise ConfigError(f"must be > 0 or null, got {self.clip_reward}", key="clip_reward")
