"""What an env on terrain carries between episodes and across ``--resume``: each env's tile (the curriculum) and
spawn point, on one ground. Shared by go2-toy (``toy/terrain_env.py``) and go2-mujoco (``mujoco/terrain.py``),
which add how a robot is placed and what they read from the ground.

Robots spawn at their tile's origin (legged_gym's ``_get_env_origins``: level = row, type = column) plus
U(+-``SpawnSpec.xy_noise``) in x and y. At every episode end (inside ``step``, never at ``reset()``, so the very first
reset is skipped as in legged_gym) the curriculum moves the env by legged_gym's rule, with the distance walked
measured from the env's spawn point (legged_gym measures it from the tile centre, which its +-1 m spawn noise blurs).
"""
import math
from typing import Any, Callable, Dict, Optional, Tuple

import torch

from fastembody_core import CheckpointError

from ..kinematics import yaw_quat
from .curriculum import TerrainCurriculum
from .field import Terrain, ground_height
from .params import TerrainParams
from .scan import scan_world_xy
from .spawn import SpawnSpec


def ground_fingerprint(terrain: Terrain) -> Dict[str, Any]:
    """Shape and float64 sum of the heights, and the surface model's slope threshold: a resumed run must stand on
    the same ground (terrain params and seed)."""
    return {"heights_shape": list(terrain.heights.shape), "heights_sum": float(terrain.heights.double().sum()),
            "slope_threshold": float(terrain.slope_threshold)}


class TerrainRunState:
    """The curriculum and spawn points of the ``num_envs`` envs of ``env_name`` on ``terrain``."""

    def __init__(self, terrain: Terrain, params: TerrainParams, num_envs: int, env_name: str,
                 spawn: Optional[SpawnSpec] = None, device: Any = "cpu"):
        self.terrain = terrain.to(device)
        self.env_name = env_name
        self.curriculum = TerrainCurriculum(self.terrain, params.max_init_level, params.curriculum)
        self.spawn = spawn or SpawnSpec()
        self.spawn_xy = torch.zeros(num_envs, 2, device=device)
        """[N, 2] world xy of each env's base or CoM at its last spawn (the curriculum's distance is from here)."""
        self.num_envs = num_envs

    def initialise(self, generator: torch.Generator) -> None:
        """Draw the initial levels (once, at the env's first reset)."""
        if self.curriculum.num_envs == 0:
            self.curriculum.initial(self.num_envs, generator)

    def spawn_points(self, ids: torch.Tensor, quat: torch.Tensor, uniform: Callable[..., torch.Tensor]
                     ) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(xy [k, 2], yaw-only quat [k, 4])`` of the envs ``ids`` at their tiles (recorded as their spawn points);
        ``quat`` is the flat spawn's heading, replaced by ``SpawnSpec.yaw`` when that is set."""
        if self.spawn.yaw is not None:
            quat = yaw_quat(torch.full((ids.numel(),), float(self.spawn.yaw), device=quat.device))
        noise = float(self.spawn.xy_noise)
        xy = self.curriculum.origins(ids)[:, :2] + uniform((-noise, noise), ids.numel(), 2)
        self.spawn_xy[ids] = xy
        return xy, quat

    def highest_ground(self, xy: torch.Tensor, quat: torch.Tensor, feet_xy: torch.Tensor) -> torch.Tensor:
        """[k] highest ground under the points ``xy`` [k, 2] and under the feet at ``feet_xy`` [k, 4, 2] from them,
        in the frame of the yaw-only ``quat`` [k, 4] (where a spawning robot must be lifted above)."""
        feet_x, feet_y = scan_world_xy(xy, 2.0 * torch.atan2(quat[:, 3], quat[:, 0]), feet_xy)
        x, y = torch.cat((xy[:, :1], feet_x), dim=1), torch.cat((xy[:, 1:], feet_y), dim=1)
        return ground_height(self.terrain, x, y).max(dim=1).values

    def end_episodes(self, ids: torch.Tensor, end_xy: torch.Tensor, commands_xy: torch.Tensor,
                     episode_length_s: float, generator: torch.Generator) -> torch.Tensor:
        """Move the finished envs ``ids`` by legged_gym's rule; returns the mean level (0-d, no host sync).

        ``end_xy`` [k, 2] is where they ended, ``commands_xy`` [k, 2] their last linear velocity commands."""
        return self.curriculum.end_episodes(ids, self.spawn_xy[ids], end_xy, commands_xy, episode_length_s, generator)

    def state_dict(self) -> Dict[str, Any]:
        """Curriculum levels and columns, spawn points and the ground's fingerprint (checked on load)."""
        return {"curriculum": self.curriculum.state_dict(), "spawn_xy": self.spawn_xy.clone(),
                **ground_fingerprint(self.terrain)}

    def check(self, state: Dict[str, Any]) -> None:
        """CheckpointError unless ``state`` (a ``state_dict()``) fits this ground and env count; changes nothing."""
        ours = ground_fingerprint(self.terrain)
        saved_threshold = state.get("slope_threshold", ours["slope_threshold"])  # older checkpoints lack it
        if list(state.get("heights_shape", ())) != ours["heights_shape"] or not math.isclose(
                float(state.get("heights_sum", math.nan)), ours["heights_sum"], rel_tol=1e-9, abs_tol=1e-6):
            raise CheckpointError(f"{self.env_name}: checkpoint env state was saved on another terrain "
                                  f"({list(state.get('heights_shape', ()))} cells, height sum "
                                  f"{state.get('heights_sum')}; this env: {ours['heights_shape']}, "
                                  f"{ours['heights_sum']}): use the run's terrain params and seed")
        if float(saved_threshold) != ours["slope_threshold"]:
            raise CheckpointError(f"{self.env_name}: checkpoint env state was saved on another terrain surface "
                                  f"(slope_threshold {saved_threshold}, this env {ours['slope_threshold']}): use the "
                                  f"run's terrain params")
        spawn_xy = state["spawn_xy"]
        if tuple(spawn_xy.shape) != tuple(self.spawn_xy.shape):
            raise CheckpointError(f"{self.env_name}: checkpoint env state terrain.spawn_xy has shape "
                                  f"{tuple(spawn_xy.shape)}, this env expects {tuple(self.spawn_xy.shape)}")
        levels = state["curriculum"]["levels"]
        if tuple(levels.shape) != (self.num_envs,):
            raise CheckpointError(f"{self.env_name}: checkpoint terrain curriculum has {tuple(levels.shape)} levels, "
                                  f"this env has {self.num_envs} envs")
        try:
            TerrainCurriculum(self.terrain).load_state_dict(state["curriculum"])
        except ValueError as exc:
            raise CheckpointError(f"{self.env_name}: checkpoint terrain curriculum: {exc}") from None

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore ``state_dict()`` (checked first)."""
        self.check(state)
        self.curriculum.load_state_dict(state["curriculum"])
        self.spawn_xy = state["spawn_xy"].to(self.spawn_xy.device, self.spawn_xy.dtype).clone()
