"""legged_gym's LeggedRobot with its step / post_physics_step / reset_idx / reward sequence and buffers.

PhysX is replaced by a batch of PD-driven joints whose offsets from the default pose drive the base
velocity (thighs: forward, hips: sideways, calves: yaw), so tracking the commands can be learned.

``LeggedRobot`` is unitree_rl_gym's: it always builds a ground plane and has no terrain code (its
``cfg.terrain`` block is read only for friction). ``TerrainLeggedRobot`` is leggedrobotics/legged_gym's, which
keeps the terrain code: ``mesh_type`` heightfield/trimesh builds ``utils.terrain.Terrain``, robots spawn at tile
origins by level and column, ``measure_heights`` appends clip(base_z - 0.5 - h, -1, 1) x 5 at the measured points
(yaw-rotated, min of three cell corners) to ``obs_buf``, and ``_update_terrain_curriculum`` moves levels at resets
(``extras["episode"]["terrain_level"]``). ``legged_gym.envs`` registers go2 with ``TerrainLeggedRobot`` when
``STANDIN_LEGGED_GYM=legged_gym``.
"""
import numpy as np
from isaacgym.torch_utils import torch_rand_float
from isaacgym import gymapi

import torch

from legged_gym.envs.base.base_task import BaseTask
from legged_gym.utils.helpers import class_to_dict
from legged_gym.utils.terrain import Terrain

_INERTIA = 0.05
_TORQUE_LIMIT = 25.0
_JOINT_RANGE = 1.0


def _fit(values: torch.Tensor, width: int) -> torch.Tensor:
    """Pad with zeros or truncate the last axis to ``width`` (tasks whose observation is not the 48 layout)."""
    if values.shape[-1] >= width:
        return values[..., :width]
    pad = torch.zeros(*values.shape[:-1], width - values.shape[-1], device=values.device, dtype=values.dtype)
    return torch.cat((values, pad), dim=-1)


def _wrap_to_pi(angles: torch.Tensor) -> torch.Tensor:
    return (angles + np.pi) % (2 * np.pi) - np.pi


class LeggedRobot(BaseTask):
    def __init__(self, cfg, sim_params, physics_engine, sim_device, headless):  # noqa: ANN001
        self.cfg = cfg
        self.sim_params = sim_params
        self.height_samples = None
        self.debug_viz = False
        self.init_done = False
        self._parse_cfg(self.cfg)
        super().__init__(self.cfg, sim_params, physics_engine, sim_device, headless)
        self._init_buffers()
        self._prepare_reward_function()
        self.init_done = True

    # -- step ---------------------------------------------------------------------------------------
    def step(self, actions):  # noqa: ANN001, ANN201
        clip_actions = self.cfg.normalization.clip_actions
        self.actions = torch.clip(actions, -clip_actions, clip_actions).to(self.device)
        self.render()
        for _ in range(self.cfg.control.decimation):
            self.torques = self._compute_torques(self.actions).view(self.torques.shape)
            self.gym.simulate(self.sim)
            self._integrate(self.sim_params.dt)
            if self.device == "cpu":
                self.gym.fetch_results(self.sim, True)
        self.post_physics_step()
        clip_obs = self.cfg.normalization.clip_observations
        self.obs_buf = torch.clip(self.obs_buf, -clip_obs, clip_obs)
        if self.privileged_obs_buf is not None:
            self.privileged_obs_buf = torch.clip(self.privileged_obs_buf, -clip_obs, clip_obs)
        return self.obs_buf, self.privileged_obs_buf, self.rew_buf, self.reset_buf, self.extras

    def post_physics_step(self) -> None:
        self.episode_length_buf += 1
        self.common_step_counter += 1
        self._update_base()
        self._post_physics_step_callback()
        self.check_termination()
        self.compute_reward()
        env_ids = self.reset_buf.nonzero(as_tuple=False).flatten()
        self.reset_idx(env_ids)
        self.compute_observations()
        self.last_actions[:] = self.actions[:]
        self.last_dof_vel[:] = self.dof_vel[:]

    def check_termination(self) -> None:
        self.reset_buf = self.base_contact_force > 1.0
        self.time_out_buf = self.episode_length_buf > self.max_episode_length  # no terminal reward for time-outs
        self.reset_buf |= self.time_out_buf

    def reset_idx(self, env_ids):  # noqa: ANN001
        if len(env_ids) == 0:
            return
        self._reset_dofs(env_ids)
        self._reset_root_states(env_ids)
        self._resample_commands(env_ids)
        self.last_actions[env_ids] = 0.0
        self.last_dof_vel[env_ids] = 0.0
        self.feet_air_time[env_ids] = 0.0
        self.episode_length_buf[env_ids] = 0
        self.reset_buf[env_ids] = 1
        self.extras["episode"] = {}
        for key in self.episode_sums.keys():
            self.extras["episode"]["rew_" + key] = torch.mean(self.episode_sums[key][env_ids]) / self.max_episode_length_s
            self.episode_sums[key][env_ids] = 0.0
        if self.cfg.commands.curriculum:
            self.extras["episode"]["max_command_x"] = self.command_ranges["lin_vel_x"][1]
        if self.cfg.env.send_timeouts:
            self.extras["time_outs"] = self.time_out_buf

    def compute_reward(self) -> None:
        self.rew_buf[:] = 0.0
        for i in range(len(self.reward_functions)):
            name = self.reward_names[i]
            rew = self.reward_functions[i]() * self.reward_scales[name]
            self.rew_buf += rew
            self.episode_sums[name] += rew
        if self.cfg.rewards.only_positive_rewards:
            self.rew_buf[:] = torch.clip(self.rew_buf[:], min=0.0)
        if "termination" in self.reward_scales:
            rew = self._reward_termination() * self.reward_scales["termination"]
            self.rew_buf += rew
            self.episode_sums["termination"] += rew

    def compute_observations(self) -> None:
        clean = self._proprioception()
        self.obs_buf = _fit(clean, self.num_obs).clone()
        if self.add_noise:
            self.obs_buf += (2 * torch.rand_like(self.obs_buf) - 1) * self.noise_scale_vec
        self._compute_privileged(clean)

    def _proprioception(self) -> torch.Tensor:
        """legged_gym's 48-dim observation (12 joints) before noise."""
        return torch.cat(
            (
                self.base_lin_vel * self.obs_scales.lin_vel,
                self.base_ang_vel * self.obs_scales.ang_vel,
                self.projected_gravity,
                self.commands[:, :3] * self.commands_scale,
                (self.dof_pos - self.default_dof_pos) * self.obs_scales.dof_pos,
                self.dof_vel * self.obs_scales.dof_vel,
                self.actions,
            ),
            dim=-1,
        )

    def _compute_privileged(self, clean: torch.Tensor) -> None:
        if self.num_privileged_obs is not None:
            extra = torch.cat((self.friction_coeffs, self.base_contact_force.unsqueeze(1)), dim=-1)
            self.privileged_obs_buf = _fit(torch.cat((clean, extra), dim=-1), self.num_privileged_obs)

    # -- sim set-up -----------------------------------------------------------------------------------
    def create_sim(self) -> None:
        """unitree_rl_gym's: a ground plane, whatever ``cfg.terrain.mesh_type`` says."""
        self.up_axis_idx = 2
        self.sim = self.gym.create_sim(self.sim_device_id, self.graphics_device_id, self.physics_engine, self.sim_params)
        self._create_ground_plane()
        self._create_envs()

    def _create_ground_plane(self) -> None:
        plane_params = gymapi.PlaneParams()
        plane_params.normal = gymapi.Vec3(0.0, 0.0, 1.0)
        plane_params.static_friction = self.cfg.terrain.static_friction
        plane_params.dynamic_friction = self.cfg.terrain.dynamic_friction
        plane_params.restitution = self.cfg.terrain.restitution
        self.gym.add_ground(self.sim, plane_params)

    def _create_envs(self) -> None:
        self.num_dof = self.num_actions
        self.num_bodies = 1 + self.num_dof

    def _parse_cfg(self, cfg) -> None:  # noqa: ANN001
        self.dt = cfg.control.decimation * self.sim_params.dt
        self.obs_scales = cfg.normalization.obs_scales
        self.reward_scales = class_to_dict(cfg.rewards.scales)
        self.command_ranges = class_to_dict(cfg.commands.ranges)
        self.max_episode_length_s = cfg.env.episode_length_s
        self.max_episode_length = np.ceil(self.max_episode_length_s / self.dt)
        cfg.domain_rand.push_interval = np.ceil(cfg.domain_rand.push_interval_s / self.dt)

    def _init_buffers(self) -> None:
        n, a, dev = self.num_envs, self.num_dof, self.device
        self.common_step_counter = 0
        self.dof_pos = torch.zeros(n, a, device=dev)
        self.dof_vel = torch.zeros(n, a, device=dev)
        self.base_lin_vel = torch.zeros(n, 3, device=dev)
        self.base_ang_vel = torch.zeros(n, 3, device=dev)
        self.projected_gravity = torch.tensor([0.0, 0.0, -1.0], device=dev).repeat(n, 1)
        self.heading = torch.zeros(n, device=dev)
        self.base_contact_force = torch.zeros(n, device=dev)
        self.commands = torch.zeros(n, self.cfg.commands.num_commands, device=dev)
        self.commands_scale = torch.tensor(
            [self.obs_scales.lin_vel, self.obs_scales.lin_vel, self.obs_scales.ang_vel], device=dev
        )
        self.torques = torch.zeros(n, a, device=dev)
        self.actions = torch.zeros(n, self.num_actions, device=dev)
        self.last_actions = torch.zeros(n, self.num_actions, device=dev)
        self.last_dof_vel = torch.zeros_like(self.dof_vel)
        self.feet_air_time = torch.zeros(n, 4, device=dev)
        angles = list(self.cfg.init_state.default_joint_angles.values())
        self.default_dof_pos = torch.tensor([angles[i % len(angles)] for i in range(a)], device=dev).unsqueeze(0)
        self.p_gains = torch.full((a,), float(list(self.cfg.control.stiffness.values())[0]), device=dev)
        self.d_gains = torch.full((a,), float(list(self.cfg.control.damping.values())[0]), device=dev)
        half = 0.5 * 2 * _JOINT_RANGE * self.cfg.rewards.soft_dof_pos_limit
        self.dof_pos_limits = torch.stack((self.default_dof_pos[0] - half, self.default_dof_pos[0] + half), dim=1)
        low, high = self.cfg.domain_rand.friction_range
        self.friction_coeffs = torch_rand_float(low, high, (n, 1), device=dev)
        self.add_noise = self.cfg.noise.add_noise
        self.noise_scale_vec = self._get_noise_scale_vec()

    def _get_noise_scale_vec(self) -> torch.Tensor:
        level, scales, a = self.cfg.noise.noise_level, self.cfg.noise.noise_scales, self.num_dof
        parts = (
            [scales.lin_vel * level * self.obs_scales.lin_vel] * 3
            + [scales.ang_vel * level * self.obs_scales.ang_vel] * 3
            + [scales.gravity * level] * 3
            + [0.0] * 3
            + [scales.dof_pos * level * self.obs_scales.dof_pos] * a
            + [scales.dof_vel * level * self.obs_scales.dof_vel] * a
            + [0.0] * self.num_actions
        )
        return _fit(torch.tensor(parts, device=self.device), self.num_obs)

    def _prepare_reward_function(self) -> None:
        for key in list(self.reward_scales.keys()):
            if self.reward_scales[key] == 0:
                self.reward_scales.pop(key)
            else:
                self.reward_scales[key] *= self.dt
        self.reward_functions, self.reward_names = [], []
        for name in self.reward_scales:
            if name == "termination":
                continue
            self.reward_names.append(name)
            self.reward_functions.append(getattr(self, "_reward_" + name))
        self.episode_sums = {
            name: torch.zeros(self.num_envs, dtype=torch.float, device=self.device) for name in self.reward_scales
        }

    # -- the stand-in's physics -----------------------------------------------------------------------
    def _compute_torques(self, actions: torch.Tensor) -> torch.Tensor:
        scaled = actions * self.cfg.control.action_scale
        torques = self.p_gains * (scaled + self.default_dof_pos - self.dof_pos) - self.d_gains * self.dof_vel
        return torch.clip(torques, -_TORQUE_LIMIT, _TORQUE_LIMIT)

    def _integrate(self, dt: float) -> None:
        self.dof_vel += self.torques / _INERTIA * dt
        self.dof_pos += self.dof_vel * dt

    def _update_base(self) -> None:
        offsets = self.dof_pos - self.default_dof_pos
        drive = torch.stack((4.0 * offsets[:, 1::3].mean(1), 4.0 * offsets[:, 0::3].mean(1)), dim=1)
        self.base_lin_vel[:, :2] = 0.8 * self.base_lin_vel[:, :2] + 0.2 * drive
        self.base_lin_vel[:, 2] = 0.01 * self.dof_vel.mean(1)
        self.base_ang_vel[:, :2] = 0.01 * self.dof_vel[:, :2]
        self.base_ang_vel[:, 2] = 0.8 * self.base_ang_vel[:, 2] + 0.2 * 4.0 * offsets[:, 2::3].mean(1)
        self.heading = _wrap_to_pi(self.heading + self.base_ang_vel[:, 2] * self.dt)
        # a saturated action makes the base hit the ground (legged_gym: contact force on "base" > 1 N)
        self.base_contact_force = 100.0 * torch.relu(self.actions.abs().max(dim=1).values - 2.5)

    def _post_physics_step_callback(self) -> None:
        period = int(self.cfg.commands.resampling_time / self.dt)
        env_ids = (self.episode_length_buf % period == 0).nonzero(as_tuple=False).flatten()
        self._resample_commands(env_ids)
        if self.cfg.commands.heading_command:
            self.commands[:, 2] = torch.clip(0.5 * _wrap_to_pi(self.commands[:, 3] - self.heading), -1.0, 1.0)
        if self.cfg.domain_rand.push_robots and (self.common_step_counter % self.cfg.domain_rand.push_interval == 0):
            limit = self.cfg.domain_rand.max_push_vel_xy
            self.base_lin_vel[:, :2] = torch_rand_float(-limit, limit, (self.num_envs, 2), device=self.device)

    def _resample_commands(self, env_ids: torch.Tensor) -> None:
        def sample(name: str) -> torch.Tensor:
            low, high = self.command_ranges[name]
            return torch_rand_float(low, high, (len(env_ids), 1), device=self.device).squeeze(1)

        self.commands[env_ids, 0] = sample("lin_vel_x")
        self.commands[env_ids, 1] = sample("lin_vel_y")
        if self.cfg.commands.heading_command:
            self.commands[env_ids, 3] = sample("heading")
        else:
            self.commands[env_ids, 2] = sample("ang_vel_yaw")
        self.commands[env_ids, :2] *= (torch.norm(self.commands[env_ids, :2], dim=1) > 0.2).unsqueeze(1)

    def _reset_dofs(self, env_ids: torch.Tensor) -> None:
        scale = torch_rand_float(0.5, 1.5, (len(env_ids), self.num_dof), device=self.device)
        self.dof_pos[env_ids] = self.default_dof_pos * scale
        self.dof_vel[env_ids] = 0.0

    def _reset_root_states(self, env_ids: torch.Tensor) -> None:
        self.base_lin_vel[env_ids] = torch_rand_float(-0.5, 0.5, (len(env_ids), 3), self.device)
        self.base_ang_vel[env_ids] = torch_rand_float(-0.5, 0.5, (len(env_ids), 3), self.device)
        self.heading[env_ids] = 0.0

    # -- reward terms (legged_gym's names; proxies where the stand-in has no such physics) ------------
    def _reward_tracking_lin_vel(self) -> torch.Tensor:
        error = torch.sum(torch.square(self.commands[:, :2] - self.base_lin_vel[:, :2]), dim=1)
        return torch.exp(-error / self.cfg.rewards.tracking_sigma)

    def _reward_tracking_ang_vel(self) -> torch.Tensor:
        error = torch.square(self.commands[:, 2] - self.base_ang_vel[:, 2])
        return torch.exp(-error / self.cfg.rewards.tracking_sigma)

    def _reward_lin_vel_z(self) -> torch.Tensor:
        return torch.square(self.base_lin_vel[:, 2])

    def _reward_ang_vel_xy(self) -> torch.Tensor:
        return torch.sum(torch.square(self.base_ang_vel[:, :2]), dim=1)

    def _reward_orientation(self) -> torch.Tensor:
        return torch.sum(torch.square(self.projected_gravity[:, :2]), dim=1)

    def _reward_base_height(self) -> torch.Tensor:
        return torch.full((self.num_envs,), (0.3 - self.cfg.rewards.base_height_target) ** 2, device=self.device)

    def _reward_torques(self) -> torch.Tensor:
        return torch.sum(torch.square(self.torques), dim=1)

    def _reward_dof_vel(self) -> torch.Tensor:
        return torch.sum(torch.square(self.dof_vel), dim=1)

    def _reward_dof_acc(self) -> torch.Tensor:
        return torch.sum(torch.square((self.last_dof_vel - self.dof_vel) / self.dt), dim=1)

    def _reward_action_rate(self) -> torch.Tensor:
        return torch.sum(torch.square(self.last_actions - self.actions), dim=1)

    def _reward_collision(self) -> torch.Tensor:
        return torch.sum((torch.abs(self.dof_pos - self.default_dof_pos) > _JOINT_RANGE).float(), dim=1)

    def _reward_termination(self) -> torch.Tensor:
        return (self.reset_buf & ~self.time_out_buf).float()

    def _reward_dof_pos_limits(self) -> torch.Tensor:
        below = -(self.dof_pos - self.dof_pos_limits[:, 0]).clip(max=0.0)
        above = (self.dof_pos - self.dof_pos_limits[:, 1]).clip(min=0.0)
        return torch.sum(below + above, dim=1)

    def _reward_feet_air_time(self) -> torch.Tensor:
        return torch.zeros(self.num_envs, device=self.device)

    def _reward_feet_stumble(self) -> torch.Tensor:
        return torch.zeros(self.num_envs, device=self.device)

    def _reward_stand_still(self) -> torch.Tensor:
        still = torch.norm(self.commands[:, :2], dim=1) < 0.1
        return torch.sum(torch.abs(self.dof_pos - self.default_dof_pos), dim=1) * still


class TerrainLeggedRobot(LeggedRobot):
    """leggedrobotics/legged_gym's LeggedRobot: unitree_rl_gym's plus the terrain code (see the module docstring).

    The stand-in robot gets a world position ``root_pos`` (its xy integrated from the base velocity and heading,
    its z the spawn height) so that heights can be measured and the curriculum can move levels.
    """

    def _parse_cfg(self, cfg) -> None:  # noqa: ANN001
        super()._parse_cfg(cfg)
        if self.cfg.terrain.mesh_type not in ["heightfield", "trimesh"]:
            self.cfg.terrain.curriculum = False

    def create_sim(self) -> None:
        self.up_axis_idx = 2
        self.sim = self.gym.create_sim(self.sim_device_id, self.graphics_device_id, self.physics_engine,
                                       self.sim_params)
        mesh_type = self.cfg.terrain.mesh_type
        if mesh_type in ["heightfield", "trimesh"]:
            self.terrain = Terrain(self.cfg.terrain, self.num_envs)
        if mesh_type == "plane":
            self._create_ground_plane()
        elif mesh_type == "heightfield":
            self._create_heightfield()
        elif mesh_type == "trimesh":
            self._create_trimesh()
        elif mesh_type is not None:
            raise ValueError("Terrain mesh type not recognised. Allowed types are [None, plane, heightfield, trimesh]")
        self._create_envs()

    def _create_envs(self) -> None:
        super()._create_envs()
        self._get_env_origins()

    def _create_heightfield(self) -> None:
        hf_params = gymapi.HeightFieldParams()
        hf_params.column_scale = self.terrain.cfg.horizontal_scale
        hf_params.row_scale = self.terrain.cfg.horizontal_scale
        hf_params.vertical_scale = self.terrain.cfg.vertical_scale
        hf_params.nbRows = self.terrain.tot_cols
        hf_params.nbColumns = self.terrain.tot_rows
        hf_params.transform.p.x = -self.terrain.cfg.border_size
        hf_params.transform.p.y = -self.terrain.cfg.border_size
        hf_params.static_friction = self.cfg.terrain.static_friction
        hf_params.dynamic_friction = self.cfg.terrain.dynamic_friction
        hf_params.restitution = self.cfg.terrain.restitution
        self.gym.add_heightfield(self.sim, self.terrain.heightsamples, hf_params)
        self.height_samples = torch.tensor(self.terrain.heightsamples).view(
            self.terrain.tot_rows, self.terrain.tot_cols).to(self.device)

    def _create_trimesh(self) -> None:
        tm_params = gymapi.TriangleMeshParams()
        tm_params.nb_vertices = self.terrain.vertices.shape[0]
        tm_params.nb_triangles = self.terrain.triangles.shape[0]
        tm_params.transform.p.x = -self.terrain.cfg.border_size
        tm_params.transform.p.y = -self.terrain.cfg.border_size
        tm_params.static_friction = self.cfg.terrain.static_friction
        tm_params.dynamic_friction = self.cfg.terrain.dynamic_friction
        tm_params.restitution = self.cfg.terrain.restitution
        self.gym.add_triangle_mesh(self.sim, self.terrain.vertices.flatten(order="C"),
                                   self.terrain.triangles.flatten(order="C"), tm_params)
        self.height_samples = torch.tensor(self.terrain.heightsamples).view(
            self.terrain.tot_rows, self.terrain.tot_cols).to(self.device)

    def _get_env_origins(self) -> None:
        self.env_origins = torch.zeros(self.num_envs, 3, device=self.device)
        if self.cfg.terrain.mesh_type in ["heightfield", "trimesh"]:
            self.custom_origins = True
            max_init_level = self.cfg.terrain.max_init_terrain_level
            if not self.cfg.terrain.curriculum:
                max_init_level = self.cfg.terrain.num_rows - 1
            self.terrain_levels = torch.randint(0, max_init_level + 1, (self.num_envs,), device=self.device)
            self.terrain_types = torch.div(torch.arange(self.num_envs, device=self.device),
                                           (self.num_envs / self.cfg.terrain.num_cols),
                                           rounding_mode="floor").to(torch.long)
            self.max_terrain_level = self.cfg.terrain.num_rows
            self.terrain_origins = torch.from_numpy(self.terrain.env_origins).to(self.device).to(torch.float)
            self.env_origins[:] = self.terrain_origins[self.terrain_levels, self.terrain_types]
        else:
            self.custom_origins = False
            num_cols = np.floor(np.sqrt(self.num_envs))
            num_rows = np.ceil(self.num_envs / num_cols)
            xx, yy = torch.meshgrid(torch.arange(num_rows), torch.arange(num_cols), indexing="ij")
            self.env_origins[:, 0] = self.cfg.env.env_spacing * xx.flatten()[:self.num_envs]
            self.env_origins[:, 1] = self.cfg.env.env_spacing * yy.flatten()[:self.num_envs]

    def _init_buffers(self) -> None:
        self.root_pos = self.env_origins + torch.tensor(self.cfg.init_state.pos, device=self.device)
        super()._init_buffers()
        if self.cfg.terrain.measure_heights:
            self.height_points = self._init_height_points()
        self.measured_heights = 0

    @property
    def root_states(self) -> torch.Tensor:
        """legged_gym's ``[num_envs, 13]`` root states (position, quaternion xyzw, linear and angular velocity):
        here the stand-in's ``root_pos`` with an upright quaternion and the base velocities."""
        quat = torch.zeros(self.num_envs, 4, device=self.device)
        quat[:, 3] = 1.0
        return torch.cat((self.root_pos, quat, self.base_lin_vel, self.base_ang_vel), dim=1)

    def _get_noise_scale_vec(self) -> torch.Tensor:
        noise_vec = super()._get_noise_scale_vec()
        if self.cfg.terrain.measure_heights:
            noise_scales, level = self.cfg.noise.noise_scales, self.cfg.noise.noise_level
            noise_vec[48:235] = noise_scales.height_measurements * level * self.obs_scales.height_measurements
        return noise_vec

    def _update_base(self) -> None:
        super()._update_base()
        cos, sin = torch.cos(self.heading), torch.sin(self.heading)
        vx, vy = self.base_lin_vel[:, 0], self.base_lin_vel[:, 1]
        self.root_pos[:, 0] += (cos * vx - sin * vy) * self.dt
        self.root_pos[:, 1] += (sin * vx + cos * vy) * self.dt

    def _post_physics_step_callback(self) -> None:
        super()._post_physics_step_callback()
        if self.cfg.terrain.measure_heights:
            self.measured_heights = self._get_heights()

    def reset_idx(self, env_ids):  # noqa: ANN001
        if len(env_ids) == 0:
            return
        if self.cfg.terrain.curriculum:
            self._update_terrain_curriculum(env_ids)
        super().reset_idx(env_ids)
        if self.cfg.terrain.curriculum:
            self.extras["episode"]["terrain_level"] = torch.mean(self.terrain_levels.float())

    def _reset_root_states(self, env_ids: torch.Tensor) -> None:
        super()._reset_root_states(env_ids)
        self.root_pos[env_ids] = torch.tensor(self.cfg.init_state.pos, device=self.device) + self.env_origins[env_ids]
        if self.custom_origins:
            self.root_pos[env_ids, :2] += torch_rand_float(-1.0, 1.0, (len(env_ids), 2), device=self.device)

    def compute_observations(self) -> None:
        clean = self._proprioception()
        self.obs_buf = clean
        if self.cfg.terrain.measure_heights:
            heights = torch.clip(self.root_pos[:, 2].unsqueeze(1) - 0.5 - self.measured_heights, -1, 1.0)
            self.obs_buf = torch.cat((self.obs_buf, heights * self.obs_scales.height_measurements), dim=-1)
        if self.add_noise:  # a num_observations that does not match fails here, as in legged_gym
            self.obs_buf += (2 * torch.rand_like(self.obs_buf) - 1) * self.noise_scale_vec
        self._compute_privileged(clean)

    def _update_terrain_curriculum(self, env_ids: torch.Tensor) -> None:
        if not self.init_done:  # not on the initial reset
            return
        distance = torch.norm(self.root_pos[env_ids, :2] - self.env_origins[env_ids, :2], dim=1)
        move_up = distance > self.terrain.env_length / 2
        move_down = (distance < torch.norm(self.commands[env_ids, :2], dim=1) * self.max_episode_length_s * 0.5) \
            * ~move_up
        self.terrain_levels[env_ids] += 1 * move_up - 1 * move_down
        self.terrain_levels[env_ids] = torch.where(
            self.terrain_levels[env_ids] >= self.max_terrain_level,
            torch.randint_like(self.terrain_levels[env_ids], self.max_terrain_level),
            torch.clip(self.terrain_levels[env_ids], 0))
        self.env_origins[env_ids] = self.terrain_origins[self.terrain_levels[env_ids], self.terrain_types[env_ids]]

    def _init_height_points(self) -> torch.Tensor:
        y = torch.tensor(self.cfg.terrain.measured_points_y, device=self.device)
        x = torch.tensor(self.cfg.terrain.measured_points_x, device=self.device)
        grid_x, grid_y = torch.meshgrid(x, y, indexing="ij")
        self.num_height_points = grid_x.numel()
        points = torch.zeros(self.num_envs, self.num_height_points, 3, device=self.device)
        points[:, :, 0] = grid_x.flatten()
        points[:, :, 1] = grid_y.flatten()
        return points

    def _get_heights(self, env_ids=None) -> torch.Tensor:  # noqa: ANN001
        if self.cfg.terrain.mesh_type == "plane":
            return torch.zeros(self.num_envs, self.num_height_points, device=self.device)
        elif self.cfg.terrain.mesh_type == "none":
            raise NameError("Can't measure height with terrain mesh type 'none'")
        cos, sin = torch.cos(self.heading).unsqueeze(1), torch.sin(self.heading).unsqueeze(1)
        px, py = self.height_points[:, :, 0], self.height_points[:, :, 1]
        points = torch.stack((cos * px - sin * py, sin * px + cos * py), dim=-1) + self.root_pos[:, None, :2]
        points = ((points + self.terrain.cfg.border_size) / self.terrain.cfg.horizontal_scale).long()
        px = torch.clip(points[:, :, 0].view(-1), 0, self.height_samples.shape[0] - 2)
        py = torch.clip(points[:, :, 1].view(-1), 0, self.height_samples.shape[1] - 2)
        heights = torch.min(torch.min(self.height_samples[px, py], self.height_samples[px + 1, py]),
                            self.height_samples[px, py + 1])
        return heights.view(self.num_envs, -1) * self.terrain.cfg.vertical_scale
