"""go2-toy: thousands of Unitree Go2s in one batched PyTorch simulation with the unitree_rl_gym task.

The env owns the buffers and the randomness (one ``torch.Generator`` seeded from ``ctx.seed``); the maths is
in :mod:`.dynamics` (physics) and :mod:`.task_step` (rewards, terminations, observations), compiled with
``torch.compile`` when ``params.compile`` is on. On rough terrain (``terrain.type: rough``, generated once from
``ctx.seed``) :mod:`.terrain_env` adds spawn points and the curriculum; flat ground runs the flat code unchanged.
"""
import math
import warnings
from typing import Any, Dict, Optional, Sequence, Tuple

import torch

from fastembody_core import CheckpointError, EnvError, RunContext, VectorEnv, check_memory

from .. import robot
from ..deployment import deployment_info
from ..compiled import MaybeCompiled
from ..env_helpers import checked_actions, due_envs, episode_stats, sample_commands, sample_initial_pose
from ..observations import OBSERVATION_SCALES, group_dim, noise_amplitudes
from ..rewards import RewardShape
from ..symmetry import mirror_maps
from ..task import HEIGHT_SCAN_TERM, POLICY_TERMS, PRIVILEGED_TERMS, observation_groups
from ..terrain.courses import course_episode_stats, course_outcome, course_setup
from ..terrain.field import Terrain
from ..terrain.generator import generate_terrain
from .config import Go2ToyParams
from .dynamics import BodyState, EnvDynamics, body_state, joints_to_soa, model_constants, physics_step
from ..kinematics import leg_geometry, quat_to_rotmat, roll_pitch_yaw
from .task_step import TaskConstants, observe, task_step
from .terrain_env import SpawnSpec, TerrainSetup, scan_constants, uniform_int16

_BUFFERS = ("commands", "heading", "actions", "feet_air_time", "last_contacts", "episode_length_buf", "episode_sums",
            "tracking_error_sum", "policy_obs", "critic_obs")


_denormal_warning_given = False


def guard_denormals() -> bool:
    """Flush float32 denormals to zero (they slow batched CPU maths ~100x); True if every worker thread does.

    ``torch.set_flush_denormal`` sets only the calling thread; OpenMP worker threads inherit it only when they
    are started after it, i.e. when it runs before the process's first parallel torch op. Warns once otherwise.
    """
    global _denormal_warning_given
    torch.set_flush_denormal(True)
    probe = torch.full((1 << 17,), 1e-20) * 1e-20  # 1e-40 is a float32 denormal; large enough to run in parallel
    everywhere = not bool((probe != 0).any())
    if not everywhere and not _denormal_warning_given:
        _denormal_warning_given = True
        warnings.warn("go2-toy: denormals are flushed only in the main thread, because torch's worker threads "
                      "started before torch.set_flush_denormal(True); call it (or "
                      "fastembody_core.guard_cpu_denormals()) before any other torch work", RuntimeWarning,
                      stacklevel=3)
    return everywhere


BYTES_PER_ENV = 4096
"""Memory one env takes while stepping, eager, flat ground (buffers and temporaries; measured ~3.7 KB)."""
BYTES_PER_SCAN_POINT = 80
"""Extra memory per env and height-scan point (the [N, P] scan and its temporaries; measured ~65 B)."""


class Go2ToyEnv(VectorEnv):
    """Batched Go2 on flat ground or a height field: 12 joint-position actions at 50 Hz, 4 physics substeps of
    5 ms each.

    ``terrain`` (optional) replaces the generated ground by a given height field (e.g. an evaluation course from
    ``terrain.build_course``; then the env runs on terrain even with ``terrain.type: flat``); ``spawn`` sets the
    spawn noise and heading on terrain (:class:`~.terrain_env.SpawnSpec`).
    """

    num_actions = robot.NUM_JOINTS
    joint_names = robot.JOINT_NAMES
    """Joint order of actions and joint observations (legged_gym's; export writes it into the sidecar)."""
    action_scale = robot.ACTION_SCALE
    """q* = q0 + action_scale * action."""

    def __init__(self, params: Go2ToyParams, ctx: Optional[RunContext] = None, terrain: Optional[Terrain] = None,
                 spawn: Optional[SpawnSpec] = None):
        ctx = ctx or RunContext()
        rough_layout = terrain is not None or params.terrain.type != "flat"  # a course keeps the run's layout
        if params.course is not None and terrain is None:
            params, terrain, spawn = course_setup(params)
        self.params = params
        self.device = torch.device(params.device or ctx.device)
        if self.device.type == "cpu":
            guard_denormals()  # denormals in batched float32 maths slow a step ~200x
        self.num_envs = params.num_envs
        scan = params.terrain.num_scan_points if (terrain is not None or params.terrain.type != "flat"
                                                   or params.height_scan_in_policy) else 0
        check_memory(self.num_envs * (BYTES_PER_ENV + BYTES_PER_SCAN_POINT * scan),
                     f"go2-toy with {self.num_envs} envs", "lower env.params.num_envs", self.device)
        self.step_dt = robot.CONTROL_DT
        self.max_episode_length = int(math.ceil(params.episode_length_s / self.step_dt))
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(int(ctx.seed) + 7919 * int(ctx.rank))  # distinct env shard per rank
        self.cfg = params
        self._renderer: Any = None  # toy/render.py's SoftwareRenderer, made on the first render()
        self.fixed_command: Optional[Tuple[float, float, float]] = None  # set_command()

        rough = terrain is not None or params.terrain.type != "flat"
        self.terrain = terrain if terrain is not None else generate_terrain(params.terrain, int(ctx.seed))
        """The ground (a one-cell zero field on flat ground); the renderer and evaluation read it."""
        self.terrain = self.terrain.to(self.device)
        self._ground = TerrainSetup(params.terrain, self.terrain, self.num_envs, self.device, spawn) if rough else None
        self.observation_terms = observation_groups(params.deployable_policy, "rough" if rough_layout else "flat",
                                                    params.height_scan_in_policy)
        self.privileged_terms = PRIVILEGED_TERMS
        self.scan_points = params.terrain.num_scan_points
        self.observation_shapes = {k: (group_dim(v, self.scan_points),) for k, v in self.observation_terms.items()}

        with torch.inference_mode():  # every buffer is an inference tensor, so compiled code sees one kind
            self._build(params)
        self.reset()

    @property
    def curriculum(self) -> Any:
        """The :class:`~fastembody_go2.terrain.TerrainCurriculum` on rough terrain, else None."""
        return self._ground.curriculum if self._ground is not None else None

    def _build(self, params: Go2ToyParams) -> None:
        dev = self.device
        self.model = model_constants(params.physics, dev)
        rp = params.rewards
        self.reward_terms = tuple(name for name, scale in rp.scales.items() if scale != 0.0)
        lower, upper = torch.tensor(robot.JOINT_LOWER, device=dev), torch.tensor(robot.JOINT_UPPER, device=dev)
        self.joint_lower, self.joint_upper = lower, upper
        middle, half = (lower + upper) / 2, (upper - lower) / 2 * rp.soft_dof_pos_limit
        self.default_joint_pos = torch.tensor(robot.DEFAULT_JOINT_POS, device=dev)
        self.geometry = leg_geometry(dev)
        self.task = TaskConstants(
            hip_x=self.model.hip_x,
            hip_y=self.model.hip_y,
            side_y=self.model.side_y,
            com_offset=robot.COM_OFFSET,
            default_joint_pos=self.default_joint_pos,
            soft_joint_lower=middle - half,
            soft_joint_upper=middle + half,
            reward_shape=RewardShape(rp.tracking_sigma, rp.base_height_target, rp.feet_air_time_target, self.step_dt,
                                     rp.feet_clearance_target),
            reward_terms=self.reward_terms,
            reward_scales=tuple(rp.scales[name] for name in self.reward_terms),
            only_positive_rewards=rp.only_positive_rewards,
            heading_command=params.commands.heading_command,
            max_roll=params.max_roll,
            max_pitch=params.max_pitch,
            clip_observations=params.clip_observations,
            policy_layout=self._layout("policy"),
            critic_layout=self.observation_terms["critic"],
            scan_noise_amplitude=float(noise_amplitudes((HEIGHT_SCAN_TERM,), params.noise_level, dev, 1)[0]),
        )
        # positional extras of the compiled calls: none on flat ground without a height scan (today's graphs)
        # the scan's ground also gives the ground-relative base height on terrain, observed or not
        scan_needed = self._ground is not None or HEIGHT_SCAN_TERM in self.task.critic_layout
        scan = scan_constants(params.terrain, dev) if scan_needed else None
        self._scan = scan
        self._physics_extra: Tuple[Any, ...] = (self.terrain,) if self._ground is not None else ()
        self._task_extra: Tuple[Any, ...] = (self.terrain, scan) if self._ground is not None else ()
        self.scan_ground: Optional[torch.Tensor] = None  # [N, P] ground under the scan points (terrain only)
        amplitude = noise_amplitudes(POLICY_TERMS, params.noise_level, dev)  # the scan's noise: _scan_noise_bits
        self.noise_columns = amplitude.nonzero(as_tuple=False).flatten()  # only these get noise
        self.noise_amplitude = amplitude[self.noise_columns]
        self.resample_steps = max(1, int(round(params.commands.resampling_time_s / self.step_dt)))
        self.push_steps = max(1, int(round(params.randomization.push_interval_s / self.step_dt)))
        self._physics = MaybeCompiled(physics_step, params.compile, "go2-toy")
        self._task_step = MaybeCompiled(task_step, params.compile, "go2-toy")
        self._observe = MaybeCompiled(observe, params.compile, "go2-toy")
        self._allocate()

    # -- buffers -------------------------------------------------------------------------------------
    def _allocate(self) -> None:
        n, dev = self.num_envs, self.device

        def zeros(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
            return torch.zeros(n, *shape, device=dev, dtype=dtype)

        quat = zeros(4)
        quat[:, 0] = 1.0
        self.state = body_state(zeros(3), quat, zeros(3), zeros(3), self.default_joint_pos.repeat(n, 1), zeros(12))
        self.dynamics = EnvDynamics(zeros() + 1.0, zeros() + robot.TOTAL_MASS, zeros() + 1.0)
        self.commands, self.heading = zeros(3), zeros()
        self.actions = zeros(12)  # the last actions applied (an observation term; action_rate compares to it)
        self.feet_air_time, self.last_contacts = zeros(4), zeros(4, dtype=torch.bool)
        self.episode_length_buf = zeros(dtype=torch.long)
        self.episode_sums, self.tracking_error_sum = zeros(len(self.reward_terms)), zeros()
        self.policy_obs = zeros(group_dim(self.task.policy_layout, self.scan_points))
        hide = self.params.height_scan_dropout > 0 and self.params.course is None  # courses see the ground
        self.scan_hidden = zeros(dtype=torch.bool) if hide else None  # [N] this episode's policy scan is flat
        self.critic_obs = zeros(group_dim(self.task.critic_layout, self.scan_points))

    def _layout(self, group: str) -> Tuple[str, ...]:
        """Terms of the noisy buffer: the 48 policy terms (+ the height scan when the policy reads it)."""
        scan = (HEIGHT_SCAN_TERM,) if HEIGHT_SCAN_TERM in self.observation_terms[group] else ()
        return POLICY_TERMS + scan

    def _uniform(self, bounds: Any, *shape: int) -> torch.Tensor:
        low, high = float(bounds[0]), float(bounds[1])
        return low + (high - low) * torch.rand(*shape, generator=self.generator, device=self.device)

    # -- VectorEnv -----------------------------------------------------------------------------------
    def reset(self) -> Dict[str, torch.Tensor]:
        with torch.inference_mode():
            all_ids = torch.arange(self.num_envs, device=self.device)
            if self._ground is not None:
                self._ground.initialise(self.generator)  # the first reset draws levels; none moves them
            self._reset_idx(all_ids)
            self._resample_commands(all_ids)
            self._refresh_scan_ground()
            self._compute_observations(torch.zeros(self.num_envs, 4, dtype=torch.bool, device=self.device))
        return self.get_observations()

    def get_observations(self) -> Dict[str, torch.Tensor]:
        deployable = self.policy_obs[:, 3:48]  # the buffer is the 48 policy terms (+ the height scan)
        obs = {
            "policy": self.policy_obs[:, 3:] if self.params.deployable_policy else self.policy_obs,
            "deployable": deployable,
            "critic": self.critic_obs,
        }
        if not torch.is_inference_mode_enabled():  # callers outside inference mode get normal tensors
            obs = {k: v.clone() for k, v in obs.items()}
        return obs

    def step(self, actions: torch.Tensor):
        with torch.inference_mode():
            actions = checked_actions(actions, self.num_envs, self.num_actions, self.device, self.params.check_actions,
                                      self.params.clip_actions, "go2-toy")
            targets = joints_to_soa(self.default_joint_pos + robot.ACTION_SCALE * actions)
            last_joint_vel = self.state.joint_vel
            self.state, torques, forces = self._physics(self.state, targets, self.dynamics, self.model,
                                                        robot.DECIMATION, *self._physics_extra)
            self.episode_length_buf += 1
            out = self._task_step(self.state, torques, forces, actions, self.actions, last_joint_vel,
                                  self.commands, self.heading, self.feet_air_time, self.last_contacts, self.task,
                                  *self._task_extra)
            self.scan_ground = out.scan_ground
            self.commands, self.feet_air_time, self.last_contacts = out.commands, out.feet_air_time, out.contacts
            self.episode_sums += out.per_term
            self.tracking_error_sum += out.tracking_error
            time_outs = self.episode_length_buf >= self.max_episode_length
            if self.params.course is not None:  # crossing ends an episode as a success
                crossed, progress = course_outcome(self.terrain, self.state.pos.t(), out.terminated)
                time_outs = time_outs | crossed
            dones = out.terminated | time_outs
            self.actions = actions
            extras: Dict[str, Any] = {"time_outs": time_outs}
            reset_ids = dones.nonzero(as_tuple=False).flatten()
            if reset_ids.numel() > 0:
                extras["episode"] = episode_stats(reset_ids, out.terminated, self.episode_sums, self.episode_length_buf,
                                                  self.tracking_error_sum, self.reward_terms, self.params.episode_length_s)
                if self._ground is not None:
                    extras["episode"]["terrain_level"] = self._ground.end_episodes(
                        reset_ids, self.state.pos[:2, reset_ids].t(), self.commands[reset_ids, :2],
                        self.params.episode_length_s, self.generator)
                if self.params.course is not None:
                    extras["episode"].update(course_episode_stats(reset_ids, crossed, progress))
                self._reset_idx(reset_ids)
                self._refresh_scan_ground(reset_ids)
            self._resample_due_commands()
            self._push_due_robots()
            self._compute_observations(self.last_contacts)
            reward = out.reward
        return self.get_observations(), reward, dones, extras

    # -- internals -----------------------------------------------------------------------------------
    def _reset_idx(self, ids: torch.Tensor) -> None:
        k, dev, rnd = ids.numel(), self.device, self.params.randomization
        friction = self._uniform(rnd.friction_range, k)
        mass = robot.TOTAL_MASS + self._uniform(rnd.payload_mass_range, k)
        strength = self._uniform(rnd.motor_strength_range, k)
        joint_pos, quat, lin_vel, ang_vel, foot_b, clearance = sample_initial_pose(
            k, rnd, self.default_joint_pos, self.joint_lower, self.joint_upper, self.geometry, self._uniform)
        lowest = (foot_b[..., 2] - robot.COM_OFFSET[2]).min(-1).values
        pos = torch.zeros(k, 3, device=dev)
        pos[:, 2] = robot.FOOT_RADIUS + clearance - lowest
        if self._ground is not None:  # onto the env's tile, above the ground under its feet
            pos, quat = self._ground.place(ids, pos, quat, foot_b, self._uniform)
        new = body_state(pos, quat, lin_vel, ang_vel, joint_pos, torch.zeros(k, 12, device=dev))
        for buffer, value in zip(self.state, new):
            buffer[..., ids] = value
        for buffer, value in zip(self.dynamics, (friction, mass, strength)):
            buffer[ids] = value
        for buffer in (self.actions, self.feet_air_time, self.episode_sums, self.tracking_error_sum,
                       self.episode_length_buf, self.last_contacts):
            buffer[ids] = 0
        if self.scan_hidden is not None:
            draw = torch.rand(k, generator=self.generator, device=dev)
            self.scan_hidden[ids] = draw < self.params.height_scan_dropout

    def _resample_due_commands(self) -> None:
        ids = due_envs(self.episode_length_buf, self.resample_steps)
        if ids.numel() > 0:
            self._resample_commands(ids)

    def _resample_commands(self, ids: torch.Tensor) -> None:
        if self.fixed_command is not None:
            self.commands[ids] = torch.tensor(self.fixed_command, dtype=self.commands.dtype, device=self.device)
            return
        commands, heading, standing = sample_commands(self.params.commands, ids.numel(), self._uniform, self.generator,
                                                      self.device)
        if standing is not None:
            _, _, yaw = roll_pitch_yaw(quat_to_rotmat(self.state.quat[:, ids].t()))
            heading = torch.where(standing, yaw, heading)
        self.commands[ids] = commands
        self.heading[ids] = heading

    def _push_due_robots(self) -> None:
        rnd = self.params.randomization
        if not rnd.push_robots:
            return
        ids = due_envs(self.episode_length_buf, self.push_steps, skip_start=True)
        if ids.numel() > 0:
            self.state.lin_vel[:2, ids] = self._uniform((-rnd.max_push_vel_xy, rnd.max_push_vel_xy), 2, ids.numel())

    def _refresh_scan_ground(self, ids: Optional[torch.Tensor] = None) -> None:
        """Ground under the scan points of the envs ``ids`` (all when None) at their current state (terrain only:
        after resets, so a new episode's first observation scans its new ground)."""
        if self._ground is not None and self._scan is not None:
            self.scan_ground = self._ground.scan_ground(self.state, self._scan, self.scan_ground, ids)

    def _compute_observations(self, contacts: torch.Tensor) -> None:
        uniform = torch.rand(self.num_envs, self.noise_columns.numel(), generator=self.generator,
                             device=self.device)
        extra: Tuple[Any, ...] = ()
        if self._scan is not None:
            extra = (self.terrain, self._scan, self.scan_ground) if self._ground is not None else (None, self._scan, None)
            if HEIGHT_SCAN_TERM in self.task.policy_layout and self.task.scan_noise_amplitude > 0:
                extra = extra + (uniform_int16(self.num_envs * self.scan_points, self.generator),)
        self.policy_obs, self.critic_obs = self._observe(self.state, self.dynamics, self.commands, self.actions,
                                                         contacts, uniform, self.noise_amplitude,
                                                         self.noise_columns, self.task, *extra,
                                                         **({} if self.scan_hidden is None else
                                                            {"scan_hidden": self.scan_hidden}))

    # -- hooks -----------------------------------------------------------------------------------------
    @property
    def base_lin_vel(self) -> torch.Tensor:
        """``[N, 3]`` base linear velocity in the body frame (playback metrics): the critic's noise-free term."""
        return self.critic_obs[:, 0:3] / OBSERVATION_SCALES["base_lin_vel"]

    def mirror_maps(self) -> Dict[str, Any]:
        """The left/right mirror of the observation groups and the actions (``fastembody_go2.symmetry``;
        ``fastembody_core.MirrorableEnv``: PPO's ``symmetry: augment``)."""
        return mirror_maps(self.observation_terms, self.params.terrain.scan_y, self.scan_points)

    def deployment_info(self) -> Dict[str, Any]:
        """What a robot-side runner needs (joint order and map, gains, scales; ``fastembody_go2.deployment``)."""
        return deployment_info(self.params, self.scan_points)

    def set_command(self, command: Optional[Sequence[float]]) -> None:
        """Fix every env's (vx, vy, yaw rate) command: no resampling, no heading control; None: random again."""
        with torch.inference_mode():
            if command is None:
                self.fixed_command = None
                self.task = self.task._replace(heading_command=self.params.commands.heading_command)
                self._resample_commands(torch.arange(self.num_envs, device=self.device))
                return
            values = tuple(float(v) for v in command)
            if len(values) != 3 or not all(math.isfinite(v) for v in values):
                raise EnvError(f"go2-toy: a command is three finite numbers (vx, vy, yaw_rate), got {command!r}")
            self.fixed_command = values  # type: ignore[assignment]
            self.task = self.task._replace(heading_command=False)
            self.commands[:] = torch.tensor(values, dtype=self.commands.dtype, device=self.device)
            self._refresh_scan_ground()
            self._compute_observations(self.last_contacts)

    def render(self, env_id: int = 0, width: int = 640, height: int = 480) -> Any:
        """An RGB frame ``[height, width, 3]`` uint8 of env ``env_id`` (software renderer: matplotlib, no OpenGL)."""
        from .render import SoftwareRenderer, render_env

        if self._renderer is None:
            self._renderer = SoftwareRenderer(self._ground.height_field() if self._ground is not None else None)
        return render_env(self._renderer, self, env_id, width, height)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    # -- checkpointing -------------------------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        """Every buffer and the generator state: a resumed run continues bit-exactly."""
        out: Dict[str, Any] = {"num_envs": self.num_envs, "generator": self.generator.get_state().clone()}
        out["body"] = {name: t.clone() for name, t in self.state._asdict().items()}
        out["dynamics"] = {name: t.clone() for name, t in self.dynamics._asdict().items()}
        out["buffers"] = {name: getattr(self, name).clone() for name in _BUFFERS}
        if self._ground is not None:
            out["terrain"] = self._ground.state_dict()
        if self.scan_hidden is not None:
            out["scan_hidden"] = self.scan_hidden.clone()
        return out

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        if int(state.get("num_envs", -1)) != self.num_envs:
            raise CheckpointError(f"go2-toy: checkpoint env state has num_envs={state.get('num_envs')}, "
                                  f"this env has {self.num_envs}")
        if (self._ground is None) != ("terrain" not in state):
            where = ("flat ground", "terrain") if self._ground is not None else ("terrain", "flat ground")
            raise CheckpointError(f"go2-toy: checkpoint env state was saved on {where[0]}, this env runs on {where[1]}")
        if self._ground is not None:
            self._ground.check(state["terrain"])
        if self.scan_hidden is not None and tuple(state.get("scan_hidden", torch.zeros(0)).shape) != (self.num_envs,):
            raise CheckpointError("go2-toy: checkpoint env state lacks scan_hidden (saved without height_scan_dropout)")
        with torch.inference_mode():
            self.state = BodyState(**self._restored(state["body"], self.state._asdict(), "body"))
            self.dynamics = EnvDynamics(**self._restored(state["dynamics"], self.dynamics._asdict(), "dynamics"))
            for name, value in self._restored(state["buffers"], {n: getattr(self, n) for n in _BUFFERS},
                                              "buffers").items():
                setattr(self, name, value)
            self.generator.set_state(state["generator"].cpu())
            if self.scan_hidden is not None:
                self.scan_hidden = state["scan_hidden"].to(self.device, torch.bool).clone()
            if self._ground is not None:
                self._ground.load_state_dict(state["terrain"])
                self._refresh_scan_ground()

    def _restored(self, saved: Dict[str, Any], current: Dict[str, torch.Tensor], where: str) -> Dict[str, Any]:
        out = {}
        for name, now in current.items():
            if name not in saved:
                raise CheckpointError(f"go2-toy: checkpoint env state lacks {where}.{name}")
            value = saved[name]
            if tuple(value.shape) != tuple(now.shape):
                raise CheckpointError(f"go2-toy: checkpoint env state {where}.{name} has shape {tuple(value.shape)}, "
                                      f"this env expects {tuple(now.shape)}")
            out[name] = value.to(device=self.device, dtype=now.dtype).clone()
        return out
