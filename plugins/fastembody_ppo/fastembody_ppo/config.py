"""PPO hyperparameters as plain data (torch-free, so configs validate without importing torch).

Defaults are rsl_rl 5.x's PPO class defaults, which legged_gym and Isaac Lab use for the Go2.
"""
from dataclasses import dataclass, field
from typing import ClassVar, List, Optional, Tuple, Union

from fastembody_core import ACTIVATION_NAMES, ConfigError, check_fraction, check_int, check_one_of, check_positive

ACTIVATIONS = ACTIVATION_NAMES
"""Activation names ``fastembody_core.build_mlp`` understands."""
SCHEDULES = ("adaptive", "fixed")
RNN_TYPES = ("none", "gru", "lstm")
PRECISIONS = ("auto", "fp32", "bf16")
STD_TYPES = ("scalar", "log")
INITS = ("default", "orthogonal")
SYMMETRIES = ("none", "augment")
COMPILE_AUTO_MIN_ENVS = 1024
"""``compile: auto`` compiles from this many envs on: below, compiling costs more than it saves."""


@dataclass
class PPOParams:
    """Proximal Policy Optimisation with an asymmetric Gaussian actor-critic (rsl_rl's PPO)."""

    RESUME_FIXED: ClassVar[Tuple[str, ...]] = (
        "actor_hidden_dims", "critic_hidden_dims", "activation", "init", "init_noise_std", "std_type",
        "obs_normalization", "actor_obs_groups", "critic_obs_groups", "rnn_type", "rnn_hidden_size", "rnn_num_layers",
    )
    """What ``--resume`` cannot change: the networks' shape and initialisation come from the checkpoint."""

    actor_hidden_dims: List[int] = field(default_factory=lambda: [512, 256, 128])
    """Hidden layer sizes of the actor MLP."""
    critic_hidden_dims: List[int] = field(default_factory=lambda: [512, 256, 128])
    """Hidden layer sizes of the critic MLP."""
    activation: str = "elu"
    """Activation of both MLPs: elu, selu, relu, lrelu, tanh, sigmoid, gelu, silu or identity."""
    init: str = "default"
    """Weight init: "default" (torch's, as rsl_rl) or "orthogonal" (CleanRL: gain sqrt(2), policy head 0.01)."""
    init_noise_std: float = 1.0
    """Initial standard deviation of the Gaussian policy (learnable, state independent)."""
    std_type: str = "scalar"
    """How the std is parameterised: "scalar" (rsl_rl default) or "log"."""
    obs_normalization: bool = False
    """Normalise observations with a running mean/std stored inside the actor and critic (rsl_rl-style)."""
    actor_obs_groups: List[str] = field(default_factory=lambda: ["policy"])
    """Observation groups the actor reads, concatenated in this order."""
    critic_obs_groups: List[str] = field(default_factory=lambda: ["critic"])
    """Observation groups the critic reads; ["critic"] falls back to the actor's groups if the env has none."""
    rnn_type: str = "none"
    """Recurrent core before the MLPs: none, gru or lstm."""
    rnn_hidden_size: int = 256
    """Hidden size of the recurrent core."""
    rnn_num_layers: int = 1
    """Number of stacked recurrent layers."""
    learning_rate: float = 1e-3
    """Adam learning rate (initial value under the adaptive schedule)."""
    schedule: str = "adaptive"
    """Learning-rate schedule: "adaptive" (KL-driven, rsl_rl) or "fixed"."""
    desired_kl: float = 0.01
    """Target KL per minibatch of the adaptive schedule: lr/1.5 above 2x, lr*1.5 below 1/2 (lr in [1e-5, 1e-2])."""
    num_learning_epochs: int = 5
    """Passes over the rollout per update."""
    num_mini_batches: int = 4
    """Minibatches per epoch; must divide num_envs * num_steps_per_env (num_envs for recurrent policies)."""
    clip_param: float = 0.2
    """PPO ratio clip (also the value clip)."""
    use_clipped_value_loss: bool = True
    """Clip the value update around the rollout's values."""
    gamma: float = 0.99
    """Discount factor."""
    lam: float = 0.95
    """GAE lambda."""
    value_loss_coef: float = 1.0
    """Weight of the value loss."""
    entropy_coef: float = 0.01
    """Weight of the entropy bonus."""
    max_grad_norm: float = 1.0
    """Gradient-norm clip, applied to the actor and the critic separately."""
    normalize_advantage: bool = True
    """Normalise advantages to zero mean, unit std."""
    normalize_advantage_per_mini_batch: bool = False
    """Normalise per minibatch instead of over the whole rollout."""
    precision: str = "auto"
    """Matmul precision of the networks: "fp32", "bf16" (autocast; log-probs, ratios, advantages, normalisers and
    optimiser state stay fp32) or "auto" (bf16 where the hardware has native bf16 matmuls: CPUs with
    avx512_bf16/amx_bf16, CUDA GPUs that support it; fp32 elsewhere)."""
    symmetry: str = "none"
    """Left/right symmetry: "none", or "augment": every minibatch is doubled with its mirror image (observations,
    actions, the recurrent sequences) under the env's mirror map (``fastembody_core.MirrorableEnv``; the env must
    declare one for the actor's and critic's groups), as rsl_rl's symmetry data augmentation."""
    symmetry_mirror_loss_coef: float = 0.0
    """With ``symmetry: augment``: weight of a mirror loss, the mean squared difference between the action mean of
    a mirrored observation and the mirrored action mean (0: augmentation alone)."""
    init_policy: Optional[str] = None
    """A checkpoint file or run directory whose trained policy network starts the actor (same architecture and
    observation groups; the std comes from ``init_noise_std``, the critic starts fresh), e.g. RL fine-tuning of a
    distilled student. Read when training starts (``setup``), not on ``--resume`` (the checkpoint has the actor) nor
    by eval / play / export."""
    compile: Union[bool, str] = "auto"
    """torch.compile the actor and critic (rollout and update; torch >= 2.0, on CPU a C++ compiler): fuses bias,
    activation and their backward (about 20-25 % less update time on CPU); costs seconds in a process's first
    iteration, fewer when the compile cache is warm (``fastembody_core.maybe_compile``). "auto": on for batches where
    it pays, at least ``COMPILE_AUTO_MIN_ENVS`` envs (per process), eager below (tests, small envs)."""

    def __post_init__(self) -> None:
        for key in ("actor_hidden_dims", "critic_hidden_dims"):
            dims = getattr(self, key)
            if not dims or any(int(d) < 1 for d in dims):
                raise ConfigError(f"hidden sizes must be a non-empty list of positive integers, got {dims}", key=key)
        for key, allowed in (("activation", ACTIVATIONS), ("init", INITS), ("std_type", STD_TYPES),
                             ("schedule", SCHEDULES), ("rnn_type", RNN_TYPES), ("precision", PRECISIONS),
                             ("symmetry", SYMMETRIES)):
            check_one_of(getattr(self, key), key, allowed)
        if not isinstance(self.compile, bool) and self.compile != "auto":
            raise ConfigError(f"must be true, false or \"auto\", got {self.compile!r}", key="compile")
        for key in ("actor_obs_groups", "critic_obs_groups"):
            if not getattr(self, key):
                raise ConfigError("must name at least one observation group, e.g. [\"policy\"]", key=key)
        for key in ("learning_rate", "clip_param", "init_noise_std", "max_grad_norm") + \
                (("desired_kl",) if self.schedule == "adaptive" else ()):
            check_positive(getattr(self, key), key)
        for key in ("num_learning_epochs", "num_mini_batches", "rnn_hidden_size", "rnn_num_layers"):
            check_int(getattr(self, key), key, 1)
        for key in ("gamma", "lam"):
            check_fraction(getattr(self, key), key)
        for key in ("value_loss_coef", "entropy_coef", "symmetry_mirror_loss_coef"):
            check_positive(getattr(self, key), key, allow_zero=True)
        if self.init_policy is not None and (not isinstance(self.init_policy, str) or not self.init_policy.strip()):
            raise ConfigError(f"expected a checkpoint file or run directory, got {self.init_policy!r}",
                              key="init_policy")
        if self.symmetry_mirror_loss_coef > 0 and self.symmetry == "none":
            raise ConfigError("a mirror loss needs symmetry: augment (it compares the mirrored samples' actions)",
                              key="symmetry_mirror_loss_coef")

    @property
    def is_recurrent(self) -> bool:
        return self.rnn_type != "none"
