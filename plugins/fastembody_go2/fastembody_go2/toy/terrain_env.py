"""What go2-toy adds on rough terrain: the height field, spawn points, the terrain curriculum and its state.

The env builds one :class:`TerrainSetup` when the ground is not flat (``terrain.type: rough``, or a ``Terrain``
handed to the env, e.g. an evaluation course). The curriculum, spawn points and resume state are the shared
:class:`~fastembody_go2.terrain.run_state.TerrainRunState` (go2-mujoco uses the same); go2-toy places a robot at its
spawn point with the lowest foot ``clearance`` above the highest ground under its feet and scans the ground.
"""
from typing import Any, Callable, Optional, Tuple

import numpy as np
import torch

from .. import robot
from ..terrain.field import Terrain
from ..terrain.params import TerrainParams
from ..terrain.run_state import TerrainRunState
from ..terrain.scan import scan_points
from ..terrain.spawn import SpawnSpec
from .dynamics import BodyState
from .task_step import ScanConstants, scan_ground_heights

def scan_constants(params: TerrainParams, device: torch.device) -> ScanConstants:
    """The height scan of ``params`` on ``device``."""
    return ScanConstants(scan_points(params, device), float(params.scan_offset), float(params.scan_clip))


def uniform_int16(count: int, generator: torch.Generator) -> torch.Tensor:
    """[ceil(count / 3), 4] int16 from ``generator``, uniform in lanes 0-2 (the low 48 of each int64 draw's 63
    random bits): ``count`` uniform int16 ~3x cheaper than as many float draws (the height scan's noise); the
    compiled observation picks lanes 0-2 without a copy."""
    raw = torch.empty((count + 2) // 3, dtype=torch.int64, device=generator.device).random_(generator=generator)
    return raw.view(torch.int16).view(-1, 4)


class TerrainSetup(TerrainRunState):
    """The terrain, the per-env curriculum and spawn points of one go2-toy env."""

    def __init__(self, params: TerrainParams, terrain: Terrain, num_envs: int, device: torch.device,
                 spawn: Optional[SpawnSpec] = None):
        super().__init__(terrain, params, num_envs, "go2-toy", spawn, device)

    def place(self, ids: torch.Tensor, pos: torch.Tensor, quat: torch.Tensor, foot_b: torch.Tensor,
              uniform: Callable[..., torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(pos, quat)`` of the envs ``ids`` moved from the flat spawn (``pos`` [k, 3] CoM at flat-ground
        height, yaw-only ``quat`` [k, 4], body-frame feet ``foot_b`` [k, 4, 3]) onto their tiles."""
        xy, quat = self.spawn_points(ids, quat, uniform)
        feet_xy = foot_b[..., :2] - torch.tensor(robot.COM_OFFSET[:2], device=foot_b.device)  # from the CoM
        return torch.cat((xy, pos[:, 2:] + self.highest_ground(xy, quat, feet_xy)[:, None]), 1), quat

    def scan_ground(self, state: BodyState, scan: ScanConstants, current: Optional[torch.Tensor],
                    ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        """[N, P] ground under the scan points at ``state``: all envs (``ids`` None), or ``current`` with the rows
        ``ids`` recomputed (after their reset, so a new episode's first observation scans its new ground)."""
        if ids is None or current is None:
            return scan_ground_heights(state.pos, state.quat, robot.COM_OFFSET, self.terrain, scan)
        current[ids] = scan_ground_heights(state.pos[:, ids], state.quat[:, ids], robot.COM_OFFSET, self.terrain, scan)
        return current

    def height_field(self) -> Any:
        """The terrain as the renderer's ``HeightField`` (samples at the cell centres)."""
        from .render_scene import HeightField

        centre = self.terrain.corner + 0.5 * self.terrain.horizontal_scale
        return HeightField(self.terrain.heights.detach().cpu().numpy().astype(np.float64),
                           float(self.terrain.horizontal_scale), (centre, centre))
