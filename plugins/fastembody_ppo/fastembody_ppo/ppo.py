"""PPO (Schulman et al. 2017) as rsl_rl runs it, implementing ``fastembody_core.AlgorithmHandle``.

Read top to bottom: networks and optimiser (``__init__``), storage (``setup``), rollout (``act``,
``process_env_step``), learning (``update`` -> ``_update_mini_batch``), then deployment and checkpoints.

Precision: under ``precision="bf16"`` only the network matmuls run in bf16 (autocast); action sampling,
log-probs, ratios, advantages, returns, normalisers and the Adam state stay fp32.
"""
import math
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch
from torch import nn

from fastembody_core import (
    AlgorithmHandle,
    all_reduce_mean,
    average_gradients,
    broadcast_module_states,
    CheckpointError,
    ConfigError,
    EnvSpec,
    GaussianActor,
    RunContext,
    TrainingError,
    build_model,
    gaussian_entropy,
    gaussian_kl,
    gaussian_log_prob,
    load_module_state,
    load_optimizer_state,
    load_trained_policy,
    make_adam,
    maybe_autocast,
    maybe_compile,
    obs_group_names,
    orthogonal_init,
    policy_spec,
    resolve_precision,
)
from fastembody_core.resources import check_memory

from .config import COMPILE_AUTO_MIN_ENVS, PPOParams
from .storage import MiniBatch, RolloutStorage
from .symmetry import build_mirror

STATE_FORMAT = "fastembody.ppo/1"
_INIT_ONLY = ("init_noise_std",)  # spec entries that only set initial values: a checkpoint may differ


class PPO(AlgorithmHandle):
    """Clipped-surrogate PPO with GAE, clipped value loss, entropy bonus and an adaptive-KL learning rate."""

    def __init__(self, env_spec: EnvSpec, params: PPOParams, ctx: Optional[RunContext] = None):
        self.params = params
        self.ctx = ctx or RunContext()
        self.device = torch.device(self.ctx.device)
        self.env_device = torch.device(env_spec.device)
        self.world_size = int(self.ctx.world_size)
        self.num_envs, self.num_actions = env_spec.num_envs, env_spec.num_actions
        shapes = env_spec.observation_shapes

        # Observation groups: the critic reads "critic" when the env has it, else the actor's groups.
        self.actor_obs_groups = obs_group_names(params.actor_obs_groups, shapes, "actor_obs_groups")
        critic_groups = list(params.critic_obs_groups)
        if critic_groups == ["critic"] and "critic" not in shapes:
            critic_groups = list(self.actor_obs_groups)
        self.critic_obs_groups = obs_group_names(critic_groups, shapes, "critic_obs_groups")
        self.shared_obs = self.critic_obs_groups == self.actor_obs_groups
        # Left/right symmetry (symmetry.py): refused here, before training, when the env declares no mirror map.
        env_name = str((self.ctx.config.get("env") or {}).get("name", "")) if self.ctx.config else ""
        self.mirror = build_mirror(env_spec, params.symmetry, self.actor_obs_groups, self.critic_obs_groups,
                                   self.device, env_name)
        self.mirror_actor_state: Optional[torch.Tensor] = None  # recurrent + symmetry: the mirrored trajectories'
        self.mirror_critic_state: Optional[torch.Tensor] = None  # states (allocated in setup)

        # Networks: Gaussian actor and value critic, each with its own normaliser (and recurrent core).
        arch = dict(
            activation=params.activation,
            obs_normalization=params.obs_normalization,
            rnn_type=params.rnn_type,
            rnn_hidden_size=params.rnn_hidden_size,
            rnn_num_layers=params.rnn_num_layers,
            init_noise_std=params.init_noise_std,
            std_type=params.std_type,
        )
        self.actor_spec = policy_spec(
            self.actor_obs_groups, _obs_dim(shapes, self.actor_obs_groups), self.num_actions,
            params.actor_hidden_dims, **arch,
        )
        self.critic_spec = policy_spec(
            self.critic_obs_groups, _obs_dim(shapes, self.critic_obs_groups), 1, params.critic_hidden_dims, **arch
        )
        self.actor = GaussianActor(self.actor_spec).to(self.device)
        self.critic = build_model(self.critic_spec).to(self.device)
        if params.init == "orthogonal":
            orthogonal_init(self.actor.model.mlp, output_gain=0.01)
            orthogonal_init(self.critic.mlp, output_gain=1.0)
        self.learning_rate = params.learning_rate
        self.optimizer = make_adam([*self.actor.parameters(), *self.critic.parameters()], params.learning_rate)
        self.amp_dtype = resolve_precision(params.precision, self.device)
        # The callables the rollout and the update run: the modules themselves, or compiled views of them
        # (state_dict keys stay those of the plain modules).
        self.actor_forward, self.critic_forward = self.actor, self.critic
        if params.compile is True and not hasattr(torch, "compile"):
            raise ConfigError(f"needs torch >= 2.0 (found {torch.__version__})", key="compile")
        self.compiled = params.compile is True or (
            params.compile == "auto" and hasattr(torch, "compile") and self.num_envs >= COMPILE_AUTO_MIN_ENVS)
        if self.compiled:  # a notice, the shared compile cache, eager fallback (fastembody_core.compiling)
            self.actor_forward = maybe_compile(self.actor, True, "ppo", "algorithm.params.compile=false")
            self.critic_forward = maybe_compile(self.critic, True, "ppo", "algorithm.params.compile=false")

        self.actor_state = self.actor.model.initial_state(self.num_envs, self.device)
        self.critic_state = self.critic.initial_state(self.num_envs, self.device)
        self.storage: Optional[RolloutStorage] = None
        self.num_steps_per_env = 0

    # -- storage ---------------------------------------------------------------------------------------
    def setup(self, num_steps_per_env: int) -> None:
        p = self.params
        if num_steps_per_env < 1:
            raise ConfigError(f"must be >= 1, got {num_steps_per_env}", key="num_steps_per_env")
        batch = self.num_envs if p.is_recurrent else self.num_envs * num_steps_per_env
        what = "num_envs" if p.is_recurrent else "num_envs * num_steps_per_env"
        if batch % p.num_mini_batches != 0:
            raise ConfigError(
                f"{p.num_mini_batches} minibatches do not divide the batch ({what} = {batch}); "
                f"use a divisor of {batch}",
                key="num_mini_batches",
            )
        self.num_steps_per_env = num_steps_per_env
        floats = self.actor_spec["obs_dim"] + (0 if self.shared_obs else self.critic_spec["obs_dim"])
        floats += 2 * self.num_actions + 6  # actions, means; log-probs, values, rewards, dones, returns, advantages
        minibatch = (2 if self.mirror is not None else 1) / p.num_mini_batches  # symmetry doubles a minibatch
        check_memory(4.0 * floats * num_steps_per_env * self.num_envs * (1 + minibatch),  # + a minibatch
                     f"ppo's rollout storage ({num_steps_per_env} steps x {self.num_envs} envs x {floats} numbers)",
                     "lower env.params.num_envs or trainer.params.num_steps_per_env", self.device)
        self.storage = RolloutStorage(
            num_steps_per_env,
            self.num_envs,
            self.actor_spec["obs_dim"],
            None if self.shared_obs else self.critic_spec["obs_dim"],
            self.num_actions,
            self.device,
            self.actor.model.state_shape,
            self.critic.state_shape,
            mirror_states=self.mirror is not None and p.is_recurrent,
        )
        if self.mirror is not None and p.is_recurrent:
            self.mirror_actor_state = self.actor.model.initial_state(self.num_envs, self.device)
            self.mirror_critic_state = self.critic.initial_state(self.num_envs, self.device)
        if p.init_policy and not self.ctx.resume:  # training starts here (eval/play load a checkpoint instead)
            path = load_trained_policy(self.actor.model, self.actor_spec, p.init_policy, "algorithm.params.init_policy")
            if self.ctx.is_main_process:
                print(f"ppo: the actor starts from the policy in {path}", flush=True)
        self._broadcast_parameters()

    # -- rollout ---------------------------------------------------------------------------------------
    @torch.no_grad()
    def act(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        st = self._storage()
        actor_obs, critic_obs = self._split(obs)
        if st.step == 0 and self.actor_state is not None:
            st.actor_state0.copy_(self.actor_state)
            st.critic_state0.copy_(self.critic_state)
            if st.mirror_actor_state0 is not None:
                st.mirror_actor_state0.copy_(self.mirror_actor_state)
                st.mirror_critic_state0.copy_(self.mirror_critic_state)
        with maybe_autocast(self.device, self.amp_dtype):
            if self.mirror is None or self.mirror_actor_state is None:
                mean, self.actor_state = self.actor_forward(actor_obs, self.actor_state)
                values, self.critic_state = self.critic_forward(critic_obs, self.critic_state)
            else:  # recurrent + symmetry: also step the mirrored trajectories' states (symmetry.py)
                m = self.mirror
                mean, self.actor_state, self.mirror_actor_state = m.forward_both(
                    self.actor_forward, actor_obs, m.actor_obs(actor_obs), self.actor_state, self.mirror_actor_state)
                values, self.critic_state, self.mirror_critic_state = m.forward_both(
                    self.critic_forward, critic_obs, m.critic_obs(critic_obs), self.critic_state,
                    self.mirror_critic_state)
        std = self.actor.std()
        actions = torch.addcmul(mean, std, torch.randn_like(mean))
        st.add_action(actor_obs, critic_obs, actions, gaussian_log_prob(actions, mean, std), mean, values.squeeze(-1))
        st.old_std.copy_(std)
        return actions.to(self.env_device)

    @torch.no_grad()
    def process_env_step(
        self, obs: Mapping[str, torch.Tensor], rewards: torch.Tensor, dones: torch.Tensor, extras: Dict[str, Any]
    ) -> None:
        st = self._storage()
        rewards = rewards.to(self.device, torch.float32).reshape(-1)
        dones = dones.to(self.device).reshape(-1).bool()
        time_outs = extras.get("time_outs")
        if time_outs is not None:  # the episode was cut, not ended: bootstrap with the value of this state
            rewards = rewards + self.params.gamma * st.values[st.step] * time_outs.to(self.device).reshape(-1).float()
        st.add_outcome(rewards, dones)
        self.reset(dones)

    # -- learning --------------------------------------------------------------------------------------
    def update(self, last_obs: Mapping[str, torch.Tensor]) -> Dict[str, float]:
        p, st = self.params, self._storage()
        if not st.full:
            raise TrainingError(f"ppo: update() after {st.step} of {st.num_steps} rollout steps")
        with torch.no_grad():
            _, critic_obs = self._split(last_obs)
            with maybe_autocast(self.device, self.amp_dtype):
                last_values, _ = self.critic_forward(critic_obs, self.critic_state)
            st.compute_returns(last_values.float().squeeze(-1), p.gamma, p.lam)
            if p.normalize_advantage and not p.normalize_advantage_per_mini_batch:
                self._normalize_advantages()

        if p.is_recurrent:
            batches = st.recurrent_mini_batches(p.num_mini_batches, p.num_learning_epochs)
        else:
            batches = st.mini_batches(p.num_mini_batches, p.num_learning_epochs)
        totals = torch.zeros(4 if self.mirror is None else 5, device=self.device)
        for batch in batches:
            totals += self._update_mini_batch(batch)

        # Normalisers learn from the whole rollout once per iteration, after the epochs (rsl_rl 5.5).
        self._update_normalizers()
        st.clear()
        means = (totals / (p.num_learning_epochs * p.num_mini_batches)).tolist()
        losses = {"surrogate": means[0], "value": means[1], "entropy": means[2], "kl": means[3],
                  "learning_rate": self.learning_rate}
        if self.mirror is not None:
            losses["symmetry"] = means[4]  # mirror loss: |mean(mirrored obs) - mirrored mean|^2
        return losses

    def _update_mini_batch(self, b: MiniBatch) -> torch.Tensor:
        p = self.params
        dim = 0
        if self.mirror is not None:  # the minibatch and its mirror image (originals first, along dim)
            b, dim = self.mirror.augment(b)
        advantages = b.advantages
        if p.normalize_advantage and p.normalize_advantage_per_mini_batch:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)

        with maybe_autocast(self.device, self.amp_dtype):
            mean, _ = self.actor_forward(b.actor_obs, b.actor_state, b.resets)
            values, _ = self.critic_forward(b.critic_obs, b.critic_state, b.resets)
        values = values.float().squeeze(-1)
        std = self.actor.std()
        log_probs = gaussian_log_prob(b.actions, mean, std)
        entropy = gaussian_entropy(std)

        with torch.no_grad():  # KL of the rollout's own samples (rsl_rl: the mirrored ones had no old policy)
            old_means, means = (b.old_means, mean) if self.mirror is None else \
                (self.mirror.original(b.old_means, dim), self.mirror.original(mean, dim))
            kl = self._mean_over_ranks(gaussian_kl(old_means, self._storage().old_std, means, std).mean())
        if p.schedule == "adaptive":
            self._adapt_learning_rate(float(kl))

        # Clipped surrogate
        ratio = torch.exp(log_probs - b.old_log_probs)
        surrogate = torch.max(
            -advantages * ratio, -advantages * ratio.clamp(1.0 - p.clip_param, 1.0 + p.clip_param)
        ).mean()
        # (Clipped) value loss
        if p.use_clipped_value_loss:
            values_clipped = b.old_values + (values - b.old_values).clamp(-p.clip_param, p.clip_param)
            value_loss = torch.max((values - b.returns).square(), (values_clipped - b.returns).square()).mean()
        else:
            value_loss = (values - b.returns).square().mean()
        loss = surrogate + p.value_loss_coef * value_loss - p.entropy_coef * entropy
        extra: List[torch.Tensor] = []
        if self.mirror is not None:
            mirror_loss = self.mirror.mirror_loss(mean, dim)
            if p.symmetry_mirror_loss_coef > 0:
                loss = loss + p.symmetry_mirror_loss_coef * mirror_loss
            extra.append(mirror_loss.detach())

        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self._reduce_gradients()
        nn.utils.clip_grad_norm_(self.actor.parameters(), p.max_grad_norm)
        nn.utils.clip_grad_norm_(self.critic.parameters(), p.max_grad_norm)
        self.optimizer.step()
        return torch.stack([surrogate.detach(), value_loss.detach(), entropy.detach(), kl] + extra)

    def _adapt_learning_rate(self, kl: float) -> None:
        """rsl_rl's rule: KL above twice the target -> lr / 1.5 (>= 1e-5); below half -> lr * 1.5 (<= 1e-2)."""
        desired = self.params.desired_kl
        if kl > 2.0 * desired:
            self.learning_rate = max(1e-5, self.learning_rate / 1.5)
        elif 0.0 < kl < 0.5 * desired:
            self.learning_rate = min(1e-2, self.learning_rate * 1.5)
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate

    def _update_normalizers(self) -> None:
        st = self._storage()
        for normalizer, obs, mirror in ((self.actor.model.normalizer, st.actor_obs, "actor_obs"),
                                        (self.critic.normalizer, st.critic_obs, "critic_obs")):
            if normalizer is not None:
                normalizer.update(obs.flatten(0, 1))
                if self.mirror is not None:  # the update trained on the mirror images too
                    normalizer.update(getattr(self.mirror, mirror)(obs.flatten(0, 1)))

    # -- data parallel (torch.distributed): every method is a no-op for world_size 1 --------------------
    def _parameters(self) -> List[torch.Tensor]:
        return list(self.actor.parameters()) + list(self.critic.parameters())

    def _broadcast_parameters(self) -> None:
        broadcast_module_states(self.actor, self.critic)

    def _reduce_gradients(self) -> None:
        average_gradients(self._parameters())

    def _normalize_advantages(self) -> None:
        """Whole-rollout advantage normalisation with the mean/std of all ranks' samples (equal shard sizes)."""
        st = self._storage()
        if self.world_size == 1:
            st.normalize_advantages()
            return
        adv = st.advantages
        mean = self._mean_over_ranks(adv.mean())
        sum_sq = (adv - mean).square().sum()
        torch.distributed.all_reduce(sum_sq)
        std = (sum_sq / (adv.numel() * self.world_size - 1)).sqrt()
        adv.sub_(mean).div_(std + 1e-8)

    def _mean_over_ranks(self, value: torch.Tensor) -> torch.Tensor:
        return value if self.world_size == 1 else all_reduce_mean(value.clone())

    # -- evaluation and deployment ---------------------------------------------------------------------
    @torch.no_grad()
    def act_inference(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        actor_obs = _concat(obs, self.actor_obs_groups, self.device)
        mean, self.actor_state = self.actor(actor_obs, self.actor_state)
        return mean.to(self.env_device)

    @torch.no_grad()
    def reset(self, dones: Optional[torch.Tensor] = None) -> None:
        if self.actor_state is None:
            return
        mirrored = self.mirror_actor_state is not None  # recurrent + symmetry: the mirrored trajectories end too
        if dones is None:  # new tensors: the old ones may be inference tensors from the rollout
            self.actor_state = torch.zeros_like(self.actor_state)
            self.critic_state = torch.zeros_like(self.critic_state)
            if mirrored:
                self.mirror_actor_state = torch.zeros_like(self.mirror_actor_state)
                self.mirror_critic_state = torch.zeros_like(self.mirror_critic_state)
            return
        keep = (~dones.to(self.device).reshape(-1).bool()).float().view(1, -1, 1)
        self.actor_state = self.actor_state * keep
        self.critic_state = self.critic_state * keep
        if mirrored:
            self.mirror_actor_state = self.mirror_actor_state * keep
            self.mirror_critic_state = self.mirror_critic_state * keep

    def export_policy(self) -> nn.Module:
        return self.actor.export()

    def train_mode(self) -> None:
        self.actor.train()
        self.critic.train()

    def eval_mode(self) -> None:
        self.actor.eval()
        self.critic.eval()

    def metrics(self) -> Dict[str, float]:
        return {"Policy/mean_std": float(self.actor.std().detach().mean())}

    # -- checkpoints -----------------------------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        """Plain data + tensors only (loads with ``torch.load(weights_only=True)``); layout in fastembody_core.nn."""
        return {
            "format": STATE_FORMAT,
            "model_spec": dict(self.actor_spec),
            "actor_state": dict(self.actor.state_dict()),
            "critic_spec": dict(self.critic_spec),
            "critic_state": dict(self.critic.state_dict()),
            "optimizer_state": self.optimizer.state_dict(),
            "learning_rate": float(self.learning_rate),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._check_state(state, ("model_spec", "critic_spec"))
        load_module_state(self.actor, state["actor_state"], "ppo actor")
        load_module_state(self.critic, state["critic_state"], "ppo critic")
        load_optimizer_state(self.optimizer, state["optimizer_state"])
        self.learning_rate = float(state["learning_rate"])
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate

    def load_policy_state(self, state: Mapping[str, Any]) -> None:
        """The actor (and its normaliser) only: the critic's inputs may differ in the env it is played in."""
        self._check_state(state, ("model_spec",))
        load_module_state(self.actor, state["actor_state"], "ppo actor")

    def _check_state(self, state: Mapping[str, Any], keys: Tuple[str, ...]) -> None:
        if state.get("format") != STATE_FORMAT:
            raise CheckpointError(f"ppo: algorithm state format is {state.get('format')!r}, expected {STATE_FORMAT!r}")
        owns = {"model_spec": self.actor_spec, "critic_spec": self.critic_spec}
        for key in keys:
            theirs, own = state[key], owns[key]
            diff = {k: (theirs.get(k), v) for k, v in own.items() if theirs.get(k) != v and k not in _INIT_ONLY}
            if diff:
                changes = ", ".join(f"{k}: checkpoint {a!r} vs this run {b!r}" for k, (a, b) in diff.items())
                raise CheckpointError(f"ppo {key} does not match the env/config ({changes})")

    def apply_resume_changes(self, changes: Mapping[str, Tuple[Any, Any]]) -> None:
        """A learning rate changed on --resume (or the schedule became fixed) replaces the checkpoint's."""
        if "learning_rate" in changes or ("schedule" in changes and self.params.schedule == "fixed"):
            self.learning_rate = float(self.params.learning_rate)
            for group in self.optimizer.param_groups:
                group["lr"] = self.learning_rate

    # -- helpers ---------------------------------------------------------------------------------------
    def _storage(self) -> RolloutStorage:
        if self.storage is None:
            raise TrainingError("ppo: call setup(num_steps_per_env) before the rollout")
        return self.storage

    def _split(self, obs: Mapping[str, torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        actor_obs = _concat(obs, self.actor_obs_groups, self.device)
        critic_obs = actor_obs if self.shared_obs else _concat(obs, self.critic_obs_groups, self.device)
        return actor_obs, critic_obs


def _obs_dim(shapes: Mapping[str, Tuple[int, ...]], groups: List[str]) -> int:
    return sum(int(math.prod(shapes[g])) for g in groups)


def _concat(obs: Mapping[str, torch.Tensor], groups: List[str], device: torch.device) -> torch.Tensor:
    parts = [obs[g].reshape(obs[g].shape[0], -1) for g in groups]
    out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)
    return out.to(device, torch.float32)
