"""FastEmbody's PPO plugin (algorithm ``ppo``). ``PPO`` itself lives in :mod:`fastembody_ppo.ppo` (imports torch)."""
from .config import PPOParams

__all__ = ["PPOParams"]
