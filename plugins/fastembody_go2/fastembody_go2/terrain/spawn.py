"""Where robots start on a terrain: one spec shared by go2-toy and go2-mujoco (torch-free)."""
from typing import NamedTuple, Optional

SPAWN_XY_NOISE_M = 1.0
"""legged_gym's spawn spread around a tile origin [m]."""


class SpawnSpec(NamedTuple):
    """Where robots start on a terrain."""

    xy_noise: float = SPAWN_XY_NOISE_M
    """U(+-xy_noise) added to the tile origin's x and y [m]."""
    yaw: Optional[float] = None
    """Fixed heading [rad] (e.g. 0 on an evaluation course, which runs along +x); None: U(-pi, pi) as on flat ground."""
