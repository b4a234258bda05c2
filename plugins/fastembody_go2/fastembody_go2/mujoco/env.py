"""go2-mujoco: N Unitree Go2s in MuJoCo on the CPU, with go2-toy's observation/action contract and task.

One policy step = 4 MuJoCo steps of 5 ms with the PD targets ``q* = q0 + 0.25 a`` held (position actuators,
kp 20, kv 0.5, torque limits 23.7/23.7/35.55 N·m). The N envs are stepped by one batched call per policy step
(:mod:`.driver`), every env with its own ``MjModel`` copy so friction, payload and motor strength can differ.
Observation groups, scales, noise, joint order (legged_gym FL, FR, RL, RR), rewards, commands, pushes,
resets, terminations and ``extras`` follow go2-toy; the MuJoCo actuator order (SDK FR, FL, RR, RL) is mapped
by name.

Hooks beyond :class:`~fastembody_core.VectorEnv`: ``set_command((vx, vy, yaw_rate))`` fixes every env's
command (``None`` resumes random commands), ``render(env_id=0)`` returns an RGB frame of one env, and
``base_lin_vel`` / ``commands`` (body frame, ``[N, 3]``) are the attributes playback metrics read.

On terrain (``terrain: rough``, or a given ``Terrain``) the ground is an hfield and the envs share one MjModel
per stepping thread (:mod:`.terrain`, :mod:`.shared_driver`); ``height_scan()`` gives legged_gym's height scan.
"""
import copy
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from fastembody_core import EnvError, RunContext, VectorEnv

from .. import robot
from ..deployment import deployment_info
from ..compiled import MaybeCompiled
from ..env_helpers import checked_actions, due_envs, episode_stats, sample_commands, sample_initial_pose
from ..observations import group_dim
from ..rewards import RewardShape
from ..symmetry import mirror_maps
from ..task import HEIGHT_SCAN_TERM, PRIVILEGED_TERMS
from ..kinematics import leg_geometry, quat_to_rotmat, roll_pitch_yaw
from ..terrain.courses import course_episode_stats, course_outcome, course_setup
from ..terrain.field import Terrain
from ..terrain.generator import generate_terrain
from .config import Go2MujocoParams
from .driver import make_driver, single_torch_thread
from .env_state import env_state_dict, load_env_state
from .model import NominalDynamics, home_state, load_model, model_layout, set_env_dynamics
from .terrain import HeightScan
from .task_step import (Columns, Measured, SensorIndex, TaskConstants, measure, observation_layout, observe,
                        post_physics)

_BUFFERS = ("env_bucket", "bucket_dynamics", "episode_length_buf", "actions", "last_joint_vel", "feet_air_time",
            "last_contacts", "commands", "heading", "friction", "payload", "motor_strength", "episode_sums", "tracking_error_sum", "base_lin_vel",
            "policy_obs", "critic_obs")


class Go2MujocoEnv(VectorEnv):
    """The go2-mujoco VectorEnv (see the module docstring)."""

    joint_names = robot.JOINT_NAMES
    render_unavailable = ""
    """Why there will be no frames (set by the factory when MuJoCo's offscreen GL probe failed), else ""."""
    default_joint_pos = robot.DEFAULT_JOINT_POS
    action_scale = robot.ACTION_SCALE
    num_actions = robot.NUM_JOINTS

    def __init__(self, params: Go2MujocoParams, ctx: Optional[RunContext] = None, terrain: Optional[Terrain] = None,
                 spawn: Optional[Any] = None):
        """``terrain`` (optional) replaces the generated ground by a given one (e.g. ``terrain.build_course``; the
        env then runs on terrain even with ``terrain.type: flat``); ``spawn`` (:class:`.terrain.SpawnSpec` or
        go2-toy's) sets the spawn noise and heading on terrain."""
        ctx = ctx or RunContext()
        rough_layout = terrain is not None or params.terrain.type != "flat"  # a course keeps the run's layout
        if params.course is not None and terrain is None:
            params, terrain, spawn = course_setup(params)
        self.params = p = params
        self.num_envs = n = int(p.num_envs)
        self.step_dt = robot.CONTROL_DT
        self.max_episode_length = int(math.ceil(p.episode_length_s / self.step_dt))
        self.device = torch.device(p.device or ctx.device or "cpu")
        self.generator = torch.Generator().manual_seed(int(ctx.seed) + 7919 * int(ctx.rank))  # a shard per rank

        self._tiles: Any = None
        """The :class:`.terrain.EnvTerrain` (spawn points, curriculum) on terrain; None on flat ground."""
        if terrain is not None or p.terrain.type != "flat":
            from .terrain import build_env_terrain

            self.model, self._tiles = build_env_terrain(p, int(ctx.seed), terrain, spawn)
        else:
            self.model = load_model(p.physics)  # today's plane
        self.terrain: Terrain = generate_terrain(p.terrain, int(ctx.seed)) if self._tiles is None else \
            self._tiles.terrain
        """The ground as data (a one-cell zero field on flat ground), as go2-toy's ``terrain``."""
        self.layout = model_layout(self.model)
        if self.layout.nstate != 1 + self.layout.nq + self.layout.nv:
            raise EnvError("go2-mujoco needs a model whose FULLPHYSICS state is (time, qpos, qvel) only")
        self.index = SensorIndex.of(self.layout)
        self._columns = Columns.of(self.index)
        self.nominal = NominalDynamics.of(self.model, self.layout)
        buckets = p.dynamics_buckets
        self._num_dynamics = buckets or n
        self._bucket_models: List[Any] = []
        self.models: List[Any] = []  # each env's MjModel (flat; the driver keeps this list); empty on terrain
        if self._tiles is None:  # one MjModel per dynamics bucket, shared by the envs of the bucket
            self._bucket_models = [copy.copy(self.model) for _ in range(self._num_dynamics)]
            self.models = list(self._bucket_models) if not buckets else [self._bucket_models[0]] * n
        self._home = home_state(self.model, self.layout)
        self.state = np.tile(self._home, (n, 1))
        self.sensors = np.zeros((n, self.model.nsensordata))
        self._next_state, self._next_sensors = np.empty_like(self.state), np.empty_like(self.sensors)
        self._ctrl = np.empty((n, self.layout.nu))
        self._q0_ctrl = np.asarray(robot.DEFAULT_JOINT_POS, dtype=np.float64)[self.layout.joint_of_actuator]
        self._renderer: Any = None
        self.driver: Any = None
        if self._tiles is None:
            self.driver = make_driver(p.driver, self.models, p.nthread)
        else:  # one MjModel per thread, each env's dynamics written in (every copy holds the hfield)
            from .shared_driver import make_shared_driver

            self.driver = make_shared_driver(p.driver, self.model, self.layout, self.nominal, n, p.nthread)

        self.observation_terms, self._groups, self._noise_amplitude = observation_layout(p, rough_layout)
        self.scan_points = p.terrain.num_scan_points
        self.observation_shapes = {k: (group_dim(v, self.scan_points),) for k, v in self.observation_terms.items()}
        self.privileged_terms = PRIVILEGED_TERMS
        self._scan = HeightScan(p.terrain, self.terrain, p.compile) if HEIGHT_SCAN_TERM in self._groups[1][1] else None
        self._geo = leg_geometry(torch.device("cpu"))
        with torch.inference_mode():
            self._build_constants(p)
            self._allocate(n)
        self.fixed_command: Optional[Tuple[float, float, float]] = None
        self.reset()

    def _build_constants(self, p: Go2MujocoParams) -> None:
        lower, upper = torch.tensor(robot.JOINT_LOWER), torch.tensor(robot.JOINT_UPPER)
        middle, half = (lower + upper) / 2, (upper - lower) / 2 * p.rewards.soft_dof_pos_limit
        self.reward_terms = tuple(name for name, scale in p.rewards.scales.items() if scale != 0.0)
        self.constants = TaskConstants(
            default_joint_pos=torch.tensor(robot.DEFAULT_JOINT_POS),
            soft_joint_lower=middle - half,
            soft_joint_upper=middle + half,
            reward_shape=RewardShape(p.rewards.tracking_sigma, p.rewards.base_height_target,
                                     p.rewards.feet_air_time_target, self.step_dt,
                                     p.rewards.feet_clearance_target),
            reward_terms=self.reward_terms,
            reward_scales=tuple(p.rewards.scales[name] for name in self.reward_terms),
            only_positive_rewards=p.rewards.only_positive_rewards,
            heading_command=p.commands.heading_command,
            clip_observations=p.clip_observations,
        )
        self._joint_lower, self._joint_upper = lower, upper
        self._post_physics = MaybeCompiled(post_physics, p.compile, "go2-mujoco")
        self._measure_state = MaybeCompiled(measure, p.compile, "go2-mujoco")
        self._observe_terms = MaybeCompiled(observe, p.compile, "go2-mujoco")
        self._resample_steps = max(1, int(round(p.commands.resampling_time_s / self.step_dt)))
        self._push_steps = max(1, int(round(p.randomization.push_interval_s / self.step_dt)))

    def _allocate(self, n: int) -> None:
        def zeros(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
            return torch.zeros(n, *shape, dtype=dtype)

        self.episode_length_buf = zeros(dtype=torch.long)
        self.actions, self.last_joint_vel = zeros(12), zeros(12)
        self.feet_air_time, self.last_contacts = zeros(4), zeros(4, dtype=torch.bool)
        self.commands, self.heading = zeros(3), zeros()
        self.friction, self.payload, self.motor_strength = zeros() + 1.0, zeros(), zeros() + 1.0
        self.env_bucket = zeros(dtype=torch.long)
        self.bucket_dynamics = torch.zeros(self._num_dynamics, 3)
        """[buckets, 3] friction, payload [kg], motor strength of each bucket's MjModel."""
        if self.params.dynamics_buckets:
            rnd = self.params.randomization
            k = self._num_dynamics
            self.bucket_dynamics = torch.stack((self._uniform(rnd.friction_range, k),
                                                self._uniform(rnd.payload_mass_range, k),
                                                self._uniform(rnd.motor_strength_range, k)), dim=-1)
            self._apply_bucket_dynamics(range(k))
        self.episode_sums, self.tracking_error_sum = zeros(len(self.reward_terms)), zeros()
        self.base_lin_vel = zeros(3)
        self.policy_obs = zeros(group_dim(self._groups[0][1], self.scan_points))
        self.critic_obs = zeros(group_dim(self._groups[1][1], self.scan_points))

    def _apply_bucket_dynamics(self, buckets: Any) -> None:
        """Write the dynamics of ``buckets`` into their MjModels; on terrain, hand every env's row to the shared
        driver, which writes them into its models while stepping."""
        if self._tiles is not None:
            self.driver.assign(self.env_bucket.numpy(), self.bucket_dynamics.numpy())
            return
        for b in buckets:
            friction, payload, strength = (float(v) for v in self.bucket_dynamics[b])
            set_env_dynamics(self._bucket_models[b], self.layout, self.nominal, friction, payload, strength)

    def _uniform(self, bounds: Sequence[float], *shape: int) -> torch.Tensor:
        low, high = float(bounds[0]), float(bounds[1])
        return low + (high - low) * torch.rand(*shape, generator=self.generator)

    # -- VectorEnv -----------------------------------------------------------------------------------------
    def reset(self) -> Dict[str, torch.Tensor]:
        with torch.inference_mode(), single_torch_thread():
            all_ids = torch.arange(self.num_envs)
            if self._tiles is not None:
                self._tiles.initialise(self.generator)  # the first reset draws levels; none moves them
            self._reset_idx(all_ids)
            self._resample_commands(all_ids)
            self._observe(self._measure())
        return self.get_observations()

    def get_observations(self) -> Dict[str, torch.Tensor]:
        deployable = self.policy_obs[:, 3:48]  # the buffer is the 48 policy terms (+ the height scan)
        obs = {"policy": self.policy_obs[:, 3:] if self.params.deployable_policy else self.policy_obs,
               "deployable": deployable, "critic": self.critic_obs}
        obs = {k: v.to(self.device) for k, v in obs.items()}
        if not torch.is_inference_mode_enabled():  # callers outside inference mode get normal tensors
            obs = {k: v.clone() for k, v in obs.items()}
        return obs

    def step(self, actions: torch.Tensor):
        p = self.params
        with torch.inference_mode(), single_torch_thread():
            actions = checked_actions(actions, self.num_envs, self.num_actions, "cpu", self.params.check_actions,
                                      self.params.clip_actions, "go2-mujoco")
            targets = actions.numpy().astype(np.float64)[:, self.layout.joint_of_actuator]
            np.multiply(targets, robot.ACTION_SCALE, out=self._ctrl)
            self._ctrl += self._q0_ctrl
            self.driver.step(self.state, self._ctrl, robot.DECIMATION, self._next_state, self._next_sensors)
            self.state, self._next_state = self._next_state, self.state
            self.sensors, self._next_sensors = self._next_sensors, self.sensors
            self.episode_length_buf += 1
            steer = self.constants.heading_command and self.fixed_command is None
            m, out = self._post_physics(torch.from_numpy(self.state), torch.from_numpy(self.sensors), self._columns,
                                        self.params.max_roll, self.params.max_pitch, actions, self.actions,
                                        self.last_joint_vel, self.commands, self.heading, self.feet_air_time,
                                        self.last_contacts, self.constants, steer, *self._grounds())
            self.commands, self.feet_air_time, self.last_contacts = out.commands, out.feet_air_time, m.foot_contacts
            self.last_joint_vel, self.base_lin_vel, self.actions = m.joint_vel, m.base_lin_vel, actions
            self.episode_sums += out.per_term
            self.tracking_error_sum += out.tracking_error
            time_outs = self.episode_length_buf >= self.max_episode_length
            if p.course is not None:  # crossing ends an episode as a success
                crossed, progress = course_outcome(self.terrain, self.base_pos, m.fallen)
                time_outs = time_outs | crossed
            dones = m.fallen | time_outs
            extras: Dict[str, Any] = {"time_outs": time_outs.to(self.device)}
            reset_ids = dones.nonzero(as_tuple=False).flatten()
            if reset_ids.numel() > 0:
                extras["episode"] = episode_stats(reset_ids, m.fallen, self.episode_sums, self.episode_length_buf,
                                                  self.tracking_error_sum, self.reward_terms, self.params.episode_length_s)
                if self._tiles is not None:
                    base_xy = torch.from_numpy(self.state[reset_ids.numpy()][:, self.index.base_pos[:2]]).float()
                    extras["episode"]["terrain_level"] = self._tiles.end_episodes(
                        reset_ids, base_xy, self.commands[reset_ids, :2], self.params.episode_length_s,
                        self.generator).to(self.device)
                if p.course is not None:
                    extras["episode"].update(course_episode_stats(reset_ids, crossed, progress))
                self._reset_idx(reset_ids)
                m = self._measure()  # the first observation of the new episodes
            self._resample_due_commands()
            self._push_due_robots()
            self._observe(m)
            reward, dones = out.reward.to(self.device), dones.to(self.device)
        return self.get_observations(), reward, dones, extras

    # -- internals -----------------------------------------------------------------------------------------
    def _measure(self) -> Measured:
        return self._measure_state(torch.from_numpy(self.state), torch.from_numpy(self.sensors), self._columns,
                                   self.params.max_roll, self.params.max_pitch, *self._grounds())

    def _observe(self, m: Measured) -> None:
        groups = self._groups
        # contacts of the last step (zero right after a reset), as go2-toy observes them
        m = m._replace(foot_contacts=self.last_contacts)
        noise = None
        if self.params.noise_level > 0:
            noise = (torch.rand(self.policy_obs.shape, generator=self.generator), self._noise_amplitude)
        scan = None if self._scan is None else self._scan(self.state, self.index)
        obs = self._observe_terms(m, self.commands, self.actions, self.friction, self.payload, self.motor_strength,
                                  self.constants, groups, noise, scan)
        self.policy_obs, self.critic_obs = obs["policy"], obs["critic"]

    def _reset_idx(self, ids: torch.Tensor) -> None:
        """New dynamics and initial state (go2-toy's distribution) for the envs ``ids``."""
        k, rnd = ids.numel(), self.params.randomization
        if self.params.dynamics_buckets:  # a random bucket each
            bucket = torch.randint(self._num_dynamics, (k,), generator=self.generator)
        else:  # a fresh draw into the env's own dynamics
            bucket = ids
            self.bucket_dynamics[ids] = torch.stack((self._uniform(rnd.friction_range, k),
                                                     self._uniform(rnd.payload_mass_range, k),
                                                     self._uniform(rnd.motor_strength_range, k)), dim=-1)
        self.env_bucket[ids] = bucket
        self.friction[ids], self.payload[ids], self.motor_strength[ids] = self.bucket_dynamics[bucket].unbind(-1)
        self._apply_bucket_dynamics([] if self.params.dynamics_buckets else ids.tolist())
        for i, b in zip(ids.tolist(), bucket.tolist()) if self._bucket_models else ():
            self.models[i] = self._bucket_models[b]
        joint_pos, quat, lin_vel, ang_vel, foot_b, clearance = sample_initial_pose(
            k, rnd, self.constants.default_joint_pos, self._joint_lower, self._joint_upper, self._geo, self._uniform)
        height = robot.FOOT_RADIUS + clearance - foot_b[..., 2].min(-1).values
        rows = ids.numpy()
        state = np.tile(self._home, (k, 1))
        ix = self.index
        if self._tiles is not None:  # a tile origin of the curriculum; feet above the highest ground under them
            xy, quat, height = self._tiles.place(ids, quat, height, foot_b, self._uniform)
            state[:, ix.base_pos[:2]] = xy.numpy()
        state[:, ix.base_pos[2]] = height.numpy()
        state[:, ix.base_quat] = quat.numpy()
        state[:, ix.joint_pos] = joint_pos.numpy()
        state[:, ix.base_lin_vel] = torch.einsum("nij,nj->ni", quat_to_rotmat(quat), lin_vel).numpy()  # world frame
        state[:, ix.base_ang_vel] = ang_vel.numpy()  # body frame, as MuJoCo's free joint stores it
        self.state[rows] = state
        self.sensors[rows] = 0.0
        for buffer in (self.actions, self.last_joint_vel, self.feet_air_time, self.episode_sums,
                       self.tracking_error_sum, self.episode_length_buf, self.last_contacts):
            buffer[ids] = 0

    def _resample_due_commands(self) -> None:
        ids = due_envs(self.episode_length_buf, self._resample_steps)
        if ids.numel() > 0:
            self._resample_commands(ids)

    def _resample_commands(self, ids: torch.Tensor) -> None:
        if self.fixed_command is not None:
            self.commands[ids] = torch.tensor(self.fixed_command, dtype=torch.float32)
            return
        commands, heading, standing = sample_commands(self.params.commands, ids.numel(), self._uniform, self.generator,
                                                      "cpu")
        if standing is not None:
            quat = torch.from_numpy(self.state[ids.numpy()][:, self.index.base_quat]).float()
            _, _, yaw = roll_pitch_yaw(quat_to_rotmat(quat))
            heading = torch.where(standing, yaw, heading)
        self.commands[ids] = commands
        self.heading[ids] = heading

    def _push_due_robots(self) -> None:
        rnd = self.params.randomization
        if not rnd.push_robots:
            return
        rows = due_envs(self.episode_length_buf, self._push_steps, skip_start=True).numpy()
        if len(rows):
            push = self._uniform((-rnd.max_push_vel_xy, rnd.max_push_vel_xy), len(rows), 2).double().numpy()
            self.state[rows[:, None], self.index.base_lin_vel[:2]] = push  # world-frame horizontal velocity

    # -- terrain -----------------------------------------------------------------------------------------------
    @property
    def curriculum(self) -> Any:
        """The :class:`~fastembody_go2.terrain.TerrainCurriculum` on terrain, else None."""
        return None if self._tiles is None else self._tiles.curriculum

    @property
    def base_pos(self) -> torch.Tensor:
        """``[N, 3]`` world position of each base frame (e.g. for ``terrain.course_progress``)."""
        return torch.from_numpy(self.state[:, self.index.base_pos]).float().to(self.device)

    def _grounds(self) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
        """([N] ground z under each base, [N, 4] under each foot); (None, None) on flat ground, where it is 0."""
        if self._tiles is None:
            return None, None
        feet = self.sensors[:, self.index.foot_pos].reshape(-1, 4, 3)[..., :2].reshape(-1, 2)
        return (self._tiles.under(self.state[:, self.index.base_pos[:2]]),
                self._tiles.under(np.ascontiguousarray(feet)).view(-1, 4))

    def height_scan(self) -> torch.Tensor:
        """[N, P] legged_gym's height scan [m] around each base: clip(base_z - scan_offset - ground_z, +-scan_clip)
        at the yaw-rotated ``terrain.scan_x`` x ``scan_y`` points (on flat ground the ground is 0 everywhere);
        the ``height_scan`` observation term is this x HEIGHT_SCAN_OBS_SCALE, plus noise in ``policy``."""
        with torch.inference_mode():
            return (self._scan or HeightScan(self.params.terrain, self.terrain))(self.state, self.index)

    # -- hooks -----------------------------------------------------------------------------------------------
    def mirror_maps(self) -> Dict[str, Any]:
        """The left/right mirror of the observation groups and the actions (``fastembody_go2.symmetry``;
        ``fastembody_core.MirrorableEnv``: PPO's ``symmetry: augment``)."""
        return mirror_maps(self.observation_terms, self.params.terrain.scan_y, self.scan_points)

    def deployment_info(self) -> Dict[str, Any]:
        """What a robot-side runner needs (joint order and map, gains, scales; ``fastembody_go2.deployment``)."""
        return deployment_info(self.params, self.scan_points)

    def joint_level_sim(self, env_id: int = 0) -> Any:
        """Robot ``env_id`` driven joint by joint (``deploy --sim``; :mod:`.joint_level`)."""
        from .joint_level import MujocoJointLevelSim

        return MujocoJointLevelSim(self, env_id)

    def set_command(self, command: Optional[Sequence[float]]) -> None:
        """Fix every env's (vx, vy, yaw rate) command: no resampling, no heading control; None: random again."""
        with torch.inference_mode():
            if command is None:
                self.fixed_command = None
                self._resample_commands(torch.arange(self.num_envs))
                return
            values = tuple(float(v) for v in command)
            if len(values) != 3 or not all(math.isfinite(v) for v in values):
                raise EnvError(f"go2-mujoco: a command is three finite numbers (vx, vy, yaw_rate), got {command!r}")
            self.fixed_command = values  # type: ignore[assignment]
            self.commands[:] = torch.tensor(values)
            self._observe(self._measure())

    def render(self, env_id: int = 0, width: int = 640, height: int = 480, camera: str = "track") -> np.ndarray:
        """An RGB frame ``[height, width, 3]`` (uint8) of env ``env_id``; needs an offscreen GL (MUJOCO_GL)."""
        from .render import FrameRenderer, RenderError, TerrainFrameRenderer

        if self.render_unavailable:  # the factory's probe of MuJoCo's offscreen GL failed (mujoco/gl.py)
            raise RenderError(self.render_unavailable)
        if self._renderer is None or self._renderer.size != (width, height):
            if self._renderer is not None:
                self._renderer.close()
            # on terrain a patch around the robot, drawn as an hfield: as steep as it can draw where the physics
            # has vertical risers (ground boxes)
            drawn = TerrainFrameRenderer.RENDER_UPSAMPLE if self.params.ground_boxes else self.params.hfield_upsample
            self._renderer = FrameRenderer(self.model, width, height, camera) if self._tiles is None else \
                TerrainFrameRenderer(self.params.physics, self.terrain, drawn, width, height, camera)
        return self._renderer.render(self.models[env_id] if self.models else None, self.state[env_id])

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        if self.driver is not None:
            self.driver.close()
            self.driver = None

    def state_dict(self) -> Dict[str, Any]:
        """MuJoCo states, sensors, every buffer, the generator and the terrain curriculum: a resumed run continues
        exactly (:mod:`.env_state`)."""
        return env_state_dict(self, _BUFFERS)

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        load_env_state(self, state, _BUFFERS)


def make_go2_mujoco(params: Go2MujocoParams, ctx: RunContext) -> Go2MujocoEnv:
    """Factory registered as ``go2-mujoco``."""
    torch.set_flush_denormal(True)  # denormals in batched float32 maths slow a step ~200x
    return Go2MujocoEnv(params, ctx)
