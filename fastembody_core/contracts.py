"""The contracts plugins implement: VectorEnv, AlgorithmHandle, Trainer, and the data they exchange.

Everything a plugin needs to know about the data path is here, in one place:

* an **env** is built as ``env_factory(params, ctx) -> VectorEnv``;
* an **algorithm** as ``algorithm_factory(env.spec(), params, ctx) -> AlgorithmHandle``;
* a **trainer** as ``trainer_factory(env, algorithm, params, ctx) -> Trainer``;

where ``params`` is an instance of the dataclass the plugin registered, already validated, and ``ctx`` is
the :class:`RunContext`. torch is only imported for type checking, so ``import fastembody_core`` stays
torch-free (Isaac Gym must be imported before torch).
"""
import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple

try:  # Python >= 3.8
    from typing import Protocol, runtime_checkable
except ImportError:  # pragma: no cover
    from typing_extensions import Protocol, runtime_checkable  # type: ignore

if TYPE_CHECKING:  # pragma: no cover
    import torch

Observations = Dict[str, "torch.Tensor"]
"""Named observation groups, each a tensor ``[num_envs, *shape]`` on the env's device."""

StepResult = Tuple[Observations, "torch.Tensor", "torch.Tensor", Dict[str, Any]]
"""``(observations, rewards[num_envs] float, dones[num_envs] bool, extras)`` as returned by ``VectorEnv.step``."""

MirrorMap = Tuple[Tuple[int, ...], Tuple[float, ...]]
"""``(perm, sign)``: the mirror image of a vector ``x`` is ``x[..., perm] * sign`` (``sign`` entries are +1 or -1)."""


@dataclass(frozen=True)
class EnvSpec:
    """What an algorithm needs to know about an env to build its networks and storage."""

    num_envs: int
    num_actions: int
    observation_shapes: Dict[str, Tuple[int, ...]]
    max_episode_length: int
    step_dt: float
    device: str
    observation_terms: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    """Optional: the term names concatenated in each observation group, in order."""
    privileged_terms: Tuple[str, ...] = ()
    """Optional: terms a real robot cannot measure (distillation warns if a student group reads one)."""
    mirror_maps: Dict[str, MirrorMap] = field(default_factory=dict)
    """Optional: the env's left/right mirror (:class:`MirrorableEnv`) as plain data, ``{group or "actions": (perm,
    sign)}``; empty when the env declares none."""


@dataclass
class RunContext:
    """What the pipeline hands every factory: where and how this run happens."""

    device: str = "cpu"
    seed: int = 0
    run_dir: Optional[Path] = None
    resume: bool = False
    rank: int = 0
    world_size: int = 1
    config: Mapping[str, Any] = field(default_factory=dict)
    """The resolved experiment config as plain data (what ``config.resolved.yaml`` holds)."""
    debug: bool = False
    render: bool = False
    """The run will draw frames (``play --video``, the run's preview video): an env may prepare its rendering
    backend when it is built (go2-mujoco picks MuJoCo's offscreen GL before mujoco is imported)."""
    resume_from: Optional[Path] = None
    """With ``resume``: the checkpoint to continue from (the pipeline picks the newest intact one); None: the
    trainer picks it."""

    @property
    def is_main_process(self) -> bool:
        return self.rank == 0


class VectorEnv(abc.ABC):
    """A batch of ``num_envs`` environments stepped together on torch tensors (close to rsl_rl's VecEnv).

    Attributes every implementation sets: ``num_envs``, ``num_actions``, ``max_episode_length`` (int, in
    policy steps), ``step_dt`` (seconds per policy step), ``device`` (torch.device), ``observation_shapes``
    (group name -> shape; at least ``"policy"``; ``"critic"`` for privileged state) and
    ``episode_length_buf`` (long tensor ``[num_envs]``; **settable**, so a trainer can spread episode starts).

    ``step`` auto-resets finished envs: the observations it returns for a done env are the first ones of its
    next episode. ``extras`` holds at least ``"time_outs"`` (bool ``[num_envs]``: done because of the time
    limit, which PPO bootstraps) and, when any env finished, ``"episode"``: a dict of scalars or tensors
    (per-episode statistics such as reward-term sums), logged as ``Episode/<key>``.
    """

    num_envs: int
    num_actions: int
    max_episode_length: int
    step_dt: float
    observation_shapes: Dict[str, Tuple[int, ...]]
    episode_length_buf: "torch.Tensor"

    @abc.abstractmethod
    def reset(self) -> Observations:
        """Reset every env and return the first observations."""

    @abc.abstractmethod
    def get_observations(self) -> Observations:
        """The current observations, without stepping."""

    @abc.abstractmethod
    def step(self, actions: "torch.Tensor") -> StepResult:
        """Apply ``actions[num_envs, num_actions]`` for one policy step; auto-reset finished envs."""

    def close(self) -> None:
        """Release simulator resources (optional)."""

    def state_dict(self) -> Dict[str, Any]:
        """Optional: the env's full state (tensors, RNG), saved in checkpoints so a resumed run continues
        exactly where it stopped. The default ``{}`` means the env restarts from a fresh reset on resume."""
        return {}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Optional: restore ``state_dict()``."""

    def spec(self) -> EnvSpec:
        """The env's :class:`EnvSpec`; implementations may override to add observation terms."""
        return EnvSpec(
            num_envs=int(self.num_envs),
            num_actions=int(self.num_actions),
            observation_shapes={k: tuple(v) for k, v in self.observation_shapes.items()},
            max_episode_length=int(self.max_episode_length),
            step_dt=float(self.step_dt),
            device=str(getattr(self, "device", "cpu")),
            observation_terms=dict(getattr(self, "observation_terms", {}) or {}),
            privileged_terms=tuple(getattr(self, "privileged_terms", ()) or ()),
            mirror_maps=mirror_maps_of(self),
        )


# -- optional env capabilities: what some commands use beyond VectorEnv (checked with isinstance) ------------
@runtime_checkable
class CommandableEnv(Protocol):
    """An env whose velocity command can be fixed: ``play --command VX,VY,YAW``."""

    def set_command(self, command: Sequence[float]) -> None:
        """Hold every env's command at ``(vx, vy, yaw_rate)`` [m/s, m/s, rad/s] (body frame) until reset."""


@runtime_checkable
class RenderableEnv(Protocol):
    """An env that draws frames: ``play --video`` and the run's preview video."""

    def render(self, env_id: int = 0, width: int = 640, height: int = 480) -> Any:
        """An RGB ``uint8 [height, width, 3]`` array of env ``env_id``; EnvError (one line) when it cannot."""


@runtime_checkable
class VelocityTrackingEnv(Protocol):
    """An env with a base velocity and a velocity command: ``play`` reports speed and tracking error."""

    base_lin_vel: "torch.Tensor"
    """``[num_envs, 3]`` base linear velocity, body frame [m/s]."""
    commands: "torch.Tensor"
    """``[num_envs, >=3]`` commands (vx, vy, yaw rate, ...), body frame."""


@runtime_checkable
class DeployableEnv(Protocol):
    """An env that can describe itself to a robot-side runner: ``export --format bundle`` writes this into the
    bundle's manifest (under ``"robot"``) beside the policy."""

    def deployment_info(self) -> Dict[str, Any]:
        """Plain data (JSON types only): joint names in the policy's order and the map to the hardware's order,
        default pose, PD gains, action scale and clip, control period and decimation, observation clip, and
        ``observation_terms``: ``{term: {"dim": int, "scale": float | [float], ...}}`` for every term the env's
        groups name (``EnvSpec.observation_terms``), plus whatever else the robot's runner needs."""


@runtime_checkable
class JointLevelEnv(Protocol):
    """An env that can stand in for the robot's motor drivers: ``fastembody deploy BUNDLE --sim`` couples one of
    its robots to the robot-side runner over DDS (the runner cannot tell it from the robot)."""

    def joint_level_sim(self, env_id: int = 0) -> Any:
        """A :class:`JointLevelSim` of robot ``env_id`` in its current state (flat or the env's terrain)."""


class JointLevelSim(Protocol):
    """One simulated robot driven joint by joint at its physics rate (numpy arrays, the env's joint order, which
    ``deployment_info()`` maps to the hardware's)."""

    physics_dt: float
    """Seconds per :meth:`step`."""

    def step(self, q: Any, dq: Any, kp: Any, kd: Any, tau: Any) -> None:
        """One physics step with each joint's torque ``tau + kp (q - q_meas) + kd (dq - dq_meas)``, clipped to the
        joint's torque limit, as the motor drivers apply a low-level command."""

    def read(self) -> Dict[str, Any]:
        """The measured state: ``q``, ``dq``, ``tau`` [joints]; ``quat_wxyz`` [4] and ``gyro`` [3] (body frame) of
        the IMU; ``base_lin_vel`` [3] (body frame) and ``base_pos`` [3] (world), for evaluation; ``time`` [s]."""

    def observation(self, command: Any, last_action: Any) -> Dict[str, Any]:
        """The env's own observation groups (``{group: array}``) of the current state with this command and last
        action: what a robot runner's observation is checked against."""

    def snapshot(self) -> Any:
        """The simulator state (opaque, cheap to take), to render later without slowing the real-time loop."""

    def render(self, width: int = 640, height: int = 480, snapshot: Any = None) -> Any:
        """An RGB ``uint8 [height, width, 3]`` frame of the current state (or of a :meth:`snapshot`); EnvError (one
        line) when it cannot."""

    def close(self) -> None:
        """Release the renderer and the simulator's memory."""


MIRROR_ACTIONS = "actions"
"""The key of the action vector's map in :meth:`MirrorableEnv.mirror_maps` (beside the observation groups)."""


@runtime_checkable
class MirrorableEnv(Protocol):
    """An env whose task is symmetric under a left/right reflection of the robot and its world (e.g. y -> -y):
    PPO's ``symmetry: augment`` trains on each sample and its mirror image."""

    def mirror_maps(self) -> Mapping[str, Tuple[Sequence[int], Sequence[float]]]:
        """``{group: (perm, sign)}`` for the observation groups it can mirror, plus ``"actions"``
        (:data:`MIRROR_ACTIONS`): the mirrored state's observation is ``obs[..., perm] * sign`` and the mirrored
        action ``actions[..., perm] * sign`` (flattened groups). A reflection applied twice is the identity, which
        :func:`check_mirror_maps` checks. A group left out cannot be mirrored (an algorithm reading it refuses)."""


def mirror_maps_of(env: Any) -> Dict[str, MirrorMap]:
    """An env's mirror maps as plain tuples (``{}`` unless it is a :class:`MirrorableEnv`); unchecked, so a wrong map
    fails only what uses it (:func:`check_mirror_maps`)."""
    if not isinstance(env, MirrorableEnv):
        return {}
    return {str(name): (tuple(int(i) for i in perm), tuple(float(s) for s in sign))
            for name, (perm, sign) in dict(env.mirror_maps() or {}).items()}


def check_mirror_maps(spec: EnvSpec) -> Dict[str, MirrorMap]:
    """``spec.mirror_maps``, checked: EnvError (one line) when a map names no group of the env, its length differs
    from its group's size (``"actions"``: the action count), it is not a permutation with signs +-1, or mirroring
    twice does not give the input back."""
    import math

    from .errors import EnvError

    sizes = {str(k): int(math.prod(v)) for k, v in spec.observation_shapes.items()}
    if MIRROR_ACTIONS in sizes and MIRROR_ACTIONS in spec.mirror_maps:
        raise EnvError(f"an env with a mirror map may not name an observation group {MIRROR_ACTIONS!r} (the key of the "
                       "actions' map)")
    sizes[MIRROR_ACTIONS] = int(spec.num_actions)
    for name, (perm, sign) in spec.mirror_maps.items():
        where = f"the env's mirror_maps()[{name!r}]"
        if name not in sizes:
            raise EnvError(f"{where}: no such observation group (the env has {sorted(sizes)})")
        n = sizes[name]
        if len(perm) != n or len(sign) != n or sorted(perm) != list(range(n)) or any(s not in (1.0, -1.0) for s in sign):
            raise EnvError(f"{where}: needs a permutation of range({n}) and {n} signs of +-1 (got {len(perm)} "
                           f"indices, {len(sign)} signs)")
        bad = [i for i in range(n) if perm[perm[i]] != i or sign[i] != sign[perm[i]]]
        if bad:
            raise EnvError(f"{where}: mirroring twice must give the input back; it does not at index {bad[0]}")
    return dict(spec.mirror_maps)


DEPLOYMENT_ATTRIBUTES = ("joint_names", "dof_names", "default_joint_pos", "action_scale", "step_dt")
"""Optional env attributes ``export`` copies into the policy's sidecar JSON when present (plain data or tensors):
joint order, default pose, the action scale (q* = q0 + scale * a), the control period."""


def require_capability(env: Any, capability: type, env_name: str, what: str) -> None:
    """EnvError naming the env and the missing capability unless ``env`` implements ``capability``."""
    from .errors import EnvError

    if not isinstance(env, capability):
        raise EnvError(f"env {env_name!r} does not implement {capability.__name__} "
                       f"(fastembody_core.contracts), so {what}")


class AlgorithmHandle(abc.ABC):
    """An on-policy learner the trainer drives; it owns its networks, optimiser and rollout storage.

    One training iteration, as the trainer runs it::

        with torch.inference_mode():
            for _ in range(algorithm.num_steps_per_env):
                actions = algorithm.act(obs)
                obs, rewards, dones, extras = env.step(actions)
                algorithm.process_env_step(obs, rewards, dones, extras)
        losses = algorithm.update(obs)          # returns, optimisation; {"surrogate": ..., ...}

    ``state_dict`` must hold only tensors, numbers, strings, lists and dicts, so that checkpoints load
    with ``torch.load(weights_only=True)``; it includes the optimiser, normalisers and whatever is
    needed to rebuild the networks (their architecture as plain data).
    """

    num_steps_per_env: int
    """Rollout length per iteration (set from the trainer's params by the trainer via ``setup``)."""

    @abc.abstractmethod
    def setup(self, num_steps_per_env: int) -> None:
        """Allocate rollout storage for ``num_steps_per_env`` steps of every env."""

    @abc.abstractmethod
    def act(self, obs: Observations) -> "torch.Tensor":
        """Actions to send to the env for ``obs`` (stochastic while training); records what ``update`` needs."""

    @abc.abstractmethod
    def process_env_step(
        self, obs: Observations, rewards: "torch.Tensor", dones: "torch.Tensor", extras: Dict[str, Any]
    ) -> None:
        """Record the env's answer to the last ``act`` (handles time-out bootstrapping, recurrent resets)."""

    @abc.abstractmethod
    def update(self, last_obs: Observations) -> Dict[str, float]:
        """Learn from the collected rollout; return scalars logged as ``Loss/<name>``."""

    @abc.abstractmethod
    def act_inference(self, obs: Observations) -> "torch.Tensor":
        """Deterministic actions for evaluation (no storage side effects)."""

    def reset(self, dones: Optional["torch.Tensor"] = None) -> None:
        """Reset recurrent state for envs where ``dones`` (all envs if None); no-op for feed-forward."""

    @abc.abstractmethod
    def export_policy(self) -> "torch.nn.Module":
        """A CPU module for deployment: ``forward(obs) -> actions`` with the normaliser baked in.

        ``obs`` is the concatenation of the groups named by the module's ``obs_groups`` attribute (a list of
        str). Recurrent policies take and return their hidden state: ``forward(obs, h) -> (actions, h)``.
        """

    @abc.abstractmethod
    def state_dict(self) -> Dict[str, Any]:
        """Everything needed to resume (networks, optimiser, normalisers, schedules, architecture)."""

    @abc.abstractmethod
    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore from ``state_dict()``; raise CheckpointError naming both shapes on a mismatch."""

    def load_policy_state(self, state: Dict[str, Any]) -> None:
        """Optional: restore only what acting needs (``act_inference``, ``export_policy``) from a ``state_dict()``;
        ``eval``, ``play`` and ``export`` call it, so a policy runs in an env whose other observation groups differ
        from training (e.g. a flat-ground policy on terrain, where the critic also reads a height scan). The
        default restores everything (``load_state_dict``)."""
        self.load_state_dict(state)

    def apply_resume_changes(self, changes: Mapping[str, Tuple[Any, Any]]) -> None:
        """Optional: on ``--resume``, called after ``load_state_dict`` with each of this algorithm's params that
        differs from the checkpoint's config (``{"learning_rate": (old, new)}``; the params already hold the new
        values). Apply those the restored state would otherwise shadow, e.g. copy a changed learning rate into the
        optimiser. Params that cannot change are named in the params dataclass's ``RESUME_FIXED`` (a ClassVar
        tuple of field names) and refused before anything is built. The default applies nothing: params read at
        each update already take effect."""

    def train_mode(self) -> None:
        """Put networks in training mode (optional)."""

    def eval_mode(self) -> None:
        """Put networks in eval mode (optional)."""

    def metrics(self) -> Dict[str, float]:
        """Extra scalars to log per iteration, e.g. ``{"Policy/mean_std": 0.8}`` (optional)."""
        return {}


class Trainer(abc.ABC):
    """Runs a training loop over an env and an algorithm, writing into ``ctx.run_dir``."""

    @abc.abstractmethod
    def train(self) -> Dict[str, Any]:
        """Train to the end (or raise); return a summary (final iteration, mean reward, ...)."""


NUM_ENVS_PARAM = "num_envs"
"""Env count (optional, but expected of batched envs). An env whose params dataclass has an int field ``num_envs``
lets ``eval`` (``--num-envs``, capped at the episodes asked), ``play`` (1 env) and ``export`` choose how many envs
to build; the core sets it on the params it validates, never through strings."""

COMPILE_PARAM = "compile"
"""Compilation switch (optional). An env whose params dataclass has a bool field ``compile`` is built with it off
for the core's short runs (``play``, course evaluation), where compiling would take longer than the run."""

COURSE_PARAM = "course"
"""Evaluation courses (optional). An env whose params dataclass has a field ``course: Optional[Literal[<names>]]``
runs the named fixed course when it is set (None: its normal task). Every episode that ends on a course reports
``extras["episode"]["course_success"]``: a float tensor over the envs that finished (in ``dones.nonzero()``
order), 1.0 for a crossing, 0.0 otherwise; ``course_progress`` (how far along, in metres) may come with it.
``fastembody eval --courses`` builds the env once per course and reports the success rate of each."""

COURSE_SUCCESS_KEY = "course_success"
"""The ``extras["episode"]`` key of a course outcome (see ``COURSE_PARAM``)."""


def evaluation_courses(params_cls: Optional[type]) -> Tuple[str, ...]:
    """The course names an env's params dataclass declares through its ``course`` field (empty if none)."""
    import dataclasses
    import typing

    if params_cls is None or not dataclasses.is_dataclass(params_cls):
        return ()
    if COURSE_PARAM not in {f.name for f in dataclasses.fields(params_cls)}:
        return ()
    try:
        hint = typing.get_type_hints(params_cls).get(COURSE_PARAM)
    except Exception:
        return ()
    names: List[str] = []
    stack = [hint]
    while stack:  # Optional[Literal[...]] or Literal[...]
        tp = stack.pop()
        if getattr(tp, "__origin__", None) is typing.Literal:
            names.extend(str(a) for a in tp.__args__)
        else:
            stack.extend(getattr(tp, "__args__", ()) or ())
    return tuple(names)


def obs_group_names(groups: List[str], available: Mapping[str, Any], key: str) -> List[str]:
    """Check that every name in ``groups`` is an observation group of the env; return them. The ConfigError names
    ``key``, the algorithm param (e.g. ``critic_obs_groups``); the core adds the file and ``algorithm.params.``."""
    from .errors import ConfigError

    missing = [g for g in groups if g not in available]
    if missing:
        raise ConfigError(f"observation group(s) {missing} are not provided by the env (it provides "
                          f"{sorted(available)})", key=key)
    return list(groups)
