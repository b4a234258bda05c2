"""Rollout storage for distillation: the student's inputs and the teacher's labels, ``[num_steps, num_envs, ...]``.

No rewards, values or returns: distillation is supervised (rewards are only logged by the trainer).
"""
from typing import Iterator, List, Optional, Tuple

import torch


class DistillationStorage:
    """One rollout: what the student read, what the teacher would have done, and where episodes ended."""

    def __init__(
        self,
        num_steps: int,
        num_envs: int,
        input_dim: int,
        num_actions: int,
        device: torch.device,
        state_shape: Optional[Tuple[int, int]] = None,
    ):
        self.num_steps, self.num_envs, self.device = num_steps, num_envs, device
        self.student_inputs = torch.zeros(num_steps, num_envs, input_dim, device=device)
        self.teacher_actions = torch.zeros(num_steps, num_envs, num_actions, device=device)
        self.dones = torch.zeros(num_steps, num_envs, dtype=torch.bool, device=device)
        self.state0 = None if state_shape is None else torch.zeros(state_shape[0], num_envs, state_shape[1], device=device)
        self.step = 0

    def add(self, student_inputs: torch.Tensor, teacher_actions: torch.Tensor) -> None:
        if self.step >= self.num_steps:
            raise RuntimeError(f"rollout storage is full ({self.num_steps} steps): call update() first")
        self.student_inputs[self.step].copy_(student_inputs)
        self.teacher_actions[self.step].copy_(teacher_actions)

    def add_dones(self, dones: torch.Tensor) -> None:
        self.dones[self.step].copy_(dones)
        self.step += 1

    def clear(self) -> None:
        self.step = 0

    @property
    def full(self) -> bool:
        return self.step == self.num_steps

    def mini_batches(self, num_mini_batches: int, num_epochs: int) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
        """Feed-forward students: shuffled flat ``(inputs, labels)`` minibatches, a new permutation per epoch."""
        batch = self.num_steps * self.num_envs
        size = batch // num_mini_batches
        inputs = self.student_inputs.flatten(0, 1)
        labels = self.teacher_actions.flatten(0, 1)
        for _ in range(num_epochs):
            perm = torch.randperm(batch, device=self.device)
            for i in range(num_mini_batches):
                idx = perm[i * size : (i + 1) * size]
                yield inputs[idx], labels[idx]

    def env_groups(self, num_groups: int) -> List[torch.Tensor]:
        """Recurrent students: the envs in ``num_groups`` shuffled, equal groups (each trained on its whole
        trajectories, as rsl_rl's recurrent minibatches)."""
        return list(torch.randperm(self.num_envs, device=self.device).chunk(num_groups))

    def windows(
        self, length: int, envs: Optional[torch.Tensor] = None
    ) -> Iterator[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Recurrent students: consecutive ``(inputs[L, B, D], labels[L, B, A], resets[L, B])`` windows in time
        order, of the envs ``envs`` (all if None); ``resets[t]`` is True where an episode began at step t (the
        state must be zeroed before it)."""
        inputs, labels, dones = self.student_inputs, self.teacher_actions, self.dones
        if envs is not None:
            inputs, labels, dones = inputs[:, envs], labels[:, envs], dones[:, envs]
        resets = torch.zeros_like(dones)
        resets[1:] = dones[:-1]
        for start in range(0, self.num_steps, length):
            end = min(start + length, self.num_steps)
            yield inputs[start:end], labels[start:end], resets[start:end]
