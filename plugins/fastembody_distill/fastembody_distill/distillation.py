"""Teacher -> student distillation (rsl_rl's Distillation, DAgger by default), implementing ``AlgorithmHandle``.

Read top to bottom: teacher, student and optimiser (``__init__``), storage (``setup``), collection (``act``,
``process_env_step``), learning (``update``), then deployment and checkpoints. It runs on the core's on-policy
trainer unchanged: the rollout collects (student input, teacher action) pairs, ``update`` regresses the
student's action mean onto the teacher's. Rewards are only logged (by the trainer).

Collection (``params.collection``): ``"student"`` (DAgger) - the student acts, the teacher labels the states it
visits; ``"teacher"`` - behaviour cloning on the teacher's own states; ``"schedule"`` - per env and step the
teacher acts with a probability beta that decays linearly over iterations (classic DAgger mixing).

The teacher checkpoint is read when the algorithm is built; if the file is missing, the named error comes when
training starts (``setup``) instead, so that ``eval``/``export`` of a finished run, whose checkpoints hold the
teacher, work without the teacher's file.
"""
import math
import warnings
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch
from torch import nn
from torch.nn import functional as F

from fastembody_core import (
    POLICY_KEY,
    AlgorithmHandle,
    CheckpointError,
    ConfigError,
    EnvSpec,
    RunContext,
    TrainingError,
    average_gradients,
    broadcast_module_states,
    check_memory,
    load_module_state,
    load_optimizer_state,
    make_adam,
    maybe_autocast,
    obs_group_names,
    policy_record,
    resolve_precision,
)

from .config import DistillationParams
from .storage import DistillationStorage
from .student import Student, student_spec
from .teacher import TEACHER_KEY, Teacher, read_teacher_state, resolve_teacher_path

STATE_FORMAT = "fastembody.distillation/1"


class PrivilegedObservationWarning(UserWarning):
    """The student reads a term a real robot cannot measure (``EnvSpec.privileged_terms``)."""


def privileged_terms_read(env_spec: EnvSpec, groups: List[str]) -> Dict[str, List[str]]:
    """Group -> the privileged terms it contains, for the groups in ``groups`` that contain any."""
    privileged = set(env_spec.privileged_terms)
    found = {}
    for group in groups:
        terms = [t for t in env_spec.observation_terms.get(group, ()) if t in privileged]
        if terms:
            found[group] = terms
    return found


class Distillation(AlgorithmHandle):
    """A frozen teacher labels, a student (history MLP, plain MLP or GRU/LSTM) learns its action mean."""

    name = "distillation"

    def __init__(self, env_spec: EnvSpec, params: DistillationParams, ctx: Optional[RunContext] = None):
        self.params = params
        self.ctx = ctx or RunContext()
        self.device = torch.device(self.ctx.device)
        self.amp_dtype = resolve_precision(params.precision, self.device)
        self.env_device = torch.device(env_spec.device)
        self.world_size = int(self.ctx.world_size)
        self.num_envs, self.num_actions = env_spec.num_envs, env_spec.num_actions
        self.observation_shapes = dict(env_spec.observation_shapes)

        # Student: reads only its own groups; warn when one of them holds a privileged term.
        groups = obs_group_names(params.student_obs_groups, self.observation_shapes, "student_obs_groups")
        privileged = privileged_terms_read(env_spec, groups)
        if privileged:
            listed = "; ".join(f"group {g!r} contains {terms}" for g, terms in privileged.items())
            warnings.warn(
                f"distillation: the student reads privileged terms a real robot cannot measure ({listed}); "
                f"use a deployable observation group in algorithm.params.student_obs_groups",
                PrivilegedObservationWarning,
                stacklevel=2,
            )
        frame_dim = sum(int(math.prod(self.observation_shapes[g])) for g in groups)
        self.student_spec = student_spec(
            groups, frame_dim, self.num_actions, params.hidden_dims, params.activation, params.obs_normalization,
            params.history_length, params.rnn_type, params.rnn_hidden_size, params.rnn_num_layers,
        )
        self.student = Student(self.student_spec).to(self.device)
        self.student_obs_groups = groups
        self.learning_rate = params.learning_rate
        self.optimizer = make_adam(self.student.parameters(), lr=params.learning_rate)
        self.student_state = self.student.initial_state(self.num_envs, self.device)

        # Teacher: from its checkpoint now if the file is there (shape errors surface at once).
        if not params.teacher_checkpoint:
            raise ConfigError(
                "missing: the teacher's PPO checkpoint or run directory, e.g. "
                "--set algorithm.params.teacher_checkpoint=runs/teacher/checkpoints/model_300.pt",
                key=TEACHER_KEY,
            )
        self.teacher: Optional[Teacher] = None
        self._teacher_error: Optional[CheckpointError] = None
        try:
            path = resolve_teacher_path(params.teacher_checkpoint)
        except CheckpointError as err:
            self._teacher_error = err
        else:
            self.teacher = self._make_teacher(read_teacher_state(path), str(path), params.teacher_obs_groups)

        self.iteration = 0
        self.storage: Optional[DistillationStorage] = None
        self.num_steps_per_env = 0
        self._last_teacher_probability = params.teacher_probability(0)

    def _make_teacher(self, state: Mapping[str, Any], source: str, obs_groups: Optional[List[str]]) -> Teacher:
        return Teacher(state, self.observation_shapes, obs_groups, self.num_envs, self.device, source)

    def _require_teacher(self) -> Teacher:
        if self.teacher is None:
            raise self._teacher_error or CheckpointError(f"{TEACHER_KEY}: no teacher loaded")
        return self.teacher

    # -- storage ---------------------------------------------------------------------------------------
    def setup(self, num_steps_per_env: int) -> None:
        p = self.params
        self._require_teacher()
        if num_steps_per_env < 1:
            raise ConfigError(f"must be >= 1, got {num_steps_per_env}", key="num_steps_per_env")
        batch = self.num_envs * num_steps_per_env
        if p.is_recurrent and self.num_envs % p.num_mini_batches != 0:
            raise ConfigError(
                f"{p.num_mini_batches} minibatches do not divide the envs ({self.num_envs}; a recurrent student's "
                f"minibatches are groups of whole env trajectories); use a divisor of {self.num_envs}",
                key="algorithm.params.num_mini_batches",
            )
        if not p.is_recurrent and batch % p.num_mini_batches != 0:
            raise ConfigError(
                f"{p.num_mini_batches} minibatches do not divide the batch (num_envs * num_steps_per_env = {batch}); "
                f"use a divisor of {batch}",
                key="algorithm.params.num_mini_batches",
            )
        self.num_steps_per_env = num_steps_per_env
        floats = self.student.input_dim + self.num_actions + 1
        check_memory(4.0 * floats * batch, f"distillation's rollout storage ({num_steps_per_env} steps x "
                     f"{self.num_envs} envs x {floats} numbers)",
                     "lower env.params.num_envs or trainer.params.num_steps_per_env", self.device)
        self.storage = DistillationStorage(
            num_steps_per_env, self.num_envs, self.student.input_dim, self.num_actions, self.device,
            self.student.model.state_shape,
        )
        self._broadcast_parameters()

    # -- collection ------------------------------------------------------------------------------------
    @torch.no_grad()
    def act(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        st, teacher = self._storage(), self._require_teacher()
        with maybe_autocast(self.device, self.amp_dtype):
            labels = teacher.act(obs)
        frame = self._student_frame(obs)
        if st.step == 0 and st.state0 is not None:
            st.state0.copy_(self.student_state)
        p_teacher = self.params.teacher_probability(self.iteration)
        self._last_teacher_probability = p_teacher
        if p_teacher >= 1.0 and not self.student.is_recurrent:  # pure behaviour cloning: no student forward needed
            inputs, self.student_state = self.student.observe(frame, self.student_state)
            actions = labels
        else:
            student_mean, inputs = self._student_act(frame)
            if p_teacher <= 0.0:
                actions = student_mean
            elif p_teacher >= 1.0:
                actions = labels
            else:
                teacher_acts = torch.rand(self.num_envs, 1, device=self.device) < p_teacher
                actions = torch.where(teacher_acts, labels, student_mean)
        st.add(inputs, labels)
        if self.params.action_noise_std > 0.0:
            actions = actions + self.params.action_noise_std * torch.randn_like(actions)
        return actions.to(self.env_device)

    @torch.no_grad()
    def process_env_step(
        self, obs: Mapping[str, torch.Tensor], rewards: torch.Tensor, dones: torch.Tensor, extras: Dict[str, Any]
    ) -> None:
        dones = dones.to(self.device).reshape(-1).bool()
        self._storage().add_dones(dones)
        self.reset(dones)

    # -- learning --------------------------------------------------------------------------------------
    def update(self, last_obs: Mapping[str, torch.Tensor]) -> Dict[str, float]:
        p, st = self.params, self._storage()
        if not st.full:
            raise TrainingError(f"distillation: update() after {st.step} of {st.num_steps} rollout steps")
        self._set_learning_rate(p.learning_rate_at(self.iteration))
        # The normaliser learns from this rollout before the epochs, so the student fits the inputs as it will
        # see them when it next acts.
        if self.student.model.normalizer is not None:
            self.student.model.normalizer.update(st.student_inputs.flatten(0, 1))
        losses: List[torch.Tensor] = []
        if self.student.is_recurrent:
            for _ in range(p.num_learning_epochs):
                for envs in st.env_groups(p.num_mini_batches):
                    state = st.state0[:, envs]
                    for inputs, labels, resets in st.windows(p.gradient_length, envs):
                        with maybe_autocast(self.device, self.amp_dtype):
                            mean, state = self.student(inputs, state, resets)
                        losses.append(self._step(mean, labels))
                        state = state.detach().float()
        else:
            for inputs, labels in st.mini_batches(p.num_mini_batches, p.num_learning_epochs):
                with maybe_autocast(self.device, self.amp_dtype):
                    mean, _ = self.student(inputs)
                losses.append(self._step(mean, labels))
        st.clear()
        self.iteration += 1
        return {"behavior": float(torch.stack(losses).mean()), "learning_rate": self.learning_rate}

    def _step(self, mean: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.params.loss_type == "huber":
            loss = F.huber_loss(mean, labels, delta=self.params.huber_delta)
        else:
            loss = F.mse_loss(mean, labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self._reduce_gradients()
        if self.params.max_grad_norm is not None:
            nn.utils.clip_grad_norm_(self.student.parameters(), self.params.max_grad_norm)
        self.optimizer.step()
        return loss.detach()

    # -- data parallel (torch.distributed): no-ops for world_size 1 ------------------------------------
    def _broadcast_parameters(self) -> None:
        broadcast_module_states(self.student)

    def _reduce_gradients(self) -> None:
        average_gradients(self.student.parameters())

    # -- evaluation and deployment ---------------------------------------------------------------------
    @torch.no_grad()
    def act_inference(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The student's deterministic action (it reads only its own groups; the teacher is not used)."""
        frame = self._student_frame(obs)
        if self.student_state is not None and self.student_state.shape[1] != frame.shape[0]:
            self.student_state = self.student.initial_state(frame.shape[0], self.device)  # another batch size
        mean, self.student_state, _ = self.student.act(frame, self.student_state)  # fp32, as deployed
        return mean.to(self.env_device)

    @torch.no_grad()
    def reset(self, dones: Optional[torch.Tensor] = None) -> None:
        """Clear the student's history/recurrent state (and a recurrent teacher's) where ``dones``."""
        keep = None if dones is None else (~dones.to(self.device).reshape(-1).bool()).float().view(1, -1, 1)
        if self.student_state is not None:
            self.student_state = torch.zeros_like(self.student_state) if keep is None else self.student_state * keep
        if self.teacher is not None:
            self.teacher.reset(keep)

    def export_policy(self) -> nn.Module:
        """The student alone (see ``student.py``): it takes the raw current frame of ``student_obs_groups``."""
        return self.student.export()

    def train_mode(self) -> None:
        self.student.train()

    def eval_mode(self) -> None:
        self.student.eval()

    def metrics(self) -> Dict[str, float]:
        return {"Distillation/teacher_probability": float(self._last_teacher_probability)}

    # -- checkpoints -----------------------------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        """Student, optimiser, schedule position and the teacher itself (the checkpoint is self-contained)."""
        state: Dict[str, Any] = {
            "format": STATE_FORMAT,
            "student_spec": dict(self.student_spec),
            "student_state": dict(self.student.state_dict()),
            "optimizer_state": self.optimizer.state_dict(),
            "learning_rate": float(self.learning_rate),
            "iteration": int(self.iteration),
            "teacher": self._require_teacher().state_dict(),
        }
        if self.student.history_length == 1:  # the network alone is the policy: other algorithms can start from it
            state[POLICY_KEY] = policy_record(self.student.policy_spec(), self.student.model)
        rollout = {}
        if self.student_state is not None:
            rollout["student"] = self.student_state.clone()
        if self.teacher is not None and self.teacher.hidden is not None:
            rollout["teacher"] = self.teacher.hidden.clone()
        state["rollout_state"] = rollout
        return state

    def apply_resume_changes(self, changes: Mapping[str, Tuple[Any, Any]]) -> None:
        """A learning rate (or its decay) changed on --resume replaces the checkpoint's."""
        if {"learning_rate", "learning_rate_end", "learning_rate_decay_iterations"} & set(changes):
            self._set_learning_rate(self.params.learning_rate_at(self.iteration))

    def _set_learning_rate(self, learning_rate: float) -> None:
        self.learning_rate = float(learning_rate)
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate

    def load_policy_state(self, state: Mapping[str, Any]) -> None:
        """The student only (what acting and export need)."""
        if state.get("format") != STATE_FORMAT:
            raise CheckpointError(
                f"distillation: algorithm state format is {state.get('format')!r}, expected {STATE_FORMAT!r}"
            )
        theirs = state["student_spec"]
        diff = {k: (theirs.get(k), v) for k, v in self.student_spec.items() if theirs.get(k) != v}
        if diff:
            changes = ", ".join(f"{k}: checkpoint {a!r} vs this run {b!r}" for k, (a, b) in diff.items())
            raise CheckpointError(f"distillation student_spec does not match the env/config ({changes})")
        load_module_state(self.student, state["student_state"], "distillation student")

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.load_policy_state(state)
        load_optimizer_state(self.optimizer, state["optimizer_state"])
        self._set_learning_rate(state["learning_rate"])
        self.iteration = int(state["iteration"])
        self._last_teacher_probability = self.params.teacher_probability(self.iteration)
        teacher = state["teacher"]
        self.teacher = self._make_teacher(teacher, str(teacher.get("source", "")), list(teacher["obs_groups"]))
        self._teacher_error = None
        # The envs' history/recurrent state, when the run resumes with the same number of envs (exact resume).
        rollout = state.get("rollout_state", {})
        if self.student_state is not None and "student" in rollout:
            if tuple(rollout["student"].shape) == tuple(self.student_state.shape):
                self.student_state = rollout["student"].to(self.device).clone()
        if self.teacher.hidden is not None and "teacher" in rollout:
            if tuple(rollout["teacher"].shape) == tuple(self.teacher.hidden.shape):
                self.teacher.hidden = rollout["teacher"].to(self.device).clone()

    # -- helpers ---------------------------------------------------------------------------------------
    def _storage(self) -> DistillationStorage:
        if self.storage is None:
            raise TrainingError("distillation: call setup(num_steps_per_env) before the rollout")
        return self.storage

    def _student_act(self, frame: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Collection: the student's action mean for ``frame`` (advancing its state, kept fp32) and its input."""
        with maybe_autocast(self.device, self.amp_dtype):
            mean, state, inputs = self.student.act(frame, self.student_state)
        self.student_state = None if state is None else state.float()
        return mean, inputs

    def _student_frame(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        parts = [obs[g].reshape(obs[g].shape[0], -1) for g in self.student_obs_groups]
        frame = parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)
        return frame.to(self.device, torch.float32)
