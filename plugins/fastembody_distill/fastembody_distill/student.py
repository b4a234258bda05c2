"""The student: one observation frame per control step -> [history stack | GRU/LSTM] -> MLP -> action mean.

Three kinds, chosen by the spec:

* **history MLP** (``history_length`` N > 1): the MLP reads the last N frames, oldest first. The previous N - 1
  frames are the student's *state* ``[1, num_envs, (N - 1) * frame_dim]`` (raw observations), zero at an
  episode start, exactly like a recurrent state: the env, the trainer and a deployer only ever pass the
  current frame.
* **recurrent** (``rnn_type`` gru/lstm): ``fastembody_core.nn.MLPModel`` with its GRU/LSTM state ``[S, B, H]``.
* **plain MLP** (N = 1, no RNN): no state.

Every kind keeps its own empirical normaliser (over the MLP/RNN input) and exports to a CPU module that takes
the raw current frame of the student's observation groups, nothing else.
"""
import copy
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

from fastembody_core import CheckpointError
from fastembody_core.nn import ExportedPolicy, ExportedRecurrentPolicy, MLPModel, build_model, policy_spec

STUDENT_FORMAT = "fastembody.distill_student/1"


def student_spec(
    obs_groups: Sequence[str],
    frame_dim: int,
    num_actions: int,
    hidden_dims: Sequence[int],
    activation: str = "elu",
    obs_normalization: bool = True,
    history_length: int = 1,
    rnn_type: str = "none",
    rnn_hidden_size: int = 256,
    rnn_num_layers: int = 1,
) -> Dict[str, Any]:
    """The student's architecture as plain data (stored in checkpoints as ``"student_spec"``)."""
    return {
        "format": STUDENT_FORMAT,
        "obs_groups": [str(g) for g in obs_groups],
        "frame_dim": int(frame_dim),
        "history_length": int(history_length),
        "num_actions": int(num_actions),
        "hidden_dims": [int(d) for d in hidden_dims],
        "activation": str(activation),
        "obs_normalization": bool(obs_normalization),
        "rnn_type": str(rnn_type),
        "rnn_hidden_size": int(rnn_hidden_size),
        "rnn_num_layers": int(rnn_num_layers),
    }


class Student(nn.Module):
    """The student network plus the rule that turns a stream of frames into its input (see the module doc)."""

    def __init__(self, spec: Mapping[str, Any]):
        super().__init__()
        if spec.get("format") != STUDENT_FORMAT:
            raise CheckpointError(f"student_spec format {spec.get('format')!r} is not {STUDENT_FORMAT!r}")
        self.spec = dict(spec)
        self.obs_groups: List[str] = list(spec["obs_groups"])
        self.frame_dim = int(spec["frame_dim"])
        self.history_length = int(spec["history_length"])
        core = dict(spec, obs_dim=self.frame_dim * self.history_length)
        self.model: MLPModel = build_model(core)

    @property
    def is_recurrent(self) -> bool:
        return self.model.is_recurrent

    @property
    def input_dim(self) -> int:
        """Width of what the network reads per step (and what rollout storage keeps)."""
        return self.frame_dim * self.history_length

    def policy_spec(self) -> Dict[str, Any]:
        """The network as the core's policy architecture record (``fastembody_core.policy_spec``): what another
        algorithm's actor must match to start from it (history students stack frames outside it: not one)."""
        s = self.spec
        return policy_spec(self.obs_groups, self.input_dim, s["num_actions"], s["hidden_dims"], s["activation"],
                           s["obs_normalization"], s["rnn_type"], s["rnn_hidden_size"], s["rnn_num_layers"])

    def initial_state(self, batch: int, device: Any = None) -> Optional[torch.Tensor]:
        """Zero state ``[S, batch, H]``: the GRU/LSTM state, or the previous frames of a history MLP."""
        if self.is_recurrent:
            return self.model.initial_state(batch, device)
        if self.history_length > 1:
            return torch.zeros(1, batch, (self.history_length - 1) * self.frame_dim, device=device)
        return None

    def observe(self, frame: torch.Tensor, state: Optional[torch.Tensor]) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Feed-forward students: ``(network input, next state)`` for the current ``frame[B, frame_dim]``."""
        if self.history_length == 1:
            return frame, state
        assert state is not None, "a history student needs its state"
        stacked = torch.cat([state[0], frame], dim=-1)
        return stacked, stacked[:, self.frame_dim :].unsqueeze(0)

    def act(
        self, frame: torch.Tensor, state: Optional[torch.Tensor]
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor], torch.Tensor]:
        """One control step: ``(action mean, next state, network input to store)``."""
        if self.is_recurrent:
            mean, state = self.model(frame, state)
            return mean.float(), state, frame
        x, state = self.observe(frame, state)
        mean, _ = self.model(x)
        return mean.float(), state, x

    def forward(
        self, x: torch.Tensor, state: Optional[torch.Tensor] = None, resets: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Training on stored inputs: flat ``x[B, input_dim]``, or ``x[T, B, D]`` with ``state``/``resets`` (RNN)."""
        mean, state = self.model(x, state, resets)
        return mean.float(), state

    def export(self) -> nn.Module:
        """A deterministic CPU fp32 module that takes the raw current frame (normaliser and history inside)."""
        model = copy.deepcopy(self.model).float().cpu().eval()
        if model.normalizer is not None:
            mean, scale = model.normalizer.mean.clone(), model.normalizer.std + model.normalizer.eps
        else:
            mean, scale = torch.zeros(self.input_dim), torch.ones(self.input_dim)
        if model.memory is not None:
            return ExportedRecurrentPolicy(mean, scale, model.memory, model.mlp, self.obs_groups)
        if self.history_length > 1:
            return ExportedHistoryPolicy(mean, scale, model.mlp, self.obs_groups, self.frame_dim, self.history_length)
        return ExportedPolicy(mean, scale, model.mlp, self.obs_groups)


class ExportedHistoryPolicy(nn.Module):
    """``forward(obs, h) -> (actions, h)`` for a student that reads the last ``history_length`` frames.

    ``obs[B, frame_dim]`` is the raw current frame (the groups in ``obs_groups``, concatenated); ``h`` holds the
    previous ``history_length - 1`` raw frames, oldest first, as ``[1, B, (history_length - 1) * frame_dim]``.
    Start every episode with ``h = initial_state(B)`` (zeros), then feed back the returned ``h`` each control
    step: the same loop as for a GRU policy. Works with ``torch.jit.script`` and ``torch.onnx.export``.
    """

    obs_groups: List[str]
    frame_dim: int
    history_length: int

    def __init__(
        self,
        obs_mean: torch.Tensor,
        obs_scale: torch.Tensor,
        mlp: nn.Module,
        obs_groups: List[str],
        frame_dim: int,
        history_length: int,
    ):
        super().__init__()
        self.register_buffer("obs_mean", obs_mean.detach().float().cpu().clone())
        self.register_buffer("obs_scale", obs_scale.detach().float().cpu().clone())
        self.mlp = mlp
        self.obs_groups = list(obs_groups)
        self.frame_dim = int(frame_dim)
        self.history_length = int(history_length)
        self.state_layers = 1
        self.state_size = (self.history_length - 1) * self.frame_dim

    @torch.jit.export
    def initial_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(1, batch, self.state_size)

    def forward(self, obs: torch.Tensor, h: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        stacked = torch.cat([h[0], obs], dim=-1)
        actions = self.mlp((stacked - self.obs_mean) / self.obs_scale)
        return actions, stacked[:, self.frame_dim :].unsqueeze(0)
