"""Registers the env family ``gym:*``; gymnasium and torch are imported only when an env is built."""
from fastembody_core import hookimpl

from .config import GymEnvParams


def make_gym_env(params: GymEnvParams, ctx):
    """``factory(params, ctx) -> VectorEnv``; the gymnasium id comes from ``ctx.config["env"]["name"]``."""
    from .env import GymVectorEnv

    name = str(((ctx.config or {}).get("env") or {}).get("name", ""))
    return GymVectorEnv(name[len("gym:"):] if name.startswith("gym:") else name, params, ctx.seed, ctx.device)


@hookimpl
def register_envs(register):
    register(
        "gym:*",
        make_gym_env,
        params=GymEnvParams,
        description="Any gymnasium env with Box actions, e.g. gym:Pendulum-v1 (SyncVectorEnv/AsyncVectorEnv)",
    )
