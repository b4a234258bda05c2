"""What go2-toy adds on rough terrain: the height field, spawn points, the terrain curriculum and its state.

The env builds one :class:`TerrainSetup` when the ground is not flat (``terrain.type: rough``, or a ``Terrain``
handed to the env, e.g. an evaluation course). Robots spawn at their tile's origin (legged_gym's
``_get_env_origins``: level = row, type = column, from a :class:`~fastembody_go2.terrain.TerrainCurriculum`) plus
U(+-``SpawnSpec.xy_noise``) in x and y, with the lowest foot ``clearance`` above the highest ground under its feet.
At every episode end inside ``step`` (never at ``reset()``, so the very first reset is skipped as in legged_gym)
the curriculum moves the env by legged_gym's rule, with the distance walked measured from the env's spawn point
(legged_gym measures it from the tile centre, which its +-1 m spawn noise blurs).
"""
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import torch

from fastembody_core import CheckpointError

from .. import robot
from ..kinematics import yaw_quat
from ..terrain.curriculum import TerrainCurriculum
from ..terrain.field import Terrain, ground_height
from ..terrain.params import TerrainParams
from ..terrain.scan import scan_points
from ..terrain.spawn import SpawnSpec
from .dynamics import BodyState
from .task_step import ScanConstants, scan_ground_heights

"""legged_gym's spawn noise around the tile origin, per axis [m] (within the 3 m platform of every tile type)."""


def scan_constants(params: TerrainParams, device: torch.device) -> ScanConstants:
    """The height scan of ``params`` on ``device``."""
    return ScanConstants(scan_points(params, device), float(params.scan_offset), float(params.scan_clip))


def uniform_int16(count: int, generator: torch.Generator) -> torch.Tensor:
    """[ceil(count / 3), 4] int16 from ``generator``, uniform in lanes 0-2 (the low 48 of each int64 draw's 63
    random bits): ``count`` uniform int16 ~3x cheaper than as many float draws (the height scan's noise); the
    compiled observation picks lanes 0-2 without a copy."""
    raw = torch.empty((count + 2) // 3, dtype=torch.int64, device=generator.device).random_(generator=generator)
    return raw.view(torch.int16).view(-1, 4)


class TerrainSetup:
    """The terrain, the per-env curriculum and spawn points of one go2-toy env."""

    def __init__(self, params: TerrainParams, terrain: Terrain, num_envs: int, device: torch.device,
                 spawn: Optional[SpawnSpec] = None):
        self.terrain = terrain.to(device)
        self.curriculum = TerrainCurriculum(self.terrain, params.max_init_level, params.curriculum)
        self.spawn = spawn or SpawnSpec()
        self.spawn_xy = torch.zeros(num_envs, 2, device=device)
        """[N, 2] world xy of each env's CoM at its last spawn (the curriculum's distance is from here)."""
        self.num_envs = num_envs

    def initialise(self, generator: torch.Generator) -> None:
        """Draw the initial levels (once, at the env's first reset)."""
        if self.curriculum.num_envs == 0:
            self.curriculum.initial(self.num_envs, generator)

    def place(self, ids: torch.Tensor, pos: torch.Tensor, quat: torch.Tensor, foot_b: torch.Tensor,
              uniform: Callable[..., torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(pos, quat)`` of the envs ``ids`` moved from the flat spawn (``pos`` [k, 3] CoM at flat-ground
        height, yaw-only ``quat`` [k, 4], body-frame feet ``foot_b`` [k, 4, 3]) onto their tiles."""
        k = ids.numel()
        if self.spawn.yaw is not None:
            quat = yaw_quat(torch.full((k,), float(self.spawn.yaw), device=pos.device))
        noise = self.spawn.xy_noise
        xy = self.curriculum.origins(ids)[:, :2] + uniform((-noise, noise), k, 2)
        yaw = 2.0 * torch.atan2(quat[:, 3], quat[:, 0])  # yaw-only quaternions
        cos, sin = torch.cos(yaw)[:, None], torch.sin(yaw)[:, None]
        rel_x = foot_b[..., 0] - robot.COM_OFFSET[0]
        rel_y = foot_b[..., 1] - robot.COM_OFFSET[1]
        feet_x = xy[:, :1] + cos * rel_x - sin * rel_y
        feet_y = xy[:, 1:] + sin * rel_x + cos * rel_y
        ground = ground_height(self.terrain, torch.cat((feet_x, xy[:, :1]), 1), torch.cat((feet_y, xy[:, 1:]), 1))
        pos = torch.cat((xy, pos[:, 2:] + ground.max(1, keepdim=True).values), 1)
        self.spawn_xy[ids] = xy
        return pos, quat

    def scan_ground(self, state: BodyState, scan: ScanConstants, current: Optional[torch.Tensor],
                    ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        """[N, P] ground under the scan points at ``state``: all envs (``ids`` None), or ``current`` with the rows
        ``ids`` recomputed (after their reset, so a new episode's first observation scans its new ground)."""
        if ids is None or current is None:
            return scan_ground_heights(state.pos, state.quat, robot.COM_OFFSET, self.terrain, scan)
        current[ids] = scan_ground_heights(state.pos[:, ids], state.quat[:, ids], robot.COM_OFFSET, self.terrain, scan)
        return current

    def end_episodes(self, ids: torch.Tensor, com_xy: torch.Tensor, commands_xy: torch.Tensor,
                     episode_length_s: float, generator: torch.Generator) -> torch.Tensor:
        """Move the finished envs ``ids`` by legged_gym's rule; returns the mean level (0-d, no host sync).

        ``com_xy`` [k, 2] is where they ended, ``commands_xy`` [k, 2] their last linear velocity commands."""
        return self.curriculum.end_episodes(ids, self.spawn_xy[ids], com_xy, commands_xy, episode_length_s, generator)

    def fingerprint(self) -> Tuple[Tuple[int, ...], float]:
        """(shape, float64 sum) of the height field: a resumed run must be on the same ground (params and seed)."""
        return tuple(self.terrain.heights.shape), float(self.terrain.heights.double().sum())

    def state_dict(self) -> Dict[str, Any]:
        """Curriculum levels and columns, spawn points and the terrain's fingerprint (checked on load)."""
        shape, total = self.fingerprint()
        return {"curriculum": self.curriculum.state_dict(), "spawn_xy": self.spawn_xy.clone(),
                "heights_shape": list(shape), "heights_sum": total}

    def check(self, state: Dict[str, Any]) -> None:
        """CheckpointError unless ``state`` (a ``state_dict()``) fits this terrain and env count; changes nothing."""
        shape, total = self.fingerprint()
        saved = (tuple(state.get("heights_shape", ())), state.get("heights_sum"))
        if saved != (shape, total):
            raise CheckpointError(f"go2-toy: checkpoint env state was saved on another terrain ({list(saved[0])} "
                                  f"cells, height sum {saved[1]}; this env: {list(shape)}, {total}): use the run's "
                                  f"terrain params and seed")
        spawn_xy = state["spawn_xy"]
        if tuple(spawn_xy.shape) != tuple(self.spawn_xy.shape):
            raise CheckpointError(f"go2-toy: checkpoint env state terrain.spawn_xy has shape "
                                  f"{tuple(spawn_xy.shape)}, this env expects {tuple(self.spawn_xy.shape)}")
        levels = state["curriculum"]["levels"]
        if tuple(levels.shape) != (self.num_envs,):
            raise CheckpointError(f"go2-toy: checkpoint terrain curriculum has {tuple(levels.shape)} levels, this env "
                                  f"has {self.num_envs} envs")
        probe = TerrainCurriculum(self.terrain)
        try:
            probe.load_state_dict(state["curriculum"])
        except ValueError as exc:
            raise CheckpointError(f"go2-toy: checkpoint terrain curriculum: {exc}") from None

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore ``state_dict()`` (after ``check``)."""
        self.check(state)
        self.curriculum.load_state_dict(state["curriculum"])
        self.spawn_xy = state["spawn_xy"].to(self.spawn_xy.device, self.spawn_xy.dtype).clone()

    def height_field(self) -> Any:
        """The terrain as the renderer's ``HeightField`` (samples at the cell centres)."""
        from .render_scene import HeightField

        centre = self.terrain.corner + 0.5 * self.terrain.horizontal_scale
        return HeightField(self.terrain.heights.detach().cpu().numpy().astype(np.float64),
                           float(self.terrain.horizontal_scale), (centre, centre))
