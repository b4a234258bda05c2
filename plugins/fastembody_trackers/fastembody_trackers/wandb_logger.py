"""The ``wandb`` logger: one W&B run per FastEmbody run, offline by default (files in ``<run dir>/wandb``)."""
from typing import Any, Mapping

from fastembody_core import MetricLogger

from .common import previous_run_id, remember_run_id, require, run_name, run_tags


class WandbLogger(MetricLogger):
    """Logs each iteration's scalars with ``step=iteration``; the resolved config is the W&B config. ``--resume``
    continues the same W&B run (its id is kept in the run dir); W&B keeps steps monotonic, so iterations logged
    after the checkpoint by the interrupted process stay as they were."""

    def __init__(self, params: Any, ctx: Any, start_iteration: int = 0):
        wandb = require("wandb", "wandb")
        tags = run_tags(ctx)
        previous = previous_run_id(ctx, "wandb")
        resume = {"id": previous, "resume": "allow"} if previous else {}
        self.run = wandb.init(
            project=params.project,
            entity=params.entity,
            mode=params.mode,
            dir=str(ctx.run_dir) if ctx.run_dir is not None else None,
            name=run_name(ctx),
            group=params.group or tags.get("sweep"),
            tags=[f"{k}:{v}"[:64] for k, v in tags.items()],
            config=dict(ctx.config),
            reinit="create_new",
            settings=wandb.Settings(silent=True, console="off"),
            **resume,
        )
        remember_run_id(ctx, "wandb", self.run.id)

    def log(self, iteration: int, scalars: Mapping[str, float]) -> None:
        self.run.log(dict(scalars), step=iteration)

    def close(self) -> None:
        if self.run is not None:
            self.run.finish()
            self.run = None
