"""Hook implementations: what this distribution adds to FastEmbody. Torch-free at import."""
from fastembody_core import hookimpl

from .config import PointMassParams


def make_pointmass(params, ctx):
    from .env import PointMassEnv

    return PointMassEnv(params, ctx)


@hookimpl
def register_envs(register):
    register(
        "example-pointmass",
        make_pointmass,
        params=PointMassParams,
        description="Example third-party plugin: batched 2-D point mass that must reach the origin",
    )
