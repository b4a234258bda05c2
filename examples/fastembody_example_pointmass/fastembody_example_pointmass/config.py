"""Parameters of the point-mass env (torch-free: configs validate without importing torch)."""
from dataclasses import dataclass
from typing import Optional

from fastembody_core import ConfigError


@dataclass
class PointMassParams:
    """A 2-D point mass pushed towards the origin."""

    num_envs: int = 256
    """Number of parallel envs."""
    episode_length: int = 50
    """Policy steps per episode."""
    dt: float = 0.1
    """Seconds per step."""
    max_force: float = 1.0
    """Actions are clipped to +-max_force."""
    start_radius: float = 1.0
    """Initial positions are uniform in [-start_radius, start_radius]^2."""
    max_distance: Optional[float] = None
    """An episode terminates (a failure, not a time-out) once a mass is further than this from the origin on an
    axis; None: episodes only time out."""
    privileged: bool = False
    """Also provide a ``critic`` observation group (position, velocity, squared position): privileged state an
    asymmetric actor-critic's critic reads."""

    def __post_init__(self) -> None:
        if self.num_envs < 1:
            raise ConfigError(f"must be >= 1, got {self.num_envs}", key="num_envs")
        if self.episode_length < 1:
            raise ConfigError(f"must be >= 1, got {self.episode_length}", key="episode_length")
        if self.dt <= 0:
            raise ConfigError(f"must be > 0, got {self.dt}", key="dt")
        if self.max_distance is not None and self.max_distance <= 0:
            raise ConfigError(f"must be > 0 (or null), got {self.max_distance}", key="max_distance")
