"""The trackers' registrations (the module the entry point names; light: wandb/mlflow load in the factories)."""
from fastembody_core import hookimpl

from .config import MlflowParams, WandbParams


def make_wandb(params, ctx, start_iteration=0):
    from .wandb_logger import WandbLogger

    return WandbLogger(params, ctx, start_iteration)


def make_mlflow(params, ctx, start_iteration=0):
    from .mlflow_logger import MlflowLogger

    return MlflowLogger(params, ctx, start_iteration)


@hookimpl
def register_loggers(register):
    register("wandb", make_wandb, params=WandbParams,
             description="Weights & Biases (offline by default: no account needed)")
    register("mlflow", make_mlflow, params=MlflowParams,
             description="MLflow (a local file store by default, a tracking server by URI)")
