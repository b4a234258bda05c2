"""legged_gym's BaseTask: devices, buffers with legged_gym's dtypes, viewer, reset = reset_idx(all) + one step."""
from isaacgym import gymapi, gymutil

import torch


class BaseTask:
    def __init__(self, cfg, sim_params, physics_engine, sim_device, headless):  # noqa: ANN001
        self.gym = gymapi.acquire_gym()
        self.sim_params = sim_params
        self.physics_engine = physics_engine
        self.sim_device = sim_device
        sim_device_type, self.sim_device_id = gymutil.parse_device_str(self.sim_device)
        self.headless = headless
        # tensors live on the sim device only with the GPU pipeline; otherwise PhysX copies them to the CPU
        if sim_device_type == "cuda" and sim_params.use_gpu_pipeline:
            self.device = self.sim_device
        else:
            self.device = "cpu"
        self.graphics_device_id = -1 if self.headless else self.sim_device_id

        self.num_envs = cfg.env.num_envs
        self.num_obs = cfg.env.num_observations
        self.num_privileged_obs = cfg.env.num_privileged_obs
        self.num_actions = cfg.env.num_actions

        self.obs_buf = torch.zeros(self.num_envs, self.num_obs, device=self.device, dtype=torch.float)
        self.rew_buf = torch.zeros(self.num_envs, device=self.device, dtype=torch.float)
        self.reset_buf = torch.ones(self.num_envs, device=self.device, dtype=torch.long)
        self.episode_length_buf = torch.zeros(self.num_envs, device=self.device, dtype=torch.long)
        self.time_out_buf = torch.zeros(self.num_envs, device=self.device, dtype=torch.bool)
        if self.num_privileged_obs is not None:
            self.privileged_obs_buf = torch.zeros(
                self.num_envs, self.num_privileged_obs, device=self.device, dtype=torch.float
            )
        else:
            self.privileged_obs_buf = None
        self.extras = {}

        self.create_sim()
        self.gym.prepare_sim(self.sim)
        self.enable_viewer_sync = True
        self.viewer = None
        if self.headless is False:
            self.viewer = self.gym.create_viewer(self.sim, gymapi.CameraProperties())

    def get_observations(self):  # noqa: ANN201
        return self.obs_buf

    def get_privileged_observations(self):  # noqa: ANN201
        return self.privileged_obs_buf

    def reset_idx(self, env_ids):  # noqa: ANN001
        raise NotImplementedError

    def reset(self):  # noqa: ANN201
        """Reset all robots, then step once with zero actions; returns (obs, privileged_obs)."""
        self.reset_idx(torch.arange(self.num_envs, device=self.device))
        obs, privileged_obs, _, _, _ = self.step(
            torch.zeros(self.num_envs, self.num_actions, device=self.device, requires_grad=False)
        )
        return obs, privileged_obs

    def step(self, actions):  # noqa: ANN001
        raise NotImplementedError

    def render(self, sync_frame_time=True):  # noqa: ANN001
        if self.viewer and self.device != "cpu":
            self.gym.fetch_results(self.sim, True)
