"""FastEmbody env family ``gym:<EnvId>`` (e.g. ``gym:Pendulum-v1``) over gymnasium's vector envs."""
from .config import GymEnvParams

__all__ = ["GymEnvParams"]
