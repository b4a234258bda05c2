"""legged_gym's ``LeggedRobot`` (Isaac Gym) as a :class:`fastembody_core.VectorEnv`.

The env is created the way legged_gym's ``train.py`` creates it, through
``task_registry.make_env(name, args, env_cfg)``, with an ``args`` namespace built here (never parsed from
``sys.argv``) and the task's registered cfg changed by our params. The adapter then maps legged_gym's API onto
the contract:

* ``policy`` = ``obs_buf``; ``critic`` = ``privileged_obs_buf``, or ``obs_buf`` when the task has none;
* ``step`` returns legged_gym's 5-tuple as ``(groups, rewards, dones, extras)``: dones from ``reset_buf``
  (long before the first step, bool after), ``time_outs`` from ``extras`` masked by dones (legged_gym rewrites
  ``extras`` only on steps where an env resets, so a stale tensor would otherwise mark time-outs again), and
  ``episode`` only on steps where an env actually reset (legged_gym leaves the previous dict in place);
* ``max_episode_length`` is legged_gym's numpy float cast to int; ``episode_length_buf`` is proxied, so a
  trainer that spreads episode starts writes into the simulator's buffer.

``go2-isaac`` with ``terrain.type: rough`` sets legged_gym's terrain cfg from the shared terrain params
(:mod:`.terrain`) before the user's ``cfg_overrides`` and before the task is made; it first checks that the
task class has legged_gym's terrain code (unitree_rl_gym's ``LeggedRobot`` does not). The measured heights then
follow the 48 proprioceptive values in ``obs_buf`` and are named ``height_scan`` (a privileged term).
"""
from . import preload  # noqa: F401  (Isaac Gym's bindings must be loaded before torch)

import argparse  # noqa: E402
import copy  # noqa: E402
from typing import Any, Dict, Optional, Tuple  # noqa: E402

import torch  # noqa: E402

from fastembody_core import ConfigError, EnvError, Observations, RunContext, StepResult, VectorEnv  # noqa: E402

from ..terrain.params import TerrainParams  # noqa: E402
from ..terrain.courses import build_course  # noqa: E402
from .config import IsaacCommonParams, apply_cfg_overrides  # noqa: E402
from .courses import CourseScore, course_cfg_settings, course_terrain_installed  # noqa: E402
from .terrain import (PROPRIOCEPTIVE_OBSERVATIONS, check_overrides_agree, missing_terrain_support,  # noqa: E402
                      terrain_cfg_settings)
from .preload import DOCS, missing_dependencies_message  # noqa: E402


class IsaacGymVecEnv(VectorEnv):
    """A legged_gym task (``LeggedRobot`` or a subclass) behind the VectorEnv contract."""

    def __init__(self, env: Any, device: Optional[str] = None, task: str = "", course: bool = False):
        """``course``: score every episode as a course run (``extras["episode"]["course_success"]``)."""
        self.unwrapped = env
        """The legged_gym env itself (its ``cfg``, ``commands``, ``root_states``, ... stay reachable)."""
        self.task = task
        self.cfg = env.cfg
        self.num_envs = int(env.num_envs)
        self.num_actions = int(env.num_actions)
        self.max_episode_length = int(env.max_episode_length)
        self.step_dt = float(env.dt)
        self.sim_device = torch.device(env.device)
        self.device = torch.device(device) if device else self.sim_device
        num_obs = int(env.num_obs)
        num_privileged = getattr(env, "num_privileged_obs", None)
        self.has_privileged_obs = num_privileged is not None
        self.observation_shapes: Dict[str, Tuple[int, ...]] = {
            "policy": (num_obs,),
            "critic": (int(num_privileged) if self.has_privileged_obs else num_obs,),
        }
        self.observation_terms, self.privileged_terms = _known_terms(
            task, num_obs, self.has_privileged_obs, _measured_points(env.cfg))
        self._closed = False
        self._course = course
        self._score: Optional[CourseScore] = None

    # -- episode_length_buf, proxied ------------------------------------------------------------------
    @property
    def episode_length_buf(self) -> torch.Tensor:  # type: ignore[override]
        return self.unwrapped.episode_length_buf

    @episode_length_buf.setter
    def episode_length_buf(self, value: torch.Tensor) -> None:
        self.unwrapped.episode_length_buf = value.to(device=self.sim_device, dtype=torch.long)

    # -- the contract ---------------------------------------------------------------------------------
    def reset(self) -> Observations:
        """legged_gym's ``reset()``: resets every env, then steps once with zero actions."""
        # inference mode as in the rollout: reset_idx writes into buffers the last (inference-mode) step made
        with torch.inference_mode():
            obs, privileged = self.unwrapped.reset()
        if self._course:
            self._score = CourseScore(self._base_x())
        return self._groups(obs, privileged)

    def get_observations(self) -> Observations:
        return self._groups(self.unwrapped.get_observations(), self.unwrapped.get_privileged_observations())

    def step(self, actions: torch.Tensor) -> StepResult:
        obs, privileged, rewards, resets, extras = self.unwrapped.step(actions.to(self.sim_device))
        dones = self._to(resets) != 0
        rewards = rewards.to(device=self.device, dtype=torch.float32, copy=True)  # rew_buf is reused in place
        time_outs = extras.get("time_outs")
        time_outs = self._to(time_outs).bool() & dones if time_outs is not None else torch.zeros_like(dones)
        out: Dict[str, Any] = {k: v for k, v in extras.items() if k not in ("episode", "time_outs")}
        out["time_outs"] = time_outs
        episode = extras.get("episode")
        if episode is not None and bool(dones.any()):
            out["episode"] = episode
        if self._course:
            if self._score is None:
                self._score = CourseScore(self._base_x())
            outcome = self._score.update(self._base_x(), dones)
            if outcome is not None:
                out["episode"] = dict(out.get("episode") or {}, **outcome)
        return self._groups(obs, privileged), rewards, dones, out

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        gym = getattr(self.unwrapped, "gym", None)
        if gym is None:
            return
        if getattr(self.unwrapped, "viewer", None) is not None:
            gym.destroy_viewer(self.unwrapped.viewer)
        if getattr(self.unwrapped, "sim", None) is not None:
            gym.destroy_sim(self.unwrapped.sim)

    def mirror_maps(self) -> Dict[str, Any]:
        """The left/right mirror (``fastembody_go2.symmetry``) of the groups whose terms are known (unitree_rl_gym's
        Go2 layout) and of the actions; none for another task (``fastembody_core.MirrorableEnv``)."""
        from ..symmetry import mirror_maps

        if not self.observation_terms or self.num_actions != 12:
            return {}
        scan_y = getattr(getattr(self.cfg, "terrain", None), "measured_points_y", ()) or ()
        return mirror_maps(self.observation_terms, scan_y, _measured_points(self.cfg))

    # -- helpers --------------------------------------------------------------------------------------
    def _base_x(self) -> torch.Tensor:
        """[N] world x of every base (legged_gym's ``root_states``)."""
        return self._to(self.unwrapped.root_states[:, 0]).float()

    def _to(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor if tensor.device == self.device else tensor.to(self.device)

    def _groups(self, obs: torch.Tensor, privileged: Optional[torch.Tensor]) -> Observations:
        policy = self._to(obs)
        return {"policy": policy, "critic": self._to(privileged) if privileged is not None else policy}


def _measured_points(cfg: Any) -> int:
    """Heights legged_gym appends to the observation (0 on a ground plane or without ``measure_heights``)."""
    terrain = getattr(cfg, "terrain", None)
    if not getattr(terrain, "measure_heights", False) or getattr(terrain, "mesh_type", None) not in (
            "heightfield", "trimesh"):
        return 0
    return len(getattr(terrain, "measured_points_x", ())) * len(getattr(terrain, "measured_points_y", ()))


def _known_terms(task: str, num_obs: int, has_privileged: bool,
                 height_points: int = 0) -> Tuple[Dict[str, Tuple[str, ...]], Tuple[str, ...]]:
    """Term names of unitree_rl_gym's Go2 observation (legged_gym's 48-dim layout, then ``height_scan`` when
    legged_gym measures heights); unknown elsewhere."""
    from ..task import HEIGHT_SCAN_TERM, OBSERVATION_TERM_DIMS, POLICY_TERMS

    blind = sum(OBSERVATION_TERM_DIMS[t] for t in POLICY_TERMS)
    if task != "go2" or num_obs not in (blind, blind + height_points):
        return {}, ()
    scan = num_obs == blind + height_points and height_points > 0
    policy = tuple(POLICY_TERMS) + ((HEIGHT_SCAN_TERM,) if scan else ())
    terms = {"policy": policy}
    if not has_privileged:
        terms["critic"] = policy
    return terms, ("base_lin_vel",) + ((HEIGHT_SCAN_TERM,) if scan else ())


# -- creation through legged_gym's task registry ---------------------------------------------------------
def _task_registry() -> Any:
    """legged_gym's task registry with every task registered (importing ``legged_gym.envs`` registers them)."""
    try:
        import legged_gym.envs  # noqa: F401
        from legged_gym.utils.task_registry import task_registry
    except ImportError as exc:
        missing = (getattr(exc, "name", None) or "legged_gym").split(".")[0]
        raise EnvError(missing_dependencies_message([missing], f"{type(exc).__name__}: {exc}")) from None
    except AttributeError as exc:
        if "numpy" not in str(exc):
            raise
        import numpy

        raise EnvError(
            f"isaacgym/legged_gym use NumPy aliases removed in numpy 1.24 (np.float...), and numpy "
            f"{numpy.__version__} is installed: pip install 'numpy<1.24' (unitree_rl_gym pins numpy==1.20); "
            f"see {DOCS}"
        ) from None
    return task_registry


def _device(value: Optional[str], run_device: str, what: str) -> str:
    device = value or run_device
    if device == "cuda":
        device = "cuda:0"
    if not (device == "cpu" or device.startswith("cuda:")):
        raise ConfigError(f"Isaac Gym runs on cpu or cuda:N, not {device!r}", key=f"env.params.{what}")
    return device


def legged_gym_args(task: str, params: IsaacCommonParams, sim_device: str, rl_device: str, seed: int) -> argparse.Namespace:
    """The ``args`` legged_gym's ``get_args()`` would parse from the command line, built from our params.

    Holds Isaac Gym's ``gymutil.parse_arguments`` fields (with what it derives: ``use_gpu``,
    ``use_gpu_pipeline``, ``physics_engine``) and legged_gym's own flags, so that ``make_env`` and
    ``parse_sim_params`` find everything they read.
    """
    from isaacgym import gymapi

    kind, _, index = sim_device.partition(":")
    device_id = int(index or 0)
    on_gpu = kind == "cuda"
    return argparse.Namespace(
        # legged_gym/utils/helpers.py::get_args
        task=task, resume=False, experiment_name=None, run_name=None, load_run=None, checkpoint=None,
        headless=bool(params.headless), horovod=False, rl_device=rl_device, num_envs=int(params.num_envs),
        seed=seed, max_iterations=None,
        # isaacgym.gymutil.parse_arguments, and legged_gym's renaming of its device fields
        sim_device=sim_device, sim_device_type=kind, compute_device_id=device_id, sim_device_id=device_id,
        graphics_device_id=device_id, pipeline="gpu" if on_gpu else "cpu", use_gpu=on_gpu,
        use_gpu_pipeline=on_gpu, physics_engine=gymapi.SIM_PHYSX, physx=True, flex=False, device=kind,
        num_threads=0, subscenes=0, slices=0,
    )


def _apply_terrain(env_cfg: Any, terrain: TerrainParams, overrides: Dict[str, Any], task: str) -> None:
    """Set legged_gym's terrain cfg from ``terrain`` (see :mod:`.terrain`), after checking the cfg_overrides agree
    with it (again here, with the task's own observation width)."""
    base = int(getattr(getattr(env_cfg, "env", None), "num_observations", PROPRIOCEPTIVE_OBSERVATIONS))
    try:
        settings = terrain_cfg_settings(terrain, base)
        check_overrides_agree(settings, overrides)
    except ConfigError as exc:
        raise ConfigError(exc.detail, key=f"env.params.{exc.key}") from None
    try:
        apply_cfg_overrides(env_cfg, settings, task)
    except ConfigError as exc:
        raise ConfigError(f"cannot set the terrain: {exc.detail}", key="env.params.terrain") from None


def make_legged_gym_env(task: str, params: IsaacCommonParams, ctx: RunContext) -> IsaacGymVecEnv:
    """Create legged_gym task ``task`` with our params (num_envs, devices, headless, seed, terrain, cfg overrides).

    The registered cfg is copied, then changed in this order: seed and num_envs, the terrain settings
    (``go2-isaac`` with ``terrain.type`` other than flat; cfg_overrides may not contradict them), the cfg_overrides.
    """
    registry = _task_registry()
    registered = sorted(getattr(registry, "task_classes", {}))
    if task not in registered:
        raise EnvError(
            f"legged_gym task {task!r} is not registered (registered: {', '.join(registered) or 'none'}); go2, g1, "
            f"h1 and h1_2 come with unitree_rl_gym's legged_gym; see {DOCS}"
        )
    terrain = getattr(params, "terrain", None)
    course_name = getattr(params, "course", None)
    if course_name is not None or (terrain is not None and terrain.type != "flat"):
        task_class = registry.task_classes[task]
        missing = missing_terrain_support(task_class)
        if missing:
            raise EnvError(
                f"{what_needs_terrain(terrain, course_name)} needs legged_gym's terrain code, but legged_gym task "
                f"{task!r} ({task_class.__module__}.{task_class.__qualname__}) lacks {', '.join(missing)}: "
                f"unitree_rl_gym's LeggedRobot always builds a flat ground plane and never measures heights; "
                f"use a legged_gym whose LeggedRobot keeps leggedrobotics/legged_gym's terrain code with the go2 "
                f"task registered, or train on rough terrain with go2-toy / go2-mujoco; see {DOCS}"
            )
    sim_device = _device(params.sim_device, ctx.device, "sim_device")
    rl_device = _device(params.rl_device, ctx.device, "rl_device")
    seed = int(params.seed) if params.seed is not None else int(ctx.seed) + int(ctx.rank)
    env_cfg, _ = registry.get_cfgs(name=task)
    env_cfg = copy.deepcopy(env_cfg)  # the registry holds one cfg instance per task: leave it untouched
    env_cfg.seed = seed
    env_cfg.env.num_envs = int(params.num_envs)
    if terrain is not None and terrain.type != "flat":
        _apply_terrain(env_cfg, terrain, params.cfg_overrides, task)
    try:
        apply_cfg_overrides(env_cfg, params.cfg_overrides, task)
    except ConfigError as exc:
        raise ConfigError(exc.detail, key=f"env.params.{exc.key}") from None
    args = legged_gym_args(task, params, sim_device, rl_device, seed)
    if course_name is None:
        env, _ = registry.make_env(name=task, args=args, env_cfg=env_cfg)
        return IsaacGymVecEnv(env, device=rl_device, task=task)
    course = build_course(course_name, terrain.horizontal_scale, terrain.vertical_scale)
    apply_cfg_overrides(env_cfg, course_cfg_settings(course, measure_heights=terrain.type != "flat"), task)
    with course_terrain_installed(registry.task_classes[task], course):
        env, _ = registry.make_env(name=task, args=args, env_cfg=env_cfg)
    return IsaacGymVecEnv(env, device=rl_device, task=task, course=True)


def what_needs_terrain(terrain: Optional[TerrainParams], course: Optional[str]) -> str:
    """The setting that asks for legged_gym's terrain code, as the error names it."""
    if terrain is not None and terrain.type != "flat":
        return f"env.params.terrain.type {terrain.type!r}"
    return f"env.params.course {course!r}"
