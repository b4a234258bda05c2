"""FastEmbody experiment trackers: loggers ``wandb`` and ``mlflow`` (``run: {loggers: [tensorboard, wandb]}``)."""
from .config import MlflowParams, WandbParams

__all__ = ["MlflowParams", "WandbParams"]
