"""The teacher: a frozen policy rebuilt from a FastEmbody checkpoint through ``fastembody_core`` only.

A PPO checkpoint stores its actor as plain data (``algorithm_state["model_spec"]`` and ``["actor_state"]``, the
layout documented in ``fastembody_core.nn``), so the teacher is rebuilt without importing the PPO plugin. It is
kept in eval mode with gradients off and acts with its deterministic mean action.
"""
import math
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import torch

from fastembody_core import CheckpointError, load_checkpoint
from fastembody_core.checkpoint import checkpoint_file
from fastembody_core import SPEC_FORMAT, GaussianActor, load_policy

TEACHER_KEY = "algorithm.params.teacher_checkpoint"


def resolve_teacher_path(teacher_checkpoint: str) -> Path:
    """The checkpoint file a ``teacher_checkpoint`` value means: the file itself, or a run directory's latest.

    Raises CheckpointError naming the path when there is none.
    """
    return checkpoint_file(teacher_checkpoint, TEACHER_KEY,
                           "train a teacher first (fastembody run configs/unitree_go2_ppo.yaml --run-dir runs/teacher) "
                           "and pass its checkpoints/model_<N>.pt or run directory")


def read_teacher_state(path: Path) -> Dict[str, Any]:
    """The teacher part of a checkpoint: ``{"model_spec", "actor_state"}``; CheckpointError for other algorithms."""
    payload = load_checkpoint(path, map_location="cpu")
    state = payload["algorithm_state"]
    algorithm = payload.get("algorithm")
    spec = state.get("model_spec") if isinstance(state, Mapping) else None
    if not isinstance(spec, Mapping) or spec.get("format") != SPEC_FORMAT or "actor_state" not in state:
        raise CheckpointError(
            f"{TEACHER_KEY}: {path} was written by algorithm {algorithm!r}, which stores no teacher policy "
            f"(model_spec of format {SPEC_FORMAT!r} + actor_state); distil from a checkpoint of algorithm 'ppo'"
        )
    return {"model_spec": dict(spec), "actor_state": state["actor_state"]}


def _group_width(shape: Sequence[int]) -> int:
    return int(math.prod(int(s) for s in shape))


class Teacher:
    """A frozen :class:`~fastembody_core.nn.GaussianActor` plus its observation groups and recurrent state."""

    def __init__(
        self,
        state: Mapping[str, Any],
        observation_shapes: Mapping[str, Tuple[int, ...]],
        obs_groups: Optional[List[str]],
        num_envs: int,
        device: torch.device,
        source: str = "",
    ):
        self.source = source
        self.spec = dict(state["model_spec"])
        self.obs_groups = list(obs_groups) if obs_groups else list(self.spec["obs_groups"])
        self._check_shapes(observation_shapes)
        self.actor: GaussianActor = load_policy(state, device)
        self.actor.eval()
        for parameter in self.actor.parameters():
            parameter.requires_grad_(False)
        self.device = device
        self.hidden = self.actor.model.initial_state(num_envs, device)

    def _check_shapes(self, shapes: Mapping[str, Tuple[int, ...]]) -> None:
        where = f"teacher {self.source}" if self.source else "teacher"
        missing = [g for g in self.obs_groups if g not in shapes]
        if missing:
            raise CheckpointError(
                f"{where} reads observation group(s) {missing} but the env provides {sorted(shapes)} "
                f"(set algorithm.params.teacher_obs_groups)"
            )
        env_dim = sum(_group_width(shapes[g]) for g in self.obs_groups)
        teacher_dim = int(self.spec["obs_dim"])
        if env_dim != teacher_dim:
            env_shapes = ", ".join(f"{g}: {tuple(shapes[g])}" for g in self.obs_groups)
            raise CheckpointError(
                f"{where} expects observations of shape ({teacher_dim},) from groups {self.obs_groups}, but the env "
                f"gives shape ({env_dim},) ({env_shapes}); train the teacher on this env's observation layout"
            )

    @torch.no_grad()
    def act(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Deterministic mean actions for ``obs`` (advances the recurrent state of a recurrent teacher)."""
        parts = [obs[g].reshape(obs[g].shape[0], -1) for g in self.obs_groups]
        x = (parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)).to(self.device, torch.float32)
        if self.hidden is not None and self.hidden.shape[1] != x.shape[0]:  # another batch size: fresh state
            self.hidden = self.actor.model.initial_state(x.shape[0], self.device)
        mean, hidden = self.actor(x, self.hidden)
        self.hidden = None if hidden is None else hidden.float()  # fp32 under bf16 autocast too
        return mean

    @torch.no_grad()
    def reset(self, keep: Optional[torch.Tensor]) -> None:
        """Zero the recurrent state where ``keep`` (float ``[1, B, 1]``) is 0; everywhere when None."""
        if self.hidden is None:
            return
        self.hidden = torch.zeros_like(self.hidden) if keep is None else self.hidden * keep

    def state_dict(self) -> Dict[str, Any]:
        """What a distillation checkpoint keeps of the teacher (it is self-contained)."""
        return {
            "model_spec": dict(self.spec),
            "actor_state": dict(self.actor.state_dict()),
            "obs_groups": list(self.obs_groups),
            "source": self.source,
        }
