"""A2C's parameters as plain data (torch-free: configs validate without importing torch)."""
from dataclasses import dataclass, field
from typing import List

from fastembody_core import ACTIVATION_NAMES, ConfigError, check_fraction, check_one_of, check_positive


@dataclass
class A2CParams:
    """Synchronous advantage actor-critic (Mnih et al. 2016, as Stable-Baselines3's A2C) with GAE."""

    hidden_dims: List[int] = field(default_factory=lambda: [64, 64])
    """Hidden layers of the actor and of the critic."""
    activation: str = "elu"
    """elu, selu, relu, lrelu, tanh or sigmoid."""
    obs_normalization: bool = True
    """Running mean / std normalisation of the observations (fastembody_core.EmpiricalNormalizer)."""
    actor_obs_groups: List[str] = field(default_factory=lambda: ["policy"])
    """Observation groups the actor reads."""
    critic_obs_groups: List[str] = field(default_factory=lambda: ["critic"])
    """Observation groups the critic reads (the actor's when the env has no ``critic`` group)."""
    learning_rate: float = 7e-4
    """Adam learning rate."""
    gamma: float = 0.99
    """Discount."""
    lam: float = 0.95
    """GAE lambda (1.0: Monte-Carlo returns bootstrapped at the rollout end)."""
    value_loss_coef: float = 0.5
    """Weight of the value loss."""
    entropy_coef: float = 0.0
    """Weight of the entropy bonus."""
    max_grad_norm: float = 0.5
    """Gradient clipping norm."""
    normalize_advantage: bool = True
    """Scale the rollout's advantages to zero mean and unit std before the policy-gradient step."""
    init_noise_std: float = 1.0
    """Initial action standard deviation."""

    def __post_init__(self) -> None:  # one ConfigError line naming the key; the core adds file and section
        if not self.hidden_dims or any(not isinstance(d, int) or d < 1 for d in self.hidden_dims):
            raise ConfigError(f"must be a non-empty list of positive ints, got {self.hidden_dims!r}", key="hidden_dims")
        check_one_of(self.activation, "activation", ACTIVATION_NAMES)
        for name in ("learning_rate", "max_grad_norm", "init_noise_std"):
            check_positive(getattr(self, name), name)
        for name in ("gamma", "lam"):
            check_fraction(getattr(self, name), name)
        for name in ("value_loss_coef", "entropy_coef"):
            check_positive(getattr(self, name), name, allow_zero=True)
