"""The ``mlflow`` logger: one MLflow run per FastEmbody run; a local file store (``<run.root>/mlruns``) by default."""
import os
import time
from pathlib import Path
from typing import Any, Mapping

from fastembody_core import MetricLogger, flatten_config

from .common import previous_run_id, remember_run_id, require, run_name, run_tags

MAX_PARAMS_PER_BATCH = 100
MAX_PARAM_VALUE = 6000


def default_uri(ctx: Any) -> str:
    """``file://<run.root>/mlruns`` (absolute, so every trial of a sweep writes to the same store)."""
    root = (ctx.config.get("run") or {}).get("root", "runs")
    return (Path(root).resolve() / "mlruns").as_uri()


class MlflowLogger(MetricLogger):
    """Logs each iteration's scalars as MLflow metrics (step = iteration), the config as params, run.tags as tags."""

    def __init__(self, params: Any, ctx: Any, start_iteration: int = 0):
        uri = params.tracking_uri or default_uri(ctx)
        if uri.startswith("file:"):  # MLflow 3 refuses its file store unless asked for it
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        tracking = require("mlflow.tracking", "mlflow")
        entities = require("mlflow.entities", "mlflow")
        self._metric = entities.Metric
        self.client = tracking.MlflowClient(tracking_uri=uri)
        tags = run_tags(ctx)
        name = params.experiment or tags.get("sweep") or str(ctx.config.get("name", "fastembody"))
        experiment = self.client.get_experiment_by_name(name)
        if experiment is None:
            try:
                experiment_id = self.client.create_experiment(name)
            except Exception:  # another trial created it just now
                experiment_id = self.client.get_experiment_by_name(name).experiment_id
        else:
            experiment_id = experiment.experiment_id
        previous = previous_run_id(ctx, "mlflow")
        if previous is not None and self._exists(previous):  # --resume: the same MLflow run goes on
            self.run_id = previous
            self.client.update_run(previous, status="RUNNING")
            self.client.set_tag(previous, "fastembody.resumed_at_iteration", str(start_iteration))
            return
        run_tags_ = dict(tags, **{"fastembody.run_dir": str(ctx.run_dir), "fastembody.start_iteration":
                                  str(start_iteration)})
        self.run_id = self.client.create_run(experiment_id, tags=run_tags_, run_name=run_name(ctx)).info.run_id
        remember_run_id(ctx, "mlflow", self.run_id)
        config = [entities.Param(k, str(v)[:MAX_PARAM_VALUE]) for k, v in flatten_config(ctx.config)]
        for i in range(0, len(config), MAX_PARAMS_PER_BATCH):
            self.client.log_batch(self.run_id, params=config[i:i + MAX_PARAMS_PER_BATCH])

    def _exists(self, run_id: str) -> bool:
        try:
            self.client.get_run(run_id)
            return True
        except Exception:  # deleted, or another tracking store
            return False

    def log(self, iteration: int, scalars: Mapping[str, float]) -> None:
        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[self._metric(k, float(v), now, iteration)
                                                    for k, v in scalars.items()])

    def close(self) -> None:
        if self.run_id is not None:
            self.client.set_terminated(self.run_id, "FINISHED")
            self.run_id = None
