"""legged_gym's terrain curriculum: each env's level (row) and type (column), moved at its resets.

The rule (``_update_terrain_curriculum``): a robot that walked more than half a tile (tile_length / 2, 4 m)
from its tile origin moves one level up; one that walked less than half its commanded distance
(|v_cmd_xy| * episode_length_s * 0.5) moves one level down; a robot pushed beyond the top level has solved the
terrain and goes to a uniformly random level; levels never go below 0. Columns never change. legged_gym skips
the update at the very first reset; that is the env's call. Randomness comes from the caller's generator (the
env saves its state), so ``state_dict`` holds only the levels and columns.
"""
from typing import Dict, Optional

import torch

from .field import Terrain


class TerrainCurriculum:
    """Per-env terrain level and type-column indices, as tensors on the terrain's device."""

    def __init__(self, terrain: Terrain, max_init_level: int = 5, enabled: bool = True):
        self.terrain = terrain
        self.enabled = bool(enabled)
        top = terrain.num_rows - 1
        self.max_init_level = min(int(max_init_level), top) if self.enabled else top
        """Robots start on levels 0..max_init_level (all levels without the curriculum)."""
        self.levels = torch.zeros(0, dtype=torch.int64, device=terrain.device)
        """[num_envs] row (difficulty level) of each env's tile."""
        self.columns = torch.zeros(0, dtype=torch.int64, device=terrain.device)
        """[num_envs] column (tile type) of each env's tile."""

    @property
    def num_envs(self) -> int:
        """Envs tracked (0 before ``initial``)."""
        return int(self.levels.numel())

    def initial(self, num_envs: int, generator: Optional[torch.Generator] = None) -> None:
        """Levels uniform in 0..max_init_level; columns spread evenly, env k on column floor(k * cols / n)."""
        device = self.terrain.device
        draw = torch.randint(0, self.max_init_level + 1, (num_envs,), generator=generator,
                             device=generator.device if generator is not None else device)
        self.levels = draw.to(device)
        env_ids = torch.arange(num_envs, device=device)
        self.columns = torch.div(env_ids * self.terrain.num_cols, num_envs, rounding_mode="floor")

    def update(self, ids: torch.Tensor, distance_walked: torch.Tensor, commanded_distance: torch.Tensor,
               generator: Optional[torch.Generator] = None) -> None:
        """Move the envs ``ids`` by the rule; ``distance_walked`` [len(ids)] is the xy distance from the tile
        origin, ``commanded_distance`` [len(ids)] is |v_cmd_xy| * episode length [m]. No-op when disabled."""
        if not self.enabled or ids.numel() == 0:
            return
        move_up = distance_walked > self.terrain.tile_length / 2
        move_down = (distance_walked < commanded_distance * 0.5) & ~move_up
        level = self.levels[ids] + move_up.long() - move_down.long()
        rows = self.terrain.num_rows
        gen_device = generator.device if generator is not None else level.device
        random_level = torch.randint(0, rows, level.shape, generator=generator, device=gen_device).to(level.device)
        level = torch.where(level >= rows, random_level, level.clamp(min=0))
        self.levels[ids] = level

    def origins(self, ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        """[len(ids), 3] spawn points (tile origins) of the envs ``ids`` (all envs when None)."""
        if ids is None:
            return self.terrain.tile_origins[self.levels, self.columns]
        return self.terrain.tile_origins[self.levels[ids], self.columns[ids]]

    def end_episodes(self, ids: torch.Tensor, start_xy: torch.Tensor, end_xy: torch.Tensor, commands_xy: torch.Tensor,
                     episode_length_s: float, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """:meth:`update` from where the finished envs ``ids`` started and ended (``[k, 2]`` each) and their last
        linear velocity commands (``[k, 2]``); returns the mean level (0-d, no host sync)."""
        walked = (end_xy - start_xy).norm(dim=1)
        self.update(ids, walked, commands_xy.norm(dim=1) * episode_length_s, generator)
        return self.mean_level()

    def mean_level(self) -> torch.Tensor:
        """Mean level over the envs (a 0-d float tensor, no host sync), legged_gym's ``terrain_level``."""
        return self.levels.float().mean()

    def state_dict(self) -> Dict[str, torch.Tensor]:
        """The levels and columns (copies), enough to resume exactly."""
        return {"levels": self.levels.clone(), "columns": self.columns.clone()}

    def load_state_dict(self, state: Dict[str, torch.Tensor]) -> None:
        """Restore ``state_dict()``; raises ValueError if it does not fit this terrain."""
        levels, columns = state["levels"], state["columns"]
        if levels.shape != columns.shape or levels.dim() != 1:
            raise ValueError(f"levels {tuple(levels.shape)} and columns {tuple(columns.shape)} must be equal 1-d")
        if levels.numel() and (int(levels.min()) < 0 or int(levels.max()) >= self.terrain.num_rows
                               or int(columns.min()) < 0 or int(columns.max()) >= self.terrain.num_cols):
            raise ValueError(f"levels/columns out of range for a {self.terrain.num_rows} x "
                             f"{self.terrain.num_cols} terrain")
        self.levels = levels.to(self.terrain.device, torch.int64).clone()
        self.columns = columns.to(self.terrain.device, torch.int64).clone()
