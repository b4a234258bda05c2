"""legged_gym's LeggedRobot with its step / post_physics_step / reset_idx / reward sequence and buffers.

PhysX is replaced by a batch of PD-driven joints whose offsets from the default pose drive the base
velocity (thighs: forward, hips: sideways, calves: yaw), so tracking the commands can be learned.
"""
import numpy as np
from isaacgym.torch_utils import torch_rand_float
from isaacgym import gymapi  # noqa: F401

import torch

from legged_gym.envs.base.base_task import BaseTask
from legged_gym.utils.helpers import class_to_dict

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
        clean = torch.cat(
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
        self.obs_buf = _fit(clean, self.num_obs).clone()
        if self.add_noise:
            self.obs_buf += (2 * torch.rand_like(self.obs_buf) - 1) * self.noise_scale_vec
        if self.num_privileged_obs is not None:
            extra = torch.cat((self.friction_coeffs, self.base_contact_force.unsqueeze(1)), dim=-1)
            self.privileged_obs_buf = _fit(torch.cat((clean, extra), dim=-1), self.num_privileged_obs)

    # -- sim set-up -----------------------------------------------------------------------------------
    def create_sim(self) -> None:
        self.up_axis_idx = 2
        self.sim = self.gym.create_sim(self.sim_device_id, self.graphics_device_id, self.physics_engine, self.sim_params)
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
