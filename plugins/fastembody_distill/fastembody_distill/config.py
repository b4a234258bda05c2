"""Distillation hyperparameters as plain data (torch-free, so configs validate without importing torch).

Defaults follow rsl_rl 5.x's ``Distillation`` (DAgger: the student acts, the teacher labels; MSE on the action
mean; lr 1e-3; gradient_length 15) and Isaac Lab's distillation example (student std 0.1).
"""
from dataclasses import dataclass, field
from typing import ClassVar, List, Optional, Tuple

from fastembody_core import ACTIVATION_NAMES, ConfigError, check_fraction, check_int, check_one_of, check_positive

ACTIVATIONS = ACTIVATION_NAMES
"""Activation names ``fastembody_core.build_mlp`` understands."""
RNN_TYPES = ("none", "gru", "lstm")
COLLECTIONS = ("student", "teacher", "schedule")
LOSS_TYPES = ("mse", "huber")
PRECISIONS = ("auto", "fp32", "bf16")


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
    """Adam learning rate of the student (at the first iteration, with a decay)."""
    learning_rate_end: Optional[float] = None
    """A linear decay: the learning rate moves from learning_rate to this over learning_rate_decay_iterations and
    stays there (a late student then changes little from one checkpoint to the next); None: constant."""
    learning_rate_decay_iterations: int = 1000
    """Iterations of the learning-rate decay (with learning_rate_end)."""
    num_learning_epochs: int = 1
    """Passes over the rollout per update."""
    num_mini_batches: int = 4
    """Minibatches per epoch. Feed-forward students: shuffled samples (must divide num_envs * num_steps_per_env).
    Recurrent students: shuffled groups of whole env trajectories (must divide num_envs), each cut into
    gradient_length windows: num_mini_batches * ceil(num_steps_per_env / gradient_length) gradient steps."""
    gradient_length: int = 15
    """Recurrent students: truncated-BPTT window (steps per gradient step, the state carried across windows)."""
    max_grad_norm: Optional[float] = 1.0
    """Gradient-norm clip of the student (None: no clip)."""
    precision: str = "auto"
    """Matmul precision of the teacher's and the student's forward passes and the student's update: "fp32", "bf16"
    (autocast; the loss, labels, recurrent states, normaliser and optimiser state stay fp32) or "auto" (bf16 where
    the hardware has native bf16 matmuls, as PPO's ``precision``; fp32 elsewhere)."""

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
        for key, allowed in (("activation", ACTIVATIONS), ("rnn_type", RNN_TYPES), ("collection", COLLECTIONS),
                             ("loss_type", LOSS_TYPES), ("precision", PRECISIONS)):
            check_one_of(getattr(self, key), key, allowed)
        for key in ("history_length", "rnn_hidden_size", "rnn_num_layers", "beta_decay_iterations",
                    "num_learning_epochs", "num_mini_batches", "gradient_length", "learning_rate_decay_iterations"):
            check_int(getattr(self, key), key, 1)
        if self.is_recurrent and self.history_length != 1:
            raise ConfigError(
                f"a recurrent student (rnn_type={self.rnn_type!r}) keeps its own memory; set history_length to 1 "
                f"(got {self.history_length}) or rnn_type to none",
                key="history_length",
            )
        for key in ("beta_start", "beta_end"):
            check_fraction(getattr(self, key), key)
        optional = tuple(k for k in ("max_grad_norm", "learning_rate_end") if getattr(self, k) is not None)
        for key in ("learning_rate", "huber_delta") + optional:
            check_positive(getattr(self, key), key)
        check_positive(self.action_noise_std, "action_noise_std", allow_zero=True)

    @property
    def is_recurrent(self) -> bool:
        return self.rnn_type != "none"

    def learning_rate_at(self, iteration: int) -> float:
        """The student's learning rate for the update after ``iteration`` updates (0-based)."""
        if self.learning_rate_end is None:
            return self.learning_rate
        progress = min(1.0, max(0, iteration) / float(self.learning_rate_decay_iterations))
        return self.learning_rate + (self.learning_rate_end - self.learning_rate) * progress

    def teacher_probability(self, iteration: int) -> float:
        """Probability that the teacher acts during collection at ``iteration`` (0-based updates done)."""
        if self.collection == "teacher":
            return 1.0
        if self.collection == "student":
            return 0.0
        progress = min(1.0, max(0, iteration) / float(self.beta_decay_iterations))
        return self.beta_start + (self.beta_end - self.beta_start) * progress
