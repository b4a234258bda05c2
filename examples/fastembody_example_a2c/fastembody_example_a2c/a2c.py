"""A2C, top to bottom: the AlgorithmHandle contract with the core's helpers (networks, normaliser, Gaussian maths,
data-parallel helpers) and nothing else. Read with ``fastembody_core/contracts.py`` beside it.

One iteration, as the core's trainer runs it: ``act`` / ``process_env_step`` for ``num_steps_per_env`` steps under
``torch.inference_mode()`` (so they copy into buffers allocated in ``setup``, outside inference mode), then
``update``: GAE advantages, one gradient step on policy-gradient + value + entropy losses.
"""
import math
from typing import Any, Dict, List, Mapping

import torch

from fastembody_core import (
    AlgorithmHandle,
    CheckpointError,
    EnvSpec,
    GaussianActor,
    RunContext,
    TrainingError,
    average_gradients,
    broadcast_module_states,
    build_model,
    gaussian_entropy,
    gaussian_log_prob,
    load_module_state,
    obs_group_names,
    policy_spec,
)

from .config import A2CParams

STATE_FORMAT = "fastembody-example.a2c/1"


class A2C(AlgorithmHandle):
    def __init__(self, spec: EnvSpec, params: A2CParams, ctx: RunContext):
        self.params = params
        self.device = torch.device(ctx.device)
        self.env_device = torch.device(spec.device)
        self.num_envs, self.num_actions = int(spec.num_envs), int(spec.num_actions)
        shapes = spec.observation_shapes
        # Observation groups: the env's spec says what exists; a ConfigError here gets the file and key from the core.
        self.actor_groups = obs_group_names(params.actor_obs_groups, shapes, "actor_obs_groups")
        critic_groups = params.critic_obs_groups
        if critic_groups == ["critic"] and "critic" not in shapes:
            critic_groups = list(self.actor_groups)  # no privileged group: the critic sees what the actor sees
        self.critic_groups = obs_group_names(critic_groups, shapes, "critic_obs_groups")

        # Networks: the core's Gaussian actor and MLP (their specs are plain data, stored in checkpoints).
        def dim(groups: List[str]) -> int:
            return sum(int(math.prod(shapes[g])) for g in groups)

        arch = dict(activation=params.activation, obs_normalization=params.obs_normalization)
        self.actor_spec = policy_spec(self.actor_groups, dim(self.actor_groups), self.num_actions,
                                      params.hidden_dims, init_noise_std=params.init_noise_std, **arch)
        self.critic_spec = policy_spec(self.critic_groups, dim(self.critic_groups), 1, params.hidden_dims, **arch)
        self.actor = GaussianActor(self.actor_spec).to(self.device)
        self.critic = build_model(self.critic_spec).to(self.device)
        self.optimizer = torch.optim.Adam(self._parameters(), lr=params.learning_rate)
        broadcast_module_states(self.actor, self.critic)  # --nproc: every rank starts from rank 0's weights
        self.num_steps_per_env = 0
        self.step = 0

    def _parameters(self) -> List[torch.nn.Parameter]:
        return list(self.actor.parameters()) + list(self.critic.parameters())

    def _cat(self, obs: Mapping[str, torch.Tensor], groups: List[str]) -> torch.Tensor:
        return torch.cat([obs[g].reshape(self.num_envs, -1) for g in groups], dim=-1).to(self.device, torch.float32)

    # -- rollout (under torch.inference_mode) ------------------------------------------------------------
    def setup(self, num_steps_per_env: int) -> None:
        n, e = int(num_steps_per_env), self.num_envs
        self.num_steps_per_env = n
        self.actor_obs = torch.zeros(n, e, self.actor_spec["obs_dim"], device=self.device)
        self.critic_obs = torch.zeros(n, e, self.critic_spec["obs_dim"], device=self.device)
        self.actions = torch.zeros(n, e, self.num_actions, device=self.device)
        self.values = torch.zeros(n, e, device=self.device)
        self.rewards = torch.zeros(n, e, device=self.device)
        self.dones = torch.zeros(n, e, device=self.device)
        self.step = 0

    def act(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        if self.step >= self.num_steps_per_env:
            raise TrainingError("a2c: more steps than setup(num_steps_per_env) allocated; call update() first")
        actor_obs, critic_obs = self._cat(obs, self.actor_groups), self._cat(obs, self.critic_groups)
        mean, _ = self.actor(actor_obs)
        actions = mean + self.actor.std() * torch.randn_like(mean)
        self.actor_obs[self.step].copy_(actor_obs)
        self.critic_obs[self.step].copy_(critic_obs)
        self.actions[self.step].copy_(actions)
        self.values[self.step].copy_(self.critic(critic_obs)[0].squeeze(-1))
        return actions.to(self.env_device)

    def process_env_step(self, obs: Mapping[str, torch.Tensor], rewards: torch.Tensor, dones: torch.Tensor,
                         extras: Dict[str, Any]) -> None:
        rewards = rewards.to(self.device, torch.float32)
        time_outs = extras.get("time_outs")
        if time_outs is not None:  # a time-out is not a failure: bootstrap from the value, as rsl_rl does
            rewards = rewards + self.params.gamma * self.values[self.step] * time_outs.to(self.device).float()
        self.rewards[self.step].copy_(rewards)
        self.dones[self.step].copy_(dones.to(self.device).float())
        self.step += 1

    # -- learning ----------------------------------------------------------------------------------------
    def update(self, last_obs: Mapping[str, torch.Tensor]) -> Dict[str, float]:
        p, n = self.params, self.step
        with torch.no_grad():  # generalised advantage estimation, backwards through the rollout
            next_value = self.critic(self._cat(last_obs, self.critic_groups))[0].squeeze(-1)
            advantages = torch.zeros_like(self.rewards[:n])
            gae = torch.zeros(self.num_envs, device=self.device)
            for t in reversed(range(n)):
                alive = 1.0 - self.dones[t]
                delta = self.rewards[t] + p.gamma * next_value * alive - self.values[t]
                gae = delta + p.gamma * p.lam * alive * gae
                advantages[t] = gae
                next_value = self.values[t]
            returns = advantages + self.values[:n]
            if p.normalize_advantage:
                advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        actor_obs, critic_obs = self.actor_obs[:n].flatten(0, 1), self.critic_obs[:n].flatten(0, 1)
        mean, _ = self.actor(actor_obs)
        std = self.actor.std()
        log_prob = gaussian_log_prob(self.actions[:n].flatten(0, 1), mean, std)
        entropy = gaussian_entropy(std).mean()
        values = self.critic(critic_obs)[0].squeeze(-1)
        policy_loss = -(advantages.flatten() * log_prob).mean()
        value_loss = (returns.flatten() - values).square().mean()
        loss = policy_loss + p.value_loss_coef * value_loss - p.entropy_coef * entropy
        self.optimizer.zero_grad()
        loss.backward()
        average_gradients(self._parameters())  # --nproc: the mean gradient over ranks
        torch.nn.utils.clip_grad_norm_(self._parameters(), p.max_grad_norm)
        self.optimizer.step()
        for model, observations in ((self.actor.model, actor_obs), (self.critic, critic_obs)):
            if model.normalizer is not None:
                model.normalizer.update(observations)
        self.step = 0
        return {"surrogate": policy_loss.item(), "value_function": value_loss.item(), "entropy": entropy.item()}

    # -- evaluation, export, checkpoints -----------------------------------------------------------------
    @torch.no_grad()
    def act_inference(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.actor(self._cat(obs, self.actor_groups))[0].to(self.env_device)

    def export_policy(self) -> torch.nn.Module:
        return self.actor.export()  # CPU, fp32, normaliser inside, obs_groups set

    def train_mode(self) -> None:
        self.actor.train()
        self.critic.train()

    def eval_mode(self) -> None:
        self.actor.eval()
        self.critic.eval()

    def metrics(self) -> Dict[str, float]:
        return {"Policy/mean_std": float(self.actor.std().detach().mean())}

    def state_dict(self) -> Dict[str, Any]:
        """Plain data and tensors (loads with weights_only=True); model_spec + actor_state make it a teacher too."""
        return {"format": STATE_FORMAT, "model_spec": dict(self.actor_spec), "actor_state": self.actor.state_dict(),
                "critic_spec": dict(self.critic_spec), "critic_state": self.critic.state_dict(),
                "optimizer_state": self.optimizer.state_dict()}

    def load_policy_state(self, state: Mapping[str, Any]) -> None:
        self._check(state, "model_spec", self.actor_spec)
        load_module_state(self.actor, state["actor_state"], "a2c actor")

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.load_policy_state(state)
        self._check(state, "critic_spec", self.critic_spec)
        load_module_state(self.critic, state["critic_state"], "a2c critic")
        self.optimizer.load_state_dict(state["optimizer_state"])

    def _check(self, state: Mapping[str, Any], key: str, own: Mapping[str, Any]) -> None:
        if state.get("format") != STATE_FORMAT:
            raise CheckpointError(f"a2c: state format {state.get('format')!r}, expected {STATE_FORMAT!r}")
        diff = {k: (state[key].get(k), v) for k, v in own.items() if state[key].get(k) != v}
        if diff:
            raise CheckpointError(f"a2c {key} does not match the env/config (" + ", ".join(
                f"{k}: checkpoint {a!r} vs this run {b!r}" for k, (a, b) in diff.items()) + ")")
