"""The core's own plugin: the generic on-policy trainer, registered like any other."""
from .hookspecs import hookimpl


def _make_on_policy_trainer(env, algorithm, params, ctx):
    from .trainer import OnPolicyTrainer

    return OnPolicyTrainer(env, algorithm, params, ctx)


@hookimpl
def register_trainers(register):
    from .trainer_config import OnPolicyTrainerParams

    register(
        "on-policy",
        _make_on_policy_trainer,
        params=OnPolicyTrainerParams,
        description="Rollout -> update loop shared by PPO and distillation (checkpoints, resume, logs)",
    )
