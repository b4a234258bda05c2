"""Isaac Gym envs through legged_gym: ``isaac`` (any task of its registry) and ``go2-isaac`` (unitree_rl_gym's Go2).

Torch- and Isaac-free at import: the factories load :mod:`.env` (which needs isaacgym, legged_gym and
rsl_rl v1.0.2, in a Python 3.8 environment) only when an env is built, after the pipeline imported
:data:`PRELOAD` before torch. ``go2-isaac`` takes the Go2 envs' ``terrain`` block, mapped onto legged_gym's terrain
cfg by :mod:`.terrain`. Setup: docs/isaac_gym.md.
"""
from typing import Any

from .config import Go2IsaacParams, IsaacCommonParams, IsaacParams

PRELOAD = "fastembody_go2.isaac.preload"
"""Module the pipeline imports before torch for these envs (it loads Isaac Gym's bindings)."""

ISAAC_DESCRIPTION = "Any legged_gym task by name (unitree_rl_gym: go2, g1, h1, h1_2) in Isaac Gym Preview 4 (Python 3.8)"
GO2_ISAAC_DESCRIPTION = "unitree_rl_gym's Go2 task (legged_gym LeggedRobot) in Isaac Gym Preview 4 (Python 3.8)"


def make_isaac_env(params: IsaacParams, ctx: Any) -> Any:
    """Env factory of ``isaac``: the legged_gym task ``params.task``."""
    from .env import make_legged_gym_env

    return make_legged_gym_env(params.task, params, ctx)


def make_go2_isaac_env(params: Go2IsaacParams, ctx: Any) -> Any:
    """Env factory of ``go2-isaac``: unitree_rl_gym's ``go2`` task."""
    from .env import make_legged_gym_env

    return make_legged_gym_env("go2", params, ctx)


__all__ = [
    "GO2_ISAAC_DESCRIPTION",
    "Go2IsaacParams",
    "ISAAC_DESCRIPTION",
    "IsaacCommonParams",
    "IsaacParams",
    "PRELOAD",
    "make_go2_isaac_env",
    "make_isaac_env",
]
