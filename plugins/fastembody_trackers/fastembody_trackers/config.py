"""Params of the trackers (torch-free, tracker-package-free: configs validate without wandb or mlflow)."""
from dataclasses import dataclass
from typing import Optional

from fastembody_core import ConfigError

WANDB_MODES = ("offline", "online", "disabled")


@dataclass
class WandbParams:
    """Weights & Biases: one W&B run per FastEmbody run."""

    project: str = "fastembody"
    """W&B project."""
    entity: Optional[str] = None
    """W&B team or user (online mode)."""
    mode: str = "offline"
    """offline (no account: files under <run dir>/wandb, `wandb sync` them later), online or disabled."""
    group: Optional[str] = None
    """W&B group; default: the sweep's name for a sweep's trials."""

    def __post_init__(self) -> None:
        if self.mode not in WANDB_MODES:
            raise ConfigError(f"expected one of {list(WANDB_MODES)}, got {self.mode!r}", key="mode")
        if not self.project.strip():
            raise ConfigError("must not be empty", key="project")


@dataclass
class MlflowParams:
    """MLflow: one MLflow run per FastEmbody run."""

    tracking_uri: Optional[str] = None
    """Where runs go: a tracking server (http://host:5000), sqlite:///file.db or file:/dir; default: a local file
    store in <run.root>/mlruns."""
    experiment: Optional[str] = None
    """MLflow experiment; default: the sweep's name for a sweep's trials, else the config's name."""

    def __post_init__(self) -> None:
        if self.tracking_uri is not None and not self.tracking_uri.strip():
            raise ConfigError("must not be empty (leave it out for the local file store)", key="tracking_uri")
        if self.experiment is not None and not self.experiment.strip():
            raise ConfigError("must not be empty", key="experiment")
