"""Distillation hyperparameters as plain data (torch-free, so configs validate without importing torch).

Defaults follow rsl_rl 5.x's ``Distillation`` (DAgger: the student acts, the teacher labels; MSE on the action
mean; lr 1e-3; gradient_length 15) and Isaac Lab's distillation example (student std 0.1).
"""
import math
from dataclasses import dataclass, field
from typing import ClassVar, List, Optional, Tuple

from fastembody_core import ConfigError

ACTIVATIONS = ("elu", "selu", "relu", "lrelu", "tanh", "sigmoid", "gelu", "silu", "identity")
"""Activation names ``fastembody_core.nn`` understands."""
RNN_TYPES = ("none", "gru", "lstm")
COLLECTIONS = ("student", "teacher", "schedule")
LOSS_TYPES = ("mse", "huber")


@dataclass
class DistillationParams:
    """Teacher -> student distillation (rsl_rl's Distillation): behaviour cloning or DAgger on the action mean."""

    RESUME_FIXED: ClassVar[Tuple[str, ...]] = (
        "teacher_checkpoint", "teacher_obs_groups", "student_obs_groups", "history_length", "hidden_dims",
        "activation", "rnn_type", "rnn_hidden_size", "rnn_num_layers", "obs_normalization",
    )
    """What ``--resume`` cannot change: the checkpoint holds the teacher and the student's shape."""

    teacher_checkpoint: str = ""
    """The teacher: a FastEmbody PPO checkpoint (``RUN_DIR/checkpoints/model_<N>.pt``) or a run directory (its
    latest checkpoint). Its architecture, normaliser and observation groups come from the checkpoint."""
    teacher_obs_groups: Optional[List[str]] = None
    """Observation groups the teacher reads; None uses the ones stored in its checkpoint."""
    student_obs_groups: List[str] = field(default_factory=lambda: ["deployable"])
    """Observation groups the student reads, concatenated in this order (what the exported policy takes)."""
    history_length: int = 5
    """Frames the feed-forward student sees: the current one and the history_length - 1 before it (1: no history).
    Must be 1 with a recurrent student (its memory is the GRU/LSTM state)."""
    hidden_dims: List[int] = field(default_factory=lambda: [256, 256, 256])
    """Hidden layer sizes of the student MLP."""
    activation: str = "elu"
    """Activation of the student MLP: elu, selu, relu, lrelu, tanh, sigmoid, gelu, silu or identity."""
    rnn_type: str = "none"
    """Recurrent core of the student before its MLP: none, gru or lstm."""
    rnn_hidden_size: int = 256
    """Hidden size of the student's recurrent core."""
    rnn_num_layers: int = 1
    """Stacked recurrent layers of the student."""
    obs_normalization: bool = True
    """Give the student its own running mean/std observation normaliser (baked into the export)."""
    collection: str = "student"
    """Who acts while collecting data: "student" (DAgger, rsl_rl's default: the student acts, the teacher labels the
    states it visits), "teacher" (behaviour cloning on the teacher's states) or "schedule" (per env and step the
    teacher acts with probability beta, decaying linearly from beta_start to beta_end)."""
    beta_start: float = 1.0
    """collection="schedule": probability that the teacher acts in the first iteration."""
    beta_end: float = 0.0
    """collection="schedule": probability that the teacher acts after beta_decay_iterations."""
    beta_decay_iterations: int = 100
    """collection="schedule": iterations over which beta moves from beta_start to beta_end."""
    action_noise_std: float = 0.1
    """Std of the Gaussian noise added to the acting policy's mean while collecting (rsl_rl's student std; 0 off)."""
    loss_type: str = "mse"
    """Imitation loss on the action mean: "mse" or "huber"."""
    huber_delta: float = 1.0
    """Threshold of the Huber loss."""
    learning_rate: float = 1e-3
    """Adam learning rate of the student."""
    num_learning_epochs: int = 1
    """Passes over the rollout per update."""
    num_mini_batches: int = 4
    """Feed-forward students: shuffled minibatches per epoch (must divide num_envs * num_steps_per_env)."""
    gradient_length: int = 15
    """Recurrent students: truncated-BPTT window (steps per gradient step, the state carried across windows)."""
    max_grad_norm: Optional[float] = 1.0
    """Gradient-norm clip of the student (None: no clip)."""

    def __post_init__(self) -> None:
        if not isinstance(self.teacher_checkpoint, str):
            raise ConfigError(f"expected a path, got {self.teacher_checkpoint!r}", key="teacher_checkpoint")
        if self.teacher_obs_groups is not None and not self.teacher_obs_groups:
            raise ConfigError("must name at least one observation group, or be null", key="teacher_obs_groups")
        if not self.student_obs_groups:
            raise ConfigError("must name at least one observation group, e.g. [\"deployable\"]", key="student_obs_groups")
        if not self.hidden_dims or any(int(d) < 1 for d in self.hidden_dims):
            raise ConfigError(
                f"hidden sizes must be a non-empty list of positive integers, got {self.hidden_dims}", key="hidden_dims"
            )
        _one_of(self, "activation", ACTIVATIONS)
        _one_of(self, "rnn_type", RNN_TYPES)
        _one_of(self, "collection", COLLECTIONS)
        _one_of(self, "loss_type", LOSS_TYPES)
        for key in ("history_length", "rnn_hidden_size", "rnn_num_layers", "beta_decay_iterations",
                    "num_learning_epochs", "num_mini_batches", "gradient_length"):
            if int(getattr(self, key)) < 1:
                raise ConfigError(f"must be an integer >= 1, got {getattr(self, key)}", key=key)
        if self.is_recurrent and self.history_length != 1:
            raise ConfigError(
                f"a recurrent student (rnn_type={self.rnn_type!r}) keeps its own memory; set history_length to 1 "
                f"(got {self.history_length}) or rnn_type to none",
                key="history_length",
            )
        for key in ("beta_start", "beta_end"):
            value = getattr(self, key)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"must be a probability in [0, 1], got {value}", key=key)
        _positive(self, "learning_rate")
        _positive(self, "huber_delta")
        if not (math.isfinite(self.action_noise_std) and self.action_noise_std >= 0.0):
            raise ConfigError(f"must be a finite number >= 0, got {self.action_noise_std}", key="action_noise_std")
        if self.max_grad_norm is not None:
            _positive(self, "max_grad_norm")

    @property
    def is_recurrent(self) -> bool:
        return self.rnn_type != "none"

    def teacher_probability(self, iteration: int) -> float:
        """Probability that the teacher acts during collection at ``iteration`` (0-based updates done)."""
        if self.collection == "teacher":
            return 1.0
        if self.collection == "student":
            return 0.0
        progress = min(1.0, max(0, iteration) / float(self.beta_decay_iterations))
        return self.beta_start + (self.beta_end - self.beta_start) * progress


def _one_of(params: DistillationParams, key: str, allowed: tuple) -> None:
    value = getattr(params, key)
    if value not in allowed:
        raise ConfigError(f"unknown value {value!r}; allowed: {', '.join(allowed)}", key=key)


def _positive(params: DistillationParams, key: str) -> None:
    value = getattr(params, key)
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ConfigError(f"must be a finite number > 0, got {value}", key=key)
