"""Registers algorithm ``ppo``; torch is imported only when the factory runs."""
from fastembody_core import hookimpl

from .config import PPOParams


def make_ppo(env_spec, params: PPOParams, ctx):
    """``factory(env_spec, params, ctx) -> AlgorithmHandle``."""
    from .ppo import PPO

    return PPO(env_spec, params, ctx)


@hookimpl
def register_algorithms(register):
    register(
        "ppo",
        make_ppo,
        params=PPOParams,
        description="PPO with asymmetric actor-critic, GAE, adaptive-KL lr, optional GRU/LSTM, bf16 autocast",
    )
