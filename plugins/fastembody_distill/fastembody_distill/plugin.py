"""Hook implementations: what fastembody-distill adds to FastEmbody. Torch-free at import."""
from fastembody_core import hookimpl

from .config import DistillationParams


def make_distillation(env_spec, params, ctx):
    """``factory(env_spec, params, ctx) -> AlgorithmHandle`` for the ``distillation`` algorithm."""
    from .distillation import Distillation

    return Distillation(env_spec, params, ctx)


@hookimpl
def register_algorithms(register):
    register(
        "distillation",
        make_distillation,
        params=DistillationParams,
        description="Teacher -> student distillation (DAgger or behaviour cloning) onto deployable observations",
    )


@hookimpl
def register_install_hints(register):
    register("algorithm", "ppo", "fastembody-ppo")  # the teachers it distils are PPO runs
