"""Hook implementations: what this distribution adds to FastEmbody. Torch-free at import."""
from fastembody_core import hookimpl

from .config import A2CParams


def make_a2c(spec, params, ctx):
    from .a2c import A2C

    return A2C(spec, params, ctx)


@hookimpl
def register_algorithms(register):
    register("a2c", make_a2c, params=A2CParams,
             description="Example third-party plugin: synchronous advantage actor-critic (A2C) with GAE")
