"""Rollout storage for PPO: preallocated ``[num_steps, num_envs, ...]`` tensors, GAE, minibatch generators."""
from typing import Iterator, NamedTuple, Optional, Tuple

import torch


class MiniBatch(NamedTuple):
    """One minibatch. Feed-forward: flat ``[B, ...]``; recurrent: ``[T, b, ...]`` sequences with states."""

    actor_obs: torch.Tensor
    critic_obs: torch.Tensor
    actions: torch.Tensor
    old_log_probs: torch.Tensor
    old_means: torch.Tensor
    old_values: torch.Tensor
    returns: torch.Tensor
    advantages: torch.Tensor
    actor_state: Optional[torch.Tensor] = None
    critic_state: Optional[torch.Tensor] = None
    resets: Optional[torch.Tensor] = None
    mirror_actor_state: Optional[torch.Tensor] = None
    """Recurrent with symmetry: the states the mirrored sequences start from (``RolloutStorage.mirror_actor_state0``)."""
    mirror_critic_state: Optional[torch.Tensor] = None


class RolloutStorage:
    """What one rollout of ``num_steps`` steps of ``num_envs`` envs leaves for the update.

    The critic's observations are stored only when they differ from the actor's. The policy std is state
    independent, so it is stored once per rollout (``old_std``) rather than per sample.
    """

    def __init__(
        self,
        num_steps: int,
        num_envs: int,
        actor_obs_dim: int,
        critic_obs_dim: Optional[int],
        num_actions: int,
        device: torch.device,
        actor_state_shape: Optional[Tuple[int, int]] = None,
        critic_state_shape: Optional[Tuple[int, int]] = None,
        mirror_states: bool = False,
    ):
        """``mirror_states``: also keep the recurrent states of the mirrored trajectories at the rollout's start."""
        self.num_steps, self.num_envs, self.device = num_steps, num_envs, device
        shape = (num_steps, num_envs)
        self.actor_obs = torch.zeros(*shape, actor_obs_dim, device=device)
        self.critic_obs = torch.zeros(*shape, critic_obs_dim, device=device) if critic_obs_dim else self.actor_obs
        self.actions = torch.zeros(*shape, num_actions, device=device)
        self.means = torch.zeros(*shape, num_actions, device=device)
        self.log_probs = torch.zeros(shape, device=device)
        self.values = torch.zeros(shape, device=device)
        self.rewards = torch.zeros(shape, device=device)
        self.dones = torch.zeros(shape, dtype=torch.bool, device=device)
        self.returns = torch.zeros(shape, device=device)
        self.advantages = torch.zeros(shape, device=device)
        self.old_std = torch.ones(num_actions, device=device)
        self.actor_state0 = self._state_buffer(actor_state_shape)
        self.critic_state0 = self._state_buffer(critic_state_shape)
        self.mirror_actor_state0 = self._state_buffer(actor_state_shape) if mirror_states else None
        self.mirror_critic_state0 = self._state_buffer(critic_state_shape) if mirror_states else None
        self.step = 0

    def _state_buffer(self, shape: Optional[Tuple[int, int]]) -> Optional[torch.Tensor]:
        if shape is None:
            return None
        return torch.zeros(shape[0], self.num_envs, shape[1], device=self.device)

    # -- filling -------------------------------------------------------------------------------------
    def add_action(
        self,
        actor_obs: torch.Tensor,
        critic_obs: torch.Tensor,
        actions: torch.Tensor,
        log_probs: torch.Tensor,
        means: torch.Tensor,
        values: torch.Tensor,
    ) -> None:
        if self.step >= self.num_steps:
            raise RuntimeError(f"rollout storage is full ({self.num_steps} steps): call update() first")
        t = self.step
        self.actor_obs[t].copy_(actor_obs)
        if self.critic_obs is not self.actor_obs:
            self.critic_obs[t].copy_(critic_obs)
        self.actions[t].copy_(actions)
        self.log_probs[t].copy_(log_probs)
        self.means[t].copy_(means)
        self.values[t].copy_(values)

    def add_outcome(self, rewards: torch.Tensor, dones: torch.Tensor) -> None:
        self.rewards[self.step].copy_(rewards)
        self.dones[self.step].copy_(dones)
        self.step += 1

    def clear(self) -> None:
        self.step = 0

    @property
    def full(self) -> bool:
        return self.step == self.num_steps

    # -- returns -------------------------------------------------------------------------------------
    def compute_returns(self, last_values: torch.Tensor, gamma: float, lam: float) -> None:
        """GAE(gamma, lambda); a done step (termination or time-out) does not bootstrap from the next one."""
        advantage = torch.zeros_like(last_values)
        next_values = last_values
        not_done = (~self.dones).float()
        for t in reversed(range(self.num_steps)):
            delta = self.rewards[t] + gamma * not_done[t] * next_values - self.values[t]
            advantage = delta + gamma * lam * not_done[t] * advantage
            self.advantages[t] = advantage
            next_values = self.values[t]
        self.returns.copy_(self.advantages + self.values)

    def normalize_advantages(self) -> None:
        self.advantages.sub_(self.advantages.mean()).div_(self.advantages.std() + 1e-8)

    # -- minibatches ---------------------------------------------------------------------------------
    def mini_batches(self, num_mini_batches: int, num_epochs: int) -> Iterator[MiniBatch]:
        """Shuffled flat minibatches; one permutation reused by every epoch (as rsl_rl).

        The rollout is gathered into permuted order once, and every epoch's minibatches are contiguous slices of
        that copy (views): the same samples in the same minibatches as indexing each minibatch, with one gather per
        update instead of one per minibatch and epoch."""
        batch = self.num_steps * self.num_envs
        size = batch // num_mini_batches
        perm = torch.randperm(batch, device=self.device)
        actor_obs = self.actor_obs.flatten(0, 1)[perm]
        critic_obs = actor_obs if self.critic_obs is self.actor_obs else self.critic_obs.flatten(0, 1)[perm]
        rest = [
            x[perm]
            for x in (
                self.actions.flatten(0, 1),
                self.log_probs.flatten(),
                self.means.flatten(0, 1),
                self.values.flatten(),
                self.returns.flatten(),
                self.advantages.flatten(),
            )
        ]
        for _ in range(num_epochs):
            for i in range(num_mini_batches):
                part = slice(i * size, (i + 1) * size)
                a_obs = actor_obs[part]
                yield MiniBatch(a_obs, a_obs if critic_obs is actor_obs else critic_obs[part], *[x[part] for x in rest])

    def recurrent_mini_batches(self, num_mini_batches: int, num_epochs: int) -> Iterator[MiniBatch]:
        """Minibatches of whole env sequences ``[T, envs]`` replayed from the rollout's first states."""
        size = self.num_envs // num_mini_batches
        resets = torch.zeros_like(self.dones)
        resets[1:] = self.dones[:-1]
        for _ in range(num_epochs):
            perm = torch.randperm(self.num_envs, device=self.device)
            for i in range(num_mini_batches):
                env = perm[i * size : (i + 1) * size]
                yield MiniBatch(
                    self.actor_obs[:, env],
                    self.critic_obs[:, env],
                    self.actions[:, env],
                    self.log_probs[:, env],
                    self.means[:, env],
                    self.values[:, env],
                    self.returns[:, env],
                    self.advantages[:, env],
                    None if self.actor_state0 is None else self.actor_state0[:, env],
                    None if self.critic_state0 is None else self.critic_state0[:, env],
                    resets[:, env],
                    None if self.mirror_actor_state0 is None else self.mirror_actor_state0[:, env],
                    None if self.mirror_critic_state0 is None else self.mirror_critic_state0[:, env],
                )
