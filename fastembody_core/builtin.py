"""The core's own plugin: the generic on-policy trainer and the TensorBoard logger, registered like any other."""
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


@hookimpl
def register_loggers(register):
    from .loggers import TENSORBOARD, _make_tensorboard

    register(
        TENSORBOARD,
        _make_tensorboard,
        description="TensorBoard event files in the run dir (the default; trainer.params.tensorboard: false turns "
        "them off)",
    )
