"""The point-mass VectorEnv: batched torch tensors, auto-reset inside step, time-outs in extras."""
from typing import Any, Dict, List, Tuple

import torch

from fastembody_core import EnvError, RunContext, VectorEnv

from .config import PointMassParams


class PointMassEnv(VectorEnv):
    """``num_envs`` point masses; reward = -distance to the origin - 0.01 |action|^2."""

    def __init__(self, params: PointMassParams, ctx: RunContext):
        self.params = params
        self.device = torch.device(ctx.device)
        self.num_envs = params.num_envs
        self.num_actions = 2
        self.max_episode_length = params.episode_length
        self.step_dt = params.dt
        self.observation_shapes = {"policy": (4,)}
        self.observation_terms = {"policy": ("position", "velocity")}
        if params.privileged:
            self.observation_shapes["critic"] = (6,)
            self.observation_terms["critic"] = ("position", "velocity", "position_squared")
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(ctx.seed + 7919 * ctx.rank)
        self.pos = torch.zeros(self.num_envs, 2, device=self.device)
        self.vel = torch.zeros_like(self.pos)
        self.episode_length_buf = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        self.episode_return = torch.zeros(self.num_envs, device=self.device)
        self._reset_envs(torch.ones(self.num_envs, dtype=torch.bool, device=self.device))

    def _reset_envs(self, mask: torch.Tensor) -> None:
        n = int(mask.sum())
        if n == 0:
            return
        r = self.params.start_radius
        self.pos[mask] = (torch.rand(n, 2, generator=self.generator, device=self.device) * 2 - 1) * r
        self.vel[mask] = 0.0
        self.episode_length_buf[mask] = 0
        self.episode_return[mask] = 0.0

    def get_observations(self) -> Dict[str, torch.Tensor]:
        obs = {"policy": torch.cat([self.pos, self.vel], dim=1)}
        if self.params.privileged:
            obs["critic"] = torch.cat([self.pos, self.vel, self.pos * self.pos], dim=1)
        return obs

    def reset(self) -> Dict[str, torch.Tensor]:
        self._reset_envs(torch.ones(self.num_envs, dtype=torch.bool, device=self.device))
        return self.get_observations()

    def step(self, actions: torch.Tensor):
        if not torch.isfinite(actions).all():
            raise EnvError("example-pointmass: actions contain NaN or inf")
        force = actions.clamp(-self.params.max_force, self.params.max_force)
        self.vel = 0.95 * self.vel + self.params.dt * force
        self.pos = self.pos + self.params.dt * self.vel
        reward = -self.pos.norm(dim=1) - 0.01 * (force * force).sum(dim=1)
        self.episode_return += reward
        self.episode_length_buf += 1
        terminated = torch.zeros_like(self.episode_length_buf, dtype=torch.bool)
        if self.params.max_distance is not None:
            terminated = self.pos.abs().amax(dim=1) > self.params.max_distance
        time_outs = (self.episode_length_buf >= self.max_episode_length) & ~terminated
        dones = terminated | time_outs
        extras: Dict[str, Any] = {"time_outs": time_outs}
        if bool(dones.any()):
            extras["episode"] = {"return": self.episode_return[dones].mean()}
            self._reset_envs(dones)
        return self.get_observations(), reward, dones, extras

    def mirror_maps(self) -> Dict[str, Tuple[List[int], List[float]]]:
        """The task's left/right mirror y -> -y (``fastembody_core.MirrorableEnv``: PPO's ``symmetry: augment``):
        each group's and the actions' ``(perm, sign)``; the squared positions of ``critic`` do not change sign."""
        maps = {"policy": ([0, 1, 2, 3], [1.0, -1.0, 1.0, -1.0]), "actions": ([0, 1], [1.0, -1.0])}
        if self.params.privileged:
            maps["critic"] = (list(range(6)), [1.0, -1.0, 1.0, -1.0, 1.0, 1.0])
        return maps

    def state_dict(self) -> Dict[str, Any]:
        return {
            "pos": self.pos.clone(),
            "vel": self.vel.clone(),
            "episode_length_buf": self.episode_length_buf.clone(),
            "episode_return": self.episode_return.clone(),
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.pos = state["pos"].to(self.device)
        self.vel = state["vel"].to(self.device)
        self.episode_length_buf = state["episode_length_buf"].to(self.device)
        self.episode_return = state["episode_return"].to(self.device)
        self.generator.set_state(state["generator"])
